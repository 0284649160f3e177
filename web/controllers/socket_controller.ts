/**
 * The one WebSocket of a tab (spec/dashboard.md §4): `hello` with the
 * token (never in the URL) and `resume`, sequence checks (duplicates
 * dropped, a gap resumes), full-jitter backoff without a cap, a `ping`
 * every `heartbeat_s`, and the close-code rules. A ReactiveController
 * hosted by `<sm-app>`: it connects when the host connects and stops when
 * it disconnects. Time, randomness and the socket are injected so unit
 * tests drive it without a browser.
 *
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import { backoffDelay } from "../lib/backoff.ts";
import type { ConnectionState } from "../state/reducers.ts";
import type { Envelope } from "../state/types.ts";

/** The part of `WebSocket` the controller uses. */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** Timers and time. */
export interface ControllerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

/** What the controller needs. */
export interface SocketControllerOptions {
  /** `ws(s)://host/ws`. */
  url: string;
  /** The access token for `hello`; null means not signed in (no connection). */
  token(): string | null;
  /** Refreshes the token after a 4401; false sends the user to the login page. */
  refresh(): Promise<boolean>;
  /** Every applied server message, in seq order without duplicates. */
  onMessage(message: Envelope): void;
  /** A welcome: `resumed` false means every slice is stale. */
  onWelcome(resumed: boolean): void;
  /** Connection state changes. */
  onState(state: ConnectionState, attempt: number, nextAt: number | null): void;
  /** A 4403: the user's role changed. */
  onRoleChanged?(): void;
  /** Topics to subscribe. */
  topics: string[];
  /** @default (url, protocols) => new WebSocket(url, protocols) */
  createSocket?: (url: string, protocols: string[]) => SocketLike;
  clock?: ControllerClock;
  random?: () => number;
  /** Whether the browser reports a network. @default navigator.onLine */
  online?: () => boolean;
}

const WELCOME_TIMEOUT_MS = 5_000;
const STABLE_MS = 10_000;
const DEAD_AFTER_PING_MS = 10_000;
const OFFLINE_AFTER = 5;

/** The socket of the tab. */
export class SocketController implements ReactiveController {
  #socket: SocketLike | null = null;
  #sessionId: string | null = null;
  #lastSeq = 0;
  #attempt = 0;
  #failures = 0;
  #state: ConnectionState = "connecting";
  #welcomed = false;
  /** The last close was a 4401 answered with a refresh (no welcome or other close since). */
  #refreshedFor4401 = false;
  #stopped = true;
  #retryTimer: number | null = null;
  #welcomeTimer: number | null = null;
  #pingTimer: number | null = null;
  #deadTimer: number | null = null;
  #stableTimer: number | null = null;
  #heartbeatMs = 25_000;
  #clientSeq = 0;
  readonly #clock: ControllerClock;
  readonly #random: () => number;

  constructor(
    host: ReactiveControllerHost | null,
    private readonly options: SocketControllerOptions,
  ) {
    this.#clock = options.clock ?? {
      now: () => Date.now(),
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as number,
      clearTimeout: (id) => globalThis.clearTimeout(id),
    };
    this.#random = options.random ?? Math.random;
    host?.addController(this);
  }

  /** The current state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The last applied seq of the session (for tests and the status bar). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  hostConnected(): void {
    this.start();
  }

  hostDisconnected(): void {
    this.stop();
  }

  /** Connects (when signed in) and keeps reconnecting. */
  start(): void {
    this.#stopped = false;
    if (!this.#socket && this.#retryTimer === null) this.#connect();
  }

  /** Closes and stops reconnecting. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, "bye");
  }

  /** Tries at once (the "Retry now" button, the tab turning visible, `online`). */
  retryNow(): void {
    if (this.#stopped || this.#state === "online") return;
    if (this.#retryTimer !== null) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    if (!this.#socket) this.#connect();
  }

  /** Forgets the session (logout). */
  reset(): void {
    this.stop();
    this.#sessionId = null;
    this.#lastSeq = 0;
    this.#attempt = 0;
    this.#failures = 0;
    this.#refreshedFor4401 = false;
  }

  /** Sends a client message (`subscribe`…); only while online. */
  send(type: string, data: Record<string, unknown> = {}): boolean {
    if (!this.#socket || this.#state !== "online") return false;
    this.#socket.send(JSON.stringify({ type, seq: ++this.#clientSeq, data }));
    return true;
  }

  #setState(state: ConnectionState, nextAt: number | null = null) {
    this.#state = state;
    this.options.onState(state, this.#attempt, nextAt);
  }

  #clearTimers() {
    for (
      const timer of [
        this.#retryTimer,
        this.#welcomeTimer,
        this.#pingTimer,
        this.#deadTimer,
        this.#stableTimer,
      ]
    ) {
      if (timer !== null) this.#clock.clearTimeout(timer);
    }
    this.#retryTimer =
      this.#welcomeTimer =
      this.#pingTimer =
      this.#deadTimer =
      this.#stableTimer =
        null;
  }

  #connect() {
    if (this.#stopped) return;
    const token = this.options.token();
    if (!token) {
      this.#setState("unauthorized");
      return;
    }
    if (this.options.online && !this.options.online()) {
      // Waits for the browser's `online` event (retryNow).
      this.#setState(this.#failures >= OFFLINE_AFTER ? "offline" : "reconnecting");
      return;
    }
    this.#welcomed = false;
    // Past the failure limit the state stays "offline" (with its "Retry now") while retrying.
    this.#setState(
      this.#failures >= OFFLINE_AFTER
        ? "offline"
        : this.#attempt === 0 && this.#sessionId === null
        ? "connecting"
        : "reconnecting",
    );
    const create = this.options.createSocket ??
      ((url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike);
    const socket = create(this.options.url, ["synth.v1"]);
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      this.#setState("authenticating");
      const hello: Record<string, unknown> = { token, topics: this.options.topics };
      if (this.#sessionId) hello.resume = { session_id: this.#sessionId, last_seq: this.#lastSeq };
      socket.send(JSON.stringify({ type: "hello", seq: ++this.#clientSeq, data: hello }));
      this.#welcomeTimer = this.#clock.setTimeout(() => {
        if (!this.#welcomed) this.#abandon(socket, "no welcome");
      }, WELCOME_TIMEOUT_MS);
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      let message: Envelope;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      this.#received(socket, message);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      void this.#closed(event.code);
    };
    socket.onerror = () => {};
  }

  #received(socket: SocketLike, message: Envelope) {
    this.#armDead(false);
    if (message.type === "pong") return;
    if (message.type === "welcome") {
      this.#welcomed = true;
      this.#refreshedFor4401 = false;
      if (this.#welcomeTimer !== null) this.#clock.clearTimeout(this.#welcomeTimer);
      this.#welcomeTimer = null;
      const data = message.data as { session_id?: string; resumed?: boolean; heartbeat_s?: number };
      const resumed = data.resumed === true;
      if (!resumed) this.#lastSeq = 0;
      this.#sessionId = data.session_id ?? null;
      this.#heartbeatMs = Math.max(1, data.heartbeat_s ?? 25) * 1_000;
      // The welcome carries a seq of its own in a new session.
      if (typeof message.seq === "number" && !resumed) this.#lastSeq = message.seq;
      this.#failures = 0;
      this.#setState("online");
      this.#stableTimer = this.#clock.setTimeout(() => (this.#attempt = 0), STABLE_MS);
      this.#schedulePing(socket);
      this.options.onWelcome(resumed);
      return;
    }
    if (!this.#welcomed) return; // nothing is applied before the welcome
    if (typeof message.seq === "number") {
      if (message.seq <= this.#lastSeq) return; // a duplicate
      if (message.seq > this.#lastSeq + 1) {
        // A gap: resume from what we have.
        socket.close(4000, "gap");
        return;
      }
      this.#lastSeq = message.seq;
    }
    this.options.onMessage(message);
  }

  #schedulePing(socket: SocketLike) {
    if (this.#pingTimer !== null) this.#clock.clearTimeout(this.#pingTimer);
    this.#pingTimer = this.#clock.setTimeout(() => {
      if (this.#socket !== socket) return;
      socket.send(JSON.stringify({ type: "ping", seq: ++this.#clientSeq, data: {} }));
      this.#armDead(true);
      this.#schedulePing(socket);
    }, this.#heartbeatMs);
  }

  /**
   * After a ping, no message within 10 s means a dead link. The deadline
   * counts from the first unanswered ping: a later ping must not push it
   * back, or a heartbeat shorter than 10 s would never find a dead link.
   */
  #armDead(afterPing: boolean) {
    if (afterPing && this.#deadTimer !== null) return;
    if (this.#deadTimer !== null) this.#clock.clearTimeout(this.#deadTimer);
    this.#deadTimer = null;
    if (!afterPing) return;
    const socket = this.#socket;
    this.#deadTimer = this.#clock.setTimeout(() => {
      if (socket && this.#socket === socket) this.#abandon(socket, "dead link");
    }, DEAD_AFTER_PING_MS);
  }

  /**
   * Closes a socket that stopped answering and goes on at once: a browser
   * fires `close` only after the closing handshake, which a dead link never
   * completes (Chromium waits up to a minute).
   */
  #abandon(socket: SocketLike, reason: string) {
    if (this.#socket !== socket) return;
    this.#socket = null;
    socket.close(4000, reason);
    void this.#closed(4000);
  }

  async #closed(code: number) {
    this.#clearTimers();
    if (this.#stopped) return;
    if (code === 4401) {
      const again = this.#refreshedFor4401;
      this.#refreshedFor4401 = true;
      if (!(await this.options.refresh())) {
        this.#setState("unauthorized");
        return;
      }
      if (this.#stopped || this.#socket || this.#retryTimer !== null) return;
      if (!again) {
        this.#connect();
        return;
      }
      // Refused again right after a refresh (or the hello came too late): back
      // off like any failure instead of looping refresh → connect → 4401.
    } else {
      this.#refreshedFor4401 = false;
      if (code === 4403) this.options.onRoleChanged?.();
      if (code === 4400 || code === 4429) {
        // deno-lint-ignore no-console
        console.warn(`the server closed the socket with ${code}: a client bug`);
      }
    }
    if (!this.#welcomed) this.#failures++;
    const delay = backoffDelay(this.#attempt, this.#random);
    this.#attempt++;
    const nextAt = this.#clock.now() + delay;
    this.#setState(this.#failures >= OFFLINE_AFTER ? "offline" : "reconnecting", nextAt);
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }
}
