/**
 * `GET /api/events?topics=` (spec/server.md §4.4): the WebSocket's messages (§5.3) as server-sent
 * events, for clients that only read. The stream is a session of the hub like a socket's: the same
 * topics and audiences, `id: <session>:<seq>`, and `Last-Event-ID` resumes it within the resume
 * window (§5.4). The request's own credential (header, never the query) opens it.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import type { Clock } from "../clock.ts";
import { AppError } from "../errors.ts";
import { bearerOf } from "../http/auth.ts";
import { describe } from "../http/openapi.ts";
import type { AppEnv } from "../http/types.ts";
import {
  customIssue,
  readQuery,
  requireRole,
  signedInCaller,
  validationError,
} from "../http/validate.ts";
import type { Hub, HubSocket } from "./hub.ts";
import {
  MAX_TOPICS,
  refusedTopics,
  refusedTopicsMessage,
  type Topic,
  topic,
  TOPICS,
} from "./protocol.ts";

/** A comment line this often keeps proxies from closing a quiet stream. */
const PING_MS = 15_000;
/** `<session id>:<seq>`, as the events' ids are. */
const LAST_EVENT_ID = /^(wss_[0-9A-Za-z]{1,40}):(\d{1,15})$/;

/** The topics, as the query and its errors name them. */
const TOPIC_NAMES = [...TOPICS.slice(0, 2), "chat:<thread id>", ...TOPICS.slice(2)].join(", ");
/** Bytes queued for a reader past which it is taken to have stopped reading. */
const STALLED_BYTES = 65_536;

const QUERY = z.strictObject({
  topics: z.string().max(2_000).optional().describe(
    `Comma-separated topics among ${TOPIC_NAMES} (approvals: operators); every topic the role may read by default`,
  ),
});

/** The topics of `?topics=`, each checked and named once (400 naming `topics` otherwise). */
function topicsOf(text: string): Topic[] {
  const names = [...new Set(text.split(",").map((name) => name.trim()).filter(Boolean))];
  const parsed = z.array(topic).min(1).max(MAX_TOPICS).safeParse(names);
  if (!parsed.success) {
    const message = `must list 1 to ${MAX_TOPICS} topics among ${TOPIC_NAMES}, separated by commas`;
    throw validationError([customIssue(["topics"], message)], [], "query");
  }
  return parsed.data;
}

/** The route; its sessions are the hub's. */
export function eventRoutes(hub: Hub, clock: Clock): OpenAPIHono<AppEnv> {
  const routes = new OpenAPIHono<AppEnv>();
  describe(routes, [{
    method: "get",
    path: "/api/events",
    summary:
      "The WebSocket's messages as server-sent events (id <session>:<seq>; Last-Event-ID resumes)",
    tags: ["websocket"],
    role: "viewer",
    query: QUERY,
    headers: z.object({
      "last-event-id": z.string().regex(LAST_EVENT_ID).optional().describe(
        "The id of the last event received: the session resumes after it (within ws.resumeWindowSeconds)",
      ),
    }),
    responses: { 200: { description: "text/event-stream" } },
  }]);

  routes.get("/api/events", (c) => {
    requireRole(c, "viewer");
    const { role } = signedInCaller(c);
    const query = readQuery(c, QUERY);
    const topics = query.topics === undefined ? undefined : topicsOf(query.topics);
    const refused = refusedTopics(role, topics ?? []);
    if (refused.length > 0) {
      throw new AppError("FORBIDDEN", refusedTopicsMessage(refused), {
        status: 403,
        field: "topics",
      });
    }
    const last = c.req.header("last-event-id");
    const lastId = last === undefined ? null : LAST_EVENT_ID.exec(last.trim());
    if (last !== undefined && !lastId) {
      throw new AppError("VALIDATION_FAILED", "Last-Event-ID is not the id of an event", {
        status: 400,
        field: "Last-Event-ID",
      });
    }
    const token = bearerOf(c.req.raw.headers) ?? undefined;
    return streamSSE(c, async (stream) => {
      const { promise: ended, resolve: end } = Promise.withResolvers<void>();
      let session = lastId?.[1] ?? "";
      let buffered = 0;
      let deadline: ReturnType<Clock["setTimeout"]> | undefined;
      const socket: HubSocket = {
        send(text) {
          const envelope = JSON.parse(text) as { type: string; seq: number; data: unknown };
          if (envelope.type === "welcome") {
            session = (envelope.data as { session_id: string }).session_id;
          }
          buffered += text.length;
          const written = () => buffered -= text.length;
          stream.writeSSE({
            event: envelope.type,
            id: `${session}:${envelope.seq}`,
            data: JSON.stringify(envelope.data),
          }).then(written, written);
        },
        close(code, reason) {
          // A reader that stopped reading would hold the stream, and all queued for it, for good:
          // it is cut. Any other hears why first (a revoked credential, shutdown).
          const cut = () => {
            stream.abort();
            end();
          };
          if (buffered > STALLED_BYTES) return cut();
          stream.writeSSE({ event: "close", data: JSON.stringify({ code, reason }) })
            .then(end, end);
          // Nor may a reader that stops now hold it: it has until the next ping's time.
          deadline = clock.setTimeout(cut, PING_MS);
        },
        get bufferedAmount() {
          return buffered;
        },
      };
      const connection = hub.open(socket, token ? { token } : {});
      let ping = clock.setTimeout(function again() {
        // Only a quiet stream needs one; a stalled reader gets nothing more.
        if (buffered === 0) void stream.write(": ping\n\n");
        ping = clock.setTimeout(again, PING_MS);
      }, PING_MS);
      // The reader left: the session detaches at once (it waits the resume window).
      stream.onAbort(() => {
        hub.closed(connection);
        end();
      });
      await hub.receive(
        connection,
        JSON.stringify({
          type: "hello",
          seq: 1,
          data: {
            ...(topics ? { topics } : {}),
            ...(lastId ? { resume: { session_id: lastId[1], last_seq: Number(lastId[2]) } } : {}),
          },
        }),
      );
      await ended;
      clock.clearTimeout(ping);
      if (deadline !== undefined) clock.clearTimeout(deadline);
      hub.closed(connection);
    });
  });
  return routes;
}
