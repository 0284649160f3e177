/**
 * Legacy mode of `GET /ws` (spec/server.md §5.5): a socket that offers no
 * subprotocol speaks the earlier project's protocol, so its
 * `dashboard.html` still works on loopback. Commands `get_state`,
 * `trigger_reflection` (operator) and `simulate_turn` (removed); the server
 * sends `{type: "state_update", data: SystemState}` on connect, on request
 * and on state changes, at most twice a second.
 *
 * Unlike the earlier project it authenticates (with auth on, the first
 * message must be `{"type": "hello", "data": {"token": "…"}}`), answers
 * malformed JSON with an error instead of dropping the socket, and limits
 * the message rate.
 *
 * @module
 */
import type { Clock, TimerHandle } from "../clock.ts";
import { AppError } from "../errors.ts";
import { ROLE_RANK } from "../http/validate.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { HubSocket } from "./hub.ts";
import { CLOSE, isRevoked, type RevokedCredential, type WsUser } from "./protocol.ts";

/** Options for {@link createLegacyHub}. */
export interface LegacyOptions {
  clock: Clock;
  log: Logger;
  /** Client messages a socket may send per minute. */
  messagesPerMinute: number;
  /** Largest accepted message in bytes. */
  maxMessageBytes: number;
  /** Time for the `hello` when a token is needed. */
  authTimeoutMs: number;
  /** The user a token stands for (undefined: no token; with auth off that is the local user). */
  authenticate(token: string | undefined): Promise<WsUser | null>;
  /** The legacy `SystemState`. */
  state(): Promise<unknown>;
  /** Runs a reflection for `user` (as `POST /api/reflect`), asked on `socket`. */
  reflect(user: WsUser, socket: HubSocket): Promise<void>;
}

/** The legacy sockets. */
export interface LegacyHub {
  /** A socket opened without a subprotocol. */
  open(socket: HubSocket): void;
  /** A frame arrived on `socket`. */
  receive(socket: HubSocket, frame: string | ArrayBuffer | Blob): Promise<void>;
  /** `socket` closed. */
  closed(socket: HubSocket): void;
  /** The state changed: a `state_update` follows within half a second. */
  stateChanged(): void;
  /** The user a legacy socket authenticated as, or null. */
  userOf(socket: HubSocket): WsUser | null;
  /** Closes the legacy sockets a revocation covers with `code`. */
  revoke(revoked: RevokedCredential, code: number, reason: string): void;
  /** Closes every legacy socket (1001). */
  shutdown(): void;
  /** Open legacy sockets. */
  readonly size: number;
}

/** At most one broadcast per this many milliseconds (≤ 2/s). */
const BROADCAST_INTERVAL_MS = 500;
const MINUTE = 60_000;
const STRIKES = 10;

interface LegacySocket {
  user: WsUser | null;
  received: number[];
  strikes: number[];
  helloTimer: TimerHandle | undefined;
}

/** Creates the legacy-mode handler. */
export function createLegacyHub(options: LegacyOptions): LegacyHub {
  const { clock, log } = options;
  const sockets = new Map<HubSocket, LegacySocket>();
  let lastBroadcast = -Infinity;
  let pending: TimerHandle | undefined;

  function send(socket: HubSocket, message: unknown) {
    try {
      socket.send(JSON.stringify(message));
    } catch {
      // The socket is closing; its close handler removes it.
    }
  }

  /** An `error` with the `ErrorBody` error's fields (server.md §2), as the current protocol's. */
  function sendError(socket: HubSocket, code: string, message: string) {
    send(socket, { type: "error", data: { code, message, request_id: socket.requestId ?? "" } });
  }

  function close(socket: HubSocket, code: number, reason: string) {
    const entry = sockets.get(socket);
    if (entry?.helloTimer !== undefined) clock.clearTimeout(entry.helloTimer);
    sockets.delete(socket);
    try {
      socket.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  async function sendState(targets: readonly HubSocket[]) {
    if (targets.length === 0) return;
    try {
      const text = JSON.stringify({ type: "state_update", data: await options.state() });
      for (const socket of targets) {
        if (sockets.get(socket)?.user) {
          try {
            socket.send(text);
          } catch { /* closing */ }
        }
      }
    } catch (error) {
      log.warn("computing the state for legacy WebSocket clients failed", { error });
    }
  }

  function broadcast() {
    pending = undefined;
    lastBroadcast = clock.now();
    void sendState([...sockets.keys()]);
  }

  async function admit(socket: HubSocket, entry: LegacySocket, token: string | undefined) {
    const user = await options.authenticate(token);
    if (!sockets.has(socket)) return;
    if (!user) {
      if (token !== undefined) {
        close(socket, CLOSE.UNAUTHENTICATED, "invalid or revoked credential");
      }
      return;
    }
    if (entry.helloTimer !== undefined) clock.clearTimeout(entry.helloTimer);
    entry.helloTimer = undefined;
    entry.user = user;
    await sendState([socket]);
  }

  /** True when the message is over the rate; closes the socket at the tenth strike. */
  function overRate(socket: HubSocket, entry: LegacySocket): boolean {
    const now = clock.now();
    entry.received = entry.received.filter((at) => at > now - MINUTE);
    if (entry.received.length < options.messagesPerMinute) {
      entry.received.push(now);
      return false;
    }
    entry.strikes = entry.strikes.filter((at) => at > now - MINUTE);
    entry.strikes.push(now);
    if (entry.strikes.length >= STRIKES) close(socket, CLOSE.MESSAGE_RATE, "message rate");
    else sendError(socket, "RATE_LIMITED", "Too many messages; wait a minute");
    return true;
  }

  return {
    open(socket) {
      const entry: LegacySocket = {
        user: null,
        received: [],
        strikes: [],
        helloTimer: undefined,
      };
      sockets.set(socket, entry);
      entry.helloTimer = clock.setTimeout(() => {
        if (!entry.user) close(socket, CLOSE.UNAUTHENTICATED, "no hello in time");
      }, options.authTimeoutMs);
      void admit(socket, entry, undefined);
    },

    async receive(socket, frame) {
      const entry = sockets.get(socket);
      if (!entry) return;
      if (typeof frame !== "string") {
        sendError(socket, "WS_BINARY_FRAME", "Only JSON text frames are accepted");
        return;
      }
      if (new TextEncoder().encode(frame).length > options.maxMessageBytes) {
        return close(socket, CLOSE.TOO_LARGE, "message too large");
      }
      if (overRate(socket, entry)) return;
      let message: Record<string, unknown>;
      try {
        const parsed = JSON.parse(frame);
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw 0;
        message = parsed;
      } catch {
        sendError(socket, "INVALID_MESSAGE", 'Send a JSON object such as {"command":"get_state"}');
        return;
      }
      if (!entry.user) {
        const data = message.data as Record<string, unknown> | undefined;
        const token = message.type === "hello" && typeof data?.token === "string"
          ? data.token
          : undefined;
        if (token === undefined) {
          return close(socket, CLOSE.UNAUTHENTICATED, "send a hello with a token first");
        }
        return await admit(socket, entry, token);
      }
      switch (message.command) {
        case "get_state":
          return await sendState([socket]);
        case "trigger_reflection":
          if (ROLE_RANK[entry.user.role] < ROLE_RANK.operator) {
            return sendError(socket, "FORBIDDEN", "This needs the operator role");
          }
          try {
            await options.reflect(entry.user, socket);
          } catch (error) {
            const code = error instanceof AppError ? error.code : "INTERNAL";
            if (!(error instanceof AppError)) log.warn("legacy reflection failed", { error });
            return sendError(socket, code, "The reflection did not run");
          }
          // The caller sees the result now; everyone else with the next broadcast.
          await sendState([socket]);
          return this.stateChanged();
        case "simulate_turn":
          return sendError(
            socket,
            "ROUTE_REMOVED",
            "simulate_turn was removed: send a real message (POST /api/chat or chat.send)",
          );
        default:
          return sendError(
            socket,
            "UNKNOWN_COMMAND",
            "Known commands: get_state, trigger_reflection, simulate_turn",
          );
      }
    },

    closed(socket) {
      const entry = sockets.get(socket);
      if (entry?.helloTimer !== undefined) clock.clearTimeout(entry.helloTimer);
      sockets.delete(socket);
    },

    stateChanged() {
      if (sockets.size === 0 || pending !== undefined) return;
      const wait = lastBroadcast + BROADCAST_INTERVAL_MS - clock.now();
      if (wait <= 0) broadcast();
      else pending = clock.setTimeout(broadcast, wait);
    },

    userOf(socket) {
      return sockets.get(socket)?.user ?? null;
    },

    revoke(revoked, code, reason) {
      for (const [socket, entry] of [...sockets]) {
        if (entry.user && isRevoked(entry.user, revoked)) close(socket, code, reason);
      }
    },

    shutdown() {
      if (pending !== undefined) clock.clearTimeout(pending);
      pending = undefined;
      for (const socket of [...sockets.keys()]) close(socket, CLOSE.SHUTDOWN, "server stopping");
    },

    get size() {
      return sockets.size;
    },
  };
}
