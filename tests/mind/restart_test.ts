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
