/**
 * The WebSocket hub (spec/server.md §5): sessions with per-session
 * sequence numbers, topics, a bounded replay buffer for resuming after a
 * dropped connection, back-pressure that never blocks the hub, and the
 * message-rate and validity limits. Sockets are behind {@link HubSocket},
 * so the hub is the same for Deno's sockets and for anything else that can
 * send text.
 *
 * @module
 */
import type { Clock, TimerHandle } from "../clock.ts";
import { AppError, errorMessage } from "../errors.ts";
import { issuePath, ROLE_RANK, unstorableTextIssueIn } from "../http/validate.ts";
import { plainIssueMessage } from "../issue_text.ts";
import type { Logger } from "../telemetry/logger.ts";
import { composeMergePatches } from "./merge_patch.ts";
import {
  type ClientMessage,
  clientMessage,
  CLOSE,
  isRevoked,
  refusedTopics,
  refusedTopicsMessage,
  type RevokedCredential,
  type Topic,
  TOPICS,
  type WsUser,
} from "./protocol.ts";

/** `ws.*` settings (server.md §5). */
export interface WsConfig {
  maxConnections: number;
  maxConnectionsPerUser: number;
  authTimeoutMs: number;
  replayMessages: number;
  resumeWindowSeconds: number;
  maxQueueBytes: number;
  maxMessageBytes: number;
  messagesPerMinute: number;
}

/** What the hub needs of a socket. */
export interface HubSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued by the socket and not yet sent. */
  readonly bufferedAmount: number;
  /** The upgrade request's id (its access-log line's): every error on the socket carries it. */
  readonly requestId?: string;
  /** The client address of the upgrade request (rate limits key on it when no one signed in). */
  readonly clientIp?: string;
}

/** What the hub asks of the rest of the server. */
export interface HubHandlers {
  /** The user a `hello` token (or the subprotocol's) stands for; null refuses it. */
  authenticate(token: string | undefined): Promise<WsUser | null>;
  /** `state.snapshot` data for a user. */
  snapshot(user: WsUser): Promise<{ version: number; state: unknown }>;
  /** Runs `chat.send`, `chat.cancel` or `approval.respond`; the result is the `ack` data. */
  request(user: WsUser, message: ClientMessage, socket: HubSocket): Promise<unknown>;
}

/** Options for {@link createHub}. */
export interface HubOptions {
  config: WsConfig;
  clock: Clock;
  log: Logger;
  handlers: HubHandlers;
  /** New session ids. */
  sessionId(): string;
}

/** A connected socket, before and after its `hello`. */
export interface HubConnection {
  readonly socket: HubSocket;
  /** Null until `hello` succeeds. */
  readonly user: WsUser | null;
}

/** Who receives a published message, besides the topic subscription. */
export interface Audience {
  /** Only this user's sessions (admins too, when subscribed to a named `chat:<id>` topic). */
  userId?: string;
  /** With `userId`: every administrator's sessions as well. */
  adminsToo?: boolean;
  /** Only sessions of at least this role. */
  minRole?: WsUser["role"];
}

/** The hub. */
export interface Hub {
  /** A socket opened (the upgrade succeeded); `token` came with the subprotocol offer. */
  open(socket: HubSocket, options?: { token?: string }): HubConnection;
  /** A frame arrived: text, or anything else (refused). */
  receive(connection: HubConnection, frame: string | ArrayBuffer | Blob): Promise<void>;
  /** The socket closed; its session waits `resumeWindowSeconds` for a resume. */
  closed(connection: HubConnection): void;
  /**
   * Sends `type` to every session subscribed to one of `topics` (data serialised once). A
   * function as `data` builds it, only when some session receives it.
   */
  publish(
    topics: readonly Topic[],
    type: string,
    data: unknown | (() => unknown),
    audience?: Audience,
  ): void;
  /** A new state version: `state.delta` to the `state` subscribers. */
  stateDelta(delta: { baseVersion: number; version: number; patch: unknown; cause: string }): void;
  /** Closes the sockets a revocation covers with `code` and drops their sessions (no resume). */
  revoke(revoked: RevokedCredential, code: number, reason: string): void;
  /** Tells every socket the server is stopping and closes it (1001). */
  shutdown(): void;
  /** Open sockets and kept sessions, for health and metrics. */
  stats(): { sockets: number; sessions: number; detachedBytes: number };
}

/** A session's replay buffer holds at most this many bytes. */
const REPLAY_BYTES = 1_048_576;
/** All detached sessions' buffers together hold at most this many bytes. */
const DETACHED_BYTES = 64 * 1_048_576;
/** Rate and validity windows. */
const MINUTE = 60_000;
/** Invalid or over-rate messages in a minute before the socket is closed. */
const STRIKES = 10;
/** Heartbeat the welcome announces (Deno pings at the socket level). */
const HEARTBEAT_S = 25;

interface Sent {
  seq: number;
  text: string;
}

interface PendingDelta {
  baseVersion: number;
  version: number;
  patch: unknown;
  cause: string;
}

interface Session {
  id: string;
  user: WsUser;
  topics: Set<Topic>;
  seq: number;
  replay: Sent[];
  replayBytes: number;
  connection: Connection | null;
  detachedAt: number | null;
  expiry: TimerHandle | undefined;
  /** `state.delta`s merged while the socket was over its byte cap. */
  pendingDelta: PendingDelta | null;
}

interface Connection extends HubConnection {
  user: WsUser | null;
  token: string | undefined;
  session: Session | null;
  helloTimer: TimerHandle | undefined;
  /** Closes the socket when its token expires. */
  expiryTimer: TimerHandle | undefined;
  received: number[];
  strikes: { invalid: number[]; rate: number[] };
  closed: boolean;
}

/** Creates the hub. */
export function createHub(options: HubOptions): Hub {
  const { config, clock, log, handlers } = options;
  const connections = new Set<Connection>();
  const sessions = new Map<string, Session>();

  function envelope(session: Session | null, type: string, data: string, extra = "") {
    const seq = session ? session.seq : 0;
    return `{"type":${
      JSON.stringify(type)
    },"seq":${seq},"ts":${clock.now()}${extra},"data":${data}}`;
  }

  /** Sends a message that takes a sequence number; detached sessions only buffer it. */
  function deliver(session: Session, type: string, data: string, extra = "") {
    const connection = session.connection;
    if (connection && session.pendingDelta && type !== "state.delta") flushDelta(session);
    session.seq++;
    const text = envelope(session, type, data, extra);
    session.replay.push({ seq: session.seq, text });
    session.replayBytes += text.length;
    while (
      session.replay.length > config.replayMessages ||
      (session.replayBytes > REPLAY_BYTES && session.replay.length > 1)
    ) {
      session.replayBytes -= session.replay.shift()!.text.length;
    }
    if (connection) write(connection, text);
    else trimDetached();
  }

  /** Writes unless the socket's backlog would pass the cap (then it is a slow consumer). */
  function write(connection: Connection, text: string): boolean {
    if (connection.closed) return false;
    if (connection.socket.bufferedAmount + text.length > config.maxQueueBytes) {
      close(connection, CLOSE.SLOW_CONSUMER, "slow consumer: resume to catch up");
      return false;
    }
    try {
      connection.socket.send(text);
      return true;
    } catch (error) {
      log.debug("a WebSocket send failed", { error });
      close(connection, CLOSE.SHUTDOWN, "send failed");
      return false;
    }
  }

  /** Sends a reply that takes no sequence number of its own (`pong`, errors before `hello`). */
  function reply(connection: Connection, type: string, data: unknown, re?: number) {
    const session = connection.session;
    if (session && type !== "pong") {
      deliver(session, type, JSON.stringify(data), re === undefined ? "" : `,"re":${re}`);
      return;
    }
    write(
      connection,
      envelope(session, type, JSON.stringify(data), re === undefined ? "" : `,"re":${re}`),
    );
  }

  /** An `error`: `ErrorBody.error` (server.md §2), its `request_id` the socket's upgrade's. */
  function sendError(
    connection: Connection,
    error: { code: string; message: string; field?: string; details?: unknown },
    re?: number,
  ) {
    reply(connection, "error", { ...error, request_id: connection.socket.requestId ?? "" }, re);
  }

  function close(connection: Connection, code: number, reason: string) {
    if (connection.closed) return;
    connection.closed = true;
    if (connection.helloTimer !== undefined) clock.clearTimeout(connection.helloTimer);
    if (connection.expiryTimer !== undefined) clock.clearTimeout(connection.expiryTimer);
    try {
      connection.socket.close(code, reason);
    } catch {
      // Already closing.
    }
    detach(connection);
  }

  function detach(connection: Connection) {
    connections.delete(connection);
    const session = connection.session;
    if (!session || session.connection !== connection) return;
    session.connection = null;
    session.detachedAt = clock.now();
    session.expiry = clock.setTimeout(() => {
      if (session.connection === null) sessions.delete(session.id);
    }, config.resumeWindowSeconds * 1_000);
    trimDetached();
  }

  /** Drops the oldest detached sessions while their buffers pass the shared cap. */
  function trimDetached() {
    let total = 0;
    const detached = [...sessions.values()].filter((session) => session.connection === null)
      .sort((a, b) => a.detachedAt! - b.detachedAt!);
    for (const session of detached) total += session.replayBytes;
    for (const session of detached) {
      if (total <= DETACHED_BYTES) break;
      total -= session.replayBytes;
      if (session.expiry !== undefined) clock.clearTimeout(session.expiry);
      sessions.delete(session.id);
    }
  }

  function strike(connection: Connection, kind: "invalid" | "rate"): boolean {
    const now = clock.now();
    const list = connection.strikes[kind] = connection.strikes[kind].filter((at) =>
      now - at < MINUTE
    );
    list.push(now);
    if (list.length < STRIKES) return false;
    close(
      connection,
      kind === "invalid" ? CLOSE.INVALID_MESSAGES : CLOSE.MESSAGE_RATE,
      kind === "invalid" ? "too many invalid messages" : "too many messages",
    );
    return true;
  }

  function allowedTopics(user: WsUser, wanted: readonly Topic[] | undefined): Topic[] {
    const list = wanted ?? [...TOPICS];
    const refused = new Set(refusedTopics(user.role, list));
    return list.filter((name) => !refused.has(name));
  }

  function flushDelta(session: Session) {
    const pending = session.pendingDelta;
    const connection = session.connection;
    if (!pending || !connection) return;
    if (connection.socket.bufferedAmount > config.maxQueueBytes / 2) return;
    session.pendingDelta = null;
    deliver(session, "state.delta", deltaJson(pending));
  }

  function deltaJson(delta: PendingDelta): string {
    return JSON.stringify({
      base_version: delta.baseVersion,
      version: delta.version,
      patch: delta.patch,
      cause: delta.cause,
    });
  }

  async function hello(connection: Connection, message: Extract<ClientMessage, { type: "hello" }>) {
    if (connection.helloTimer !== undefined) clock.clearTimeout(connection.helloTimer);
    connection.helloTimer = undefined;
    const user = await handlers.authenticate(message.data.token ?? connection.token);
    if (connection.closed) return;
    if (!user) {
      close(connection, CLOSE.UNAUTHENTICATED, "missing, invalid or revoked credential");
      return;
    }
    const mine = [...connections].filter((other) => other.user?.id === user.id).length;
    if (mine >= config.maxConnectionsPerUser) {
      close(connection, CLOSE.CONNECTION_LIMIT, "too many connections for this user");
      return;
    }
    connection.user = user;
    if (user.expiresAt !== undefined) {
      connection.expiryTimer = clock.setTimeout(
        () => close(connection, CLOSE.UNAUTHENTICATED, "credential expired"),
        Math.max(0, user.expiresAt - clock.now()),
      );
    }
    const resume = message.data.resume;
    const kept = resume ? sessions.get(resume.session_id) : undefined;
    // A weaker credential of the same user starts afresh: the buffer may hold what it may not read.
    const resumable = kept && kept.user.id === user.id && kept.connection === null &&
      ROLE_RANK[user.role] >= ROLE_RANK[kept.user.role] &&
      resume!.last_seq <= kept.seq &&
      (resume!.last_seq === kept.seq || (kept.replay[0]?.seq ?? Infinity) <= resume!.last_seq + 1);
    if (kept && resumable) {
      if (kept.expiry !== undefined) clock.clearTimeout(kept.expiry);
      kept.connection = connection;
      kept.detachedAt = null;
      kept.user = user;
      connection.session = kept;
      const missed = kept.replay.filter((sent) => sent.seq > resume!.last_seq);
      // The welcome takes no number here: the client's last one stays the newest it saw.
      write(
        connection,
        `{"type":"welcome","seq":${
          resume!.last_seq
        },"ts":${clock.now()},"re":${message.seq},"data":${
          JSON.stringify(welcome(kept, true, missed.length))
        }}`,
      );
      for (const sent of missed) write(connection, sent.text);
      return;
    }
    const session: Session = {
      id: options.sessionId(),
      user,
      topics: new Set(allowedTopics(user, message.data.topics)),
      seq: 0,
      replay: [],
      replayBytes: 0,
      connection,
      detachedAt: null,
      expiry: undefined,
      pendingDelta: null,
    };
    sessions.set(session.id, session);
    connection.session = session;
    deliver(session, "welcome", JSON.stringify(welcome(session, false, 0)), `,"re":${message.seq}`);
    // The welcome lists the topics granted; any asked for above the role is refused by name, as
    // `subscribe` refuses it.
    refuseTopicsAbove(connection, user.role, message.data.topics ?? [], message.seq);
    if (session.topics.has("state")) await sendSnapshot(session);
  }

  /** Answers `FORBIDDEN` naming the topics above `role` among `names`; true when there were some. */
  function refuseTopicsAbove(
    connection: Connection,
    role: WsUser["role"],
    names: readonly Topic[],
    seq: number,
  ): boolean {
    const refused = refusedTopics(role, names);
    if (refused.length === 0) return false;
    sendError(connection, {
      code: "FORBIDDEN",
      message: refusedTopicsMessage(refused),
      field: "topics",
    }, seq);
    return true;
  }

  function welcome(session: Session, resumed: boolean, replayed: number) {
    return {
      session_id: session.id,
      user: { id: session.user.id, username: session.user.username, role: session.user.role },
      resumed,
      replayed,
      heartbeat_s: HEARTBEAT_S,
      topics: [...session.topics],
      limits: {
        messages_per_minute: config.messagesPerMinute,
        max_message_bytes: config.maxMessageBytes,
      },
    };
  }

  async function sendSnapshot(session: Session) {
    try {
      const snapshot = await handlers.snapshot(session.user);
      session.pendingDelta = null;
      deliver(session, "state.snapshot", JSON.stringify(snapshot));
    } catch (error) {
      log.warn("a state snapshot for a WebSocket failed", { error });
    }
  }

  async function handle(connection: Connection, message: ClientMessage) {
    const session = connection.session!;
    switch (message.type) {
      case "hello":
        sendError(
          connection,
          { code: "WS_ALREADY_GREETED", message: "hello was already sent" },
          message.seq,
        );
        return;
      case "ping":
        flushDelta(session);
        reply(connection, "pong", {}, message.seq);
        return;
      case "subscribe":
      case "unsubscribe": {
        const names = message.data.topics;
        if (refuseTopicsAbove(connection, session.user.role, names, message.seq)) return;
        const addedState = message.type === "subscribe" && names.includes("state");
        for (const name of names) {
          if (message.type === "subscribe") session.topics.add(name);
          else session.topics.delete(name);
        }
        reply(connection, "ack", { topics: [...session.topics] }, message.seq);
        if (addedState) await sendSnapshot(session);
        return;
      }
      default: {
        try {
          const data = await handlers.request(session.user, message, connection.socket);
          if (!connection.closed) reply(connection, "ack", data ?? {}, message.seq);
        } catch (error) {
          if (connection.closed) return;
          if (error instanceof AppError) {
            sendError(connection, {
              code: error.code,
              message: error.message,
              ...(error.field ? { field: error.field } : {}),
              ...(error.details !== undefined ? { details: error.details } : {}),
            }, message.seq);
          } else {
            log.error("a WebSocket request failed", {
              type: message.type,
              error,
              request_id: connection.socket.requestId ?? "",
            });
            sendError(connection, { code: "INTERNAL", message: "The request failed" }, message.seq);
          }
        }
      }
    }
  }

  return {
    open(socket, openOptions = {}) {
      const connection: Connection = {
        socket,
        user: null,
        token: openOptions.token,
        session: null,
        helloTimer: undefined,
        expiryTimer: undefined,
        received: [],
        strikes: { invalid: [], rate: [] },
        closed: false,
      };
      if (connections.size >= config.maxConnections) {
        connection.closed = true;
        socket.close(CLOSE.CONNECTION_LIMIT, "too many connections");
        return connection;
      }
      connections.add(connection);
      connection.helloTimer = clock.setTimeout(() => {
        if (!connection.user) close(connection, CLOSE.UNAUTHENTICATED, "no hello in time");
      }, config.authTimeoutMs);
      return connection;
    },

    async receive(handle_, frame) {
      const connection = handle_ as Connection;
      if (connection.closed) return;
      if (typeof frame !== "string") {
        if (!connection.user) return close(connection, CLOSE.UNAUTHENTICATED, "hello first");
        sendError(connection, {
          code: "WS_BINARY_FRAME",
          message: "Only JSON text frames are accepted",
        });
        strike(connection, "invalid");
        return;
      }
      if (new TextEncoder().encode(frame).length > config.maxMessageBytes) {
        return close(connection, CLOSE.TOO_LARGE, "message too large");
      }
      const now = clock.now();
      connection.received = connection.received.filter((at) => now - at < MINUTE);
      connection.received.push(now);
      let raw: unknown;
      try {
        raw = JSON.parse(frame);
      } catch {
        raw = undefined;
      }
      const parsed = clientMessage.safeParse(raw);
      const re = typeof (raw as { seq?: unknown })?.seq === "number"
        ? (raw as { seq: number }).seq
        : undefined;
      if (!connection.user) {
        // Nothing but a valid hello is read before it, and nothing is sent; a hello that fails
        // validation is told where, in the close frame's reason.
        if (!parsed.success && (raw as { type?: unknown } | undefined)?.type === "hello") {
          const path = issuePath(parsed.error.issues[0]!) || "data";
          return close(
            connection,
            CLOSE.INVALID_MESSAGES,
            `invalid hello at ${path}`.slice(0, 120),
          );
        }
        if (!parsed.success || parsed.data.type !== "hello") {
          return close(connection, CLOSE.UNAUTHENTICATED, "hello first");
        }
        try {
          await hello(connection, parsed.data);
        } catch (error) {
          log.error("a WebSocket hello failed", { error: errorMessage(error) });
          close(connection, CLOSE.UNAUTHENTICATED, "hello failed");
        }
        return;
      }
      if (connection.received.length > config.messagesPerMinute) {
        sendError(
          connection,
          { code: "RATE_LIMITED", message: "Too many messages; wait a minute" },
          re,
        );
        strike(connection, "rate");
        return;
      }
      if (raw === undefined) {
        sendError(connection, { code: "MALFORMED_JSON", message: "The frame is not valid JSON" });
        strike(connection, "invalid");
        return;
      }
      // Text holding a NUL or half an emoji would be stored changed (see `unstorableTextIssue`).
      const unstorable = parsed.success ? unstorableTextIssueIn(frame, parsed.data) : null;
      if (!parsed.success || unstorable) {
        const issue = unstorable ?? (parsed.success ? undefined : parsed.error.issues[0]);
        sendError(connection, {
          code: "VALIDATION_FAILED",
          message: issue
            ? `${issuePath(issue) || "(message)"}: ${plainIssueMessage(issue)}`
            : "invalid message",
          ...(issue && issuePath(issue) ? { field: issuePath(issue) } : {}),
        }, re);
        strike(connection, "invalid");
        return;
      }
      await handle(connection, parsed.data);
    },

    closed(handle_) {
      const connection = handle_ as Connection;
      connection.closed = true;
      if (connection.helloTimer !== undefined) clock.clearTimeout(connection.helloTimer);
      if (connection.expiryTimer !== undefined) clock.clearTimeout(connection.expiryTimer);
      detach(connection);
    },

    publish(topics, type, data, audience = {}) {
      let json: string | undefined;
      for (const session of sessions.values()) {
        const subscribed = topics.some((name) => session.topics.has(name));
        if (!subscribed) continue;
        if (audience.minRole && ROLE_RANK[session.user.role] < ROLE_RANK[audience.minRole]) {
          continue;
        }
        if (audience.userId !== undefined && session.user.id !== audience.userId) {
          const named = topics.some((name) => name.startsWith("chat:") && session.topics.has(name));
          if (!(session.user.role === "admin" && (named || audience.adminsToo))) continue;
        }
        json ??= JSON.stringify(typeof data === "function" ? data() : data);
        deliver(session, type, json);
      }
    },

    stateDelta(delta) {
      let json: string | undefined;
      for (const session of sessions.values()) {
        if (!session.topics.has("state")) continue;
        const connection = session.connection;
        const backlog = connection ? connection.socket.bufferedAmount : 0;
        if (session.pendingDelta || backlog > config.maxQueueBytes / 2) {
          // Over half the cap: deltas merge into one until the socket drains.
          session.pendingDelta = session.pendingDelta
            ? {
              baseVersion: session.pendingDelta.baseVersion,
              version: delta.version,
              patch: composeMergePatches(session.pendingDelta.patch, delta.patch),
              cause: delta.cause,
            }
            : { ...delta };
          flushDelta(session);
          continue;
        }
        json ??= deltaJson(delta);
        deliver(session, "state.delta", json);
      }
    },

    revoke(revoked, code, reason) {
      for (const connection of [...connections]) {
        if (connection.user && isRevoked(connection.user, revoked)) close(connection, code, reason);
      }
      for (const session of [...sessions.values()]) {
        if (!isRevoked(session.user, revoked)) continue;
        if (session.expiry !== undefined) clock.clearTimeout(session.expiry);
        sessions.delete(session.id);
      }
    },

    shutdown() {
      for (const connection of [...connections]) {
        if (connection.session) {
          reply(connection, "notice", {
            level: "warn",
            code: "SHUTTING_DOWN",
            message: "The server is shutting down",
          });
        }
        close(connection, CLOSE.SHUTDOWN, "server shutting down");
      }
      for (const session of sessions.values()) {
        if (session.expiry !== undefined) clock.clearTimeout(session.expiry);
      }
      sessions.clear();
    },

    stats() {
      let detachedBytes = 0;
      for (const session of sessions.values()) {
        if (session.connection === null) detachedBytes += session.replayBytes;
      }
      return { sockets: connections.size, sessions: sessions.size, detachedBytes };
    },
  };
}
