/**
 * The WebSocket protocol over a real socket (spec/server.md §5): the
 * handshake, hello and welcome, chat streaming in order, state snapshots
 * and deltas, resume without loss, the limits and shutdown.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "../mind/helpers.ts";
import { applyMergePatch } from "../../web/lib/merge_patch.ts";
import { serverMessage } from "../../src/ws/protocol.ts";
import { connect, type Envelope, type WsClient } from "./client.ts";

async function greeted(url: string, hello: Record<string, unknown> = {}) {
  const client = await connect(url);
  client.send("hello", hello);
  const welcome = await client.next("welcome");
  return { client, welcome };
}

function assertConsecutive(messages: readonly Envelope[]) {
  const seqs = messages.map((message) => message.seq);
  assert.deepEqual(seqs, seqs.map((_, index) => seqs[0]! + index), `seqs ${seqs.join(",")}`);
}

Deno.test("the handshake refuses other origins, plain GETs and other subprotocols; the answer is exactly synth.v1", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const plain = await fetch(`${server.url}/ws`);
  assert.equal(plain.status, 426);
  assert.equal((await plain.json()).error.code, "WS_UPGRADE_REQUIRED");
  const foreign = await fetch(`${server.url}/ws`, { headers: { origin: "http://evil.example" } });
  assert.equal(foreign.status, 403);
  assert.equal((await foreign.json()).error.code, "ORIGIN_NOT_ALLOWED");
  await assert.rejects(connect(server.url, ["chat.v9"]));
  const socket = new WebSocket(server.url.replace("http", "ws") + "/ws", [
    "synth.bearer.secret-token",
    "synth.v1",
  ]);
  await new Promise((resolve) => (socket.onopen = resolve));
  assert.equal(socket.protocol, "synth.v1", "never the token offer");
  socket.close();
  await server.shutdown();
});

Deno.test("hello gets a welcome and a state snapshot; a chat.send is acked, then tokens, done and influence arrive in seq order", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { purpose: "reply" }, reply: { text: ["Hello ", "there, ", "Ada."] } }],
  });
  await using host = await mindHost(fake);
  const server = host.listen();
  const { client, welcome } = await greeted(server.url);
  assert.equal(welcome.seq, 1);
  assert.equal(welcome.re, 1);
  assert.equal(welcome.data.resumed, false);
  assert.deepEqual(welcome.data.user, { id: "local", username: "local", role: "admin" });
  const snapshot = await client.next("state.snapshot");
  assert.equal(snapshot.seq, 2);
  assert.equal((snapshot.data.state as Record<string, unknown>).turn_count, 0);

  const sent = client.send("chat.send", { content: "Hi, I am Ada" });
  const ack = await client.next("ack");
  assert.equal(ack.re, sent);
  assert.match(ack.data.turn_id as string, /^turn_/);
  const tokens: Envelope[] = [];
  for (;;) {
    const message = await client.next();
    if (message.type === "chat.token") tokens.push(message);
    if (message.type === "chat.done") {
      assert.equal(message.data.status, "completed");
      assert.equal(message.data.text, "Hello there, Ada.");
      assert.equal(message.data.turn_id, ack.data.turn_id);
      break;
    }
  }
  assert.deepEqual(tokens.map((token) => token.data.text).join(""), "Hello there, Ada.");
  assert.deepEqual(tokens.map((token) => token.data.index), tokens.map((_, index) => index));
  const influence = await client.next("turn.influence");
  assert.equal(influence.data.turn_id, ack.data.turn_id);
  assert.ok(Array.isArray(influence.data.sections));
  assertConsecutive(client.received);
  // Every message has the shape the OpenAPI document's WsServerMessage gives.
  for (const message of client.received) {
    const checked = serverMessage.safeParse(message);
    assert.ok(checked.success, `${message.type}: ${checked.error?.message}`);
  }
  client.close();
  await server.shutdown();
});

Deno.test("a turn over HTTP streams to the owner's socket, and state deltas follow it as merge patches", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const { client } = await greeted(server.url);
  const snapshot = await client.next("state.snapshot");
  const reply = await chat(host, "Plan the release");
  const done = await client.next("chat.done");
  assert.equal(done.data.turn_id, reply.body.turn_id);
  await host.kernel.mind.scheduler.idle();
  await host.kernel.ws.settled();
  const delta = await client.next("state.delta");
  assert.equal(delta.data.base_version, snapshot.data.version);
  assert.equal(delta.data.version, (snapshot.data.version as number) + 1);
  const patch = delta.data.patch as Record<string, unknown>;
  assert.ok("turn_count" in patch || "mind" in patch, JSON.stringify(patch).slice(0, 200));
  client.close();
  await server.shutdown();
});

Deno.test("a background job's records reach the sockets in the state delta it causes", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    narrative:
      "I am Synth, a collaborator who listens closely before acting. I say so when I am unsure, and I learn from every conversation I have. I want the people I work with to leave with clearer thinking than they came with, and I keep my promises small.",
  });
  await using host = await mindHost(fake);
  const server = host.listen();
  const { client } = await greeted(server.url, { topics: ["state"] });
  const snapshot = await client.next("state.snapshot");
  await chat(host, "Hello there");
  await host.kernel.mind.scheduler.idle();
  await host.kernel.ws.settled();
  const rewrite = await chat(host, "/purpose rewrite --force");
  assert.equal(rewrite.body.response, "narrative v2");
  await host.kernel.mind.scheduler.idle();
  await host.kernel.ws.settled();
  // The pong comes after every delta sent before it.
  client.send("ping");
  await client.next("pong");
  let state = snapshot.data.state as Record<string, unknown>;
  for (const message of client.received.filter((item) => item.type === "state.delta")) {
    state = applyMergePatch(state, message.data.patch) as Record<string, unknown>;
  }
  const purpose = (state.mind as Record<string, { narrative?: { version?: number } }>)
    .psyche_purpose;
  assert.equal(purpose?.narrative?.version, 2, "the delta carries the new narrative version");
  client.close();
  await server.shutdown();
});

Deno.test("a dropped session resumes within the window with every missed message at its original seq", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const first = await greeted(server.url, { topics: ["chat", "state"] });
  await first.client.next("state.snapshot");
  const lastSeen = first.client.received.at(-1)!.seq;
  // The session detaches (and its window starts) once the server has seen the socket close.
  const serverSawClose = async () => {
    while (host.kernel.ws.hub.stats().sockets > 0) {
      await new Promise((resolve) => setTimeout(resolve));
    }
  };
  first.client.close();
  await first.client.closed;
  await serverSawClose();
  // While nobody is connected: a whole turn happens.
  await chat(host, "Plan the release");
  await host.kernel.mind.scheduler.idle();
  await host.kernel.ws.settled();
  const second = await connect(server.url);
  second.send("hello", {
    resume: { session_id: first.welcome.data.session_id, last_seq: lastSeen },
  });
  const welcome = await second.next("welcome");
  assert.equal(welcome.data.resumed, true);
  assert.equal(welcome.data.session_id, first.welcome.data.session_id);
  const replayed = welcome.data.replayed as number;
  assert.ok(replayed >= 3, `replayed ${replayed}`);
  const missed: Envelope[] = [];
  for (let i = 0; i < replayed; i++) missed.push(await second.next());
  assert.equal(missed[0]!.seq, lastSeen + 1);
  assertConsecutive(missed);
  assert.ok(missed.some((message) => message.type === "chat.done"));
  second.close();
  await second.closed;
  await serverSawClose();

  // After the window the session is gone: a fresh one, a fresh snapshot.
  await host.clock.tick(61_000);
  const third = await connect(server.url);
  third.send("hello", { resume: { session_id: first.welcome.data.session_id, last_seq: 1 } });
  const fresh = await third.next("welcome");
  assert.equal(fresh.data.resumed, false);
  assert.notEqual(fresh.data.session_id, first.welcome.data.session_id);
  await third.next("state.snapshot");
  third.close();
  await server.shutdown();
});

Deno.test("no hello in time closes 4401; a first message that is not hello closes 4401 with nothing sent; an invalid hello closes 4400 naming the field", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const silent = await connect(server.url);
  await host.clock.untilTimer((ms) => ms === 5_000);
  await host.clock.tick(5_000);
  assert.equal(await silent.closed, 4401);
  const rude = await connect(server.url);
  rude.send("subscribe", { topics: ["state"] });
  assert.equal(await rude.closed, 4401);
  assert.deepEqual(rude.received, []);
  // A hello that fails validation is closed at once, 4400, its reason naming where.
  const wrong = await connect(server.url);
  wrong.send("hello", { topics: ["bogus"] });
  assert.equal(await wrong.closed, 4400);
  assert.match(wrong.closeReason, /^invalid hello at data\.topics\.0/);
  assert.deepEqual(wrong.received, []);
  await server.shutdown();
});

Deno.test("invalid messages get errors naming the field in plain words; ten in a minute close 4400; binary frames are refused", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const { client } = await greeted(server.url, { topics: ["notices"] });
  const bad = client.send("chat.send", { content: "" });
  const error = await client.next("error");
  assert.equal(error.re, bad);
  assert.equal(error.data.code, "VALIDATION_FAILED");
  assert.equal(error.data.field, "data.content");
  // In plain words, not the schema library's text.
  assert.equal(error.data.message, "data.content: must not be empty");
  // Past the schema, the mind's own check names the socket's field too.
  const blank = client.send("chat.send", { content: "   " });
  const refused = await client.next("error");
  assert.equal(refused.re, blank);
  assert.deepEqual(
    [refused.data.code, refused.data.field, refused.data.message],
    ["VALIDATION_FAILED", "data.content", "The message is empty or only spaces"],
  );
  client.send("nonsense", {});
  const unknownType = await client.next("error");
  assert.equal(unknownType.data.field, "type");
  assert.match(String(unknownType.data.message), /^type: must be one of: "hello", "chat\.send", /);
  client.raw(JSON.stringify({ type: "ping", seq: 99, data: {}, extra: 1 }));
  const extra = await client.next("error");
  assert.equal(extra.data.field, "extra");
  assert.equal(extra.data.message, 'extra: is not a known field ("extra")');
  client.raw(new Uint8Array([1, 2, 3]));
  assert.equal((await client.next("error")).data.code, "WS_BINARY_FRAME");
  client.raw("{not json");
  const malformed = await client.next("error");
  assert.equal(malformed.data.code, "MALFORMED_JSON", "as over HTTP");
  for (let i = 0; i < 5; i++) client.raw("{not json");
  assert.equal(await client.closed, 4400);
  await server.shutdown();
});

Deno.test("more than 60 messages a minute are refused with RATE_LIMITED; pings answer pong without a seq of their own", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const { client } = await greeted(server.url, { topics: ["notices"] });
  const ping = client.send("ping");
  const pong = await client.next("pong");
  assert.equal(pong.re, ping);
  assert.equal(pong.seq, 1, "pong repeats the last seq");
  for (let i = 0; i < 60; i++) client.send("ping");
  const limited = await client.next("error");
  assert.equal(limited.data.code, "RATE_LIMITED");
  await host.clock.tick(60_001);
  const again = client.send("ping");
  assert.equal((await client.next("pong")).re, again);
  client.close();
  await server.shutdown();
});

Deno.test("chat.send counts against the chat tier in the same bucket as POST /api/chat: the socket is no way around its limit", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, {
    config: { rateLimit: { enabled: true, tiers: { chat: { limit: 2 } } } },
  });
  const server = host.listen();
  const { client } = await greeted(server.url, { topics: ["notices"] });
  // One message each way (auth is off: both count under the client's address, 127.0.0.1).
  const overHttp = (message: string) =>
    fetch(`${server.url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message }),
    });
  const first = await overHttp("one");
  assert.equal(first.status, 200);
  await first.body?.cancel();
  const sent = client.send("chat.send", { content: "two" });
  assert.equal((await client.next("ack")).re, sent);
  await host.kernel.mind.scheduler.idle();
  const third = client.send("chat.send", { content: "three" });
  let refused = await client.next();
  while (refused.re !== third) refused = await client.next();
  assert.equal(refused.type, "error", "the third message is refused, not acknowledged");
  assert.equal(refused.data.code, "RATE_LIMITED");
  const details = refused.data.details as { tier: string; retry_after_seconds: number };
  assert.equal(details.tier, "chat");
  assert.ok(details.retry_after_seconds > 0);
  assert.match(String(refused.data.message), /^Too many messages; try again in \d+ s$/);
  const overLimit = await overHttp("three");
  assert.equal(overLimit.status, 429, "the same bucket over HTTP");
  await overLimit.body?.cancel();
  await host.clock.tick(120_001);
  const later = client.send("chat.send", { content: "after a while" });
  assert.equal((await client.next("ack")).re, later);
  await host.kernel.mind.scheduler.idle();
  client.close();
  await server.shutdown();
});

Deno.test("shutdown tells every socket and closes it with 1001", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const clients: WsClient[] = [];
  for (let i = 0; i < 3; i++) {
    clients.push((await greeted(server.url, { topics: ["notices"] })).client);
  }
  await server.shutdown();
  for (const client of clients) {
    assert.equal((await client.next("notice")).data.code, "SHUTTING_DOWN");
    assert.equal(await client.closed, 1001);
  }
});

Deno.test("legacy mode: no subprotocol speaks the earlier protocol — state_update on connect, get_state, trigger_reflection, simulate_turn removed, bad JSON answered, updates after a chat", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { purpose: "reply" }, reply: { text: "Hello." } }],
  });
  fake.script({
    reflection: [{
      reply: {
        text: JSON.stringify({
          coherence: 0.8,
          alignment: 0.7,
          issues: [],
          instructions: [],
          insight: null,
          selfStatement: "Steady.",
        }),
      },
    }],
  });
  await using host = await mindHost(fake);
  const server = host.listen();
  const legacy = await connect(server.url, [], { "x-request-id": "legacy-upgrade" });
  const first = await legacy.next();
  assert.equal(first.type, "state_update");
  assert.equal(first.seq, undefined, "no envelope in legacy mode");
  assert.equal(first.data.turn_count, 0);
  assert.equal(typeof first.data.valence, "number");
  assert.ok(Array.isArray(first.data.mood_tags));

  legacy.raw(JSON.stringify({ command: "get_state" }));
  assert.equal((await legacy.next()).type, "state_update");
  legacy.raw("{not json");
  const invalid = await legacy.next("error");
  assert.equal(invalid.data.code, "INVALID_MESSAGE");
  assert.equal(invalid.data.request_id, "legacy-upgrade", "the upgrade's request id, as on /ws");
  legacy.raw(JSON.stringify({ command: "simulate_turn" }));
  assert.equal((await legacy.next("error")).data.code, "ROUTE_REMOVED");

  await chat(host, "Hi there");
  const update = await legacy.next("state_update");
  assert.equal(update.data.turn_count, 1, "the state after the chat");

  legacy.raw(JSON.stringify({ command: "trigger_reflection" }));
  // The requester gets a state_update once the reflection ran (earlier broadcasts may come first).
  const runs = () =>
    host.kernel.store.db.selectFrom("psyche_reflection_runs").select("id").execute();
  for (;;) {
    const message = await legacy.next();
    assert.equal(message.type, "state_update", JSON.stringify(message));
    if ((await runs()).length === 1) break;
  }
  legacy.close();
  await server.shutdown();
});

Deno.test("a client that keeps sending over the rate is closed with 4429", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const { client } = await greeted(server.url, { topics: ["notices"] });
  const answers: string[] = [];
  // The hello was the first of the 60 messages a minute.
  for (let i = 0; i < 59 + 9; i++) {
    client.send("ping");
    answers.push((await client.next()).type);
  }
  assert.equal(answers.filter((type) => type === "pong").length, 59);
  assert.deepEqual(answers.slice(59), Array(9).fill("error"));
  client.send("ping");
  assert.equal(await client.closed, 4429, "the tenth refused message closes the socket");
  await server.shutdown();
});
