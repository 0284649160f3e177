import assert from "node:assert/strict";
import type { Mind } from "./mind.ts";
import { createMindStateCache } from "./system_state.ts";

/** A stand-in exposing only `state()`, counting its calls. */
function countingMind() {
  let calls = 0;
  let value = 1;
  const mind = {
    state: () => {
      calls++;
      return Promise.resolve({ psyche_test: { value } });
    },
  } as unknown as Mind;
  return {
    mind,
    get calls() {
      return calls;
    },
    set(next: number) {
      value = next;
    },
  };
}

Deno.test("the mind-state cache answers from memory until invalidated, then reads the new records", async () => {
  const fake = countingMind();
  const cache = createMindStateCache(() => fake.mind);
  assert.deepEqual(await cache.get(), { psyche_test: { value: 1 } });
  await cache.get();
  assert.equal(fake.calls, 1, "one read for two gets");
  fake.set(2);
  assert.deepEqual(await cache.get(), { psyche_test: { value: 1 } }, "no change announced yet");
  cache.invalidate();
  assert.deepEqual(await cache.get(), { psyche_test: { value: 2 } });
  assert.equal(fake.calls, 2);
});

Deno.test("a failed read is not kept", async () => {
  let fail = true;
  const mind = {
    state: () => fail ? Promise.reject(new Error("busy")) : Promise.resolve({ ok: true }),
  } as unknown as Mind;
  const cache = createMindStateCache(() => mind);
  await assert.rejects(cache.get(), /busy/);
  fail = false;
  assert.deepEqual(await cache.get(), { ok: true });
});
