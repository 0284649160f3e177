import assert from "node:assert/strict";
import {
  type AffectState,
  appraisalImpulses,
  decay,
  ImpulseBudget,
  snapshot,
  styleInstructions,
} from "./affect.ts";
import { loadProfile } from "./profile.ts";

const { profile } = await loadProfile("empathetic");
const MINUTE = 60_000;

Deno.test("decay halves the distance to the baseline per half-life, per dimension, without overshoot", () => {
  const start: AffectState = { p: -0.5, a: 0.9, d: -0.8, updatedAt: 0 };
  const after = decay(start, profile, 20 * MINUTE);
  const b = profile.affect.baseline;
  assert.ok(Math.abs((after.p - b.p) - (start.p - b.p) / 2) < 1e-12, "p half-life 20 min");
  assert.ok(
    Math.abs((after.a - b.a) - (start.a - b.a) / 16) < 1e-12,
    "a half-life 5 min: 4 halvings",
  );
  assert.ok(Math.abs((after.d - b.d) - (start.d - b.d) * 2 ** (-20 / 60)) < 1e-12);
  let state = start;
  for (let minute = 1; minute <= 600; minute++) {
    const next = decay(state, profile, minute * MINUTE);
    assert.ok(next.p >= state.p && next.p <= b.p, "p rises monotonically toward its baseline");
    state = next;
  }
  assert.deepEqual(decay(start, profile, -5), { ...start, updatedAt: 0 }, "no decay backwards");
});

Deno.test("mood is the octant of the signs, neutral inside the radius", () => {
  const mood = (p: number, a: number, d: number) =>
    snapshot({ p, a, d, updatedAt: 0 }, profile).mood;
  assert.equal(mood(0.3, 0.25, 0.2), "exuberant");
  assert.equal(mood(0.5, -0.5, 0.5), "relaxed");
  assert.equal(mood(-0.5, 0.5, -0.5), "anxious");
  assert.equal(mood(-0.5, -0.5, -0.5), "bored");
  assert.equal(mood(-0.5, 0.5, 0.5), "hostile");
  assert.equal(mood(0, 0, 0.2), "neutral");
  assert.equal(mood(0, -0.4, 0), "relaxed", "0 counts as +");
  assert.equal(mood(0.5, -0.5, -0.5), "docile");
});

Deno.test("impulses are clamped, capped per turn and saturate toward the bound", () => {
  const budget = new ImpulseBudget(profile);
  let state: AffectState = { p: 0, a: 0, d: 0, updatedAt: 0 };
  const first = budget.apply(state, { label: "x", dp: -0.9, reason: "r" }, "kernel");
  assert.equal(first.applied.applied.dp, -0.25, "clamped to impulseMax");
  state = first.state;
  const second = budget.apply(state, { label: "x", dp: -0.25, reason: "r" }, "kernel");
  // turnCap 0.4: only -0.15 of the requested -0.25 remains; saturation: ×(1 − 0.25)
  assert.ok(Math.abs(second.applied.applied.dp - -0.15 * 0.75) < 1e-12);
  const third = budget.apply(second.state, { label: "x", dp: -0.2, reason: "r" }, "kernel");
  assert.equal(third.applied.applied.dp, 0, "the turn's cap is spent");
  const positive = budget.apply(third.state, { label: "y", dp: 0.2, reason: "r" }, "kernel");
  assert.ok(positive.applied.applied.dp > 0, "the other direction is still open");
  const near = new ImpulseBudget(profile).apply(
    { p: 0.95, a: 0, d: 0, updatedAt: 0 },
    { label: "z", dp: 0.25, reason: "r" },
    "kernel",
  );
  assert.ok(near.state.p <= 1 && Math.abs(near.state.p - (0.95 + 0.25 * 0.05)) < 1e-12);
});

Deno.test("a neutral message gives no impulse; negative sentiment lowers p; feedback and correction follow the table", () => {
  const base = { sentiment: { s: 0.05 }, feedback: null, correction: false } as const;
  assert.deepEqual(appraisalImpulses(base, profile), []);
  const [sad] = appraisalImpulses({ ...base, sentiment: { s: -0.9 } }, profile);
  assert.equal(sad!.label, "appraisal.sentiment");
  assert.ok(Math.abs(sad!.dp! - 0.25 * -0.9) < 1e-12);
  assert.ok(Math.abs(sad!.da! - 0.15 * 0.4) < 1e-12);
  const bad = appraisalImpulses({ ...base, feedback: "bad", correction: true }, profile);
  assert.deepEqual(bad.map((impulse) => impulse.label), ["appraisal.feedback"]);
  assert.ok(bad[0]!.dp! < 0 && bad[0]!.dd! < 0);
  const corrected = appraisalImpulses({ ...base, correction: true }, profile);
  assert.deepEqual(corrected[0], {
    label: "appraisal.correction",
    dp: -0.1,
    da: 0.1,
    dd: -0.2,
    reason: "the user corrected the reply",
  });
});

Deno.test("style rules fire inside their bands with the value in the reason", () => {
  const rules = styleInstructions({ p: -0.42, a: 0.6, d: 0 }, profile);
  assert.deepEqual(rules, [
    {
      instruction: "Calm and careful; acknowledge the difficulty first.",
      reason: "p=-0.42 ≤ -0.25",
    },
    { instruction: "Energetic pacing, short paragraphs.", reason: "a=0.60 ≥ 0.5" },
  ]);
  assert.deepEqual(styleInstructions(profile.affect.baseline, profile), []);
});
