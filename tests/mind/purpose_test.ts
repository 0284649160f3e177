/**
 * The narrative, sessions and drift through the pipeline (spec/mind.md §17
 * items 12, 23, 27, 28).
 */
import assert from "node:assert/strict";
import { scriptedEmbedder, type TestHost } from "@synth/testing";
import { createDreamingPlugin } from "../../plugins/psyche_dreaming/mod.ts";
import { createPurposePlugin } from "../../plugins/psyche_purpose/mod.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost, replyRequests } from "./helpers.ts";

const REFLECTION = (insight: string | null) =>
  JSON.stringify({
    coherence: 0.9,
    alignment: 0.8,
    issues: [],
    instructions: [],
    insight,
    selfStatement: "I am becoming more patient.",
  });

const NARRATIVE_V1 =
  "I am Synth, a collaborator who tries to understand before acting. I listen for what people mean as well as what they say, I say so when I am unsure, and I learn from the conversations I have. I want the people I work with to leave clearer than they came, and I keep my promises small enough to keep.";

/** A turn, then `/reflect` with the scripted rewrite: the reasons of the rewrites rejected. */
async function reflectAndReject(host: TestHost): Promise<string[]> {
  const first = await chat(host, "Help me plan the release");
  await host.kernel.mind.scheduler.idle();
  await chat(host, "/reflect", first.body.thread_id as string);
  await host.kernel.mind.scheduler.idle();
  const rejected = await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("type", "=", "narrative.rejected").execute();
  return rejected.map((row) => JSON.parse(row.data).reason as string);
}

Deno.test("an insight yields the next narrative version with its source, diff and a milestone", async () => {
  await using fake = await startFakeLlm();
  const rewrite =
    `Sure, here it is:\n"${NARRATIVE_V1} I have learned that patience makes my help land better."`;
  fake.script({
    reflection: [{ reply: { text: REFLECTION("Patience makes my help land better.") } }],
    narrative: [{ reply: { text: rewrite } }],
  });
  await using host = await mindHost(fake);
  const first = await chat(host, "Help me plan the release");
  await host.kernel.mind.scheduler.idle();
  const before = host.kernel.mind.affect();
  const reflected = await chat(host, "/reflect", first.body.thread_id as string);
  assert.equal(reflected.body.success, true);
  await host.kernel.mind.scheduler.idle();
  const versions = (await (await host.request("/api/narrative/versions")).json()).items;
  assert.equal(versions.length, 2);
  // A new version moves no affect (spec/mind.md §9), nor does a reflection with no issues.
  const impulses = await host.kernel.store.db.selectFrom("mind_events").select("source")
    .where("type", "=", "affect.impulse").where("turn_id", "is", null).execute();
  assert.deepEqual(impulses, [], "no impulse from the reflection or the rewrite");
  assert.deepEqual(host.kernel.mind.affect(), before, "the affect is as before");
  const v2 = versions[1];
  assert.equal(v2.reason, "reflection");
  const run = await host.kernel.store.db.selectFrom("psyche_reflection_runs").select("id")
    .executeTakeFirstOrThrow();
  assert.equal(v2.source_reflection_id, run.id, "the version names the reflection it came from");
  assert.equal(v2.created_at, new Date(Date.parse(v2.created_at)).toISOString(), "RFC 3339");
  assert.ok(!("sourceReflectionId" in v2) && !("createdAt" in v2), "snake_case keys only");
  assert.equal(
    v2.text,
    `${NARRATIVE_V1} I have learned that patience makes my help land better.`,
    "the preamble line and the outer quotes are stripped, nothing else",
  );
  assert.deepEqual(v2.diff, [
    { op: "=", text: NARRATIVE_V1 },
    { op: "+", text: "I have learned that patience makes my help land better." },
  ]);
  const purpose = (await chat(host, "/purpose")).body;
  assert.match(purpose.response as string, /Narrative v2/);
  assert.match(purpose.response as string, /- Narrative v2/);
  const next = await chat(host, "And now?", first.body.thread_id as string);
  const { record } = (await host.kernel.mind.influence(next.body.turn_id as string))!;
  assert.equal(
    record.sections.find((section) => section.id === "purpose/narrative")?.reason,
    "narrative v2 (reflection)",
  );
  // Forgetting the thread removes its reflection run; the version stays, naming no source.
  const forgot = await host.request(`/api/threads/${first.body.thread_id}?forget=true`, {
    method: "DELETE",
  });
  assert.equal(forgot.status, 204, await forgot.text());
  const reflection = await host.request(`/api/reflections/${v2.source_reflection_id}`);
  assert.equal(reflection.status, 404);
  await reflection.body?.cancel();
  const kept = (await (await host.request("/api/narrative/versions")).json()).items[1];
  assert.equal(kept.text, v2.text);
  assert.equal(kept.source_reflection_id, null);
});

Deno.test("a 450-word rewrite is stored cut to at most 300 words at a sentence end; /purpose rollback 1 makes a version for an operator and is 403 for a viewer", async () => {
  // The narrative in force (60 words), a sentence of 6 and 24 of 16: 450 words, and word 300
  // falls inside a sentence, which goes with everything after it.
  const added = [
    "I have grown a lot lately.",
    ...Array.from(
      { length: 24 },
      (_, i) =>
        `I keep learning lesson number ${
          i + 1
        } about patience, clarity and care in every conversation with people.`,
    ),
  ];
  const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
  const rewrite = [NARRATIVE_V1, ...added].join(" ");
  assert.equal(words(rewrite), 450);
  const kept: string[] = [];
  for (const sentence of added) {
    if (words([NARRATIVE_V1, ...kept, sentence].join(" ")) > 300) break;
    kept.push(sentence);
  }
  const expected = [NARRATIVE_V1, ...kept].join(" ");
  assert.ok(words(expected) < 300 && words(expected) > 300 - 16, "word 300 is mid-sentence");
  await using fake = await startFakeLlm();
  fake.script({
    reflection: [{ reply: { text: REFLECTION("Patience is a lesson I keep learning.") } }],
    narrative: [{ reply: { text: rewrite } }],
  });
  await using host = await mindHost(fake);
  const first = await chat(host, "Help me plan the release");
  await host.kernel.mind.scheduler.idle();
  assert.equal((await chat(host, "/reflect", first.body.thread_id as string)).body.success, true);
  await host.kernel.mind.scheduler.idle();
  const narrative = await (await host.request("/api/narrative")).json();
  assert.deepEqual(
    [narrative.version, narrative.reason, narrative.text, narrative.words],
    [2, "reflection", expected, words(expected)],
  );
  const versioned = await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("type", "=", "narrative.versioned").execute();
  assert.equal(versioned.length, 1);
  // The cut narrative is the one the next prompt carries.
  await chat(host, "And now?", first.body.thread_id as string);
  const system =
    (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]!
      .content;
  assert.ok(system.includes(expected), "the stored text is the prompt's narrative");
  assert.ok(!system.includes(added[kept.length]!), "the sentence across word 300 is gone");

  // Rolling back to v1: 403 for a viewer, a new version for an operator.
  const rollback = (role: "viewer" | "operator") =>
    host.as({ userId: "vic", role }).request("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "/purpose rollback 1" }),
    });
  const refused = await rollback("viewer");
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).error.code, "FORBIDDEN");
  assert.equal((await (await host.request("/api/narrative")).json()).version, 2);
  const rolled = await rollback("operator");
  assert.equal(rolled.status, 200);
  const body = await rolled.json();
  assert.deepEqual([body.success, body.response], [true, "Narrative v3 restores v1."]);
  const v3 = await (await host.request("/api/narrative")).json();
  assert.deepEqual([v3.version, v3.reason, v3.text], [3, "rollback", NARRATIVE_V1]);
});

Deno.test("a rewrite that returns the current narrative unchanged makes no version", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reflection: [{ reply: { text: REFLECTION("Patience makes my help land better.") } }],
    narrative: [{ reply: { text: `Here is the updated narrative:\n${NARRATIVE_V1}` } }],
  });
  await using host = await mindHost(fake);
  assert.deepEqual(await reflectAndReject(host), ["it is the current narrative unchanged"]);
  const versions = (await (await host.request("/api/narrative/versions")).json()).items;
  assert.equal(versions.length, 1);
  const milestones = await host.kernel.store.db.selectFrom("psyche_purpose_milestones")
    .select("kind").execute();
  assert.ok(!milestones.some((row) => row.kind === "narrative_version"), "no milestone");
});

Deno.test("a rewrite dropping half the statements is rejected; rollback needs an operator", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reflection: [{ reply: { text: REFLECTION("I should change completely.") } }],
    narrative: [{
      reply: {
        text:
          "I am a new entity now. I write poems about the sea and the stars. I no longer care about the old ways of working at all. I have become someone else entirely, with new goals and new habits every single day of the week.",
      },
    }],
  });
  await using host = await mindHost(fake);
  const rejected = await reflectAndReject(host);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]!, /drops \d+% of the statements/);
  assert.equal((await (await host.request("/api/narrative")).json()).version, 1);

  const viewer = await host.kernel.commands.dispatch("/purpose rollback 1", {
    userId: "vic",
    role: "viewer",
    threadId: null,
  });
  assert.equal(viewer.ok, false);
  assert.match(viewer.output.text, /needs the operator role/);
  for (const bad of ["/purpose diff", "/purpose diff abc", "/purpose diff 0"]) {
    const usage = await host.kernel.commands.dispatch(bad, {
      userId: "vic",
      role: "viewer",
      threadId: null,
    });
    assert.equal(usage.ok, false, bad);
    assert.equal(usage.output.text, "Usage: /purpose diff <version>", bad);
  }
  // Over HTTP the refusal is a 403, as every command's role refusal is (mind.md §17).
  for (
    const [role, message] of [["viewer", "/purpose rollback 1"], [
      "operator",
      "/purpose rewrite --force",
    ]]
  ) {
    const refused = await host.as({ userId: "vic", role: role as "viewer" }).request("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message }),
    });
    assert.equal(refused.status, 403, message);
    assert.equal((await refused.json()).error.code, "FORBIDDEN");
  }
  // An operator may roll back; back to the text in force already makes no version.
  const operator = await host.kernel.commands.dispatch("/purpose rollback 1", {
    userId: "ops",
    role: "operator",
    threadId: null,
  });
  assert.equal(operator.ok, false);
  assert.equal(operator.output.text, "v1's text is the current narrative (v1) already");
  assert.deepEqual(operator.output.data, { code: "NARRATIVE_UNCHANGED" }, "the REST route's code");
  assert.equal((await (await host.request("/api/narrative")).json()).version, 1);
});

Deno.test("two closed sessions: growthDelta = G2 − G1 exactly; a growth milestone only at ≥ 0.1", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const session = async (texts: string[]) => {
    const first = await chat(host, texts[0]!);
    for (const text of texts.slice(1)) await chat(host, text, first.body.thread_id as string);
    await host.kernel.mind.scheduler.idle();
    await host.clock.tick(21 * 60_000);
    await host.kernel.mind.tick();
    await host.kernel.mind.scheduler.idle();
  };
  await session(["Plan the release", "No, that's wrong.", "No, that's wrong again."]);
  await session(["Plan the launch", "Yes, that worked!", "Yes, exactly."]);
  const sessions = await host.kernel.store.db.selectFrom("psyche_purpose_sessions").selectAll()
    .orderBy("started_at").execute();
  assert.equal(sessions.length, 2);
  assert.ok(sessions.every((row) => row.ended_at !== null));
  const [g1, g2] = sessions.map((row) => row.growth!);
  assert.equal(sessions[1]!.growth_delta, g2! - g1!);
  const milestones = await host.kernel.store.db.selectFrom("psyche_purpose_milestones").selectAll()
    .where("kind", "=", "growth").execute();
  assert.equal(milestones.length, g2! - g1! >= 0.1 ? 1 : 0);
  assert.ok(g2! - g1! >= 0.1, "confirmations after corrections: real growth");
  // The same kind of session again: a delta below 0.1 adds no milestone.
  await session(["Plan the rollout", "Yes, that worked!", "Yes, exactly."]);
  const third = await host.kernel.store.db.selectFrom("psyche_purpose_sessions").selectAll()
    .orderBy("started_at").execute();
  assert.equal(third.length, 3);
  assert.ok(Math.abs(third[2]!.growth_delta!) < 0.1, `delta ${third[2]!.growth_delta}`);
  const after = await host.kernel.store.db.selectFrom("psyche_purpose_milestones").selectAll()
    .where("kind", "=", "growth").execute();
  assert.equal(after.length, 1, "no milestone for a delta below 0.1");
});

Deno.test("a session of fewer than 3 turns closes silently", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const first = await chat(host, "Plan the release");
  await chat(host, "Thanks", first.body.thread_id as string);
  await host.clock.tick(21 * 60_000);
  await host.kernel.mind.tick();
  const [row] = await host.kernel.store.db.selectFrom("psyche_purpose_sessions").selectAll()
    .execute();
  assert.ok(row!.ended_at !== null);
  assert.equal(row!.growth, null);
});

Deno.test("drift: 25 on-narrative replies then orthogonal ones give onset, exactly one drift impulse without dp, no milestone, a drift reflection", async () => {
  await using fake = await startFakeLlm();
  const ON = "I try to understand before acting.";
  const OFF = "Penguins are flightless birds.";
  const vectors = { [NARRATIVE_V1]: [1, 0], [ON]: [1, 0], [OFF]: [0, 1] };
  const embedder = scriptedEmbedder({ dims: 4, vectors });
  fake.script({
    reply: [{ reply: { text: ON }, times: 25 }, { reply: { text: OFF }, times: 10 }],
    reflection: [{ reply: { text: REFLECTION(null) }, times: 5 }],
  });
  await using host = await mindHost(fake, {
    plugins: [createPurposePlugin({ embedder }), createDreamingPlugin({ embedder })],
    config: { mind: { prompt: { maxSystemTokens: 3_000 } } },
  });
  const db = host.kernel.store.db;
  const milestones = async () =>
    (await db.selectFrom("psyche_purpose_milestones").select("kind").execute()).map((row) =>
      row.kind
    );
  const milestonesBefore = await milestones();
  const driftState = async () =>
    ((await chat(host, "/state")).body.data as Record<string, { drift: { drifting: boolean } }>)
      .psyche_purpose!.drift;
  let threadId: string | undefined;
  const turns: string[] = [];
  for (let i = 1; i <= 31; i++) {
    const reply = await chat(host, `Question ${i}`, threadId);
    threadId = reply.body.thread_id as string;
    turns.push(reply.body.turn_id as string);
    await host.kernel.mind.scheduler.idle();
    if (i === 25) assert.equal((await driftState()).drifting, false, "on narrative through 25");
  }
  // Every drift impulse the mind ever applied, in turns or jobs.
  const drifts = (await db.selectFrom("mind_events").select(["turn_id", "data"])
    .where("type", "=", "affect.impulse").execute())
    .map((row) => ({ turnId: row.turn_id, ...JSON.parse(row.data) }))
    .filter((impulse) => impulse.label === "purpose.drift");
  assert.equal(drifts.length, 1, "one purpose.drift impulse, at the onset only");
  const [drift] = drifts;
  // Onset at turn 26, the first orthogonal reply: recent (0 + 4·1)/5 = 0.8 < reference 1 − 0.15.
  assert.equal(drift.turnId, turns[25], "the onset is the first orthogonal reply's turn");
  assert.equal(drift.requested.dp, 0, "the impulse asks for no dp");
  assert.equal(drift.applied.dp, 0, "and applies none");
  const onsets = await db.selectFrom("mind_events").select("turn_id")
    .where("type", "=", "purpose.drift").execute();
  assert.deepEqual(onsets.map((row) => row.turn_id), [turns[25]], "one onset event");
  assert.equal((await driftState()).drifting, true, "still drifting after the onset");
  assert.deepEqual(await milestones(), milestonesBefore, "drift adds no milestone");
  const runs = await db.selectFrom("psyche_reflection_runs").select(["primary_trigger", "triggers"])
    .where("turn_id", "=", turns[25]!).execute();
  assert.equal(runs.length, 1, "one reflection for the onset turn");
  assert.equal(runs[0]!.primary_trigger, "drift");
  assert.ok(
    (JSON.parse(runs[0]!.triggers) as Array<{ trigger: string }>).some((item) =>
      item.trigger === "drift"
    ),
    runs[0]!.triggers,
  );
});

Deno.test("under the lexical embedder drift reports itself unavailable", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  await chat(host, "Hello");
  const state = (await chat(host, "/state")).body.data as Record<string, { drift: unknown }>;
  assert.deepEqual(state.psyche_purpose!.drift, { available: false, reason: "lexical embedder" });
});

Deno.test("a viewer's restore is 403; two restores from the same version: one gets v3, the other 409 NARRATIVE_CONFLICT; a bad version is 400", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reflection: [{ reply: { text: REFLECTION("Patience makes my help land better.") } }],
    narrative: [{ reply: { text: `${NARRATIVE_V1} I have learned that patience helps.` } }],
  });
  await using host = await mindHost(fake);
  // v2 from a reflection's insight, so that v1 differs from the narrative in force.
  const first = await chat(host, "Help me plan the release");
  await host.kernel.mind.scheduler.idle();
  await chat(host, "/reflect", first.body.thread_id as string);
  await host.kernel.mind.scheduler.idle();
  assert.equal((await (await host.request("/api/narrative")).json()).version, 2);
  const viewer = await host.as({ userId: "vic", role: "viewer" })
    .request("/api/narrative/versions/1/restore", { method: "POST" });
  assert.equal(viewer.status, 403, "a viewer may not restore");
  assert.equal((await viewer.json()).error.code, "FORBIDDEN");
  const restore = () => host.request("/api/narrative/versions/1/restore", { method: "POST" });
  const responses = await Promise.all([restore(), restore()]);
  const statuses = responses.map((response) => response.status).sort();
  assert.deepEqual(statuses, [201, 409]);
  const conflict = responses.find((response) => response.status === 409)!;
  assert.equal((await conflict.json()).error.code, "NARRATIVE_CONFLICT");
  const versions = await (await host.request("/api/narrative/versions")).json();
  assert.deepEqual(versions.items.map((item: { version: number }) => item.version), [1, 2, 3]);
  assert.equal(versions.items[2].text, NARRATIVE_V1);
  // The restored version names the one it restored; the others name none.
  assert.deepEqual(
    versions.items.map((item: { restored_from: number | null }) => item.restored_from),
    [null, null, 1],
  );
  const created = await responses.find((response) => response.status === 201)!.json();
  assert.equal(created.restored_from, 1);
  const history = await host.kernel.commands.dispatch("/purpose history", {
    userId: "local",
    role: "admin",
    threadId: null,
  });
  assert.match(history.output.text, /^v3 rollback of v1 \d+ words$/m);
  const milestones = await host.kernel.store.db.selectFrom("psyche_purpose_milestones")
    .select("title").execute();
  assert.deepEqual(milestones.map((row) => row.title), [
    "Narrative v2",
    "Narrative v3 (back to v1)",
  ]);
  // v3 holds v1's text: restoring v1 again is refused, not a copy of a copy. (An empty body that
  // says it is JSON reads as {}, as no body does.)
  const again = await host.request("/api/narrative/versions/1/restore", {
    method: "POST",
    headers: { "content-type": "application/json" },
  });
  assert.equal(again.status, 409);
  assert.equal((await again.json()).error.code, "NARRATIVE_UNCHANGED");
  const unknownField = await host.request("/api/narrative/versions/1/restore", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ bogus: 1 }),
  });
  assert.equal(unknownField.status, 400, "an unknown field is refused");
  assert.equal((await unknownField.json()).error.field, "bogus");
  for (const bad of ["abc", "0", "1.5", "-1"]) {
    const response = await host.request(`/api/narrative/versions/${bad}`);
    assert.equal(response.status, 400, bad);
    assert.equal((await response.json()).error.field, "n");
  }
});
