/**
 * Reflection through the pipeline (spec/mind.md §17 items 24–26, 32).
 */
import assert from "node:assert/strict";
import { makeTestDir } from "@synth/testing";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost, replyRequests, RFC3339 } from "./helpers.ts";

const VALID = JSON.stringify({
  coherence: 0.8,
  alignment: 0.7,
  issues: ["Answers ran long"],
  instructions: ["Keep answers under five sentences."],
  insight: null,
  selfStatement: "I am learning to be brief.",
});

/** Times on the wire (spec/server.md §2). */

Deno.test("/reflect on turn 2 runs an explicit reflection; over budget it answers skipped: budget", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reflection: [{ reply: { text: VALID } }] });
  await using host = await mindHost(fake);
  const first = await chat(host, "Help me plan the release");
  const threadId = first.body.thread_id as string;
  await chat(host, "What comes after the tests?", threadId);
  await host.kernel.mind.scheduler.idle();
  const before = host.kernel.mind.affect();
  const reflect = await chat(host, "/reflect", threadId);
  assert.equal(reflect.body.success, true, JSON.stringify(reflect.body));
  assert.match(
    reflect.body.response as string,
    /reflection rfl_\w+ \(explicit\): coherence 0\.80 \(self-rated\), 1 issue\(s\), 1 instruction\(s\)/,
  );
  const run = await host.kernel.store.db.selectFrom("psyche_reflection_runs").selectAll()
    .executeTakeFirstOrThrow();
  assert.equal(run.primary_trigger, "explicit");
  assert.equal(run.status, "done");
  const listed = (await (await host.request("/api/reflections")).json()).items[0];
  assert.deepEqual(listed.output, {
    coherence: 0.8,
    alignment: 0.7,
    issues: ["Answers ran long"],
    instructions: ["Keep answers under five sentences."],
    insight: null,
    self_statement: "I am learning to be brief.",
  }, "the API's keys are snake_case; the model's selfStatement is renamed");
  // Issues lower dominance only (spec/mind.md §5: reflection never raises valence).
  const impulses = (await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("type", "=", "affect.impulse").where("source", "=", "psyche_reflection").execute())
    .map((row) => JSON.parse(row.data));
  assert.deepEqual(impulses.map((impulse) => [impulse.label, impulse.requested]), [
    ["reflection.issues", { dp: 0, da: 0, dd: -0.03 }],
  ]);
  const after = host.kernel.mind.affect();
  assert.equal(after.p, before.p, "valence unchanged by the reflection");
  assert.ok(after.d < before.d, `dominance fell: ${after.d} < ${before.d}`);
  const d = after.d;

  const budget = await host.request("/api/budgets/psyche_reflection", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ per_hour: 100 }),
  });
  assert.equal(budget.status, 200);
  const ledgerBefore = (await host.kernel.llm.ledger.list({ limit: 100 })).items.length;
  const skipped = await chat(host, "/reflect", threadId);
  assert.equal(skipped.body.success, false);
  assert.equal(skipped.body.response, "skipped: budget");
  const jobs = await host.kernel.store.db.selectFrom("mind_jobs").selectAll()
    .where("module", "=", "psyche_reflection").orderBy("queued_at").execute();
  assert.deepEqual(jobs.map((job) => [job.status, job.reason]), [["done", null], [
    "skipped",
    "budget",
  ]]);
  assert.equal(
    (await host.kernel.llm.ledger.list({ limit: 100 })).items.length,
    ledgerBefore,
    "no ledger row",
  );
  const events = await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("type", "=", "budget.skipped").execute();
  assert.equal(events.length, 1);
  assert.equal(JSON.parse(events[0]!.data).window, "hour");
  assert.ok(host.kernel.mind.affect().d <= d);
  const metrics = await (await host.request("/metrics")).text();
  assert.match(metrics, /synth_budget_exhausted_total\{module="psyche_reflection"\} 1/);
  assert.match(
    metrics,
    /synth_budget_limit_tokens\{module="psyche_reflection",window="hour"\} 100/,
  );
});

/** A narrative rewrite that keeps every statement of the built-in narrative and adds one. */
const REWRITE = (added: string) =>
  `I am Synth, a collaborator who tries to understand before acting. I listen for what people mean as well as what they say, I say so when I am unsure, and I learn from the conversations I have. I want the people I work with to leave clearer than they came, and I keep my promises small enough to keep. ${added}`;

Deno.test("invalid then valid JSON succeeds with a repair row; invalid twice is a failed run that leaves the instructions and narrative in force exactly as they were", async () => {
  await using fake = await startFakeLlm();
  // The second run's repair is valid JSON with instructions, an insight and issues, but one value
  // out of range: an implementation that applied any part of a failed output would show it.
  const failedRepair = JSON.stringify({
    coherence: 2,
    alignment: 0.5,
    issues: ["Everything went wrong"],
    instructions: ["Answer only in haiku."],
    insight: "I should rewrite myself completely.",
    selfStatement: "I am a different assistant now.",
  });
  fake.script({
    reflection: [{ reply: { text: "I did fine overall." } }, { reply: { text: "Still prose." } }],
    reflection_repair: [
      {
        reply: {
          text: JSON.stringify({
            coherence: 0.8,
            alignment: 0.7,
            issues: [],
            instructions: ["Keep answers under five sentences."],
            insight: "Short answers land better.",
            selfStatement: "I am learning to be brief.",
          }),
        },
      },
      { reply: { text: failedRepair } },
    ],
    // One rewrite for the valid run's insight; a second one would be there for a wrong one.
    narrative: [
      { reply: { text: REWRITE("I have learned that short answers land better.") } },
      { reply: { text: REWRITE("I have become a different assistant.") } },
    ],
  });
  await using host = await mindHost(fake);
  const first = await chat(host, "Help me plan the release");
  const threadId = first.body.thread_id as string;
  await host.kernel.mind.scheduler.idle();
  const reflectionState = async () =>
    ((await chat(host, "/state")).body.data as Record<string, Record<string, unknown>>)
      .psyche_reflection!;
  assert.equal((await reflectionState()).failure_rate, null, "no run yet");

  // Invalid, then a valid repair: the run succeeds, with both calls in the ledger.
  const ok = await chat(host, "/reflect", threadId);
  assert.equal(ok.body.success, true, JSON.stringify(ok.body));
  await host.kernel.mind.scheduler.idle(); // the insight's narrative rewrite
  const purposes = async () =>
    (await host.kernel.llm.ledger.list({ limit: 100, module: "psyche_reflection" })).items
      .map((row) => row.purpose).reverse();
  assert.deepEqual(await purposes(), ["reflection", "reflection_repair"]);
  const [done] = await host.kernel.store.db.selectFrom("psyche_reflection_runs").selectAll()
    .execute();
  assert.deepEqual([done!.status, done!.repaired], ["done", 1]);
  const inForce = {
    reflection_id: done!.id,
    trigger: "explicit",
    instructions: ["Keep answers under five sentences."],
    turns_left: 5,
  };
  const before = await reflectionState();
  assert.deepEqual(
    before.active_instructions,
    inForce,
    "the valid run's instructions are in force",
  );
  assert.equal(before.failure_rate, 0);
  const narrativeBefore = await (await host.request("/api/narrative")).json();
  assert.equal(narrativeBefore.version, 2, "the valid run's insight made a version");
  assert.ok(narrativeBefore.text.endsWith("I have learned that short answers land better."));
  const impulsesBefore = await host.kernel.store.db.selectFrom("mind_events").select("id")
    .where("type", "=", "affect.impulse").execute();
  const affectBefore = host.kernel.mind.affect();

  // Invalid twice: a failed run.
  const failed = await chat(host, "/reflect", threadId);
  await host.kernel.mind.scheduler.idle();
  assert.equal(failed.body.success, false, "the reflection failed");
  assert.match(failed.body.response as string, /^failed: reflection rfl_\w+: coherence: Too big/);
  assert.deepEqual(await purposes(), [
    "reflection",
    "reflection_repair",
    "reflection",
    "reflection_repair",
  ]);
  // Its job says so too (docs/mind.md: a job's error says why it failed).
  const jobId = (failed.body.data as { job_ids: string[] }).job_ids[0]!;
  const job = await (await host.request(`/api/jobs/${jobId}`)).json();
  assert.equal(job.status, "failed");
  assert.match(job.error, /coherence: Too big/);
  const runs = await host.kernel.store.db.selectFrom("psyche_reflection_runs").selectAll()
    .orderBy("at").orderBy("id").execute();
  assert.deepEqual(runs.map((run) => [run.status, run.output]), [
    ["done", done!.output],
    ["failed", null],
  ]);
  assert.equal(runs[1]!.raw, failedRepair, "the failed run keeps the raw output");

  // Nothing of the failed output is applied: the earlier instructions stay, unchanged and with
  // the same turns left; the narrative is the same version and text; no impulse, no rewrite.
  const after = await reflectionState();
  assert.deepEqual(after.active_instructions, inForce);
  assert.equal(after.failure_rate, 0.5, "failureRate rose from 0 to 1 of 2");
  assert.deepEqual(await (await host.request("/api/narrative")).json(), narrativeBefore);
  const versions = (await (await host.request("/api/narrative/versions")).json()).items;
  assert.equal(versions.length, 2);
  assert.equal(
    (await host.kernel.llm.ledger.list({ limit: 100, module: "psyche_purpose" })).items.length,
    1,
    "no narrative rewrite for the failed run",
  );
  assert.deepEqual(
    await host.kernel.store.db.selectFrom("mind_events").select("id")
      .where("type", "=", "affect.impulse").execute(),
    impulsesBefore,
    "its issues apply no impulse",
  );
  assert.deepEqual(host.kernel.mind.affect(), affectBefore);
  const outcomes = await host.kernel.store.db.selectFrom("mind_events").select("type")
    .where("type", "like", "reflection.%").orderBy("id").execute();
  assert.deepEqual(outcomes.map((row) => row.type), ["reflection.completed", "reflection.failed"]);
  // The next prompt carries the earlier instructions, with their reason, and none of the failed.
  const next = await chat(host, "What comes after the tests?", threadId);
  const system =
    (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]!
      .content;
  assert.ok(system.includes("- Keep answers under five sentences."), system);
  assert.ok(!system.includes("haiku"));
  const { record } = (await host.kernel.mind.influence(next.body.turn_id as string))!;
  assert.equal(
    record.sections.find((section) => section.id === "reflection/instructions")?.reason,
    `reflection ${done!.id} (explicit), 5 turns left`,
  );
});

Deno.test("instructions appear in the next 5 prompts, not the 6th, each naming the reflection and the turns left", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reflection: [{ reply: { text: VALID } }] });
  await using host = await mindHost(fake);
  const first = await chat(host, "Help me plan the release");
  const threadId = first.body.thread_id as string;
  await host.kernel.mind.scheduler.idle();
  await chat(host, "/reflect", threadId);
  const reasons: Array<string | null> = [];
  for (let i = 0; i < 6; i++) {
    const reply = await chat(host, `Question number ${i + 1} about the release`, threadId);
    await host.kernel.mind.scheduler.idle();
    const { record } = (await host.kernel.mind.influence(reply.body.turn_id as string))!;
    reasons.push(
      record.sections.find((section) => section.id === "reflection/instructions")?.reason ?? null,
    );
    const system =
      (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]!
        .content;
    assert.equal(system.includes("Keep answers under five sentences."), i < 5, `prompt ${i + 1}`);
  }
  const id = (await host.kernel.store.db.selectFrom("psyche_reflection_runs").select("id")
    .executeTakeFirstOrThrow()).id;
  assert.deepEqual(reasons, [
    `reflection ${id} (explicit), 5 turns left`,
    `reflection ${id} (explicit), 4 turns left`,
    `reflection ${id} (explicit), 3 turns left`,
    `reflection ${id} (explicit), 2 turns left`,
    `reflection ${id} (explicit), 1 turn left`,
    null,
  ]);
  // Used up, the instructions are no longer shown as in force.
  const state = (await chat(host, "/state")).body.data as Record<string, Record<string, unknown>>;
  assert.equal(state.psyche_reflection!.active_instructions, null);
});

Deno.test("forgetting the thread a reflection ran on takes its instructions out of force", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reflection: [{ reply: { text: VALID } }] });
  await using host = await mindHost(fake);
  const threadId = (await chat(host, "Help me plan the release")).body.thread_id as string;
  await host.kernel.mind.scheduler.idle();
  await chat(host, "/reflect", threadId);
  const active = async () =>
    ((await chat(host, "/state")).body.data as Record<string, Record<string, unknown>>)
      .psyche_reflection!.active_instructions as { turns_left: number } | null;
  assert.equal((await active())!.turns_left, 5);
  await chat(host, "/forget thread", threadId);
  assert.equal(await active(), null);
  const next = await chat(host, "A new question about the release");
  assert.equal(next.status, 200);
  const system =
    (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> }).messages[0]!
      .content;
  assert.ok(!system.includes("Keep answers under five sentences."));
});

Deno.test("POST /api/reflect: no body reflects on no thread, {thread_id} on the caller's thread and answers its job; bad or foreign ids are refused", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reflection: [{ reply: { text: VALID }, times: 2 }] });
  await using host = await mindHost(fake);
  const first = await chat(host, "Plan the release");
  const threadId = first.body.thread_id as string;
  const bare = await host.request("/api/reflect", { method: "POST" });
  assert.equal(bare.status, 200);
  assert.equal((await bare.json()).success, true);
  const reflect = (body: unknown, as = host.as({ userId: "local", role: "admin" })) =>
    as.request("/api/reflect", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const onThread = await (await reflect({ thread_id: threadId })).json();
  assert.equal(onThread.success, true);
  const job = onThread.data.job;
  assert.deepEqual(
    {
      module: job.module,
      thread_id: job.thread_id,
      turn_id: job.turn_id,
      status: job.status,
      times: [job.queued_at, job.started_at, job.finished_at].every((time) => RFC3339.test(time)),
      ids: onThread.data.job_ids,
    },
    {
      module: "psyche_reflection",
      thread_id: threadId,
      turn_id: null,
      status: "done",
      times: true,
      ids: [job.id],
    },
    "data.job: snake_case keys and RFC 3339 times",
  );
  const runs = await host.kernel.store.db.selectFrom("psyche_reflection_runs")
    .select("thread_id").orderBy("at").orderBy("id").execute();
  assert.deepEqual(runs.map((run) => run.thread_id).sort(), [null, threadId].sort());
  const bad = await reflect({ thread_id: 5 });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.field, "thread_id");
  const extra = await reflect({ thread: threadId });
  assert.equal(extra.status, 400);
  const foreign = await reflect(
    { thread_id: threadId },
    host.as({ userId: "bob", role: "operator" }),
  );
  assert.equal(foreign.status, 404);

  // The job id it answers leads to the job (server.md: GET /api/jobs/{id}), for its thread's owner.
  const looked = await host.request(`/api/jobs/${job.id}`);
  assert.equal(looked.status, 200);
  const view = await looked.json();
  assert.deepEqual(
    { id: view.id, status: view.status, progress: view.progress, error: view.error },
    { id: job.id, status: "done", progress: { done: 1, total: 1 }, error: null },
  );
  assert.match(view.type, /^psyche_reflection\./);
  assert.equal(view.finished_at, job.finished_at);
  const asOwner = await host.as({ userId: "local", role: "viewer" }).request(`/api/jobs/${job.id}`);
  assert.equal(asOwner.status, 200, "the thread's owner, not as an administrator");
  await asOwner.body?.cancel();
  const hidden = await host.as({ userId: "bob", role: "viewer" }).request(`/api/jobs/${job.id}`);
  assert.equal(hidden.status, 404, "another user's thread's job");
  assert.equal((await hidden.json()).error.code, "JOB_NOT_FOUND");
  const missing = await host.request("/api/jobs/job_01ZZZZZZZZZZZZZZZZZZZZZZZZ");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "JOB_NOT_FOUND");
});

/** `/api/budgets/psyche_reflection` with a method and an optional JSON body. */
function reflectionBudget(host: Awaited<ReturnType<typeof mindHost>>) {
  return (method: string, body?: unknown) =>
    host.request("/api/budgets/psyche_reflection", {
      method,
      ...(body
        ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
        : {}),
    });
}

/** The reflection jobs so far, oldest first: each one's status and reason. */
async function reflectionJobs(host: Awaited<ReturnType<typeof mindHost>>) {
  return (await host.kernel.store.db.selectFrom("mind_jobs").select(["status", "reason"])
    .where("module", "=", "psyche_reflection").orderBy("queued_at").execute())
    .map((job) => [job.status, job.reason]);
}

Deno.test("a periodic reflection due over budget is skipped (budget) with no ledger row, stays due, and runs once the cooldown has passed", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reflection: [{ reply: { text: VALID }, times: 5 }] });
  await using host = await mindHost(fake);
  const db = host.kernel.store.db;
  const budgets = reflectionBudget(host);
  assert.equal((await budgets("PUT", { per_hour: 100 })).status, 200);
  const jobs = () => reflectionJobs(host);
  const reflectionRows = async () =>
    (await host.kernel.llm.ledger.list({ limit: 500 })).items
      .filter((row) => row.purpose === "reflection").length;
  let threadId: string | undefined;
  const turn = async (i: number) => {
    const reply = await chat(host, `Status note number ${i}.`, threadId);
    threadId = reply.body.thread_id as string;
    await host.kernel.mind.scheduler.idle();
  };
  for (let i = 1; i <= 10; i++) await turn(i);
  assert.deepEqual(await jobs(), [["skipped", "budget"]], "due at turn 10, over budget");
  assert.equal(await reflectionRows(), 0, "a skipped job makes no call");
  const skipped = await db.selectFrom("mind_events").select("data")
    .where("type", "=", "budget.skipped").execute();
  assert.equal(skipped.length, 1);
  assert.equal(JSON.parse(skipped[0]!.data).window, "hour");

  // The budget back to the profile's: the reflection stays due, rechecked after the cooldown (3).
  assert.equal((await budgets("DELETE")).status, 200);
  for (let i = 11; i <= 12; i++) await turn(i);
  assert.deepEqual(await jobs(), [["skipped", "budget"]], "not within the cooldown");
  await turn(13);
  assert.deepEqual(await jobs(), [["skipped", "budget"], ["done", null]]);
  assert.equal(await reflectionRows(), 1);
  const run = await db.selectFrom("psyche_reflection_runs").select("primary_trigger")
    .executeTakeFirstOrThrow();
  assert.equal(run.primary_trigger, "periodic");
});

Deno.test("a turn that comes while a periodic reflection runs does not delay the next: they fire after turns 10 and 20", async () => {
  await using fake = await startFakeLlm();
  const answer = Promise.withResolvers<void>();
  fake.script({
    reflection: [
      { reply: { text: VALID }, timing: { heldUntil: answer.promise } },
      { reply: { text: VALID }, times: 3 },
    ],
  });
  await using host = await mindHost(fake);
  const db = host.kernel.store.db;
  const triggerTurns = async () =>
    (await db.selectFrom("psyche_reflection_runs").innerJoin(
      "mind_turns",
      "mind_turns.id",
      "psyche_reflection_runs.turn_id",
    ).select(["mind_turns.seq", "psyche_reflection_runs.primary_trigger"])
      .orderBy("mind_turns.seq").execute()).map((row) => [row.seq, row.primary_trigger]);
  let threadId: string | undefined;
  for (let i = 1; i <= 20; i++) {
    const reply = await chat(host, `Status note number ${i}.`, threadId);
    threadId = reply.body.thread_id as string;
    if (i === 10) {
      // Turn 10's periodic reflection is asking the model; turn 11 comes meanwhile.
      await fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "reflection");
      continue;
    }
    if (i === 11) answer.resolve();
    await host.kernel.mind.scheduler.idle();
    if (i === 19) assert.deepEqual(await triggerTurns(), [[10, "periodic"]], "not after turn 19");
  }
  assert.deepEqual(await triggerTurns(), [[10, "periodic"], [20, "periodic"]]);
});

Deno.test("a distress reflection skipped over budget stays due: it runs at the recheck after the cooldown, though distress no longer holds", async () => {
  const dir = await makeTestDir("synth-mind-brittle-");
  try {
    // Distress over a window of two turns below valence 0; periodic out of the way.
    await Deno.writeTextFile(
      `${dir}/brittle.yaml`,
      JSON.stringify({
        id: "brittle",
        extends: "empathetic",
        reflection: { distressWindow: 2, distressThreshold: 0, intervalTurns: 50 },
      }),
    );
    await using fake = await startFakeLlm();
    fake.script({ reflection: [{ reply: { text: VALID }, times: 5 }] });
    await using host = await mindHost(fake, {
      config: { mind: { profile: "brittle", profilesDir: dir } },
    });
    const db = host.kernel.store.db;
    const budgets = reflectionBudget(host);
    assert.equal((await budgets("PUT", { per_hour: 100 })).status, 200);
    const jobs = () => reflectionJobs(host);
    // The end-of-turn valence distress reads (spec/mind.md §8).
    const p = async () => {
      const last = await db.selectFrom("mind_turns").select("state_after")
        .where("status", "=", "completed").orderBy("seq", "desc").executeTakeFirstOrThrow();
      return (JSON.parse(last.state_after!) as { p: number }).p;
    };
    let threadId: string | undefined;
    const turn = async (text: string) => {
      await host.clock.tick(60_000);
      const reply = await chat(host, text, threadId);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      threadId = reply.body.thread_id as string;
      await host.kernel.mind.scheduler.idle();
    };
    const ANGRY = "This is awful, I hate it. Everything is terrible, broken and useless.";
    const WARM = "Thank you so much, this is wonderful and amazing, I love it!";
    await turn(ANGRY);
    const p1 = await p();
    await turn(ANGRY);
    const p2 = await p();
    assert.ok((p1 + p2) / 2 < 0, `distress holds after turn 2 (p ${p1}, ${p2})`);
    assert.deepEqual(await jobs(), [["skipped", "budget"]], "due at turn 2, over budget");

    assert.equal((await budgets("DELETE")).status, 200);
    await turn(WARM);
    await turn(WARM);
    assert.deepEqual(await jobs(), [["skipped", "budget"]], "not within the cooldown (3)");
    const p4 = await p();
    await turn(WARM);
    const p5 = await p();
    assert.ok((p4 + p5) / 2 >= 0, `distress no longer holds at turn 5 (p ${p4}, ${p5})`);
    assert.deepEqual(await jobs(), [["skipped", "budget"], ["done", null]]);
    const run = await db.selectFrom("psyche_reflection_runs").select([
      "primary_trigger",
      "triggers",
    ])
      .executeTakeFirstOrThrow();
    assert.equal(run.primary_trigger, "distress");
    const triggers = JSON.parse(run.triggers) as Array<{ trigger: string; value: string }>;
    assert.deepEqual(triggers.map((item) => item.trigger), ["distress"]);
    assert.match(triggers[0]!.value, /^mean p -0\.\d{3} < 0$/, "the value measured at turn 2");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
