/**
 * The turn pipeline end to end: HTTP in, the fake LLM over its wire
 * protocol, history, the influence record, the ledger.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chatRequests } from "../llm/helpers.ts";
import { chat, mindHost, newThread } from "./helpers.ts";

Deno.test("a chat turn answers through the fake and the next turn sends the history as turns", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: [{ reply: { text: "Hello Ada." } }, { reply: { text: "You said your name is Ada." } }],
  });
  await using host = await mindHost(fake);
  const first = await chat(host, "Hi, my name is Ada");
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.response, "Hello Ada.");
  const threadId = first.body.thread_id as string;
  assert.match(threadId, /^thr_/);
  assert.match(first.body.turn_id as string, /^turn_/);
  const second = await chat(host, "What is my name?", threadId);
  assert.equal(second.body.response, "You said your name is Ada.");
  const [, request] = chatRequests(fake).filter((item) =>
    item.headers["x-synth-purpose"] === "reply"
  );
  const messages =
    (request!.body as { messages: Array<{ role: string; content: string }> }).messages;
  assert.deepEqual(messages.slice(1), [
    { role: "user", content: "Hi, my name is Ada" },
    { role: "assistant", content: "Hello Ada." },
    { role: "user", content: "What is my name?" },
  ]);
  assert.equal(messages[0]!.role, "system");
  assert.match(messages[0]!.content, /^You are Synth, a warm, attentive collaborator/);
  const ledger = (await host.kernel.llm.ledger.list({ limit: 10, module: "mind" })).items;
  assert.deepEqual(ledger.map((row) => [row.module, row.purpose]), [["mind", "reply"], [
    "mind",
    "reply",
  ]]);
  assert.equal(ledger[0]!.turn_id, second.body.turn_id);
  const influence = await host.request(`/api/turns/${second.body.turn_id}/influence`);
  assert.equal(influence.status, 200);
  const record = await influence.json();
  assert.equal(record.turn_id, second.body.turn_id);
  assert.ok(record.sections.some((section: { id: string }) => section.id === "mind/persona"));
  assert.equal(typeof record.state_before.p, "number");
  assert.equal(record.generation.temperature, 0.7);
  // The thread counts its four messages, alone and in the list.
  const thread = await (await host.request(`/api/threads/${threadId}`)).json();
  assert.equal(thread.message_count, 4);
  const listed = await (await host.request("/api/threads")).json();
  assert.deepEqual(
    listed.items.map((
      item: { id: string; message_count: number },
    ) => [item.id, item.message_count]),
    [[threadId, 4]],
  );
});

Deno.test("a reply the provider cannot give: 503 LLM_UNAVAILABLE with Retry-After, and the message is kept", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { purpose: "reply" }, fault: { status: 401, message: "invalid key" } }],
  });
  await using host = await mindHost(fake);
  const reply = await host.request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "Are you there?" }),
  });
  assert.equal(reply.status, 503);
  assert.equal(reply.headers.get("retry-after"), "30");
  const body = await reply.json();
  assert.equal(body.error.code, "LLM_UNAVAILABLE");
  assert.equal(body.error.details.retry_after_seconds, 30);
  const threadId = body.error.details.thread_id as string;
  const stored = await host.kernel.mind.conversations!.threadWindow(threadId, { maxTokens: 1_000 });
  assert.deepEqual(stored.map((message) => message.text), ["Are you there?"]);
  // The thread's history says how the turn ended, so a reloaded chat can show it.
  const history = await (await host.request(`/api/threads/${threadId}/messages`)).json();
  assert.deepEqual(
    history.items.map((item: Record<string, unknown>) => [item.role, item.turn_status]),
    [["user", "failed"]],
  );
  assert.equal(history.items[0].turn_error.code, "LLM_UNAVAILABLE");
  assert.match(history.items[0].turn_error.message, /No language model provider is available/);
  // Why it went as it did: the failed turn's influence record holds what it did before the reply.
  const turnId = body.error.details.turn_id as string;
  const influence = await host.request(`/api/turns/${turnId}/influence`);
  assert.equal(influence.status, 200);
  const record = await influence.json();
  assert.equal(record.turn_id, turnId);
  assert.equal(record.thread_id, threadId);
  assert.ok(record.sections.some((section: { id: string }) => section.id === "mind/persona"));
  assert.equal(typeof record.state_before.p, "number");
  assert.equal(typeof record.state_after.p, "number");
  assert.ok(Array.isArray(record.impulses));
  assert.equal(record.generation.temperature, 0.7);
  assert.equal(record.reply_policy.caveat, false);
});

Deno.test("a completed turn's messages carry its status and no error", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reply: [{ reply: { text: "Hello." } }] });
  await using host = await mindHost(fake);
  const first = await chat(host, "Hi");
  const history = await (await host.request(`/api/threads/${first.body.thread_id}/messages`))
    .json();
  assert.deepEqual(
    history.items.map((item: Record<string, unknown>) => [
      item.role,
      item.turn_status,
      item.turn_error,
    ]),
    [["user", "completed", null], ["assistant", "completed", null]],
  );
  // The reply carries its model and tokens, as chat.done gave them (the user's message none).
  assert.equal(history.items[0].usage, null);
  assert.deepEqual(history.items[1].usage, first.body.usage);
  assert.equal(typeof history.items[1].usage.model, "string");
});

Deno.test("an untitled thread is shown with its first message's opening words (gone when that is forgotten); a given title stays", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: [{ reply: { text: "One." } }, { reply: { text: "Two." } }, {
      reply: { text: "Three." },
    }],
  });
  await using host = await mindHost(fake);
  const long = "Could you help me plan the database migration for the orders service next week?";
  const first = await chat(host, `  ${long}\n`);
  const threadId = first.body.thread_id as string;
  const title = async (id: string) =>
    (await (await host.request(`/api/threads/${id}`)).json()).title as string | null;
  assert.equal(await title(threadId), "Could you help me plan the database migration for the…");
  await chat(host, "Something else entirely", threadId);
  assert.equal(await title(threadId), "Could you help me plan the database migration for the…");
  // The title is read from the message, not copied: forgetting the message takes it away.
  const history = await (await host.request(`/api/threads/${threadId}/messages`)).json();
  const forgot = await host.request(`/api/memories/${history.items[0].id}`, { method: "DELETE" });
  assert.equal(forgot.status, 204);
  assert.equal(await title(threadId), "Something else entirely");
  const exported = await (await host.request("/api/memories/export")).text();
  assert.ok(!exported.includes("database migration"), "the export keeps no copy of it");
  const short = await chat(host, "Hi there");
  assert.equal(await title(short.body.thread_id as string), "Hi there");
  const named = await (await host.request("/api/threads", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: "Mine" }),
  })).json();
  await chat(host, "A first message", named.id);
  assert.equal(await title(named.id), "Mine");
});

/** The events of an SSE body: `id`, `event` and parsed `data` of each. */
async function sseEvents(response: Response) {
  const text = await response.text();
  return text.split("\n\n").filter((block) => block.includes("data:")).map((block) => {
    const field = (name: string) =>
      block.split("\n").find((line) => line.startsWith(`${name}:`))?.slice(name.length + 1).trim();
    return { id: field("id")!, event: field("event")!, data: JSON.parse(field("data")!) };
  });
}

Deno.test("a turn's event stream resumes after the event named by Last-Event-ID; a foreign id is 400", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reply: [{ reply: { text: "One two three four." } }] });
  await using host = await mindHost(fake);
  const thread = { id: await newThread(host) };
  const streamed = await host.request(`/api/threads/${thread.id}/turns`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ content: "Count for me" }),
  });
  assert.equal(streamed.status, 200);
  const all = await sseEvents(streamed);
  const turnId = all[0]!.data.turn_id as string;
  assert.deepEqual(all.map((event) => event.id), all.map((_, index) => `${turnId}:${index + 1}`));
  // The chat messages have the WebSocket's shapes (server.md §5.3).
  const tokens = all.filter((event) => event.event === "chat.token").map((event) => event.data);
  assert.ok(tokens.length > 1);
  assert.deepEqual(tokens.map((token) => token.index), tokens.map((_, index) => index));
  assert.ok(tokens.every((token) => token.thread_id === thread.id && token.turn_id === turnId));
  assert.equal(tokens.map((token) => token.text).join(""), "One two three four.");
  const done = all.find((event) => event.event === "chat.done")!.data;
  assert.equal(done.status, "completed");
  assert.equal(done.text, "One two three four.");
  assert.equal(done.thread_id, thread.id);
  assert.equal(all.at(-1)!.event, "turn.influence");
  assert.deepEqual(
    all.at(-1)!.data,
    await (await host.request(`/api/turns/${turnId}/influence`)).json(),
    "the record itself",
  );

  // A client that lost the connection after the fifth event gets the rest, each once.
  const resumed = await host.request(`/api/turns/${turnId}/events`, {
    headers: { "last-event-id": `${turnId}:5` },
  });
  assert.equal(resumed.status, 200);
  assert.deepEqual(await sseEvents(resumed), all.slice(5));
  // Without the header the whole turn is replayed; after the last event, nothing is left.
  assert.deepEqual(await sseEvents(await host.request(`/api/turns/${turnId}/events`)), all);
  const end = await host.request(`/api/turns/${turnId}/events`, {
    headers: { "last-event-id": all.at(-1)!.id },
  });
  assert.deepEqual(await sseEvents(end), []);

  for (const wrong of [`turn_other:3`, `${turnId}`, `${turnId}:x`]) {
    const refused = await host.request(`/api/turns/${turnId}/events`, {
      headers: { "last-event-id": wrong },
    });
    assert.equal(refused.status, 400, wrong);
    const body = await refused.json();
    assert.equal(body.error.code, "VALIDATION_FAILED");
    assert.equal(body.error.field, "Last-Event-ID");
  }
});

Deno.test("a failed turn's event stream says why, then its chat.done carries the failure", async () => {
  await using fake = await startFakeLlm({ scenes: [{ fault: { status: 401 } }] });
  await using host = await mindHost(fake);
  const thread = { id: await newThread(host) };
  const streamed = await host.request(`/api/threads/${thread.id}/turns`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ content: "This will fail" }),
  });
  const events = await sseEvents(streamed);
  const failed = events.find((event) => event.event === "turn.failed")!;
  const ends = events.filter((event) => event.event === "chat.done");
  assert.equal(ends.length, 1);
  const done = ends[0]!;
  // As on the WebSocket: chat.done, then the turn's influence record, last.
  assert.deepEqual(events.slice(-2).map((event) => event.event), ["chat.done", "turn.influence"]);
  assert.equal(done.data.status, "failed");
  assert.equal(done.data.message_id, null);
  assert.deepEqual(done.data.error, { code: failed.data.code, message: failed.data.message });
});

Deno.test("a reply cut off mid-stream: chat.done names the stored part and what the call used", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      reply: { text: ["Here is ", "the first ", "part and"] },
      fault: { cutAfterChunks: 2 },
    }],
  });
  await using host = await mindHost(fake, { llm: { retry: { maxRetries: 0 } } });
  const thread = { id: await newThread(host) };
  const streamed = await host.request(`/api/threads/${thread.id}/turns`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ content: "Tell me everything" }),
  });
  const done = (await sseEvents(streamed)).find((event) => event.event === "chat.done")!;
  assert.equal(done.data.status, "failed");
  const turn = await (await host.request(`/api/turns/${done.data.turn_id}`)).json();
  assert.match(String(turn.reply_message_id), /^mem_/, "the part received is stored");
  assert.equal(done.data.message_id, turn.reply_message_id, "chat.done names it");
  assert.ok(done.data.usage, "the call's usage, as far as it went");
  assert.equal(done.data.usage.model, turn.usage?.model);
});

Deno.test("a repeated client_msg_id gets the turn it started, with where that turn has got to", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reply: [{ reply: { text: "Only once." } }] });
  await using host = await mindHost(fake);
  const thread = { id: await newThread(host) };
  const send = async (id = "c-1") =>
    await (await host.request(`/api/threads/${thread.id}/turns`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "Do it once", client_msg_id: id }),
    })).json();
  const first = await send();
  assert.equal(first.status, "queued");
  assert.equal((await host.kernel.mind.live(first.turn_id)!.done).status, "completed");
  const again = await send();
  assert.equal(again.turn_id, first.turn_id);
  assert.equal(again.status, "completed");
  assert.equal(again.queue_position, 0);
  assert.match(again.user_message_id, /^mem_/);
  assert.equal(
    chatRequests(fake).filter((item) => item.headers["x-synth-purpose"] === "reply").length,
    1,
    "the turn ran once",
  );
  // The id is one per user: sent again to another thread, it answers the turn in its own thread.
  const elsewhere = await (await host.request(`/api/threads/${await newThread(host)}/turns`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content: "Do it once", client_msg_id: "c-1" }),
  })).json();
  assert.deepEqual([elsewhere.turn_id, elsewhere.thread_id], [first.turn_id, thread.id]);
  // Two requests with a new id at the same moment (a retry racing the first send): one turn.
  const [one, two] = await Promise.all([send("c-2"), send("c-2")]);
  assert.equal(two.turn_id, one.turn_id);
  await host.kernel.mind.live(one.turn_id)!.done;
  assert.equal(
    chatRequests(fake).filter((item) => item.headers["x-synth-purpose"] === "reply").length,
    2,
  );
});

Deno.test("a blocking chat that waits past chat.blockingTimeoutMs is 504 TURN_TIMEOUT; the turn goes on and its reply is stored", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: [{ reply: { text: "Slow but sure." }, timing: { firstTokenDelayMs: 200 } }],
  });
  await using host = await mindHost(fake, { config: { chat: { blockingTimeoutMs: 5_000 } } });
  const answer = chat(host, "Take your time");
  // The model has the request; the request's wait runs out on the kernel's clock.
  await fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "reply");
  await host.clock.tick(5_000);
  const timedOut = await answer;
  assert.equal(timedOut.status, 504, JSON.stringify(timedOut.body));
  const error = (timedOut.body as { error: Record<string, unknown> }).error;
  assert.equal(error.code, "TURN_TIMEOUT");
  const details = error.details as { turn_id: string; thread_id: string; events_url: string };
  assert.equal(details.events_url, `/api/turns/${details.turn_id}/events`);
  // The turn was not cancelled: it completes and its reply is in the thread.
  assert.equal((await host.kernel.mind.live(details.turn_id)!.done).status, "completed");
  const messages = await (await host.request(`/api/threads/${details.thread_id}/messages`)).json();
  assert.deepEqual(
    messages.items.map((item: { role: string; content: string }) => [item.role, item.content]),
    [["user", "Take your time"], ["assistant", "Slow but sure."]],
  );
});
