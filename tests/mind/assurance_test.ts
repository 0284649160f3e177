/**
 * Assurance through the pipeline (spec/mind.md §17 items 14, 19): the
 * confidence tag never leaks, concerns expire without evidence.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost, RFC3339 } from "./helpers.ts";

/** Times on the wire (spec/server.md §2). */
const UNSURE =
  "I think it might possibly work if you restart it, but maybe not. Perhaps try the staging copy first. <confidence>0.2</confidence>";

Deno.test("a confidence tag split over 3 chunks never reaches a token, the store or an export; its value is used", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: ["Restart the node. <conf", "idence>0.", "85</confidence>"] } }],
  });
  await using host = await mindHost(fake);
  const handle = await host.kernel.mind.submit({
    userId: "local",
    role: "admin",
    text: "How do I restart it safely?",
  });
  const outcome = await handle.done;
  const tokens = handle.events.events.flatMap((event) =>
    event.type === "chat.token" ? [event.delta] : []
  );
  for (const token of tokens) assert.ok(!token.includes("<") && !token.includes(">"), token);
  assert.equal(tokens.join(""), "Restart the node. ");
  const stored = await host.kernel.mind.conversations!.threadWindow(outcome.threadId, {
    maxTokens: 10_000,
  });
  assert.ok(stored.every((message) => !message.text.includes("confidence")));
  const exported = JSON.stringify((await chat(host, "/export")).body.data);
  assert.ok(!exported.includes("<confidence>"));
  const { record } = (await host.kernel.mind.influence(handle.turnId))!;
  assert.ok(Math.abs(record.assurance.signals.verbal! - 0.15) < 1e-12, "verbal = 1 − 0.85");
});

Deno.test("a missing tag leaves verbal null and raises tagMissingRate; the state shows the newest uPost", async () => {
  await using fake = await startFakeLlm({
    scenes: [
      { reply: { text: "Restart the node." } },
      { reply: { text: "Drain it first, then restart. <confidence>0.9</confidence>" } },
    ],
  });
  await using host = await mindHost(fake);
  const assuranceState = async () =>
    ((await chat(host, "/state")).body.data as Record<string, Record<string, unknown>>)
      .psyche_assurance!;
  const reply = await chat(host, "How do I restart it safely?");
  const { record } = (await host.kernel.mind.influence(reply.body.turn_id as string))!;
  assert.equal(record.assurance.signals.verbal, null);
  assert.equal((await assuranceState()).tag_missing_rate, 1);
  const second = await chat(host, "And the replica?", reply.body.thread_id as string);
  const tagged = (await host.kernel.mind.influence(second.body.turn_id as string))!.record;
  assert.ok(Math.abs(tagged.assurance.signals.verbal! - 0.1) < 1e-12);
  const state = await assuranceState();
  assert.equal(state.tag_missing_rate, 0.5);
  assert.equal(state.last_u_post, tagged.assurance.uPost);
  assert.notEqual(state.last_u_post, record.assurance.uPost, "the newest turn's, not the first's");
});

Deno.test("a concern without evidence expires after 3 turns, with no impulse and no sample", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  fake.sceneFirst({ match: { purpose: "reply" }, reply: { text: UNSURE } });
  const first = await chat(
    host,
    "How do I restart the payment service safely during business hours?",
  );
  const threadId = first.body.thread_id as string;
  const db = host.kernel.store.db;
  const concern = await db.selectFrom("psyche_assurance_concerns").selectAll()
    .executeTakeFirstOrThrow();
  assert.equal(concern.status, "open");
  const status = async () =>
    (await db.selectFrom("psyche_assurance_concerns").select("status")
      .where("id", "=", concern.id).executeTakeFirstOrThrow()).status;
  const seen = [];
  for (
    const text of [
      "The report has four sections.",
      "The window faces north.",
      "Tomorrow is Thursday.",
    ]
  ) {
    await chat(host, text, threadId);
    seen.push(await status());
  }
  assert.deepEqual(seen, ["open", "open", "expired"], "open for 2 turns, expired at the third");
  const impulses = await db.selectFrom("mind_events").select("data").where(
    "type",
    "=",
    "affect.impulse",
  )
    .execute();
  assert.ok(!impulses.some((row) => row.data.includes(concern.id)), "expiry applies no impulse");
  assert.deepEqual(await db.selectFrom("psyche_assurance_samples").selectAll().execute(), []);
});

Deno.test("an operator resolves a concern through the API (snake_case, RFC 3339 times); a second resolve is 409", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  fake.sceneFirst({ match: { purpose: "reply" }, reply: { text: UNSURE } });
  const reply = await chat(
    host,
    "How do I restart the payment service safely during business hours?",
  );
  const list = await (await host.request("/api/concerns?status=open")).json();
  assert.equal(list.items.length, 1);
  const id = list.items[0].id;
  assert.deepEqual(
    {
      thread_id: list.items[0].thread_id,
      turn_id: list.items[0].turn_id,
      opened_at: RFC3339.test(list.items[0].opened_at),
      resolved_at: list.items[0].resolved_at,
      resolved_by_turn_id: list.items[0].resolved_by_turn_id,
      opening_impulse: Object.keys(list.items[0].opening_impulse).sort(),
    },
    {
      thread_id: reply.body.thread_id,
      turn_id: reply.body.turn_id,
      opened_at: true,
      resolved_at: null,
      resolved_by_turn_id: null,
      opening_impulse: ["da", "dd", "dp"],
    },
    "snake_case keys and RFC 3339 times",
  );
  const stateBefore = await (await host.request("/api/state")).json();
  assert.equal(stateBefore.pending_concerns, 1);
  const before = host.kernel.mind.affect().d;
  const post = () =>
    host.request(`/api/concerns/${id}/resolve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ resolution: "refuted" }),
    });
  const resolved = await post();
  assert.equal(resolved.status, 200);
  const { concern } = await resolved.json();
  assert.equal(concern.status, "refuted");
  assert.match(concern.resolved_at, RFC3339);
  assert.equal(concern.evidence.type, "feedback");
  const stateAfter = await (await host.request("/api/state")).json();
  assert.equal(stateAfter.pending_concerns, 0, "the state read after the change is not stale");
  const scores = ((await chat(host, "/state")).body.data as Record<string, Record<string, unknown>>)
    .psyche_assurance!;
  assert.equal(scores.concern_precision, 1, "one concern resolved, refuted");
  assert.ok(
    host.kernel.mind.affect().d < before,
    "the refutation's impulse was applied by the kernel",
  );
  assert.equal((await post()).status, 409);
  const missing = await host.request("/api/concerns/cnc_nope");
  assert.equal(missing.status, 404);
});

Deno.test("feedback changed on the same reply changes the outcome of the concern it settled, and its sample, with no new impulse", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const db = host.kernel.store.db;
  fake.sceneFirst({ match: { purpose: "reply" }, reply: { text: UNSURE } });
  const reply = await chat(
    host,
    "How do I restart the payment service safely during business hours?",
  );
  const threadId = reply.body.thread_id as string;
  const concern = async () =>
    await db.selectFrom("psyche_assurance_concerns").select(["id", "status"])
      .where("thread_id", "=", threadId).executeTakeFirstOrThrow();
  const outcomes = async () =>
    (await db.selectFrom("psyche_assurance_samples").select("outcome")
      .where("concern_id", "=", (await concern()).id).execute()).map((row) => row.outcome);
  assert.equal((await concern()).status, "open");
  const good = await chat(host, "/feedback good", threadId);
  assert.equal(good.body.success, true, JSON.stringify(good.body));
  assert.equal((await concern()).status, "confirmed");
  assert.deepEqual(await outcomes(), [1]);
  const affect = host.kernel.mind.affect();
  const bad = await chat(host, "/feedback bad", threadId);
  assert.match(bad.body.response as string, /changed/i);
  assert.equal((await concern()).status, "refuted", "the outcome follows the feedback");
  assert.deepEqual(await outcomes(), [0], "one sample, its outcome changed");
  const after = host.kernel.mind.affect();
  assert.deepEqual([after.p, after.a, after.d], [affect.p, affect.a, affect.d], "no new impulse");
});

Deno.test("ECE and Brier through a conversation: 20 confirmed or corrected replies give the scores computed from their uPost; 19 give null", async () => {
  await using fake = await startFakeLlm();
  // Replies at varied stated confidence, so the samples fall into several bins.
  const stated = [0.95, 0.35, 0.75, 0.15, 0.85, 0.55, 0.65, 0.25, 0.9, 0.45];
  fake.script({
    reply: Array.from({ length: 21 }, (_, i) => ({
      reply: {
        text: `The pipeline builds the image and runs the tests. <confidence>${
          stated[i % stated.length]
        }</confidence>`,
      },
    })),
  });
  await using host = await mindHost(fake);
  const first = await chat(host, "How does the release pipeline work?");
  const threadId = first.body.thread_id as string;
  const uPosts = [
    (await host.kernel.mind.influence(first.body.turn_id as string))!.record.assurance.uPost!,
  ];
  const outcomes: number[] = [];
  const scores = async () => {
    const state = (await chat(host, "/state", threadId)).body.data as Record<
      string,
      { ece: number | null; brier: number | null; samples: number }
    >;
    return state.psyche_assurance!;
  };
  for (let i = 0; i < 20; i++) {
    // Each message is the evidence on the reply before it: a confirmation (1) or a correction (0).
    const confirmed = i % 3 !== 1;
    outcomes.push(confirmed ? 1 : 0);
    const reply = await chat(
      host,
      confirmed ? "Yes, exactly right." : "No, that's wrong.",
      threadId,
    );
    uPosts.push(
      (await host.kernel.mind.influence(reply.body.turn_id as string))!.record.assurance.uPost!,
    );
    if (i === 18) {
      const nineteen = await scores();
      assert.equal(nineteen.samples, 19);
      assert.equal(nineteen.ece, null, "ECE is null below 20 samples");
      assert.equal(nineteen.brier, null, "Brier is null below 20 samples");
    }
  }
  // The spec's formulas (§7.4), over (1 − uPost of the reply, the outcome of the next message).
  const samples = outcomes.map((outcome, i) => ({ confidence: 1 - uPosts[i]!, outcome }));
  const brier = samples.reduce((sum, s) => sum + (s.confidence - s.outcome) ** 2, 0) / 20;
  let ece = 0;
  for (let bin = 0; bin < 10; bin++) {
    const inBin = samples.filter((s) => Math.min(9, Math.floor(s.confidence * 10)) === bin);
    if (inBin.length === 0) continue;
    const accuracy = inBin.reduce((sum, s) => sum + s.outcome, 0) / inBin.length;
    const confidence = inBin.reduce((sum, s) => sum + s.confidence, 0) / inBin.length;
    ece += (inBin.length / 20) * Math.abs(accuracy - confidence);
  }
  const bins = new Set(samples.map((s) => Math.min(9, Math.floor(s.confidence * 10))));
  assert.ok(bins.size >= 3, `samples in ${bins.size} bins`);
  const twenty = await scores();
  assert.equal(twenty.samples, 20);
  assert.ok(Math.abs(twenty.ece! - ece) < 1e-9, `ECE ${twenty.ece} vs ${ece}`);
  assert.ok(Math.abs(twenty.brier! - brier) < 1e-9, `Brier ${twenty.brier} vs ${brier}`);
});
