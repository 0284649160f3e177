/**
 * The hub's back-pressure and buffers with a socket whose backlog the test
 * sets (a real socket's backlog cannot be held still); the protocol over
 * real sockets is in tests/ws/.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import { createMemoryLogger } from "../testing/memory_log.ts";
import { createHub, type HubSocket, type WsConfig } from "./hub.ts";
import { applyMergePatch } from "./merge_patch.ts";

const CONFIG: WsConfig = {
  maxConnections: 10,
  maxConnectionsPerUser: 5,
  authTimeoutMs: 5_000,
  replayMessages: 5,
  resumeWindowSeconds: 60,
  maxQueueBytes: 10_000,
  maxMessageBytes: 65_536,
  messagesPerMinute: 60,
};

class HeldSocket implements HubSocket {
  sent: Array<{ type: string; seq: number; data: Record<string, unknown> }> = [];
  bufferedAmount = 0;
  closedWith: number | null = null;
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close(code: number) {
    this.closedWith = code;
  }
}

async function hubWithClient(config = CONFIG) {
  const clock = new FakeClock();
  let sessions = 0;
  const hub = createHub({
    config,
    clock,
    log: createMemoryLogger().log,
    sessionId: () => `wss_${++sessions}`,
    handlers: {
      authenticate: () => Promise.resolve({ id: "ada", username: "ada", role: "viewer" }),
      snapshot: () => Promise.resolve({ version: 0, state: { n: 0, list: [] } }),
      request: () => Promise.resolve({}),
    },
  });
  const socket = new HeldSocket();
  const connection = hub.open(socket);
  await hub.receive(connection, JSON.stringify({ type: "hello", seq: 1, data: {} }));
  return { hub, socket, connection, clock };
}

Deno.test("a backed-up socket gets its state deltas merged into one that still applies, then the rest in order", async () => {
  const { hub, socket } = await hubWithClient();
  assert.deepEqual(socket.sent.map((message) => message.type), ["welcome", "state.snapshot"]);
  socket.bufferedAmount = 6_000; // over half the cap
  let state: unknown = { n: 0, list: [] };
  for (let version = 1; version <= 50; version++) {
    const patch = {
      n: version,
      list: [version],
      [`k${version % 3}`]: version % 2 ? null : version,
    };
    state = applyMergePatch(state, patch);
    hub.stateDelta({ baseVersion: version - 1, version, patch, cause: "turn" });
  }
  assert.equal(socket.sent.length, 2, "nothing more is written while backed up");
  socket.bufferedAmount = 0;
  hub.publish(["notices"], "notice", { code: "HELLO" });
  const [merged, notice] = socket.sent.slice(2);
  assert.equal(merged!.type, "state.delta");
  assert.equal(merged!.data.base_version, 0);
  assert.equal(merged!.data.version, 50);
  assert.deepEqual(applyMergePatch({ n: 0, list: [] }, merged!.data.patch), state);
  assert.equal(notice!.type, "notice");
  assert.deepEqual(socket.sent.map((message) => message.seq), [1, 2, 3, 4]);
});

Deno.test("a message that would pass the byte cap closes the slow consumer with 4408; nothing is dropped silently", async () => {
  const { hub, socket } = await hubWithClient();
  socket.bufferedAmount = 9_990;
  hub.publish(["notices"], "notice", { code: "X", message: "y".repeat(100) });
  assert.equal(socket.closedWith, 4408);
  assert.equal(hub.stats().sockets, 0);
  assert.equal(hub.stats().sessions, 1, "the session waits for a resume");
});

Deno.test("a detached session keeps only its last replayMessages and is gone after the window", async () => {
  const { hub, connection, clock } = await hubWithClient();
  hub.closed(connection);
  for (let i = 0; i < 20; i++) hub.publish(["notices"], "notice", { i });
  assert.ok(hub.stats().detachedBytes > 0);
  const again = new HeldSocket();
  const second = hub.open(again);
  await hub.receive(
    second,
    JSON.stringify({
      type: "hello",
      seq: 1,
      data: { resume: { session_id: "wss_1", last_seq: 2 } },
    }),
  );
  assert.equal(again.sent[0]!.type, "welcome");
  assert.equal(again.sent[0]!.data.resumed, false, "seq 3 to 17 are no longer kept");
  hub.closed(second);
  await clock.tick(60_000);
  assert.equal(hub.stats().sessions, 0);
});

Deno.test("a payload given as a function is built once, and only when a session receives it", async () => {
  const { hub, socket } = await hubWithClient();
  let built = 0;
  const payload = () => {
    built++;
    return { code: "LAZY" };
  };
  hub.publish(["chat:thr_nobody"], "notice", payload);
  assert.equal(built, 0, "no session takes that topic");
  hub.publish(["notices"], "notice", payload);
  assert.equal(built, 1);
  assert.deepEqual(socket.sent.at(-1)!.data, { code: "LAZY" });
});

Deno.test("an audience of one user with adminsToo reaches that user and administrators, not another user", async () => {
  const clock = new FakeClock();
  let sessions = 0;
  const users = {
    ada: { id: "ada", username: "ada", role: "operator" as const },
    bob: { id: "bob", username: "bob", role: "viewer" as const },
    root: { id: "root", username: "root", role: "admin" as const },
  };
  const hub = createHub({
    config: CONFIG,
    clock,
    log: createMemoryLogger().log,
    sessionId: () => `wss_${++sessions}`,
    handlers: {
      authenticate: (token) => Promise.resolve(users[token as keyof typeof users] ?? null),
      snapshot: () => Promise.resolve({ version: 0, state: {} }),
      request: () => Promise.resolve({}),
    },
  });
  const sockets: Record<string, HeldSocket> = {};
  for (const name of Object.keys(users)) {
    const socket = new HeldSocket();
    sockets[name] = socket;
    const connection = hub.open(socket);
    await hub.receive(
      connection,
      JSON.stringify({ type: "hello", seq: 1, data: { token: name, topics: ["tools"] } }),
    );
  }
  hub.publish(["tools"], "tool.run", { id: "run_1" }, { userId: "ada", adminsToo: true });
  const got = (name: string) => sockets[name]!.sent.some((message) => message.type === "tool.run");
  assert.deepEqual([got("ada"), got("bob"), got("root")], [true, false, true]);
});
