/**
 * Predictive dreaming through the pipeline (spec/mind.md §17 items 1, 9–13).
 */
import assert from "node:assert/strict";
import { definePlugin, MIND_HOOKS, type RecallRequest, type Store } from "@synth/kernel";
import { scriptedEmbedder, type TestHost } from "@synth/testing";
import type { MemoryApi } from "../../plugins/memory/mod.ts";
import { createDreamingPlugin } from "../../plugins/psyche_dreaming/mod.ts";
import { type FakeLlm, startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost, replyRequests } from "./helpers.ts";

const FORECAST = JSON.stringify([
  { text: "How do I deploy it?", probability: 0.6, intent: "question" },
  { text: "Thanks, that helps.", probability: 0.3, intent: "thank" },
  { text: "That is wrong.", probability: 0.1, intent: "correct" },
]);

const VECTORS = {
  "How do I deploy it?": [1, 0, 0, 0],
  "how would I ship this": [1, 0, 0, 0],
  "Thanks, that helps.": [0, 1, 0, 0],
  "That is wrong.": [0, 0, 1, 0],
  "Tell me about penguins instead": [0, 0, 0, 1],
};

async function dreamingHost(fake: FakeLlm, quality: "semantic" | "lexical" = "semantic") {
  fake.script({ forecast: [{ reply: { text: FORECAST }, times: 100 }] });
  return await mindHost(fake, {
    plugins: [
      createDreamingPlugin({ embedder: scriptedEmbedder({ quality, dims: 8, vectors: VECTORS }) }),
    ],
  });
}

/**
 * A dreaming host whose every mind.recall is first shown to `seen` (a plugin ordered "pre" that
 * answers none, so the memory plugin still answers it), with the plugin's database.
 */
async function hostSeeingRecalls(
  fake: FakeLlm,
  seen: (request: RecallRequest, db: Store["db"]) => Promise<void>,
) {
  const observer = definePlugin({
    manifest: { id: "recall_observer", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.recall, async (request) => {
        await seen(request, ctx.db.db);
        return undefined;
      }, { order: "pre" });
    },
  });
  fake.script({ forecast: [{ reply: { text: FORECAST }, times: 100 }] });
  return await mindHost(fake, {
    plugins: [
      createDreamingPlugin({ embedder: scriptedEmbedder({ dims: 8, vectors: VECTORS }) }),
      observer,
    ],
  });
}

/** One turn, then the forecast job, then the next message; the second turn's influence. */
async function forecastThen(host: Awaited<ReturnType<typeof dreamingHost>>, next: string) {
  const first = await chat(host, "Help me with the release of the web app");
  await host.kernel.mind.scheduler.idle();
  const second = await chat(host, next, first.body.thread_id as string);
  const found = await host.kernel.mind.influence(second.body.turn_id as string);
  const impulses = await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("turn_id", "=", second.body.turn_id as string).where("type", "=", "affect.impulse")
    .execute();
  return {
    record: found!.record,
    impulses: impulses.map((row) =>
      JSON.parse(row.data) as { label: string; applied: { dp: number; da: number } }
    ),
  };
}

Deno.test("the forecast job starts after the turn completes and is recorded in the ledger", async () => {
  await using fake = await startFakeLlm();
  await using host = await dreamingHost(fake);
  const order: string[] = [];
  host.kernel.bus.subscribe("mind.turn.completed", () => {
    order.push("completed");
  });
  host.kernel.bus.subscribe("mind.job", (event) => {
    if (event.data.kind === "forecast") order.push(`job ${event.data.kind} ${event.data.status}`);
  });
  await chat(host, "Help me with the release");
  await host.kernel.mind.scheduler.idle();
  assert.deepEqual(order, [
    "completed",
    "job forecast queued",
    "job forecast running",
    "job forecast done",
  ]);
  const rows = (await host.kernel.llm.ledger.list({ limit: 10 })).items.map((row) => row.purpose)
    .filter((purpose) => purpose !== "extract");
  assert.deepEqual(rows, ["forecast", "reply"]);
});

Deno.test("a forecast over the module's per-turn budget is skipped (budget, window turn) and makes no call; the next turn has none to resolve", async () => {
  await using fake = await startFakeLlm();
  await using host = await dreamingHost(fake);
  const put = await host.request("/api/budgets/psyche_dreaming", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ per_turn: 50 }),
  });
  assert.equal(put.status, 200);
  const { record } = await forecastThen(host, "How do I deploy it?");
  const jobs = await host.kernel.store.db.selectFrom("mind_jobs").select([
    "kind",
    "status",
    "reason",
  ])
    .where("module", "=", "psyche_dreaming").execute();
  assert.deepEqual(jobs.slice(0, 1).map((job) => [job.kind, job.status, job.reason]), [
    ["forecast", "skipped", "budget"],
  ]);
  const calls = (await host.kernel.llm.ledger.list({ limit: 50 })).items
    .filter((row) => row.purpose === "forecast");
  assert.equal(calls.length, 0, "a skipped forecast makes no call");
  const skipped = await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("type", "=", "budget.skipped").execute();
  assert.equal(JSON.parse(skipped[0]!.data).window, "turn");
  assert.notEqual(record.forecast.status, "resolved", "nothing was forecast");
});

Deno.test("a message equal to a forecast: alignment ≥ 0.6, no surprise, intent hit, the expectation in the prompt", async () => {
  await using fake = await startFakeLlm();
  await using host = await dreamingHost(fake);
  const { record, impulses } = await forecastThen(host, "How do I deploy it?");
  assert.equal(record.forecast.status, "resolved");
  assert.ok(record.forecast.alignment! >= 0.6);
  assert.ok(record.forecast.surprise! <= 1e-9);
  assert.deepEqual(record.forecast.items!.map((item) => item.sim), [1, 0, 0]);
  const system =
    (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]!
      .content;
  assert.match(
    system,
    /Expected: "How do I deploy it\?" \(question\); got: the latest message \(alignment 0\.60, surprise 0\.00\)/,
  );
  assert.ok(!system.includes("went somewhere unexpected"));
  const surprise = impulses.find((item) => item.label === "dreaming.surprise")!;
  assert.ok(surprise.applied.da < 0, "no surprise calms arousal");
  const hit = impulses.find((item) => item.label === "dreaming.hit")!;
  assert.ok(Math.abs(hit.applied.dp) < 1e-12, "alignment 0.6 is exactly the hit threshold: dp 0");
  const resolved = await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("type", "=", "forecast.resolved").orderBy("id", "desc").executeTakeFirstOrThrow();
  assert.equal(JSON.parse(resolved.data).intent_hit, true, "the question was the forecast intent");
});

Deno.test("an orthogonal message: surprise ≥ 0.99, arousal up, the surprise instruction", async () => {
  await using fake = await startFakeLlm();
  await using host = await dreamingHost(fake);
  const { record, impulses } = await forecastThen(host, "Tell me about penguins instead");
  assert.ok(record.forecast.surprise! >= 0.99);
  assert.ok(impulses.find((item) => item.label === "dreaming.surprise")!.applied.da > 0);
  const system =
    (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]!
      .content;
  assert.match(
    system,
    /The user went somewhere unexpected; drop earlier assumptions about their direction\./,
  );
});

Deno.test("prose instead of JSON is a parse_failed set with its raw text; the next turn records it", async () => {
  await using fake = await startFakeLlm();
  fake.script({ forecast: [{ reply: { text: "They will probably ask about deployment next." } }] });
  await using host = await mindHost(fake);
  const before = (await chat(host, "/dream")).body.data as {
    accuracy: { parse_failure_rate: number | null };
  };
  assert.equal(before.accuracy.parse_failure_rate, null);
  const first = await chat(host, "Help me with the release");
  await host.kernel.mind.scheduler.idle();
  const set = await host.kernel.store.db.selectFrom("psyche_dreaming_sets").selectAll()
    .executeTakeFirstOrThrow();
  assert.equal(set.status, "parse_failed");
  assert.equal(set.raw, "They will probably ask about deployment next.");
  const second = await chat(host, "How do I deploy it?", first.body.thread_id as string);
  const { record } = (await host.kernel.mind.influence(second.body.turn_id as string))!;
  assert.equal(record.forecast.status, "parse_failed");
  const after = (await chat(host, "/dream")).body.data as {
    accuracy: { parse_failure_rate: number; semantic: unknown; lexical: unknown };
  };
  assert.equal(after.accuracy.parse_failure_rate, 1);
  assert.equal(after.accuracy.semantic, null, "accuracy is unchanged by a failed set");
  assert.equal(after.accuracy.lexical, null);
});

Deno.test("a parse failure after a resolved set leaves the accuracy as it was and raises the parse failure rate", async () => {
  await using fake = await startFakeLlm();
  // The prose answer waits until the state before it has been read.
  const prose = Promise.withResolvers<void>();
  fake.script({
    forecast: [
      { reply: { text: FORECAST } },
      { reply: { text: "They will probably say thanks." }, timing: { heldUntil: prose.promise } },
    ],
  });
  await using host = await mindHost(fake, {
    plugins: [createDreamingPlugin({ embedder: scriptedEmbedder({ dims: 8, vectors: VECTORS }) })],
  });
  type Dream = {
    accuracy: { semantic: Record<string, unknown> | null; parse_failure_rate: number | null };
  };
  const dream = async () => (await chat(host, "/dream")).body.data as Dream;
  const first = await chat(host, "Help me with the release of the web app");
  const threadId = first.body.thread_id as string;
  await host.kernel.mind.scheduler.idle();
  await chat(host, "How do I deploy it?", threadId); // resolves the first set
  const before = await dream();
  assert.notEqual(before.accuracy.semantic, null, "one resolved set");
  prose.resolve(); // the second set's answer: prose
  await host.kernel.mind.scheduler.idle();
  const third = await chat(host, "Thanks, that helps.", threadId);
  const { record } = (await host.kernel.mind.influence(third.body.turn_id as string))!;
  assert.equal(record.forecast.status, "parse_failed");
  const after = await dream();
  assert.deepEqual(after.accuracy.semantic, before.accuracy.semantic, "accuracy unchanged");
  assert.ok(
    after.accuracy.parse_failure_rate! > (before.accuracy.parse_failure_rate ?? 0),
    `${before.accuracy.parse_failure_rate} → ${after.accuracy.parse_failure_rate}`,
  );
});

Deno.test("a forecast that comes after the next message and as prose is late and counts as a parse failure", async () => {
  await using fake = await startFakeLlm();
  const model = Promise.withResolvers<void>();
  fake.script({
    forecast: [
      {
        reply: { text: "They will probably ask about deployment next." },
        timing: { heldUntil: model.promise },
      },
    ],
  });
  await using host = await mindHost(fake);
  const first = await chat(host, "Help me with the release");
  await fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "forecast");
  // The next message arrives while the forecast is still being written.
  await chat(host, "How do I deploy it?", first.body.thread_id as string);
  model.resolve();
  await host.kernel.mind.scheduler.idle();
  const set = await host.kernel.store.db.selectFrom("psyche_dreaming_sets").selectAll()
    .where("turn_id", "=", first.body.turn_id as string).executeTakeFirstOrThrow();
  assert.deepEqual([set.status, set.raw], [
    "late",
    "They will probably ask about deployment next.",
  ]);
  const { accuracy } = (await chat(host, "/dream")).body.data as {
    accuracy: { counts: Record<string, number>; parse_failure_rate: number };
  };
  const total = Object.values(accuracy.counts).reduce((sum, n) => sum + n, 0);
  assert.equal(accuracy.counts.late, 1);
  assert.equal(accuracy.parse_failure_rate, (1 + (accuracy.counts.parse_failed ?? 0)) / total);
});

Deno.test("a failed turn still marks the set it saw: the next turn does not see it again", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    forecast: [{ reply: { text: "They will probably ask about deployment next." } }],
    reply: [
      { reply: { text: "Sure." } },
      { fault: { status: 400, message: "bad request" } },
      { reply: { text: "Here it is." } },
    ],
  });
  await using host = await mindHost(fake);
  const first = await chat(host, "Help me with the release");
  const threadId = first.body.thread_id as string;
  await host.kernel.mind.scheduler.idle();
  const failed = await chat(host, "How do I deploy it?", threadId);
  assert.equal(failed.status, 500);
  const failedTurn = (failed.body.error as { details: { turn_id: string } }).details.turn_id;
  // The set was seen in stage 3 of the failed turn; its write happened when the turn ended.
  const set = await host.kernel.store.db.selectFrom("psyche_dreaming_sets")
    .select(["status", "seen_by_turn_id"]).executeTakeFirstOrThrow();
  assert.deepEqual({ ...set }, { status: "parse_failed", seen_by_turn_id: failedTurn });
  const third = await chat(host, "Any news?", threadId);
  const { record } = (await host.kernel.mind.influence(third.body.turn_id as string))!;
  assert.equal(record.forecast.status, "none");
});

Deno.test("under a lexical embedder forecast impulses are lexicalWeight × the semantic ones, and the state says so", async () => {
  const das: Record<string, number> = {};
  for (const quality of ["semantic", "lexical"] as const) {
    await using fake = await startFakeLlm();
    await using host = await dreamingHost(fake, quality);
    const { impulses } = await forecastThen(host, "Tell me about penguins instead");
    das[quality] = impulses.find((item) => item.label === "dreaming.surprise")!.applied.da;
    if (quality === "lexical") {
      const dream = (await chat(host, "/dream")).body;
      assert.match(
        dream.response as string,
        /forecast scores are lexical overlap; affect impact down-weighted/,
      );
      // Outside a thread there is no pending forecast to show, and it says why; the accuracy
      // is the mind's, over every conversation, and says so.
      assert.match(dream.response as string, /^Forecasts are a thread's: send \/dream in a/);
      assert.match(
        dream.response as string,
        /The mind's accuracy over its last 1 set, in every conversation \(lexical\)/,
      );
    }
  }
  assert.ok(Math.abs(das.lexical! - 0.3 * das.semantic!) < 1e-12, JSON.stringify(das));
});

Deno.test("under a lexical embedder a forecast hit's dp is lexicalWeight × the semantic one, and the state says lexical", async () => {
  const dps: Record<string, number> = {};
  for (const quality of ["semantic", "lexical"] as const) {
    await using fake = await startFakeLlm();
    // The message is the 0.9 item: alignment 0.9, above the 0.6 hit threshold.
    fake.script({
      forecast: [{
        reply: {
          text: JSON.stringify([
            { text: "How do I deploy it?", probability: 0.9, intent: "question" },
            { text: "Thanks, that helps.", probability: 0.1, intent: "thank" },
          ]),
        },
        times: 10,
      }],
    });
    await using host = await mindHost(fake, {
      plugins: [
        createDreamingPlugin({
          embedder: scriptedEmbedder({ quality, dims: 8, vectors: VECTORS }),
        }),
      ],
    });
    const { impulses } = await forecastThen(host, "How do I deploy it?");
    dps[quality] = impulses.find((item) => item.label === "dreaming.hit")!.applied.dp;
    const state = await (await host.request("/api/state")).json();
    assert.equal(state.mind.psyche_dreaming.embedder, quality);
  }
  assert.ok(dps.semantic! > 0, JSON.stringify(dps));
  assert.ok(Math.abs(dps.lexical! - 0.3 * dps.semantic!) < 1e-12, JSON.stringify(dps));
});

Deno.test("a ready set recalls its likely items before the next message; a matching message gets their memories as prefetch in the influence record", async () => {
  await using fake = await startFakeLlm();
  // Every mind.recall, seen before the memory plugin answers it ("pre"; it answers none), with the
  // status of the forecast set the asking turn made at that moment.
  const recalls: Array<{ query: string; turnId: string; set: string | null }> = [];
  await using host = await hostSeeingRecalls(fake, async ({ query, view }, db) => {
    const set = await db.selectFrom("psyche_dreaming_sets").select("status")
      .where("turn_id", "=", view.turnId).executeTakeFirst();
    recalls.push({ query, turnId: view.turnId, set: set?.status ?? null });
  });
  const uid = await addDeployFact(host);
  const first = await chat(host, "Help me with the release of the web app");
  const firstTurn = first.body.turn_id as string;
  assert.deepEqual(recalls, [
    { query: "Help me with the release of the web app", turnId: firstTurn, set: null },
  ], "the turn's own recall; no set yet");
  await host.kernel.mind.scheduler.idle(); // the forecast job is done; no message has come yet
  // prefetchTop 2, prefetchMinProbability 0.25: the 0.6 and 0.3 items, not the 0.1 one, each
  // recalled once its set was stored as ready — before the user answers.
  assert.deepEqual(recalls.slice(1), [
    { query: "How do I deploy it?", turnId: firstTurn, set: "ready" },
    { query: "Thanks, that helps.", turnId: firstTurn, set: "ready" },
  ]);
  const seen = recalls.length;
  const second = await chat(host, "how would I ship this", first.body.thread_id as string);
  const secondTurn = second.body.turn_id as string;
  assert.deepEqual(recalls.slice(seen), [
    { query: "how would I ship this", turnId: secondTurn, set: null },
  ], "the next turn recalls its message only; the forecast's recalls were done before it");
  const { record } = (await host.kernel.mind.influence(secondTurn))!;
  assert.equal(record.forecast.status, "resolved");
  assert.deepEqual(
    record.memories.filter((item) => item.source === "prefetch").map((item) => item.memoryId),
    [uid],
    "the matched item's cached memory joins as prefetch",
  );
  const stats = await host.kernel.store.db.selectFrom("memories").select("recall_count")
    .where("uid", "=", uid).executeTakeFirstOrThrow();
  assert.equal(stats.recall_count, 1, "counted once, by the turn whose prompt held it");
  const system =
    (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]!
      .content;
  assert.match(system, /ops\/deploy\.sh/);
  assert.match(system, /<memory_context>/);
});

/** The fact the forecast "How do I deploy it?" recalls, embedded; its uid. */
async function addDeployFact(host: TestHost): Promise<string> {
  const memory = host.api<MemoryApi>("memory");
  const { uid } = await memory.semantic.add({
    ownerUserId: "local",
    text: "The deploy script lives in ops/deploy.sh and needs the VPN",
    importance: 0.8,
    source: "user",
  });
  await memory.flushEmbeddings();
  return uid;
}

/**
 * The next message matches the forecast whose recall had found the deploy fact, yet neither its
 * influence record nor its prompt holds the fact.
 */
async function assertMatchedWithoutTheFact(host: TestHost, fake: FakeLlm, threadId: string) {
  const second = await chat(host, "how would I ship this", threadId);
  const { record } = (await host.kernel.mind.influence(second.body.turn_id as string))!;
  assert.equal(record.forecast.status, "resolved", "the forecast matched");
  assert.deepEqual(record.memories, [], "no memory, prefetched or recalled");
  const system =
    (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]!
      .content;
  assert.doesNotMatch(system, /ops\/deploy\.sh/);
}

/** Ways a memory stops being recallable; each answers its HTTP status. */
const DROPS: Array<[string, (host: TestHost, uid: string) => Promise<number>]> = [
  ["forgotten by /forget", async (host, uid) => (await chat(host, `/forget ${uid}`)).status],
  ["deleted through the API", async (host, uid) => {
    const response = await host.request(`/api/memories/${uid}`, { method: "DELETE" });
    await response.body?.cancel();
    return response.status;
  }],
  ["flagged suspicious", async (host, uid) => {
    const response = await host.request(`/api/memories/${uid}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ suspicious: true }),
    });
    await response.body?.cancel();
    return response.status;
  }],
];

for (const [how, drop] of DROPS) {
  Deno.test(`a prefetched memory ${how} before the next message does not reach its prompt`, async () => {
    await using fake = await startFakeLlm();
    await using host = await dreamingHost(fake);
    const uid = await addDeployFact(host);
    const first = await chat(host, "Help me with the release of the web app");
    await host.kernel.mind.scheduler.idle(); // the ready set's recalls are cached
    assert.ok((await drop(host, uid)) < 300);
    await assertMatchedWithoutTheFact(host, fake, first.body.thread_id as string);
  });
}

Deno.test("a memory forgotten while the prefetch's recalls still run is left out of the cache: the next prompt never holds it", async () => {
  await using fake = await startFakeLlm();
  let uid = "";
  const forgets: number[] = [];
  // Between the prefetch's two recalls: the first ("How do I deploy it?") has cached the fact; the
  // fact is forgotten before the second runs, so only the forget's event can take it out.
  // The hook runs only during a turn's jobs, once `host` is set.
  await using host = await hostSeeingRecalls(fake, async ({ query }) => {
    if (query !== "Thanks, that helps." || !uid) return;
    const response = await host.request(`/api/memories/${uid}`, { method: "DELETE" });
    await response.body?.cancel();
    forgets.push(response.status);
  });
  uid = await addDeployFact(host);
  const first = await chat(host, "Help me with the release of the web app");
  await host.kernel.mind.scheduler.idle();
  assert.deepEqual(forgets, [204], "forgotten during the prefetch, between its recalls");
  await assertMatchedWithoutTheFact(host, fake, first.body.thread_id as string);
});

Deno.test("the forecasts API lists sets with their items and resolution; calibration averages them; another user sees none", async () => {
  await using fake = await startFakeLlm();
  await using host = await dreamingHost(fake);
  const { record } = await forecastThen(host, "how would I ship this");
  await host.kernel.mind.scheduler.idle();
  const list = await (await host.request("/api/forecasts")).json();
  assert.equal(list.items.length, 2, "the resolved set and the next one");
  const resolved = await (await host.request("/api/forecasts?status=resolved")).json();
  assert.equal(resolved.items.length, 1);
  const set = resolved.items[0];
  assert.equal(set.id, record.forecast.setId);
  assert.deepEqual(set.items.map((item: { text: string }) => item.text), [
    "How do I deploy it?",
    "Thanks, that helps.",
    "That is wrong.",
  ]);
  assert.equal(set.resolution.alignment, record.forecast.alignment);
  assert.deepEqual(Object.keys(set.resolution).sort(), [
    "alignment",
    "best",
    "intent_hit",
    "surprise",
    "turn_id",
  ]);
  assert.equal(set.resolution.turn_id, record.turnId);
  assert.equal(set.resolution.intent_hit, true);
  assert.ok(!("embedding" in set.items[0]), "no vectors in responses");
  const one = await (await host.request(`/api/forecasts/${set.id}`)).json();
  assert.deepEqual(one, set);
  const calibration = await (await host.request("/api/forecasts/calibration?window=5")).json();
  assert.equal(calibration.window, 5);
  assert.equal(calibration.semantic.sets, 1);
  assert.equal(calibration.semantic.alignment, record.forecast.alignment);
  assert.equal(calibration.semantic.intent_hit_rate, 1);

  const bob = host.as({ userId: "bob", role: "viewer" });
  assert.deepEqual((await (await bob.request("/api/forecasts")).json()).items, []);
  assert.equal((await bob.request(`/api/forecasts/${set.id}`)).status, 404);
  const bad = await host.request("/api/forecasts?status=maybe");
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.field, "status");
});
