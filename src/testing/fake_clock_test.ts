import assert from "node:assert/strict";
import { DeadlineTimer, delay, withTimeout } from "../clock.ts";
import { FakeClock } from "./fake_clock.ts";

Deno.test("FakeClock fires timers in due order only when time is moved", async () => {
  const clock = new FakeClock({ start: 1_000 });
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
  const cancelled = clock.setTimeout(() => fired.push("cancelled"), 150);
  clock.clearTimeout(cancelled);
  assert.deepEqual(fired, []);
  await clock.tick(150);
  assert.deepEqual(fired, ["a@1100"]);
  assert.equal(clock.now(), 1_150);
  await clock.tick(100);
  assert.deepEqual(fired, ["a@1100", "b@1200"]);
  assert.equal(clock.now(), 1_250);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("FakeClock runs timers set by earlier timers within the same tick", async () => {
  const clock = new FakeClock({ start: 0 });
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.now());
    clock.setTimeout(() => fired.push(clock.now()), 50);
  }, 50);
  await clock.tick(100);
  assert.deepEqual(fired, [50, 100]);
});

Deno.test("delay() resolves after fake time passes and rejects when aborted", async () => {
  const clock = new FakeClock({ start: 0 });
  let done = false;
  const waiting = delay(clock, 1_000).then(() => (done = true));
  await clock.tick(999);
  assert.equal(done, false);
  await clock.tick(1);
  await waiting;
  assert.equal(done, true);

  const controller = new AbortController();
  const aborted = delay(clock, 1_000, { signal: controller.signal });
  controller.abort(new Error("cancelled"));
  await assert.rejects(aborted, /cancelled/);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("untilTimers() waits for code under test to set its timer", async () => {
  const clock = new FakeClock();
  const started = (async () => {
    await Promise.resolve();
    await delay(clock, 10);
    return "done";
  })();
  await clock.untilTimers(1);
  await clock.tick(10);
  assert.equal(await started, "done");
});

Deno.test("withTimeout() times a promise out on the clock; a plain value needs no timer", async () => {
  const clock = new FakeClock({ start: 0 });
  const options = { clock, ms: 50, error: () => new Error("too slow") };
  assert.equal(await withTimeout(7, options), 7);
  assert.equal(clock.pendingTimers, 0, "no timer for a value");
  const never = withTimeout(new Promise<number>(() => {}), options);
  assert.equal(clock.pendingTimers, 1);
  const rejected = assert.rejects(never, /too slow/);
  await clock.tick(50);
  await rejected;
  assert.equal(await withTimeout(Promise.resolve(8), options), 8);
  assert.equal(clock.pendingTimers, 0, "the timer is cleared once the promise settles");
});

Deno.test("DeadlineTimer: many limits share one timer; each fails at its own deadline", async () => {
  const clock = new FakeClock({ start: 0 });
  const deadlines = new DeadlineTimer(clock);
  const options = (ms: number) => ({ ms, error: () => new Error(`over ${ms} ms`) });
  assert.equal(await deadlines.limit(7, options(50)), 7);
  assert.equal(clock.pendingTimers, 0, "no timer for a value");
  // Answers in time: one timer was armed for the first, none for the later ones.
  const answers = await Promise.all(
    [1, 2, 3].map((n) => deadlines.limit(Promise.resolve(n), options(50))),
  );
  assert.deepEqual(answers, [1, 2, 3]);
  assert.equal(clock.pendingTimers, 0, "cleared once nothing is timed");
  const slow = deadlines.limit(new Promise<number>(() => {}), options(50));
  const slower = deadlines.limit(new Promise<number>(() => {}), options(80));
  assert.equal(clock.pendingTimers, 1, "later deadlines arm no timer of their own");
  // Side by side: three limits, one timer.
  const three = [1, 2, 3].map(() => Promise.withResolvers<number>());
  const limited = three.map(({ promise }) => deadlines.limit(promise, options(50)));
  assert.equal(clock.pendingTimers, 1);
  three.forEach(({ resolve }, index) => resolve(index));
  assert.deepEqual(await Promise.all(limited), [0, 1, 2]);
  assert.equal(clock.pendingTimers, 1, "still timing the slow ones");
  const slowFailed = assert.rejects(slow, /over 50 ms/);
  let slowerSettled = false;
  slower.catch(() => (slowerSettled = true));
  await clock.tick(50);
  await slowFailed;
  await Promise.resolve();
  assert.equal(slowerSettled, false, "80 ms have not passed");
  assert.equal(clock.pendingTimers, 1, "re-armed for the next deadline");
  await clock.tick(30);
  await assert.rejects(slower, /over 80 ms/);
  assert.equal(clock.pendingTimers, 0, "nothing left to time");
  // An earlier deadline than the armed one re-arms the timer for it.
  const late = deadlines.limit(new Promise<number>(() => {}), options(100));
  const early = deadlines.limit(new Promise<number>(() => {}), options(10));
  const earlyFailed = assert.rejects(early, /over 10 ms/);
  await clock.tick(10);
  await earlyFailed;
  late.catch(() => {});
  deadlines.stop();
  assert.equal(clock.pendingTimers, 0, "stop clears the timer");
});
