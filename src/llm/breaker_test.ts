import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import { CircuitBreaker } from "./breaker.ts";

const CONFIG = {
  consecutiveFailures: 5,
  windowCalls: 20,
  windowMs: 60_000,
  failureRatio: 0.5,
  openMs: 30_000,
  maxOpenMs: 300_000,
};

Deno.test("five failures in a row open the breaker for 30 s; half-open lets one request through", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker(CONFIG, clock);
  for (let i = 0; i < 4; i++) breaker.failure();
  assert.equal(breaker.state, "closed");
  breaker.failure();
  assert.equal(breaker.state, "open");
  assert.equal(breaker.allow(), false);
  await clock.tick(30_000);
  assert.equal(breaker.state, "half_open");
  assert.equal(breaker.allow(), true);
  assert.equal(breaker.allow(), false, "only one probe at a time");
  breaker.success();
  assert.equal(breaker.state, "closed");
  assert.equal(breaker.level, 0);
});

Deno.test("each re-open doubles the open period up to the maximum", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker(CONFIG, clock);
  for (let i = 0; i < 5; i++) breaker.failure();
  const periods: number[] = [];
  for (let round = 0; round < 5; round++) {
    let waited = 0;
    while (breaker.state === "open") {
      await clock.tick(1_000);
      waited += 1_000;
    }
    periods.push(waited);
    assert.equal(breaker.allow(), true);
    breaker.failure();
  }
  assert.deepEqual(periods, [30_000, 60_000, 120_000, 240_000, 300_000]);
});

Deno.test("half of the last calls failing (at least 10) opens it, with successes in between", () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker(CONFIG, clock);
  for (let i = 0; i < 9; i++) {
    if (i % 2 === 0) breaker.failure();
    else breaker.success();
  }
  assert.equal(breaker.state, "closed", "9 calls are too few");
  breaker.success();
  breaker.failure();
  assert.equal(breaker.state, "open", "6 of 11 failed");
});
