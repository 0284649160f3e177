/**
 * A restart in the middle of a conversation resumes exactly (spec/mind.md
 * §17 item 37, issue 5 item 4).
 */
import assert from "node:assert/strict";
import { FakeClock, makeTestDir } from "@synth/testing";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "./helpers.ts";

const UNSURE =
  "I think it might possibly work if you restart it, but maybe not. Perhaps try the staging copy first. <confidence>0.2</confidence>";
const FORECAST = JSON.stringify([
  { text: "Does that work on Windows?", probability: 0.7, intent: "question" },
  { text: "Thanks.", probability: 0.3, intent: "thank" },
]);
const REFLECTION = JSON.stringify({
  coherence: 0.8,
  alignment: 0.7,
  issues: [],
  instructions: ["Name the risks first."],
  insight: "Naming the risks first makes my help safer.",
  selfStatement: "I am careful.",
});
const LEARNED = "I have learned to name the risks first.";
const OVERLOAD = "I don't understand, what do you mean?";

Deno.test("affect, calibration, open concerns, ready forecasts, instruction turns and the narrative survive a restart", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-mind-resume-");
  try {
    let before: Record<string, unknown>;
    let threadId: string;
    let stoppedAt: number;
    {
      await using host = await mindHost(fake, { dataDir });
      const v1 = (await (await host.request("/api/narrative")).json()).text as string;
      fake.script({
        reply: [
          { reply: { text: "Let me explain it differently." }, times: 4 },
          { reply: { text: UNSURE } },
        ],
        forecast: [{ reply: { text: FORECAST }, times: 10 }],
        reflection: [{ reply: { text: REFLECTION }, times: 3 }],
        narrative: [{ reply: { text: `${v1} ${LEARNED}` } }],
      });
      const first = await chat(host, "How do I restart the payment service?");
      threadId = first.body.thread_id as string;
      // Clarification requests push calibration out of its flow band (non-default outputs).
      for (let i = 0; i < 3; i++) {
        await host.kernel.mind.scheduler.idle();
        await chat(host, OVERLOAD, threadId);
      }
      await host.kernel.mind.scheduler.idle();
      // An unsure reply opens a concern; its forecast is left ready.
      await chat(host, "How do I restart it safely during business hours?", threadId);
      await host.kernel.mind.scheduler.idle();
      // The reflection's insight makes narrative v2.
      await chat(host, "/reflect", threadId);
      await host.kernel.mind.scheduler.idle();
      before = (await chat(host, "/state", threadId)).body.data as Record<string, unknown>;
      stoppedAt = host.clock.now();
    }
    await using host = await mindHost(fake, {
      dataDir,
      clock: new FakeClock({ start: stoppedAt + 60_000 }),
    });
    const after = (await chat(host, "/state", threadId)).body.data as Record<
      string,
      Record<string, unknown>
    >;
    type Calibration = { state: string; ema: number; outputs: Record<string, number> };
    const calibration = (x: Record<string, unknown>) => x.psyche_calibration as Calibration;
    assert.notEqual(calibration(before).state, "flow", "calibration left its flow band");
    assert.notDeepEqual(
      calibration(before).outputs,
      { temperatureOffset: 0, verbosity: 0, questionRate: 0.4 },
      "non-default outputs",
    );
    assert.deepEqual(calibration(after).outputs, calibration(before).outputs, "outputs");
    assert.equal(calibration(after).state, calibration(before).state);
    assert.equal(calibration(after).ema, calibration(before).ema);
    assert.equal(
      (after.psyche_assurance as { open_concerns: number }).open_concerns,
      (before.psyche_assurance as { open_concerns: number }).open_concerns,
    );
    assert.ok((after.psyche_assurance as { open_concerns: number }).open_concerns >= 1);
    const concerns = (x: Record<string, unknown>) =>
      (x.thread as Record<string, { open_concerns: Array<{ id: string }> }>).psyche_assurance!
        .open_concerns.map((concern) => concern.id);
    assert.ok(concerns(before).length >= 1);
    assert.deepEqual(concerns(after), concerns(before), "the same open concerns");
    const thread = after.thread as Record<string, Record<string, unknown>>;
    assert.equal(
      thread.psyche_dreaming!.latest_status,
      "ready",
      "the ready forecast is still pending",
    );
    const active = (x: Record<string, unknown>) =>
      (x.psyche_reflection as { active_instructions: { turns_left: number } }).active_instructions;
    assert.deepEqual(active(after), active(before), "instruction turns left");
    const narrative = (x: Record<string, unknown>) =>
      (x.psyche_purpose as { narrative: { version: number } }).narrative;
    assert.equal(narrative(before).version, 2, "the reflection's narrative v2");
    assert.deepEqual(narrative(after), narrative(before));
    const current = await (await host.request("/api/narrative")).json();
    assert.equal(current.version, 2);
    assert.ok((current.text as string).endsWith(LEARNED), current.text);
    const p = (x: Record<string, unknown>) => (x.affect as { p: number }).p;
    const b = host.kernel.mind.profile.affect.baseline.p;
    assert.ok(
      Math.abs((p(after) - b) - (p(before) - b) * 2 ** (-1 / 20)) < 1e-9,
      "affect decayed by a minute",
    );
    // Everything works on after the restart, with no turn run yet in this process.
    const reflect = await chat(host, "/reflect", threadId);
    assert.equal(reflect.body.success, true, String(reflect.body.response));
    const next = await chat(host, "Does that work on Windows?", threadId);
    const { record } = (await host.kernel.mind.influence(next.body.turn_id as string))!;
    assert.equal(record.forecast.status, "resolved");
    assert.ok(record.forecast.alignment! > 0.5);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the turn count and state version never go back: not after a forget, not after a restart", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-mind-count-");
  try {
    const counts = async (host: Awaited<ReturnType<typeof mindHost>>) => {
      const state = await (await host.request("/api/state")).json();
      return [state.turn_count, state.state_version];
    };
    {
      await using host = await mindHost(fake, { dataDir });
      const first = await chat(host, "Tell me about the orders service.");
      const forgotten = first.body.thread_id as string;
      await chat(host, "And its database?", forgotten);
      await chat(host, "Something else entirely.");
      await host.kernel.mind.scheduler.idle();
      assert.deepEqual(await counts(host), [3, 3]);
      assert.equal((await chat(host, "/forget thread", forgotten)).status, 200);
      assert.deepEqual(await counts(host), [3, 3], "a forget removes turn rows, not the count");
    }
    await using host = await mindHost(fake, { dataDir });
    assert.deepEqual(await counts(host), [3, 3], "the count after the restart");
    await chat(host, "One more.");
    assert.deepEqual(await counts(host), [4, 4]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a client_msg_id sent again after a restart gets the turn the first send started", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-mind-client-id-");
  try {
    const send = async (host: Awaited<ReturnType<typeof mindHost>>, threadId: string) =>
      await (await host.request(`/api/threads/${threadId}/turns`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content: "Do it once", client_msg_id: "c-restart" }),
      })).json();
    let first: { turn_id: string; thread_id: string };
    {
      await using host = await mindHost(fake, { dataDir });
      const thread = await (await host.request("/api/threads", { method: "POST" })).json();
      first = await send(host, thread.id);
      await host.kernel.mind.live(first.turn_id)!.done;
    }
    await using host = await mindHost(fake, { dataDir });
    const again = await send(host, first.thread_id);
    assert.equal(again.turn_id, first.turn_id, "the first turn, not a new one");
    assert.equal(again.status, "completed");
    const messages = await (await host.request(`/api/threads/${first.thread_id}/messages`)).json();
    assert.equal(messages.items.length, 2, "the message and its reply, once");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("turns a crash cut are failed at the next start, finished then, saying whether they had begun", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-mind-cut-");
  try {
    {
      await using host = await mindHost(fake, { dataDir });
      const first = await chat(host, "Hello there.");
      const threadId = first.body.thread_id as string;
      // What a crash leaves behind: one turn running, one waiting behind it.
      const cut = [
        { id: "turn_cut_run", seq: 90, status: "running" as const },
        { id: "turn_cut_wait", seq: 91, status: "queued" as const },
      ];
      for (const row of cut) {
        await host.kernel.store.db.insertInto("mind_turns").values({
          ...row,
          thread_id: threadId,
          user_id: "local",
          received_at: host.clock.now(),
        }).execute();
      }
    }
    await using host = await mindHost(fake, { dataDir });
    for (const [id, said] of [["turn_cut_run", "during"], ["turn_cut_wait", "before"]]) {
      const turn = await (await host.request(`/api/turns/${id}`)).json();
      assert.equal(turn.status, "failed", id);
      assert.deepEqual(turn.error, {
        code: "MIND_INTERRUPTED",
        message: `The server stopped ${said} this turn`,
      });
      assert.equal(turn.finished_at, new Date(host.clock.now()).toISOString(), id);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

const PLAIN_REFLECTION = JSON.stringify({
  coherence: 0.8,
  alignment: 0.7,
  issues: [],
  instructions: [],
  insight: null,
  selfStatement: "I am steady.",
});

/** The reflection runs so far: each one's primary trigger and its triggers. */
async function reflectionRuns(host: Awaited<ReturnType<typeof mindHost>>) {
  const rows = await host.kernel.store.db.selectFrom("psyche_reflection_runs")
    .select(["primary_trigger", "triggers"]).orderBy("at").orderBy("id").execute();
  return rows.map((row) => ({
    primary: row.primary_trigger,
    triggers: (JSON.parse(row.triggers) as Array<{ trigger: string }>).map((item) => item.trigger),
  }));
}

Deno.test("the periodic reflection's turn count survives restarts: it fires after turn 10 and 20, not 9 or 19", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reflection: [{ reply: { text: PLAIN_REFLECTION }, times: 5 }] });
  const dataDir = await makeTestDir("synth-mind-trigger-count-");
  try {
    let threadId: string | undefined;
    let clockAt: number | undefined;
    const runs: Array<Awaited<ReturnType<typeof reflectionRuns>>> = [];
    /** A server for turns `from`–`to` (one run per turn after it), then stopped; a minute passes. */
    const serve = async (from: number, to: number) => {
      await using host = await mindHost(fake, {
        dataDir,
        ...(clockAt === undefined ? {} : { clock: new FakeClock({ start: clockAt + 60_000 }) }),
      });
      for (let i = from; i <= to; i++) {
        const reply = await chat(host, `Status note number ${i}.`, threadId);
        threadId = reply.body.thread_id as string;
        await host.kernel.mind.scheduler.idle();
        runs[i] = await reflectionRuns(host);
      }
      clockAt = host.clock.now();
    };
    await serve(1, 6);
    await serve(7, 14); // restarted mid-way through the first interval
    await serve(15, 20); // and through the second
    assert.deepEqual(runs[9], [], "not after turn 9");
    assert.deepEqual(runs[10], [{ primary: "periodic", triggers: ["periodic"] }], "after turn 10");
    assert.equal(runs[19]!.length, 1, "not after turn 19");
    assert.deepEqual(runs[20]!.at(-1), { primary: "periodic", triggers: ["periodic"] });
    assert.equal(runs[20]!.length, 2, "after turn 20");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a reflection skipped for budget stays due across a restart and runs when the cooldown has passed, not before", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reflection: [{ reply: { text: PLAIN_REFLECTION }, times: 5 }] });
  const dataDir = await makeTestDir("synth-mind-trigger-due-");
  try {
    const jobs = async (host: Awaited<ReturnType<typeof mindHost>>) =>
      (await host.kernel.store.db.selectFrom("mind_jobs").select(["status", "reason"])
        .where("module", "=", "psyche_reflection").orderBy("queued_at").execute())
        .map((job) => [job.status, job.reason]);
    let threadId: string | undefined;
    const turn = async (host: Awaited<ReturnType<typeof mindHost>>, i: number) => {
      const reply = await chat(host, `Status note number ${i}.`, threadId);
      threadId = reply.body.thread_id as string;
      await host.kernel.mind.scheduler.idle();
    };
    let stoppedAt: number;
    {
      await using host = await mindHost(fake, { dataDir });
      const budget = (method: string, body?: unknown) =>
        host.request("/api/budgets/psyche_reflection", {
          method,
          ...(body
            ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
            : {}),
        });
      assert.equal((await budget("PUT", { per_hour: 100 })).status, 200);
      for (let i = 1; i <= 10; i++) await turn(host, i);
      assert.deepEqual(await jobs(host), [["skipped", "budget"]], "due at turn 10, over budget");
      assert.equal((await budget("DELETE")).status, 200);
      stoppedAt = host.clock.now();
    }
    await using host = await mindHost(fake, {
      dataDir,
      clock: new FakeClock({ start: stoppedAt + 60_000 }),
    });
    // The cooldown (3 turns) counts from the skipped attempt at turn 10, across the restart.
    for (let i = 11; i <= 12; i++) await turn(host, i);
    assert.deepEqual(await jobs(host), [["skipped", "budget"]], "not within the cooldown");
    await turn(host, 13);
    assert.deepEqual(await jobs(host), [["skipped", "budget"], ["done", null]]);
    assert.deepEqual(await reflectionRuns(host), [{ primary: "periodic", triggers: ["periodic"] }]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a server started long after the last user turn is idle at once: the old session's summary runs no LLM job", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-mind-restart-idle-");
  try {
    let stoppedAt: number;
    {
      await using host = await mindHost(fake, { dataDir });
      const first = await chat(host, "Plan the release");
      await chat(host, "What comes next?", first.body.thread_id as string);
      await chat(host, "And after that?", first.body.thread_id as string);
      await host.kernel.mind.scheduler.idle();
      await host.clock.tick(5 * 60_000); // stopped well before the idle stop (30 min)
      stoppedAt = host.clock.now();
    }
    // Two hours after the last turn: idle since long before this start (spec/mind.md §13).
    await using host = await mindHost(fake, {
      dataDir,
      clock: new FakeClock({ start: stoppedAt + 115 * 60_000 }),
    });
    assert.ok(host.kernel.mind.lastActivityAt <= stoppedAt, "idleness counts from the last turn");
    for (let minute = 0; minute < 6; minute++) {
      await host.clock.tick(60_000);
      await host.kernel.mind.ticked();
      await host.kernel.mind.scheduler.idle();
    }
    const ledger = (await host.kernel.llm.ledger.list({ limit: 100 })).items
      .filter((row) => row.at > stoppedAt);
    assert.deepEqual(ledger.map((row) => row.purpose), [], "no LLM call after the restart");
    const summaries = await host.kernel.store.db.selectFrom("mind_jobs")
      .select(["status", "reason"]).where("kind", "=", "session_summary").execute();
    assert.ok(
      summaries.every((job) => job.status !== "done" && job.status !== "running"),
      JSON.stringify(summaries),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
