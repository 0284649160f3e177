/**
 * The affect part of a turn's influence record (spec/mind.md §5, §14, §17
 * item 34): the state before, the impulses applied in the turn with their
 * sources and deltas, and the state after, consistent with the impulse rules.
 */
import assert from "node:assert/strict";
import type { AppliedImpulse } from "@synth/kernel";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "./helpers.ts";

const MINUTE = 60_000;
const DIMS = ["p", "a", "d"] as const;
const FRUSTRATED = "No, that's wrong. This is terrible, awful and horrible.";

type Pad = { p: number; a: number; d: number };
const pad = (state: Pad): Pad => ({ p: state.p, a: state.a, d: state.d });
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** Equal within float rounding, per dimension. */
function assertClose(actual: Pad, expected: Pad, message: string) {
  for (const dim of DIMS) {
    assert.ok(
      Math.abs(actual[dim] - expected[dim]) < 1e-12,
      `${message} (${dim}): ${actual[dim]} vs ${expected[dim]}`,
    );
  }
}

Deno.test("a turn's influence record: before is the decayed state at its start, its impulses are exactly the turn's, and before plus them under the impulse rules is after", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    forecast: [{
      reply: {
        text: JSON.stringify([
          { text: "Thanks, that is clear.", probability: 0.6, intent: "thank" },
          { text: "Can you make it shorter?", probability: 0.3, intent: "request" },
          { text: "What about the budget?", probability: 0.1, intent: "question" },
        ]),
      },
    }],
  });
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  const { affect: settings } = mind.profile;
  const first = await chat(host, "Summarise the notes from the release meeting");
  const threadId = first.body.thread_id as string;
  await mind.scheduler.idle(); // its forecast, which the next message resolves
  // An impulse outside the next turn (feedback on this reply), then seven minutes of decay.
  assert.equal((await chat(host, "/feedback good", threadId)).body.success, true);
  const atFeedback = mind.affect();
  await host.clock.tick(7 * MINUTE);

  // A frustrated message with feedback "bad": sentiment and feedback together pass the turn cap.
  const handle = await mind.submit({
    userId: "local",
    role: "admin",
    threadId,
    text: FRUSTRATED,
    feedback: "bad",
  });
  assert.equal((await handle.done).status, "completed");
  const live = mind.affect(); // the clock has not moved since the turn
  const { record } = (await mind.influence(handle.turnId))!;

  // Before: the state after the feedback, decayed exactly over the seven minutes.
  const decayed = Object.fromEntries(DIMS.map((dim) => {
    const b = settings.baseline[dim];
    return [dim, b + (atFeedback[dim] - b) * 2 ** (-7 / settings.halfLifeMinutes[dim])];
  })) as Pad;
  assertClose(pad(record.stateBefore), decayed, "before is the decayed state");
  assert.equal(record.stateBefore.updatedAt, host.clock.now());

  // The impulses are the ones this turn applied, each stored as an event of the turn, and only
  // those: not the feedback given before it.
  const stored = (await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("type", "=", "affect.impulse").where("turn_id", "=", handle.turnId).orderBy("id")
    .execute()).map((row) => JSON.parse(row.data) as AppliedImpulse);
  assert.deepEqual(record.impulses, stored);
  assert.deepEqual(record.impulses.map((impulse) => [impulse.source, impulse.label]), [
    ["kernel", "appraisal.sentiment"],
    ["kernel", "appraisal.feedback"],
    ["psyche_dreaming", "dreaming.surprise"],
  ]);
  // What each asked for follows §5's table.
  const g = settings.gains;
  const [sentiment, feedback, surprise] = record.impulses as [
    AppliedImpulse,
    AppliedImpulse,
    AppliedImpulse,
  ];
  const s = sentiment.requested.dp / g.sentiment;
  assert.ok(s <= -0.9, `a frustrated message: s = ${s}`);
  assert.deepEqual(sentiment.requested, {
    dp: g.sentiment * s,
    da: g.sentimentArousal * (Math.abs(s) - 0.5),
    dd: 0,
  });
  assert.deepEqual(feedback.requested, { dp: -g.feedback, da: 0, dd: -0.5 * g.feedback });
  const resolved = record.forecast.surprise!;
  assert.equal(record.forecast.status, "resolved");
  assertClose(
    { p: surprise.requested.dp, a: surprise.requested.da, d: surprise.requested.dd },
    {
      p: 0,
      a: g.surprise * mind.profile.dreaming.lexicalWeight * (2 * resolved - 1),
      d: 0,
    },
    "dreaming.surprise with the lexical weight",
  );

  // Chained from before to after: each δ clamped to ±impulseMax, cut to the turn cap per
  // dimension, applied with saturation; the last one's after is the record's after, and the mind's.
  let state = pad(record.stateBefore);
  const total: Pad = { p: 0, a: 0, d: 0 };
  let capped = false;
  for (const impulse of record.impulses) {
    assert.deepEqual(impulse.before, state, `${impulse.label} starts where the last one ended`);
    const next = { ...state };
    for (const dim of DIMS) {
      const key = `d${dim}` as const;
      const clamped = clamp(impulse.requested[key], -settings.impulseMax, settings.impulseMax);
      const delta = clamp(total[dim] + clamped, -settings.turnCap, settings.turnCap) - total[dim];
      if (delta !== clamped) capped = true;
      total[dim] += delta;
      const x = state[dim];
      next[dim] = delta === 0 ? x : clamp(x + delta * Math.min(1, 1 - x * Math.sign(delta)), -1, 1);
      assert.ok(
        Math.abs(impulse.applied[key] - (next[dim] - x)) < 1e-12,
        `${impulse.label} ${key}: applied ${impulse.applied[key]}, the rules give ${next[dim] - x}`,
      );
    }
    assertClose(impulse.after, next, `${impulse.label} ends where the rules put it`);
    state = impulse.after;
  }
  assert.ok(capped, "the turn cap cut the feedback's dp");
  assert.ok(Math.abs(total.p + settings.turnCap) < 1e-12, `dp summed to the cap: ${total.p}`);
  assert.deepEqual(pad(record.stateAfter), state, "after is where the last impulse ended");
  assert.deepEqual(pad(live), state, "and where the mind is");

  // The wire record (snake_case) carries the same.
  const wire = await (await host.request(`/api/turns/${handle.turnId}/influence`)).json();
  assert.deepEqual(wire.impulses, record.impulses);
  assert.deepEqual(pad(wire.state_before), pad(record.stateBefore));
  assert.deepEqual(pad(wire.state_after), pad(record.stateAfter));
});
