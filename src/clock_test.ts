import assert from "node:assert/strict";
import { afterResponse, DeadlineTimer, nextTask } from "./clock.ts";
import { FakeClock } from "./testing/fake_clock.ts";

const late = () => new Error("too late");

Deno.test("one timer serves many deadlines and is cleared once nothing is timed", async () => {
  const clock = new FakeClock();
  const timer = new DeadlineTimer(clock);
  const slow = timer.limit(new Promise(() => {}), { ms: 1_000, error: late });
  const { promise, resolve } = Promise.withResolvers<string>();
  const quick = timer.limit(promise, { ms: 2_000, error: late });
  assert.equal(clock.pendingTimers, 1, "the later deadline sets no timer of its own");
  resolve("done");
  assert.equal(await quick, "done");
  const slowFails = assert.rejects(slow, /too late/);
  await clock.tick(1_000);
  await slowFails;
  assert.equal(clock.pendingTimers, 0);
  assert.equal(await timer.limit("at once", { ms: 1_000, error: late }), "at once");
  assert.equal(clock.pendingTimers, 0, "an answer given at once needs no timer");
});

Deno.test("a hold keeps the timer between operations run one after another, then clears it", async () => {
  const clock = new FakeClock();
  const timer = new DeadlineTimer(clock);
  const release = timer.hold();
  assert.equal(await timer.limit(Promise.resolve(1), { ms: 1_000, error: late }), 1);
  assert.equal(clock.pendingTimers, 1, "kept while held");
  assert.equal(await timer.limit(Promise.resolve(2), { ms: 1_000, error: late }), 2);
  assert.equal(clock.pendingTimers, 1, "the next operation re-uses it");
  // A deadline still applies while held: the timer fires, and re-arms for the next one due.
  const hanging = assert.rejects(
    timer.limit(new Promise(() => {}), { ms: 1_000, error: late }),
    /too late/,
  );
  await clock.tick(1_000);
  await hanging;
  const later = assert.rejects(
    timer.limit(new Promise(() => {}), { ms: 500, error: late }),
    /too late/,
  );
  await clock.tick(500);
  await later;
  release();
  release(); // a second call changes nothing
  assert.equal(clock.pendingTimers, 0, "cleared when the hold ends with nothing timed");
});

Deno.test("a lingering timer is not cleared when operations finish: it runs out, then re-arms only for what is pending", async () => {
  const clock = new FakeClock();
  const timer = new DeadlineTimer(clock, { lingers: true });
  for (let i = 0; i < 3; i++) {
    await clock.tick(100);
    assert.equal(await timer.limit(Promise.resolve(i), { ms: 1_000, error: late }), i);
  }
  assert.equal(clock.pendingTimers, 1, "one timer for all three, not set and cleared for each");
  const hanging = assert.rejects(
    timer.limit(new Promise(() => {}), { ms: 1_000, error: late }),
    /too late/,
  );
  // The first operation's deadline passes: nothing of it is left, so the timer re-arms for the
  // hanging one, which fails at its own deadline, not before.
  await clock.tick(800);
  assert.equal(clock.pendingTimers, 1);
  await clock.tick(199);
  assert.equal(clock.pendingTimers, 1, "the hanging operation still has 1 ms");
  await clock.tick(1);
  await hanging;
  assert.equal(clock.pendingTimers, 0, "nothing pending: the timer ends with its last run");
});

Deno.test("work behind afterResponse runs after zero-delay timers queued with it, and after nextTask", async () => {
  const order: string[] = [];
  const behind = afterResponse().then(() => order.push("afterResponse"));
  const zero = new Promise((resolve) => setTimeout(resolve, 0)).then(() => order.push("timer"));
  const next = nextTask().then(() => order.push("nextTask"));
  await Promise.all([behind, zero, next]);
  assert.deepEqual(order, ["timer", "nextTask", "afterResponse"]);
});
