/**
 * `GET /ws` (spec/server.md §5) and `GET /api/events` (§4.4): the handshake (origin, subprotocol), the
 * hub's handlers (who a token is, chat requests, the state snapshot) and
 * its feeds: turn events to their owner, state deltas, notices, project and
 * memory updates to their owner.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { describe } from "../http/openapi.ts";
import { BoundedMap } from "../bounded_map.ts";
import type { EventBus } from "../bus.ts";
import type { Clock } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { AppEnv } from "../http/types.ts";
import { ROLE_RANK } from "../http/validate.ts";
import { callerKey } from "../http/rate_limit.ts";
import type { IdFactory } from "../ids.ts";
import type { Mind, TurnEvent } from "../mind/mind.ts";
import { currentSystemState, type MindStateCache } from "../mind/system_state.ts";
import { cancelOwnTurn, createOnceSubmitter } from "../mind/turn_requests.ts";
import { TurnWire } from "../mind/turn_wire.ts";
import type { AccessRecord } from "../telemetry/access_log.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Context } from "hono";
import { type Audience, createHub, type Hub, type HubSocket, type WsConfig } from "./hub.ts";
import { eventRoutes } from "./events_route.ts";
import { createLegacyHub } from "./legacy.ts";
import { mergePatch } from "./merge_patch.ts";
import {
  BEARER_PREFIX,
  clientMessage,
  CLOSE,
  serverMessage,
  SUBPROTOCOL,
  type WsUser,
} from "./protocol.ts";
import type { ToolService } from "../tools/service.ts";

/** Options for {@link createWsServer}. */
export interface WsServerOptions {
  config: WsConfig;
  /** Origins besides the server's own allowed to connect (`server.allowedOrigins`). */
  allowedOrigins: readonly string[];
  clock: Clock;
  log: Logger;
  bus: EventBus;
  ids: IdFactory;
  mind: () => Mind;
  /** The tool host (`approval.respond`). */
  tools?: () => ToolService;
  /** The user a token stands for; null refuses the socket (4401). */
  authenticate(token: string | undefined): Promise<WsUser | null>;
  /** Runs a reflection for a legacy `trigger_reflection`. */
  reflect(user: WsUser): Promise<void>;
  /** Writes the access-log line of a socket when it closes. */
  logSocket?: (record: AccessRecord) => void;
  /** Sees each frame in or out (metrics). */
  onFrame?: (direction: "in" | "out", text: string) => void;
  /** Sees each close code (metrics). */
  onClose?: (code: number) => void;
  /** The shared cache of the modules' mind-scope records. */
  stateCache?: MindStateCache;
  /** Counts an upgrade from a client address (tier `ws_connect`); omitted, unlimited. */
  connectLimit?: (clientIp: string) => { allowed: boolean; retryAfterSeconds: number };
  /**
   * Counts a `chat.send` (or a legacy `trigger_reflection`) against tier `chat` under `key`, the
   * one the same caller's `POST /api/chat` counts under; omitted, unlimited.
   */
  chatLimit?: (key: string) => { allowed: boolean; retryAfterSeconds: number };
}

/** The hub, its route and the state it streams. */
export interface WsServer {
  readonly hub: Hub;
  /** `GET /ws`. */
  readonly routes: OpenAPIHono<AppEnv>;
  /** Resolves when the state deltas caused so far have been sent (tests, shutdown). */
  settled(): Promise<void>;
  /** Closes every socket (1001) and stops listening to the bus. */
  stop(): void;
}

/** A tool run's or approval's audience: the user who asked, and administrators (none asked: admins). */
function requesterAndAdmins(item: { requested_by: string | null }): Audience {
  return item.requested_by ? { userId: item.requested_by, adminsToo: true } : { minRole: "admin" };
}

/** Creates the WebSocket server. */
export function createWsServer(options: WsServerOptions): WsServer {
  const { clock, log, bus } = options;
  const submitOnce = createOnceSubmitter(options.mind);
  // A revocation while a hello is being checked must not let the socket in on a stale answer.
  let revocations = 0;
  async function authenticate(token: string | undefined): Promise<WsUser | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = revocations;
      const user = await options.authenticate(token);
      if (before === revocations) return user;
    }
    return null;
  }
  // Mind-scope state as last sent: deltas are diffs against it.
  let version = 0;
  let last: Record<string, unknown> | null = null;
  let computing: Promise<void> | null = null;
  let dirty: string | null = null;

  const hub = createHub({
    config: options.config,
    clock,
    log,
    sessionId: () => options.ids.next("wss"),
    handlers: {
      authenticate,
      async snapshot() {
        await settled();
        if (last === null) {
          last = await currentSystemState(options.mind(), null, options.stateCache);
        }
        return { version, state: last };
      },
      async request(user, message, socket) {
        if (ROLE_RANK[user.role] < ROLE_RANK.operator) {
          throw new AppError("FORBIDDEN", "This needs the operator role", { status: 403 });
        }
        const who = { userId: user.id, role: user.role };
        switch (message.type) {
          case "chat.send": {
            // The chat tier counts a message however it comes: a socket is no way around it.
            countChat(user, socket);
            const submitted = await submitOnce(
              {
                ...who,
                threadId: message.data.thread_id ?? null,
                text: message.data.content,
                textField: "data.content",
              },
              message.data.client_msg_id,
            );
            return submitted.kind === "live"
              ? {
                turn_id: submitted.handle.turnId,
                thread_id: submitted.handle.threadId,
                queue_position: submitted.handle.queuePosition,
              }
              : { turn_id: submitted.turnId, thread_id: submitted.threadId, queue_position: 0 };
          }
          case "chat.cancel":
            await cancelOwnTurn(options.mind(), message.data.turn_id, who);
            return { turn_id: message.data.turn_id, status: "cancelling" };
          case "approval.respond": {
            if (!options.tools) {
              throw new AppError("APPROVAL_NOT_FOUND", "No such approval", {
                status: 404,
                field: "approval_id",
              });
            }
            const approval = await options.tools().decide(
              message.data.approval_id,
              message.data.decision,
              who,
              message.data.note,
            );
            return { approval };
          }
          default:
            return {};
        }
      },
    },
  });

  const legacy = createLegacyHub({
    clock,
    log,
    messagesPerMinute: options.config.messagesPerMinute,
    maxMessageBytes: options.config.maxMessageBytes,
    authTimeoutMs: options.config.authTimeoutMs,
    authenticate,
    state: () => currentSystemState(options.mind(), null, options.stateCache),
    reflect: (user, socket) => {
      countChat(user, socket);
      return options.reflect(user);
    },
  });

  /**
   * Counts a chat message or reflection asked on a socket against tier `chat`, under the key the
   * same caller's `POST /api/chat` counts under: a socket is no way around the limit.
   * @throws {AppError} 429 `RATE_LIMITED` past it.
   */
  function countChat(user: WsUser, socket: HubSocket): void {
    const admitted = options.chatLimit?.(
      callerKey("chat", { userId: user.id, auth: user.auth ?? "none" }, socket.clientIp),
    );
    if (admitted && !admitted.allowed) {
      throw new AppError(
        "RATE_LIMITED",
        `Too many messages; try again in ${admitted.retryAfterSeconds} s`,
        { status: 429, details: { tier: "chat", retry_after_seconds: admitted.retryAfterSeconds } },
      );
    }
  }

  /** Recomputes the mind-scope state and sends what changed; calls during one coalesce. */
  function stateChanged(cause: string) {
    legacy.stateChanged();
    if (!hub.stats().sessions) {
      last = null; // nobody listens: nothing to compute; the next snapshot starts afresh
      return;
    }
    if (computing) {
      dirty = cause;
      return;
    }
    computing = (async () => {
      // The bus delivers an event to its type's subscribers before the "*" ones, and the state
      // cache is invalidated by a "*" subscriber: computing now would read the records from
      // before the event. Let the event's delivery finish first.
      await Promise.resolve();
      let next: string | null = cause;
      while (next !== null) {
        dirty = null;
        try {
          const state = await currentSystemState(options.mind(), null, options.stateCache);
          const patch = last === null ? undefined : mergePatch(last, state);
          if (last !== null && patch !== undefined) {
            version++;
            hub.stateDelta({ baseVersion: version - 1, version, patch, cause: next });
          }
          last = state;
        } catch (error) {
          log.warn("computing the state for WebSocket clients failed", { error });
        }
        next = dirty;
      }
      computing = null;
    })();
  }

  async function settled() {
    while (computing) await computing;
  }

  // Each turn's messages so far (its token index and text, for chat.done after a failure).
  const turnWires = new BoundedMap<string, TurnWire>(1_000);

  function turnEvent(userId: string, threadId: string, event: TurnEvent) {
    const topics = ["chat", `chat:${threadId}`] as const;
    const audience = { userId };
    let wire = turnWires.get(event.turnId);
    if (!wire) turnWires.set(event.turnId, wire = new TurnWire(threadId));
    // A turn's last event: its influence record once completed, else its failure or cancel.
    if (["turn.influence", "turn.failed", "turn.cancelled"].includes(event.type)) {
      turnWires.delete(event.turnId);
    }
    for (const message of wire.messages(event)) {
      // The influence record is rewritten only when a session receives it.
      hub.publish(
        topics,
        message.type,
        message.type === "turn.influence" ? message.data : message.data(),
        audience,
      );
    }
  }

  const unsubscribe = [
    bus.subscribe("mind.turn.event", (event) => {
      const { userId, threadId } = event.data;
      turnEvent(userId, threadId, event.data.event as TurnEvent);
    }),
    bus.subscribe("mind.state", (event) => stateChanged(event.data.cause)),
    bus.subscribe("mind.job", () => stateChanged("job")),
    bus.subscribe("mind.turn.completed", () => stateChanged("turn")),
    bus.subscribe("notice", (event) => hub.publish(["notices"], "notice", event.data)),
    // A run goes to the user who asked for it and to administrators, as over HTTP.
    bus.subscribe(
      "tool.run",
      (event) => hub.publish(["tools"], "tool.run", event.data, requesterAndAdmins(event.data)),
    ),
    // A project's updates go to its owner's sockets only (spec/projects.md §12).
    bus.subscribe("project.update", (event) => {
      const data = event.data as {
        ownerId: string;
        projectId: string;
        event: Record<string, unknown> | null;
        project: Record<string, unknown>;
      };
      const projectEvent = data.event;
      hub.publish(["projects"], "project.update", {
        project_id: data.projectId,
        event: projectEvent
          ? {
            project_id: data.projectId,
            seq: projectEvent.seq,
            at: new Date(Number(projectEvent.at)).toISOString(),
            task_id: projectEvent.taskId ?? null,
            type: projectEvent.type,
            data: projectEvent.data,
          }
          : null,
        project: data.project,
      }, { userId: data.ownerId });
    }),
    // A memory's changes go to its owner's sockets only; agent-wide memories (no owner: self
    // memories) to every socket. Ids and kind, never content (spec/server.md §5.3).
    bus.subscribe("memory.update", (event) => {
      const data = event.data as {
        op: "created" | "updated" | "forgotten";
        ids: string[];
        kind?: string;
        ownerUserId?: string | null;
      };
      if (data.ownerUserId === undefined) {
        log.warn("a memory.update without an owner was not sent to WebSocket clients", {
          op: data.op,
        });
        return;
      }
      hub.publish(
        ["memory"],
        "memory.update",
        { op: data.op, ids: data.ids, ...(data.kind ? { kind: data.kind } : {}) },
        data.ownerUserId === null ? {} : { userId: data.ownerUserId },
      );
    }),
    // An approval goes to the user whose run waits and to administrators: only they decide it.
    bus.subscribe(
      "tool.approval_request",
      (event) =>
        hub.publish(
          ["approvals"],
          "tool.approval_request",
          event.data,
          requesterAndAdmins(event.data),
        ),
    ),
    bus.subscribe("auth.revoked", (event) => {
      revocations++;
      hub.revoke(event.data, CLOSE.UNAUTHENTICATED, "credential revoked");
      legacy.revoke(event.data, CLOSE.UNAUTHENTICATED, "credential revoked");
    }),
  ];

  const routes = new OpenAPIHono<AppEnv>();
  // The messages both ways, as components (spec/server.md §13; docs/websocket.md tells the rest).
  routes.openAPIRegistry.register("WsClientMessage", clientMessage);
  routes.openAPIRegistry.register("WsServerMessage", serverMessage);
  describe(routes, [{
    method: "get",
    path: "/ws",
    summary:
      "WebSocket upgrade (subprotocol synth.v1; the first message authenticates; docs/websocket.md)",
    tags: ["websocket"],
    role: "public",
    responses: {
      101: { description: "Switching protocols" },
      403: { description: "ORIGIN_NOT_ALLOWED" },
      426: { description: "WS_UPGRADE_REQUIRED: not an upgrade request" },
    },
  }]);
  routes.get("/ws", (c) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && !originAllowed(origin, c.req.url, options.allowedOrigins)) {
      throw new AppError("ORIGIN_NOT_ALLOWED", "This origin may not open a WebSocket", {
        status: 403,
      });
    }
    if ((c.req.header("upgrade") ?? "").toLowerCase() !== "websocket") {
      throw new AppError("WS_UPGRADE_REQUIRED", "This route only speaks WebSocket", {
        status: 426,
      });
    }
    const admitted = options.connectLimit?.(c.get("clientIp") ?? "local");
    if (admitted && !admitted.allowed) {
      c.set("blocked", "rate_limit");
      throw new AppError("RATE_LIMITED", "Too many WebSocket connections; wait before retrying", {
        status: 429,
        details: { tier: "ws_connect", retry_after_seconds: admitted.retryAfterSeconds },
      });
    }
    const offers = (c.req.header("sec-websocket-protocol") ?? "").split(",")
      .map((offer) => offer.trim()).filter(Boolean);
    if (offers.length === 0) return legacySocket(c);
    if (!offers.includes(SUBPROTOCOL)) {
      throw new AppError("WS_SUBPROTOCOL_UNSUPPORTED", `Offer the subprotocol ${SUBPROTOCOL}`, {
        status: 400,
      });
    }
    const bearer = offers.find((offer) => offer.startsWith(BEARER_PREFIX));
    // Read from the request before the upgrade consumes it.
    const tracked = track(c);
    // The answer is exactly synth.v1: echoing the first offer could echo the token.
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, {
      protocol: SUBPROTOCOL,
      idleTimeout: 30,
    });
    const held = tracked.wrap(socket);
    let connection: ReturnType<Hub["open"]> | undefined;
    socket.onopen = () => {
      connection = hub.open(
        held,
        bearer ? { token: bearer.slice(BEARER_PREFIX.length) } : {},
      );
    };
    socket.onmessage = (event) => {
      tracked.received(event.data);
      if (connection) void hub.receive(connection, event.data);
    };
    socket.onclose = (event) => {
      tracked.closed(event.code, connection?.user ?? null);
      if (connection) hub.closed(connection);
    };
    socket.onerror = () => {/* onclose follows */};
    return response;
  });

  /** A socket without a subprotocol speaks the earlier project's protocol (§5.5). */
  function legacySocket(c: Context<AppEnv>): Response {
    const tracked = track(c);
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 30 });
    const held = tracked.wrap(socket);
    socket.onopen = () => {
      if (hub.stats().sockets + legacy.size >= options.config.maxConnections) {
        socket.close(CLOSE.CONNECTION_LIMIT, "too many connections");
        return;
      }
      legacy.open(held);
    };
    socket.onmessage = (event) => {
      tracked.received(event.data);
      void legacy.receive(held, event.data);
    };
    socket.onclose = (event) => {
      tracked.closed(event.code, legacy.userOf(held));
      legacy.closed(held);
    };
    socket.onerror = () => {/* onclose follows */};
    return response;
  }

  /**
   * Counts a socket's messages and writes its access-log line when it
   * closes. Call before the upgrade: the request cannot be read after it.
   */
  function track(c: Context<AppEnv>) {
    let messagesIn = 0;
    let messagesOut = 0;
    const started = performance.now();
    const base = {
      ts: new Date(clock.now()).toISOString(),
      request_id: c.get("requestId") ?? "",
      client_ip: c.get("clientIp") ?? "local",
      peer_ip: c.get("peerIp") ?? "local",
      user_agent: c.req.header("user-agent")?.slice(0, 200) ?? null,
    };
    return {
      wrap(socket: WebSocket): HubSocket {
        return {
          send(text) {
            messagesOut++;
            options.onFrame?.("out", text);
            socket.send(text);
          },
          close(code, reason) {
            socket.close(code, reason);
          },
          get bufferedAmount() {
            return socket.bufferedAmount;
          },
          requestId: base.request_id,
          clientIp: base.client_ip,
        };
      },
      received(frame: unknown) {
        messagesIn++;
        options.onFrame?.("in", typeof frame === "string" ? frame : "");
      },
      closed(code: number, user: WsUser | null) {
        options.onClose?.(code);
        options.logSocket?.({
          ...base,
          method: "GET",
          path: "/ws",
          route: "/ws",
          status: 101,
          duration_ms: Math.round(performance.now() - started),
          bytes_in: null,
          bytes_out: null,
          user_id: user && user.auth !== "none" ? user.id : null,
          auth: user?.auth ?? "none",
          ws: { messages_in: messagesIn, messages_out: messagesOut, close_code: code },
        });
      },
    };
  }

  // `GET /api/events`: the same sessions as server-sent events.
  routes.route("/", eventRoutes(hub, clock));

  return {
    hub,
    routes,
    settled,
    stop() {
      for (const stop of unsubscribe) stop();
      hub.shutdown();
      legacy.shutdown();
    },
  };
}

/** The server's own origin (from the request's Host) or a configured one. */
function originAllowed(origin: string, requestUrl: string, allowed: readonly string[]): boolean {
  return origin === new URL(requestUrl).origin || allowed.includes(origin);
}
