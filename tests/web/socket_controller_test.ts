import assert from "node:assert/strict";
import {
  type ControllerClock,
  SocketController,
  type SocketControllerOptions,
  type SocketLike,
} from "../../web/controllers/socket_controller.ts";
import { backoffCap } from "../../web/lib/backoff.ts";
import type { ConnectionState } from "../../web/state/reducers.ts";
import type { Envelope } from "../../web/state/types.ts";

/** Timers that run only when the test advances time. */
class ManualClock implements ControllerClock {
  #now = 1_000_000;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: number): void {
    this.#timers.delete(id);
  }

  /** Moves time forward by `ms`, running each due timer at its own time, earliest first. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = end;
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.size;
  }
}

interface Sent {
  type: string;
  seq: number;
  data: Record<string, unknown>;
}

/** A socket the test opens, feeds and closes by hand. */
class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: Sent[] = [];
  closedWith: { code: number; reason: string } | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string, readonly protocols: string[]) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  /** The client's close: recorded; the close event comes when the test calls `closeEvent`. */
  close(code = 1000, reason = ""): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(type: string, seq: number, data: Record<string, unknown> = {}): void {
    this.onmessage?.({ data: JSON.stringify({ type, seq, ts: 0, data }) });
  }

  closeEvent(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  sentOf(type: string): Sent[] {
    return this.sent.filter((message) => message.type === type);
  }
}

/** How the client closed `socket`, read afresh (assertions would narrow the field). */
function closeOf(socket: FakeSocket): { code: number; reason: string } | null {
  return socket.closedWith;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

interface Harness {
  controller: SocketController;
  clock: ManualClock;
  sockets: FakeSocket[];
  socket(): FakeSocket;
  messages: Envelope[];
  welcomes: boolean[];
  states: Array<{ state: ConnectionState; attempt: number; nextAt: number | null }>;
  refreshes: number;
  roleChanges: number;
  setToken(token: string | null): void;
  setRefresh(result: boolean): void;
}

function harness(options: Partial<SocketControllerOptions> = {}): Harness {
  const clock = new ManualClock();
  let token: string | null = "tok_1";
  let refreshResult = true;
  const h: Harness = {
    controller: null as unknown as SocketController,
    clock,
    sockets: [],
    socket: () => h.sockets.at(-1)!,
    messages: [],
    welcomes: [],
    states: [],
    refreshes: 0,
    roleChanges: 0,
    setToken: (value) => (token = value),
    setRefresh: (value) => (refreshResult = value),
  };
  h.controller = new SocketController(null, {
    url: "wss://mind.example/ws",
    token: () => token,
    refresh: () => {
      h.refreshes++;
      if (refreshResult) token = `tok_${h.refreshes + 1}`;
      return Promise.resolve(refreshResult);
    },
    onMessage: (message) => h.messages.push(message),
    onWelcome: (resumed) => h.welcomes.push(resumed),
    onState: (state, attempt, nextAt) => h.states.push({ state, attempt, nextAt }),
    onRoleChanged: () => h.roleChanges++,
    topics: ["state", "chat"],
    createSocket: (url, protocols) => {
      const socket = new FakeSocket(url, protocols);
      h.sockets.push(socket);
      return socket;
    },
    clock,
    random: () => 0.5,
    ...options,
  });
  return h;
}

/** Starts, opens and welcomes a new session whose welcome has seq 1. */
function online(h: Harness, welcome: Record<string, unknown> = {}): FakeSocket {
  h.controller.start();
  const socket = h.socket();
  socket.open();
  socket.receive("welcome", 1, {
    session_id: "ses_1",
    resumed: false,
    heartbeat_s: 25,
    ...welcome,
  });
  return socket;
}

/** Lets the pending reconnect timer fire. */
function reconnect(h: Harness): FakeSocket {
  const count = h.sockets.length;
  h.clock.advance(30_000);
  assert.equal(h.sockets.length, count + 1, "a new socket after the backoff delay");
  return h.socket();
}

// handshake

Deno.test("hello carries the token and topics, and the URL carries no token", () => {
  const h = harness();
  h.controller.start();
  const socket = h.socket();
  assert.equal(socket.url, "wss://mind.example/ws");
  assert.deepEqual(socket.protocols, ["synth.v1"]);
  assert.ok(!socket.url.includes("tok_1") && !socket.protocols.join().includes("tok_1"));
  assert.equal(h.controller.state, "connecting");
  socket.open();
  assert.equal(h.controller.state, "authenticating");
  assert.equal(socket.sent.length, 1);
  assert.equal(socket.sent[0]!.type, "hello");
  assert.deepEqual(socket.sent[0]!.data, { token: "tok_1", topics: ["state", "chat"] });
});

Deno.test("without a token there is no socket and the state is unauthorized", () => {
  const h = harness();
  h.setToken(null);
  h.controller.start();
  assert.equal(h.sockets.length, 0);
  assert.equal(h.controller.state, "unauthorized");
});

Deno.test("a reconnect sends hello with resume {session_id, last_seq}", () => {
  const h = harness();
  const first = online(h);
  first.receive("state.snapshot", 2, { version: 1, state: {} });
  first.receive("notice", 3, { level: "info", code: "X", message: "x" });
  first.closeEvent(1001);
  assert.equal(h.controller.state, "reconnecting");
  const second = reconnect(h);
  second.open();
  const hello = second.sent[0]!;
  assert.equal(hello.type, "hello");
  assert.deepEqual(hello.data, {
    token: "tok_1",
    topics: ["state", "chat"],
    resume: { session_id: "ses_1", last_seq: 3 },
  });
});

Deno.test("a resumed welcome keeps last_seq and the replay continues from it", () => {
  const h = harness();
  const first = online(h);
  first.receive("notice", 2);
  first.closeEvent(4408);
  const second = reconnect(h);
  second.open();
  // The server's resumed welcome repeats the client's last seq.
  second.receive("welcome", 2, { session_id: "ses_1", resumed: true, heartbeat_s: 25 });
  second.receive("notice", 3);
  second.receive("notice", 4);
  assert.deepEqual(h.welcomes, [false, true]);
  assert.deepEqual(h.messages.map((message) => message.seq), [2, 3, 4]);
  assert.equal(h.controller.lastSeq, 4);
  assert.equal(closeOf(second), null);
});

Deno.test("messages before the welcome are neither applied nor sent", () => {
  const h = harness();
  h.controller.start();
  const socket = h.socket();
  assert.equal(h.controller.send("subscribe", { topics: ["state"] }), false);
  socket.open();
  socket.receive("state.snapshot", 1, { version: 1, state: {} });
  assert.equal(h.controller.send("subscribe", { topics: ["state"] }), false);
  assert.deepEqual(h.messages, []);
  assert.deepEqual(socket.sent.map((message) => message.type), ["hello"]);
  socket.receive("welcome", 1, { session_id: "ses_1", resumed: false, heartbeat_s: 25 });
  assert.equal(h.controller.state, "online");
  assert.equal(h.controller.send("subscribe", { topics: ["state"] }), true);
  assert.deepEqual(socket.sent.map((message) => message.type), ["hello", "subscribe"]);
});

Deno.test("no welcome within 5 s closes the socket and retries", () => {
  const h = harness();
  h.controller.start();
  const socket = h.socket();
  socket.open();
  h.clock.advance(4_999);
  assert.equal(closeOf(socket), null);
  h.clock.advance(1);
  assert.equal(closeOf(socket)?.code, 4000);
  assert.equal(h.controller.state, "reconnecting");
  reconnect(h);
});

// sequence

Deno.test("in-order messages are applied and duplicate seqs dropped", () => {
  const h = harness();
  const socket = online(h);
  socket.receive("notice", 2, { n: "a" });
  socket.receive("notice", 2, { n: "again" });
  socket.receive("notice", 1, { n: "old" });
  socket.receive("notice", 3, { n: "b" });
  socket.receive("pong", 0);
  assert.deepEqual(h.messages.map((message) => [message.seq, message.data.n]), [[2, "a"], [
    3,
    "b",
  ]]);
  assert.equal(h.controller.lastSeq, 3);
  assert.equal(closeOf(socket), null);
});

Deno.test("a gap closes the socket, then resumes from the last applied seq", () => {
  const h = harness();
  const socket = online(h);
  socket.receive("notice", 2);
  socket.receive("notice", 4);
  assert.deepEqual(h.messages.map((message) => message.seq), [2]);
  assert.equal(closeOf(socket)?.code, 4000);
  assert.equal(closeOf(socket)?.reason, "gap");
  socket.receive("notice", 5);
  assert.deepEqual(h.messages.map((message) => message.seq), [2], "nothing applied after a gap");
  socket.closeEvent(4000);
  const next = reconnect(h);
  next.open();
  assert.deepEqual(next.sent[0]!.data.resume, { session_id: "ses_1", last_seq: 2 });
});

Deno.test("a new session after a failed resume starts counting from its welcome", () => {
  const h = harness();
  const first = online(h);
  first.receive("notice", 2);
  first.receive("notice", 3);
  first.closeEvent(1006);
  const second = reconnect(h);
  second.open();
  second.receive("welcome", 1, { session_id: "ses_2", resumed: false, heartbeat_s: 25 });
  second.receive("state.snapshot", 2, { version: 1, state: {} });
  assert.deepEqual(h.welcomes, [false, false]);
  assert.deepEqual(h.messages.map((message) => message.seq), [2, 3, 2]);
  assert.equal(h.controller.lastSeq, 2);
});

// backoff

Deno.test("reconnect delays stay within [0, min(30000, 500·2^n)) and grow to the ceiling", () => {
  const h = harness({ random: () => 0.999_999 });
  h.controller.start();
  const delays: number[] = [];
  for (let attempt = 0; attempt < 9; attempt++) {
    h.socket().closeEvent(1006);
    const { nextAt } = h.states.at(-1)!;
    const delay = nextAt! - h.clock.now();
    delays.push(delay);
    assert.ok(delay >= 0 && delay < backoffCap(attempt), `attempt ${attempt}: ${delay}`);
    const count = h.sockets.length;
    h.clock.advance(delay - 1);
    assert.equal(h.sockets.length, count, "no reconnect before the delay");
    h.clock.advance(1);
    assert.equal(h.sockets.length, count + 1, "a reconnect when the delay ends");
  }
  assert.deepEqual(delays, [499, 999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999, 29_999]);
});

Deno.test("a zero random gives an immediate retry", () => {
  const h = harness({ random: () => 0 });
  h.controller.start();
  h.socket().closeEvent(1006);
  assert.equal(h.states.at(-1)!.nextAt, h.clock.now());
  h.clock.advance(0);
  assert.equal(h.sockets.length, 2);
});

Deno.test("the attempt counter resets once a connection stays up for 10 s", () => {
  const h = harness({ random: () => 0.999_999 });
  h.controller.start();
  h.socket().closeEvent(1006); // attempt 0
  reconnect(h).closeEvent(1006); // attempt 1
  const socket = reconnect(h);
  socket.open();
  socket.receive("welcome", 1, { session_id: "ses_1", resumed: false, heartbeat_s: 25 });
  h.clock.advance(10_000);
  socket.closeEvent(1001);
  const delay = h.states.at(-1)!.nextAt! - h.clock.now();
  assert.ok(delay < backoffCap(0), `delay ${delay} after a stable connection`);
});

Deno.test("a connection shorter than 10 s keeps the attempt counter", () => {
  const h = harness({ random: () => 0.999_999 });
  h.controller.start();
  h.socket().closeEvent(1006); // attempt 0
  reconnect(h).closeEvent(1006); // attempt 1
  const socket = reconnect(h);
  socket.open();
  socket.receive("welcome", 1, { session_id: "ses_1", resumed: false, heartbeat_s: 25 });
  h.clock.advance(9_999);
  socket.closeEvent(1001);
  const delay = h.states.at(-1)!.nextAt! - h.clock.now();
  assert.equal(delay, Math.floor(0.999_999 * backoffCap(2)));
});

Deno.test("five consecutive failures make the state offline, and retries go on", () => {
  const h = harness();
  h.controller.start();
  for (let failure = 1; failure <= 4; failure++) {
    h.socket().closeEvent(1006);
    assert.equal(h.controller.state, "reconnecting", `after ${failure} failures`);
    reconnect(h);
  }
  h.socket().closeEvent(1006);
  assert.equal(h.controller.state, "offline");
  assert.equal(h.states.at(-1)!.attempt, 5);
  const retry = reconnect(h);
  assert.equal(h.controller.state, "offline", "still offline while the retry connects");
  retry.open();
  retry.receive("welcome", 1, { session_id: "ses_1", resumed: false, heartbeat_s: 25 });
  assert.equal(h.controller.state, "online");
});

Deno.test("retryNow connects at once instead of waiting for the backoff", () => {
  const h = harness();
  h.controller.start();
  h.socket().closeEvent(1006);
  assert.equal(h.sockets.length, 1);
  h.controller.retryNow();
  assert.equal(h.sockets.length, 2);
  h.clock.advance(30_000);
  assert.equal(h.sockets.length, 2, "the cancelled backoff timer does not connect again");
});

Deno.test("while the browser is offline no socket is created until retryNow", () => {
  let network = false;
  const h = harness({ online: () => network });
  h.controller.start();
  assert.equal(h.sockets.length, 0);
  assert.equal(h.controller.state, "reconnecting");
  network = true;
  h.controller.retryNow();
  assert.equal(h.sockets.length, 1);
});

// heartbeat

Deno.test("a ping goes out every heartbeat_s after the welcome", () => {
  const h = harness();
  const socket = online(h, { heartbeat_s: 25 });
  h.clock.advance(24_999);
  assert.equal(socket.sentOf("ping").length, 0);
  h.clock.advance(1);
  assert.equal(socket.sentOf("ping").length, 1);
  socket.receive("pong", 0);
  h.clock.advance(25_000);
  assert.equal(socket.sentOf("ping").length, 2);
  socket.receive("pong", 0);
  assert.equal(closeOf(socket), null);
});

Deno.test("no message within 10 s after a ping closes the dead link and reconnects", () => {
  const h = harness();
  const socket = online(h, { heartbeat_s: 25 });
  h.clock.advance(25_000);
  assert.equal(socket.sentOf("ping").length, 1);
  h.clock.advance(9_999);
  assert.equal(closeOf(socket), null);
  h.clock.advance(1);
  assert.equal(closeOf(socket)?.code, 4000);
  assert.equal(closeOf(socket)?.reason, "dead link");
  // A dead link never completes the closing handshake: no close event is needed to go on.
  assert.equal(h.controller.state, "reconnecting");
  const next = reconnect(h);
  next.open();
  assert.deepEqual(next.sent[0]!.data.resume, { session_id: "ses_1", last_seq: 1 });
});

Deno.test("any message after a ping keeps the link alive", () => {
  const h = harness();
  const socket = online(h, { heartbeat_s: 25 });
  h.clock.advance(25_000);
  h.clock.advance(9_000);
  socket.receive("notice", 2);
  h.clock.advance(5_000);
  assert.equal(closeOf(socket), null);
});

Deno.test("a heartbeat shorter than 10 s still finds a dead link 10 s after the first ping", () => {
  const h = harness();
  const socket = online(h, { heartbeat_s: 4 });
  h.clock.advance(4_000 + 9_999);
  assert.equal(socket.sentOf("ping").length, 3);
  assert.equal(closeOf(socket), null);
  h.clock.advance(1);
  assert.equal(closeOf(socket)?.reason, "dead link");
});

// close codes

Deno.test("close 4401 refreshes once and reconnects with the new token", async () => {
  const h = harness();
  const socket = online(h);
  socket.closeEvent(4401);
  await settle();
  assert.equal(h.refreshes, 1);
  assert.equal(h.sockets.length, 2, "reconnects at once after the refresh");
  const next = h.socket();
  next.open();
  assert.equal(next.sent[0]!.data.token, "tok_2");
  next.receive("welcome", 2, { session_id: "ses_1", resumed: true, heartbeat_s: 25 });
  assert.equal(h.controller.state, "online");
});

Deno.test("close 4401 with a failed refresh ends unauthorized without reconnecting", async () => {
  const h = harness();
  h.setRefresh(false);
  const socket = online(h);
  socket.closeEvent(4401);
  await settle();
  assert.equal(h.refreshes, 1);
  assert.equal(h.controller.state, "unauthorized");
  h.clock.advance(120_000);
  assert.equal(h.sockets.length, 1);
  assert.equal(h.clock.pending, 0);
});

Deno.test("a 4401 again right after a refresh backs off instead of looping", async () => {
  const h = harness();
  online(h).closeEvent(4401);
  await settle();
  assert.equal(h.sockets.length, 2);
  h.socket().open();
  h.socket().closeEvent(4401);
  await settle();
  assert.equal(h.refreshes, 2);
  assert.equal(h.sockets.length, 2, "no immediate reconnect");
  assert.equal(h.controller.state, "reconnecting");
  assert.ok(h.states.at(-1)!.nextAt! >= h.clock.now());
  reconnect(h);
});

Deno.test("close 4403 reports a role change and reconnects", () => {
  const h = harness();
  online(h).closeEvent(4403);
  assert.equal(h.roleChanges, 1);
  assert.equal(h.refreshes, 0);
  assert.equal(h.controller.state, "reconnecting");
  reconnect(h);
});

Deno.test("stop closes the socket and cancels every timer", () => {
  const h = harness();
  const socket = online(h);
  h.controller.stop();
  assert.equal(closeOf(socket)?.code, 1000);
  socket.closeEvent(1000);
  assert.equal(h.clock.pending, 0);
  h.clock.advance(120_000);
  assert.equal(h.sockets.length, 1);
});

Deno.test("reset forgets the session, so the next hello has no resume", () => {
  const h = harness();
  online(h).receive("notice", 2);
  h.controller.reset();
  h.controller.start();
  h.socket().open();
  assert.equal(h.socket().sent[0]!.data.resume, undefined);
});
