import assert from "node:assert/strict";
import { loadProfile, seededRandom } from "@synth/testing";
import { evidence, initialState, noisyOr, transitionImpulse, update } from "./calibration.ts";

const { profile } = await loadProfile("empathetic");
const confused = {
  clarificationRequest: true,
  correction: false,
  feedback: null,
  s: 0,
  latencyMs: null,
  tokens: 7,
  lengthRatio: null,
  text: "I don't understand, what do you mean?",
  weightedSurprise: null,
} as const;

// spec/mind.md §10 prints 883 and 692 for the middle steps; its own formula,
// round(1024 · 2^v) with v = −0.21 and −0.567, gives 885 and 691.
Deno.test("the spec's example: ema 0.65 → 0.755 → 0.829 → 0.880, v −0.21 → −0.57 → −1, maxTokens 1024 → 512", () => {
  let state = initialState(profile, 0);
  const emas: number[] = [];
  const vs: number[] = [];
  const maxTokens: number[] = [];
  for (let turn = 0; turn < 4; turn++) {
    maxTokens.push(Math.round(1024 * 2 ** state.outputs.verbosity));
    const found = evidence(confused, { sentiments: [], latencies: [] }, profile);
    state = update(
      state,
      { overload: noisyOr(found.overload), boredom: noisyOr(found.boredom) },
      profile,
      0,
    );
    emas.push(state.ema);
    vs.push(Number(state.outputs.verbosity.toFixed(2)));
  }
  [0.65, 0.755, 0.829, 0.880].forEach((expected, i) =>
    assert.ok(Math.abs(emas[i]! - expected) < 0.00051, `ema ${i + 1}: ${emas[i]} ≈ ${expected}`)
  );
  assert.deepEqual(vs, [0, -0.21, -0.57, -1]);
  assert.deepEqual(maxTokens, [1024, 1024, 885, 691]);
  assert.equal(Math.round(1024 * 2 ** state.outputs.verbosity), 512);
  assert.equal(state.state, "overloaded");
  assert.ok(state.outputs.temperatureOffset < 0);
  assert.ok(state.outputs.questionRate > 0.5);
});

Deno.test("boredom evidence: short, acknowledging, fast turns", () => {
  const found = evidence(
    {
      ...confused,
      clarificationRequest: false,
      text: "ok",
      tokens: 1,
      latencyMs: 3_000,
      lengthRatio: 0.1,
    },
    { sentiments: [], latencies: [] },
    profile,
  );
  assert.deepEqual(found.boredom.map(([weight]) => weight), [0.5, 0.4, 0.3]);
  assert.equal(found.overload.length, 0);
});

Deno.test("10,000 seeded random evidence sequences never push an output out of bounds", () => {
  const random = seededRandom(7);
  const c = profile.calibration;
  for (let run = 0; run < 10_000; run++) {
    let state = initialState(profile, 0);
    for (let turn = 0; turn < 12; turn++) {
      state = update(state, { overload: random(), boredom: random() }, profile, 0);
      const { temperatureOffset, verbosity, questionRate } = state.outputs;
      assert.ok(
        temperatureOffset >= c.temperature.bounds[0] &&
          temperatureOffset <= c.temperature.bounds[1],
      );
      assert.ok(verbosity >= -1 && verbosity <= 1);
      assert.ok(
        questionRate >= c.questionRate.bounds[0] && questionRate <= c.questionRate.bounds[1],
      );
    }
  }
});

Deno.test("transitions give the spec's impulses; staying gives none", () => {
  assert.equal(transitionImpulse("flow", "flow", profile), null);
  assert.deepEqual(transitionImpulse("flow", "overloaded", profile), {
    label: "calibration.transition",
    dp: -0.025,
    da: 0.05,
    dd: -0.05,
    reason: "calibration flow → overloaded",
  });
  assert.equal(transitionImpulse("overloaded", "flow", profile)!.dp, 0.025);
  assert.equal(transitionImpulse("flow", "bored", profile)!.da, -0.05);
});
