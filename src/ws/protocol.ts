/**
 * The WebSocket protocol `synth.v1` (spec/server.md §5): envelopes, topics
 * and the client's messages, validated with zod before anything acts on
 * them.
 *
 * @module
 */
import { z } from "zod";
import type { Role } from "../http/types.ts";
import { ROLE_RANK } from "../http/validate.ts";

/** The subprotocol the server speaks (and answers with, exactly). */
export const SUBPROTOCOL = "synth.v1";
/** A subprotocol offer carrying a bearer token. */
export const BEARER_PREFIX = "synth.bearer.";

/** Close codes (server.md §5.4). */
export const CLOSE = {
  SHUTDOWN: 1001,
  TOO_LARGE: 1009,
  CONNECTION_LIMIT: 1013,
  INVALID_MESSAGES: 4400,
  UNAUTHENTICATED: 4401,
  ROLE_LOST: 4403,
  SLOW_CONSUMER: 4408,
  MESSAGE_RATE: 4429,
} as const;

/** Fixed topics; `chat:<thread_id>` narrows `chat` to one thread. */
export const TOPICS = [
  "state",
  "chat",
  "projects",
  "tools",
  "approvals",
  "memory",
  "notices",
] as const;

/** A topic a socket may subscribe to. */
export type Topic = typeof TOPICS[number] | `chat:${string}`;

/** A topic's name, checked. */
export const topic = z.union([
  z.enum(TOPICS),
  z.string().regex(/^chat:[A-Za-z0-9_-]{1,100}$/) as z.ZodType<`chat:${string}`>,
]);

/** Most topics one message names. */
export const MAX_TOPICS = 32;

/** The role a topic needs (`approvals` is for operators). */
export function topicRole(name: Topic): Role {
  return name === "approvals" ? "operator" : "viewer";
}

/** The topics among `names` that `role` may not read. */
export function refusedTopics(role: Role, names: readonly Topic[]): Topic[] {
  return names.filter((name) => ROLE_RANK[role] < ROLE_RANK[topicRole(name)]);
}

/** The error a request for topics above the caller's role gets (a `subscribe`, a `hello`). */
export function refusedTopicsMessage(refused: readonly Topic[]): string {
  return `These topics need a higher role: ${refused.join(", ")}`;
}

const envelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.strictObject({
    type: z.literal(type),
    seq: z.number().int().min(0),
    ts: z.number().optional(),
    data,
  });

/** Every message a client may send. */
export const clientMessage = z.discriminatedUnion("type", [
  envelope(
    "hello",
    z.strictObject({
      token: z.string().min(1).max(4_096).optional(),
      resume: z.strictObject({
        session_id: z.string().min(1).max(100),
        last_seq: z.number().int().min(0),
      }).optional(),
      topics: z.array(topic).max(MAX_TOPICS).optional(),
    }),
  ),
  envelope(
    "chat.send",
    z.strictObject({
      thread_id: z.string().min(1).max(100).optional(),
      content: z.string().min(1).max(32_000),
      client_msg_id: z.string().min(1).max(100).optional(),
    }),
  ),
  envelope("chat.cancel", z.strictObject({ turn_id: z.string().min(1).max(100) })),
  envelope(
    "approval.respond",
    z.strictObject({
      approval_id: z.string().min(1).max(100),
      decision: z.enum(["approve", "deny"]),
      note: z.string().max(2_000).optional(),
    }),
  ),
  envelope("subscribe", z.strictObject({ topics: z.array(topic).min(1).max(MAX_TOPICS) })),
  envelope("unsubscribe", z.strictObject({ topics: z.array(topic).min(1).max(MAX_TOPICS) })),
  envelope("ping", z.strictObject({}).optional().default({})),
]);

const serverEnvelope = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.strictObject({
    type: z.literal(type),
    seq: z.number().int().min(0),
    ts: z.number(),
    re: z.number().int().optional().describe("The seq of the client message this answers"),
    data,
  });
/** An object whose keys are documented with its REST shape (the state, a record, a project). */
const document = (what: string) => z.record(z.string(), z.unknown()).describe(what);

/** Every message the server sends (spec/server.md §5.3), for the OpenAPI document and tests. */
export const serverMessage = z.discriminatedUnion("type", [
  serverEnvelope(
    "welcome",
    z.strictObject({
      session_id: z.string(),
      user: z.strictObject({ id: z.string(), username: z.string(), role: z.string() }),
      resumed: z.boolean(),
      replayed: z.number().int(),
      heartbeat_s: z.number(),
      topics: z.array(z.string()),
      limits: z.strictObject({ messages_per_minute: z.number(), max_message_bytes: z.number() }),
    }),
  ),
  serverEnvelope("ack", document("What the request answers (e.g. `{topics}`, a turn's ids)")),
  serverEnvelope(
    "error",
    z.strictObject({
      code: z.string(),
      message: z.string(),
      field: z.string().optional(),
      details: z.unknown().optional(),
      request_id: z.string().describe(
        "The id of the socket's upgrade request, as in its access-log line",
      ),
    }),
  ),
  serverEnvelope("pong", z.strictObject({})),
  serverEnvelope(
    "state.snapshot",
    z.strictObject({
      version: z.number().int(),
      state: document("SystemState, as GET /api/state"),
    }),
  ),
  serverEnvelope(
    "state.delta",
    z.strictObject({
      base_version: z.number().int(),
      version: z.number().int(),
      patch: document("An RFC 7396 merge patch against base_version"),
      cause: z.string(),
    }),
  ),
  serverEnvelope(
    "chat.token",
    z.strictObject({
      thread_id: z.string(),
      turn_id: z.string(),
      index: z.number().int().min(0),
      text: z.string(),
    }),
  ),
  serverEnvelope(
    "chat.done",
    z.strictObject({
      thread_id: z.string(),
      turn_id: z.string(),
      message_id: z.string().nullable(),
      status: z.enum(["completed", "failed", "cancelled"]),
      text: z.string(),
      flags: z.strictObject({
        uncertain: z.boolean(),
        clarifying: z.boolean(),
        interrupted: z.boolean().optional(),
      }).optional().describe("A completed reply's flags"),
      usage: document("The reply's provider, model and tokens").nullable(),
      error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
  serverEnvelope(
    "turn.influence",
    document("The influence record, as GET /api/turns/{id}/influence"),
  ),
  serverEnvelope(
    "project.update",
    z.strictObject({
      project_id: z.string(),
      event: document("The project event").nullable(),
      project: document("The project's summary"),
    }),
  ),
  serverEnvelope("tool.approval_request", document("The approval, as GET /api/approvals lists it")),
  serverEnvelope("tool.run", document("The run, as GET /api/tools/runs lists it")),
  serverEnvelope(
    "memory.update",
    z.strictObject({
      op: z.enum(["created", "updated", "forgotten"]),
      ids: z.array(z.string()),
      kind: z.string().optional(),
    }),
  ),
  serverEnvelope(
    "notice",
    z.strictObject({
      level: z.enum(["info", "warn", "error"]),
      code: z.string(),
      message: z.string(),
    }),
  ),
]);

/** A validated client message. */
export type ClientMessage = z.infer<typeof clientMessage>;

/** The user a socket acts for, and the credential it came with. */
export interface WsUser {
  id: string;
  username: string;
  role: Role;
  /** How it authenticated (for the access log). */
  auth?: "none" | "jwt" | "api_key";
  /** The login (refresh family) of a token: logout or reuse detection closes its sockets. */
  sid?: string;
  /** The API key: deleting it closes its sockets. */
  keyId?: string;
  /** When the token expires (epoch ms): the socket closes with 4401 then. */
  expiresAt?: number;
}

/** Which sockets a revocation closes: a user's, or only one login's or key's. */
export interface RevokedCredential {
  userId: string;
  sid?: string | undefined;
  keyId?: string | undefined;
}

/** Whether a socket's user falls under a revocation. */
export function isRevoked(user: WsUser, revoked: RevokedCredential): boolean {
  return user.id === revoked.userId &&
    (revoked.sid === undefined || user.sid === revoked.sid) &&
    (revoked.keyId === undefined || user.keyId === revoked.keyId);
}
