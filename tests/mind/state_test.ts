/**
 * The state endpoints (spec/mind.md §14, server.md §4.3): every legacy key
 * of `GET /api/state` comes from a real source, the thread scope is the
 * owner's, and a chat reply's `state` follows the last forecast and flow.
 */
import assert from "node:assert/strict";
import { scriptedEmbedder } from "@synth/testing";
import { createDreamingPlugin } from "../../plugins/psyche_dreaming/mod.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { LOCAL_PRINCIPAL } from "../../src/http/principal.ts";
import { chat, mindHost, newThread } from "./helpers.ts";

const FORECAST = JSON.stringify([
  {
    text: "How do I deploy it to the staging cluster without any downtime for our customers today?",
    probability: 0.6,
    intent: "question",
  },
  { text: "Thanks, that helps.", probability: 0.3, intent: "thank" },
  { text: "That is wrong.", probability: 0.1, intent: "correct" },
]);
const VECTORS = {
  "How do I deploy it to the staging cluster without any downtime for our customers today?": [
    1,
    0,
    0,
    0,
  ],
  "how would I ship this": [1, 0, 0, 0],
  "Thanks, that helps.": [0, 1, 0, 0],
  "That is wrong.": [0, 0, 1, 0],
};
const REFLECTION = JSON.stringify({
  coherence: 0.8,
  alignment: 0.7,
  issues: [],
  instructions: [],
  insight: "Short answers land better.",
  selfStatement: "I am learning to be brief.",
});

Deno.test("GET /api/state: alignment, buffer, flow, insights, coherence and narrative come from the mind's records", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    forecast: [{ reply: { text: FORECAST }, times: 100 }],
    reflection: [{ reply: { text: REFLECTION } }],
  });
  await using host = await mindHost(fake, {
    plugins: [
      createDreamingPlugin({
        embedder: scriptedEmbedder({ quality: "semantic", dims: 8, vectors: VECTORS }),
      }),
    ],
  });
  const empty = await (await host.request("/api/state")).json();
  // Every key of spec/server.md §4.3's SystemState (the earlier project's), none left out.
  const keys = [
    "timestamp",
    "turn_count",
    "valence",
    "mood_tags",
    "dream_alignment",
    "dream_buffer_size",
    "dream_buffer",
    "difficulty",
    "flow_state",
    "temperature",
    "persistence",
    "uncertainty",
    "pending_concerns",
    "assurance_success_rate",
    "coherence",
    "next_reflection",
    "total_insights",
    "sessions_completed",
    "growth_delta",
    "narrative",
    "metrics",
    "project",
    "state_version",
    "mind",
  ];
  assert.deepEqual(keys.filter((key) => !(key in empty)), []);
  assert.equal(empty.persistence, null, "nothing computes it: null, not invented");
  assert.equal(empty.turn_count, 0);
  assert.equal(empty.dream_alignment, null);
  assert.deepEqual(empty.dream_buffer, []);
  assert.equal(empty.total_insights, 0);
  assert.equal(empty.coherence, null);

  const first = await chat(host, "Help me with the release of the web app");
  const threadId = first.body.thread_id as string;
  await host.kernel.mind.scheduler.idle();
  const pending = await (await host.request("/api/state")).json();
  assert.equal(pending.dream_buffer_size, 3);
  assert.ok(Math.abs(pending.dream_buffer[0].probability - 0.6) < 1e-9);
  assert.equal(pending.dream_buffer[0].text.length, 80, "≤ 80 characters");
  assert.ok(pending.dream_buffer[0].text.endsWith("…"));

  const second = await chat(host, "how would I ship this", threadId);
  await chat(host, "/reflect", threadId);
  const state = await (await host.request("/api/state")).json();
  const { record } = (await host.kernel.mind.influence(second.body.turn_id as string))!;
  assert.equal(state.dream_alignment, record.forecast.alignment);
  assert.equal(
    (second.body.state as Record<string, unknown>).dream_alignment,
    record.forecast.alignment,
  );
  assert.equal(state.flow_state, record.calibration.state);
  assert.equal(state.difficulty, record.calibration.ema);
  assert.equal(state.turn_count, 2);
  assert.equal(state.total_insights, 1);
  assert.equal(state.coherence, 0.8);
  assert.equal(state.valence, host.kernel.mind.affect().p);
  const narrative = await (await host.request("/api/narrative")).json();
  assert.equal(state.narrative, narrative.text);
  assert.equal(state.mind.psyche_purpose.narrative.version, narrative.version);
  assert.equal(state.mind.affect.mood, host.kernel.mind.affect().mood);
  assert.ok(state.temperature >= 0.2 && state.temperature <= 1.0);
  assert.ok(typeof state.mind.psyche_assurance.open_concerns === "number");
});

Deno.test("GET /api/threads/{id}/state is the owner's: pending forecasts, open concerns; others get 404", async () => {
  await using fake = await startFakeLlm();
  fake.script({ forecast: [{ reply: { text: FORECAST }, times: 100 }] });
  await using host = await mindHost(fake);
  const ada = host.as({ userId: "ada", role: "operator" });
  const reply = await ada.request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "Help me with the release" }),
  });
  const threadId = (await reply.json()).thread_id as string;
  await host.kernel.mind.scheduler.idle();
  const own = await ada.request(`/api/threads/${threadId}/state`);
  assert.equal(own.status, 200);
  const body = await own.json();
  assert.equal(body.thread_id, threadId);
  assert.equal(body.psyche_dreaming.pending.items.length, 3);
  assert.deepEqual(body.psyche_assurance.open_concerns, []);
  assert.deepEqual(body.psyche_calibration.recent_sentiments.length, 1);
  const other = await host.as({ userId: "bob", role: "viewer" }).request(
    `/api/threads/${threadId}/state`,
  );
  assert.equal(other.status, 404);
});

Deno.test("the state's thread is the caller's newest unarchived one: the lean read agrees with the thread list", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const port = host.kernel.mind.conversations!;
  const owner = LOCAL_PRINCIPAL.userId;
  const latest = async () => {
    const [first] = await port.listThreads(owner, { limit: 1 });
    const lean = await port.latestThreadId!(owner);
    assert.equal(lean, first?.id ?? null, "the lean read and the list disagree");
    return lean;
  };
  assert.equal(await latest(), null);
  const a = await newThread(host);
  await host.clock.tick(1);
  const b = await newThread(host);
  assert.equal(await latest(), b);
  await host.clock.tick(1);
  await chat(host, "Back to the first one", a);
  assert.equal(await latest(), a, "new activity moves a thread first");
  const archive = (id: string) =>
    host.request(`/api/threads/${id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ archived: true }),
    });
  assert.equal((await archive(a)).status, 200);
  assert.equal(await latest(), b, "an archived thread is left out");
  assert.equal((await archive(b)).status, 200);
  assert.equal(await latest(), null);
});
