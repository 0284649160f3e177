/**
 * The mind's HTTP routes (spec/server.md §4.2): chat, threads, turns with
 * their events and influence records, state, feedback, budgets.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { AppError } from "../errors.ts";
import type { AppEnv } from "../http/types.ts";
import { describe, type Operation } from "../http/openapi.ts";
import { PREVIOUS_PAGE, readTimeIdCursor, timeIdCursor, timeIdPage } from "../http/paging.ts";
import { queryInt, readJson, readQuery, requireRole, signedInCaller } from "../http/validate.ts";
import type { CommandDispatcher } from "./commands.ts";
import { toApiShape, toSnakeCase } from "./influence.ts";
import { INFLUENCE_RECORD, SYSTEM_STATE, THREAD_STATE } from "./state_schemas.ts";
import { currentSystemState, type MindStateCache } from "./system_state.ts";
import { messageView, threadView, turnView } from "./views.ts";
import { cancelOwnTurn, createOnceSubmitter, ownTurn } from "./turn_requests.ts";
import { TurnWire } from "./turn_wire.ts";
import type { Mind, TurnEvent, TurnHandle, TurnOutcome } from "./mind.ts";
import { type Clock, isoTime, withTimeout } from "../clock.ts";
import type { MindThread } from "./hooks.ts";

const chatBody = z.strictObject({
  message: z.string().min(1).max(32_000),
  thread_id: z.string().min(1).max(100).optional(),
});
const turnBody = z.strictObject({
  content: z.string().min(1).max(32_000).describe(
    "The message, sent to the model as written, also when it starts with / (commands go through POST /api/chat)",
  ),
  client_msg_id: z.string().min(1).max(100).optional(),
});
const threadBody = z.strictObject({ title: z.string().trim().min(1).max(200).optional() });
const threadPatchBody = z.strictObject({
  title: z.string().trim().min(1).max(200).nullable().optional(),
  archived: z.boolean().optional(),
}).refine((body) => body.title !== undefined || body.archived !== undefined, {
  message: "Give title or archived",
});
const threadDeleteQuery = z.strictObject({ forget: z.enum(["true", "false"]).optional() });
const feedbackBody = z.strictObject({
  value: z.enum(["good", "bad"]),
  note: z.string().max(1_000).optional(),
});
const messagesQuery = z.strictObject({
  order: z.enum(["asc", "desc"]).default("asc"),
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: z.string().regex(/^[1-9]\d{0,15}$/, PREVIOUS_PAGE).optional().describe(
    "The next page holds the messages before this one's (older), in the same order",
  ),
});
const listQuery = z.strictObject({
  limit: queryInt({ min: 1, max: 200 }).default(50),
  archived: z.enum(["true", "false"]).optional(),
  cursor: timeIdCursor("The next page holds the threads with older activity"),
});
const reflectBody = z.strictObject({ thread_id: z.string().min(1).max(100).optional() });
const budgetBody = z.strictObject({
  per_turn: z.number().int().min(0).nullable().optional(),
  per_hour: z.number().int().min(0).nullable().optional(),
  per_day: z.number().int().min(0).nullable().optional(),
});

/** An SSE event id of a turn stream: `<turn id>:<n>`. */
const LAST_EVENT_ID = /^(.+):(\d{1,9})$/;

/**
 * The event a reconnecting client saw last (`Last-Event-ID: <turn id>:<n>`, server.md §4.4), or 0
 * without the header.
 *
 * @throws {AppError} 400 naming `Last-Event-ID` when it is not one of this turn's event ids.
 */
function lastEventSeq(c: Context<AppEnv>, turnId: string): number {
  const header = c.req.header("last-event-id");
  if (header === undefined || header === "") return 0;
  const match = LAST_EVENT_ID.exec(header.trim());
  if (!match || match[1] !== turnId) {
    throw new AppError(
      "VALIDATION_FAILED",
      "Last-Event-ID must be an event id of this turn's stream: <turn id>:<number>",
      { status: 400, field: "Last-Event-ID" },
    );
  }
  return Number(match[2]);
}

/** A turn event as SSE/WS show it (snake_case payloads). */
export function wireEvent(event: TurnEvent): { event: string; data: unknown } {
  const { type, ...rest } = event;
  return { event: type, data: toSnakeCase(rest) };
}

/** The routes; `mind()` is the started mind. */
export function mindRoutes(
  mind: () => Mind,
  commands: () => CommandDispatcher,
  stateCache?: MindStateCache,
  blocking?: { clock: Clock; blockingTimeoutMs: number },
): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  describe(app, OPERATIONS);
  const submitOnce = createOnceSubmitter(mind);

  /**
   * The turn's outcome, or 504 `TURN_TIMEOUT` once a blocking request has waited
   * `chat.blockingTimeoutMs` (spec/server.md §1); the turn itself goes on.
   */
  async function blockingOutcome(handle: TurnHandle): Promise<TurnOutcome> {
    if (!blocking) return await handle.done;
    return await withTimeout(handle.done, {
      clock: blocking.clock,
      ms: blocking.blockingTimeoutMs,
      error: () =>
        new AppError(
          "TURN_TIMEOUT",
          "The reply is taking longer than this request may wait; the turn goes on",
          {
            status: 504,
            details: {
              thread_id: handle.threadId,
              turn_id: handle.turnId,
              events_url: `/api/turns/${handle.turnId}/events`,
            },
          },
        ),
    });
  }

  function conversations() {
    const port = mind().conversations;
    if (!port) {
      throw new AppError("MIND_NO_CONVERSATIONS", "Conversations need the memory plugin", {
        status: 503,
      });
    }
    return port;
  }

  /** 404 `MIND_THREAD_NOT_FOUND` unless `thread` exists and is the caller's (any, for an admin). */
  function refuseForeign(c: Context<AppEnv>, thread: { createdBy: string | null } | null) {
    const { userId, role } = signedInCaller(c);
    if (!thread || (thread.createdBy !== userId && role !== "admin")) {
      throw new AppError("MIND_THREAD_NOT_FOUND", "No such thread", { status: 404 });
    }
  }

  async function ownThread(c: Context<AppEnv>, id: string): Promise<MindThread> {
    const thread = await conversations().getThread(id);
    refuseForeign(c, thread);
    return thread!;
  }

  /** {@link ownThread} when only the id is needed: the owner is read, not the title or counts. */
  async function ownThreadId(c: Context<AppEnv>, id: string): Promise<string> {
    const port = conversations();
    refuseForeign(c, port.threadOwner ? await port.threadOwner(id) : await port.getThread(id));
    return id;
  }

  /** `ChatResponse.state`: two indexed reads, cheap enough for every reply. */
  async function stateSummary() {
    const affect = mind().affect();
    const forecast = await mind().lastEvent("forecast.resolved");
    const flow = await mind().lastEvent("calibration.updated");
    return {
      valence: affect.p,
      mood_tags: [affect.mood],
      turn_count: mind().turnCount,
      dream_alignment: typeof forecast?.alignment === "number" ? forecast.alignment : null,
      flow_state: typeof flow?.state === "string" ? flow.state : "flow",
    };
  }

  app.post("/api/chat", async (c) => {
    // A viewer may run the commands that only read (each command checks its own role); a
    // message that starts a turn needs the operator role.
    requireRole(c, "viewer");
    const body = await readJson(c, chatBody);
    const who = signedInCaller(c);
    if (body.message.startsWith("/")) {
      const result = await commands().dispatch(body.message, {
        ...who,
        threadId: body.thread_id ? await ownThreadId(c, body.thread_id) : null,
      });
      if (
        !result.ok && (result.output.data as { code?: string } | undefined)?.code === "FORBIDDEN"
      ) {
        throw new AppError("FORBIDDEN", result.output.text, { status: 403 });
      }
      return c.json({
        success: result.ok,
        response: result.output.text,
        command: result.command,
        data: result.output.data ?? null,
        state: await stateSummary(),
        thread_id: body.thread_id ?? null,
        turn_id: null,
        message_id: null,
      });
    }
    requireRole(c, "operator");
    const handle = await mind().submit({
      userId: who.userId,
      role: who.role,
      threadId: body.thread_id ?? null,
      text: body.message,
    });
    const outcome = await blockingOutcome(handle);
    if (outcome.status !== "completed") {
      const error = outcome.error ??
        { code: "MIND_TURN_CANCELLED", message: "The turn was cancelled", status: 409 };
      throw new AppError(error.code, error.message, {
        status: error.status,
        details: {
          thread_id: outcome.threadId,
          turn_id: outcome.turnId,
          partial: outcome.reply,
          // Becomes a Retry-After header (src/http/errors.ts).
          ...(error.retryAfterSeconds !== undefined
            ? { retry_after_seconds: error.retryAfterSeconds }
            : {}),
        },
      });
    }
    return c.json({
      success: true,
      response: outcome.reply,
      state: await stateSummary(),
      thread_id: outcome.threadId,
      turn_id: outcome.turnId,
      message_id: outcome.messageId,
      flags: outcome.flags,
      usage: outcome.usage
        ? {
          provider: outcome.usage.provider,
          model: outcome.usage.model,
          input_tokens: outcome.usage.inputTokens,
          output_tokens: outcome.usage.outputTokens,
          cost_usd: outcome.usage.costUsd,
        }
        : null,
    });
  });

  // A background job of the mind (a reflection, a forecast…); other jobs (a memory re-embed) are
  // the routes after this one's. Spec/server.md's `Job` shape, as the re-embed's.
  app.get("/api/jobs/:id", async (c, next) => {
    requireRole(c, "viewer");
    const job = await mind().scheduler.find(c.req.param("id"));
    if (!job) return await next();
    // A job on a thread is its owner's (and administrators'), like the thread.
    if (job.threadId !== null) {
      try {
        await ownThreadId(c, job.threadId);
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== "MIND_THREAD_NOT_FOUND") throw error;
        throw new AppError("JOB_NOT_FOUND", "No such job", { status: 404 });
      }
    }
    const ended = job.status === "done" || job.status === "failed" || job.status === "skipped";
    const updated = job.finishedAt ?? job.startedAt ?? job.queuedAt;
    return c.json({
      id: job.id,
      type: `${job.module}.${job.kind}`,
      status: job.status,
      progress: { done: ended ? 1 : 0, total: 1 },
      error: job.status === "failed"
        ? job.note ?? "the job failed"
        : job.status === "skipped"
        ? `skipped: ${job.reason ?? "no reason recorded"}`
        : null,
      created_at: isoTime(job.queuedAt),
      updated_at: isoTime(updated),
      finished_at: job.finishedAt === undefined ? null : isoTime(job.finishedAt),
    });
  });

  app.post("/api/reflect", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, reflectBody);
    const result = await commands().dispatch("/reflect", {
      ...signedInCaller(c),
      threadId: body.thread_id ? (await ownThread(c, body.thread_id)).id : null,
    });
    return c.json({
      success: result.ok,
      response: result.output.text,
      data: result.output.data ?? null,
    });
  });

  app.get("/api/threads", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, listQuery);
    const port = mind().conversations;
    if (!port) return c.json({ items: [], next_cursor: null });
    const before = readTimeIdCursor(query.cursor);
    const threads = await port.listThreads(signedInCaller(c).userId, {
      limit: query.limit + 1,
      includeArchived: query.archived === "true",
      ...(before ? { before } : {}),
    });
    const { page, nextCursor } = timeIdPage(
      threads,
      query.limit,
      (thread) => ({ at: thread.updatedAt, id: thread.id }),
    );
    return c.json({ items: page.map(threadView), next_cursor: nextCursor });
  });

  app.post("/api/threads", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, threadBody);
    const port = mind().conversations;
    if (!port) {
      throw new AppError("MIND_NO_CONVERSATIONS", "Conversations need the memory plugin", {
        status: 503,
      });
    }
    const thread = await port.createThread({
      ownerUserId: signedInCaller(c).userId,
      title: body.title ?? null,
    });
    c.header("Location", `/api/threads/${thread.id}`);
    return c.json(threadView(thread), 201);
  });

  app.get("/api/threads/:id", async (c) => {
    requireRole(c, "viewer");
    return c.json(threadView(await ownThread(c, c.req.param("id"))));
  });

  // Owner only (admins too, as for reading): anyone else gets the 404 of an unknown thread.
  app.patch("/api/threads/:id", async (c) => {
    requireRole(c, "operator");
    const thread = await ownThread(c, c.req.param("id"));
    const body = await readJson(c, threadPatchBody);
    const updated = await mind().conversations!.updateThread(thread.id, {
      ...(body.title !== undefined ? { title: body.title } : {}),
      ...(body.archived !== undefined ? { archived: body.archived } : {}),
    });
    if (!updated) throw new AppError("MIND_THREAD_NOT_FOUND", "No such thread", { status: 404 });
    return c.json(threadView(updated));
  });

  // The thread, its messages, turns and per-thread records go; with
  // ?forget=true the memories drawn from it too (facts extracted from its
  // messages, events recorded in it), else those outlive it.
  app.delete("/api/threads/:id", async (c) => {
    requireRole(c, "operator");
    const thread = await ownThread(c, c.req.param("id"));
    const query = readQuery(c, threadDeleteQuery);
    await mind().forgetThread(thread.id, {
      actor: signedInCaller(c).userId,
      derived: query.forget === "true",
    });
    return c.body(null, 204);
  });

  app.get("/api/threads/:id/messages", async (c) => {
    requireRole(c, "viewer");
    const thread = { id: await ownThreadId(c, c.req.param("id")) };
    const query = readQuery(c, messagesQuery);
    // The newest messages before the cursor; one more tells whether older ones remain.
    const window = await mind().conversations!.threadWindow(thread.id, {
      maxTokens: Number.MAX_SAFE_INTEGER,
      maxMessages: query.limit + 1,
      ...(query.cursor ? { beforeSeq: Number(query.cursor) } : {}),
    });
    const messages = window.slice(-query.limit);
    const outcomes = await mind().turnStandings(
      messages.flatMap((message) => message.turnId ? [message.turnId] : []),
    );
    const items = messages.map((message) => {
      const outcome = message.turnId ? outcomes.get(message.turnId) : undefined;
      // A turn's error is shown where its reply is, or on the user's message when it left none.
      const reply = outcome !== undefined && message.role === "assistant" &&
        outcome.replyMessageId === message.uid;
      const carries = reply ||
        (outcome !== undefined && message.role === "user" && outcome.replyMessageId === null);
      return {
        ...messageView(message),
        turn_status: outcome?.status ?? null,
        turn_error: carries ? outcome.error : null,
        // The reply's footer (model and tokens) as it showed when streamed (chat.done's usage).
        usage: reply ? toSnakeCase(outcome.usage) : null,
      };
    });
    return c.json({
      items: query.order === "desc" ? items.reverse() : items,
      next_cursor: window.length > query.limit ? String(messages[0]!.seq) : null,
    });
  });

  app.post("/api/threads/:id/turns", async (c) => {
    requireRole(c, "operator");
    // The mind's submit checks the thread is the caller's (404 MIND_THREAD_NOT_FOUND). A repeated
    // client_msg_id (one per user) finds the caller's own turn, answered with its own thread.
    const thread = { id: c.req.param("id") };
    const body = await readJson(c, turnBody);
    const who = signedInCaller(c);
    const submitted = await submitOnce(
      { ...who, threadId: thread.id, text: body.content, textField: "content" },
      body.client_msg_id,
    );
    if (submitted.kind === "stored") {
      return c.json(
        turnAccepted(
          submitted.turnId,
          submitted.threadId,
          submitted.userMessageId,
          submitted.status,
          0,
        ),
        202,
      );
    }
    const handle = submitted.handle;
    if ((c.req.header("accept") ?? "").includes("text/event-stream")) {
      return streamTurn(c, handle);
    }
    // A repeated request reads where the turn it started has got to.
    const stored = submitted.repeated ? await mind().turn(handle.turnId) : null;
    const status = stored?.status ?? "queued";
    return c.json(
      turnAccepted(
        handle.turnId,
        handle.threadId,
        handle.userMessageId,
        status,
        status === "queued" ? handle.queuePosition : 0,
      ),
      202,
    );
  });

  function turnAccepted(
    turnId: string,
    threadId: string,
    userMessageId: string | null,
    status: string,
    position: number,
  ) {
    return {
      turn_id: turnId,
      thread_id: threadId,
      user_message_id: userMessageId,
      status,
      queue_position: position,
      events_url: `/api/turns/${turnId}/events`,
    };
  }

  /**
   * The turn's events as SSE, each with the id `<turn id>:<n>` (n from 1); after `afterSeq`, the
   * stream resumes behind that event.
   */
  function streamTurn(c: Context<AppEnv>, handle: TurnHandle, afterSeq = 0): Response {
    return streamSSE(c, async (stream) => {
      // The chat messages in the WebSocket's shapes (§5.3); the turn's own progress (queued,
      // started, stages, a failure's code) as it is. Skipped events still count toward the
      // tokens' index and the text a chat.done carries.
      const chat = new TurnWire(handle.threadId);
      let seq = 0;
      for await (const event of handle.events) {
        if (stream.aborted) break;
        const messages = chat.messages(event)
          .map((message) => ({ event: message.type, data: message.data() }));
        // A failure or cancel says so in its own event (its code), then ends with chat.done.
        const ended = event.type === "turn.failed" || event.type === "turn.cancelled";
        const out = messages.length === 0 || ended ? [wireEvent(event), ...messages] : messages;
        for (const wire of out) {
          if (seq < afterSeq) {
            seq++;
            continue;
          }
          await stream.writeSSE({
            event: wire.event,
            data: JSON.stringify(wire.data),
            id: `${handle.turnId}:${++seq}`,
          });
        }
      }
    });
  }

  app.get("/api/turns/:id", async (c) => {
    requireRole(c, "viewer");
    const turn = await ownTurn(mind(), c.req.param("id"), signedInCaller(c));
    return c.json(turnView(turn));
  });

  app.get("/api/turns/:id/events", async (c) => {
    requireRole(c, "viewer");
    const turn = await ownTurn(mind(), c.req.param("id"), signedInCaller(c));
    const handle = mind().live(turn.id);
    if (!handle) {
      throw new AppError("MIND_TURN_GONE", "This turn's events are no longer kept (10 minutes)", {
        status: 410,
      });
    }
    return streamTurn(c, handle, lastEventSeq(c, turn.id));
  });

  app.get("/api/turns/:id/influence", async (c) => {
    requireRole(c, "viewer");
    // An unknown or another user's turn is MIND_TURN_NOT_FOUND, as at /api/turns/{id}.
    const turn = await ownTurn(mind(), c.req.param("id"), signedInCaller(c));
    const found = await mind().influence(turn.id);
    if (!found) {
      throw new AppError("MIND_INFLUENCE_NOT_FOUND", "No influence record for this turn (yet)", {
        status: 404,
      });
    }
    return c.json(toApiShape(found.record));
  });

  app.post("/api/turns/:id/cancel", async (c) => {
    requireRole(c, "operator");
    const turnId = c.req.param("id");
    await cancelOwnTurn(mind(), turnId, signedInCaller(c));
    return c.json({ turn_id: turnId, status: "cancelling" }, 202);
  });

  app.post("/api/threads/:id/feedback", async (c) => {
    requireRole(c, "operator");
    const thread = await ownThread(c, c.req.param("id"));
    const body = await readJson(c, feedbackBody);
    const result = await mind().feedback({
      userId: signedInCaller(c).userId,
      threadId: thread.id,
      value: body.value,
      ...(body.note ? { note: body.note } : {}),
    });
    return c.json({ turn_id: result.turnId, replaced: result.replaced });
  });

  app.get("/api/state", async (c) => {
    requireRole(c, "viewer");
    return c.json(await currentSystemState(mind(), signedInCaller(c).userId, stateCache));
  });

  app.get("/api/threads/:id/state", async (c) => {
    requireRole(c, "viewer");
    const thread = await ownThread(c, c.req.param("id"));
    const state = await mind().state("thread", {
      threadId: thread.id,
      userId: signedInCaller(c).userId,
    });
    return c.json({ thread_id: thread.id, ...toSnakeCase(state) as Record<string, unknown> });
  });

  app.get("/api/budgets", async (c) => {
    requireRole(c, "viewer");
    const budgets = await mind().governor.list();
    return c.json({
      items: budgets.map((budget) => ({
        module: budget.module,
        source: budget.source,
        per_turn: budget.limits.perTurn ?? null,
        per_hour: budget.limits.perHour ?? null,
        per_day: budget.limits.perDay ?? null,
        used_hour: budget.usedHour,
        used_day: budget.usedDay,
      })),
    });
  });

  /** A module whose calls are budgeted here, else 404 listing them. */
  function budgetModule(c: Context<AppEnv>): string {
    const module = c.req.param("module") ?? "";
    if (!mind().governor.knows(module)) {
      throw new AppError(
        "BUDGET_MODULE_UNKNOWN",
        `No loaded module ${JSON.stringify(module)}; one of: ${mind().governor.modules.join(", ")}`,
        { status: 404, field: "module" },
      );
    }
    return module;
  }

  async function budgetView(module: string) {
    const { limits, source } = await mind().governor.limits(module);
    return {
      module,
      source,
      per_turn: limits.perTurn ?? null,
      per_hour: limits.perHour ?? null,
      per_day: limits.perDay ?? null,
    };
  }

  // A given key sets that limit (null = none); an omitted key keeps the one in force.
  app.put("/api/budgets/:module", async (c) => {
    requireRole(c, "admin");
    const module = budgetModule(c);
    const body = await readJson(c, budgetBody);
    await mind().governor.set(module, {
      ...(body.per_turn !== undefined ? { perTurn: body.per_turn } : {}),
      ...(body.per_hour !== undefined ? { perHour: body.per_hour } : {}),
      ...(body.per_day !== undefined ? { perDay: body.per_day } : {}),
    });
    return c.json(await budgetView(module));
  });

  // Back to the profile's limits.
  app.delete("/api/budgets/:module", async (c) => {
    requireRole(c, "admin");
    const module = budgetModule(c);
    await mind().governor.reset(module);
    return c.json(await budgetView(module));
  });

  return app;
}

/** `JobView` (scheduler.ts): a background job's record. */
const MIND_JOB = z.strictObject({
  id: z.string(),
  module: z.string(),
  kind: z.string(),
  turn_id: z.string().nullable(),
  thread_id: z.string().nullable(),
  priority: z.number(),
  status: z.enum(["queued", "running", "done", "failed", "skipped"]),
  reason: z.enum(["budget", "idle", "disabled", "superseded", "shutdown", "forgotten"]).nullable(),
  note: z.string().nullable(),
  queued_at: z.iso.datetime(),
  started_at: z.iso.datetime().nullable(),
  finished_at: z.iso.datetime().nullable(),
  tokens: z.number(),
});
/**
 * `/reflect`'s answer: the job it queued and how that ended, or why no
 * reflection could run (no reflection module: `MIND_UNKNOWN_COMMAND`).
 */
const REFLECT_RESPONSE = z.strictObject({
  success: z.boolean(),
  response: z.string(),
  data: z.union([
    z.strictObject({ job_ids: z.array(z.string()), job: MIND_JOB }),
    z.object({ code: z.string() }).catchall(z.unknown()),
  ]).nullable(),
});
const THREAD = z.object({
  id: z.string(),
  title: z.string().nullable(),
  created_by: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  archived: z.boolean(),
  message_count: z.number().int().min(0),
  project_id: z.string().nullable(),
}).catchall(z.unknown());
const USAGE = z.object({
  provider: z.string(),
  model: z.string(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cost_usd: z.number().nullable(),
});
const MESSAGE = z.strictObject({
  id: z.string(),
  thread_id: z.string(),
  seq: z.number().int(),
  role: z.string(),
  content: z.string(),
  turn_id: z.string().nullable(),
  author_id: z.string().nullable(),
  created_at: z.iso.datetime(),
  turn_status: z.enum(["queued", "running", "completed", "failed", "cancelled"]).nullable()
    .describe("How the message's turn stands (null: no turn, e.g. a command's answer)"),
  turn_error: z.strictObject({ code: z.string(), message: z.string() }).nullable().describe(
    "The turn's error, on its reply, or on the user's message when the turn stored no reply",
  ),
  usage: USAGE.nullable().describe("On a turn's reply: the model and its tokens"),
});
const TURN_ACCEPTED = z.strictObject({
  turn_id: z.string(),
  thread_id: z.string(),
  user_message_id: z.string().nullable(),
  status: z.string(),
  queue_position: z.number().int(),
  events_url: z.string(),
});
const LIMITS = {
  module: z.string(),
  source: z.enum(["profile", "api", "none"]),
  per_turn: z.number().nullable(),
  per_hour: z.number().nullable(),
  per_day: z.number().nullable(),
};
const BUDGET_LIMITS = z.strictObject(LIMITS);
const BUDGET = z.strictObject({ ...LIMITS, used_hour: z.number(), used_day: z.number() });
/**
 * A turn's reply: `success` true with the thread, turn and message ids. A
 * `/command` answers `success` as the command's outcome, its `command` and
 * `data`, and null turn and message ids (and thread when none was given).
 */
const CHAT_RESPONSE = z.object({
  success: z.boolean(),
  response: z.string(),
  thread_id: z.string().nullable(),
  turn_id: z.string().nullable().optional(),
  message_id: z.string().nullable().optional(),
  command: z.string().optional(),
  data: z.unknown().optional(),
  state: z.strictObject({
    valence: z.number(),
    mood_tags: z.array(z.string()),
    turn_count: z.number().int(),
    dream_alignment: z.number().nullable(),
    flow_state: z.string(),
  }).optional(),
  usage: USAGE.nullable().optional(),
}).catchall(z.unknown());
const TURN = z.strictObject({
  id: z.string(),
  thread_id: z.string(),
  seq: z.number().int(),
  status: z.enum(["queued", "running", "completed", "failed", "cancelled"]),
  user_message_id: z.string().nullable(),
  reply_message_id: z.string().nullable(),
  received_at: z.iso.datetime(),
  started_at: z.iso.datetime().nullable(),
  finished_at: z.iso.datetime().nullable(),
  flags: z.object({ uncertain: z.boolean(), clarifying: z.boolean() }).catchall(z.unknown()),
  usage: USAGE.nullable(),
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
  stages: z.array(z.strictObject({ name: z.string(), duration_ms: z.number() })),
});
const chatTags = ["chat"];
const mindTags = ["mind"];

/** The document's view of these routes (the handlers validate with the same schemas). */
const OPERATIONS = [
  {
    method: "post",
    path: "/api/chat",
    summary:
      "One turn (operator) or a /command (each needs its own role) and its reply as JSON (the earlier project's route)",
    tags: chatTags,
    role: "viewer",
    body: chatBody,
    responses: {
      200: { description: "The reply", schema: CHAT_RESPONSE },
      404: { description: "MIND_THREAD_NOT_FOUND: thread_id names no thread of the caller's" },
      409: {
        description:
          "MIND_TURN_CANCELLED: the turn was cancelled before its reply (its thread deleted, or cancelled)",
      },
      413: { description: "LLM_CONTEXT_TOO_LONG: the prompt is over the model's context" },
      500: { description: "LLM_BAD_REQUEST: the provider refused the request as malformed" },
      502: {
        description:
          "LLM_STREAM_INTERRUPTED: the reply broke off (the part received is kept); LLM_JSON_INVALID",
      },
      503: { description: "No language model is reachable (Retry-After when known)" },
      504: {
        description:
          "TURN_TIMEOUT: the reply took longer than chat.blockingTimeoutMs; the turn goes on (details.events_url); LLM_TIMEOUT",
      },
    },
  },
  {
    method: "post",
    path: "/api/reflect",
    summary: "Reflect now (on a thread of the caller's when given)",
    tags: mindTags,
    role: "operator",
    body: reflectBody,
    responses: {
      200: {
        description: "The reflection's outcome",
        schema: REFLECT_RESPONSE,
      },
      404: { description: "MIND_THREAD_NOT_FOUND: thread_id names no thread of the caller's" },
    },
  },
  {
    method: "get",
    path: "/api/threads",
    summary: "The caller's own threads (an administrator reads anyone's thread by its id)",
    tags: chatTags,
    role: "viewer",
    query: listQuery,
    responses: {
      200: {
        description: "Threads",
        schema: z.strictObject({ items: z.array(THREAD), next_cursor: z.string().nullable() }),
      },
    },
  },
  {
    method: "post",
    path: "/api/threads",
    summary: "Start a thread",
    tags: chatTags,
    role: "operator",
    body: threadBody,
    responses: { 201: { description: "Created", schema: THREAD } },
  },
  {
    method: "get",
    path: "/api/threads/:id",
    summary: "One of the caller's threads",
    tags: chatTags,
    role: "viewer",
    responses: { 200: { description: "The thread", schema: THREAD } },
  },
  {
    method: "patch",
    path: "/api/threads/:id",
    summary: "Rename, archive or restore one of the caller's threads",
    tags: chatTags,
    role: "operator",
    body: threadPatchBody,
    responses: { 200: { description: "The thread", schema: THREAD } },
  },
  {
    method: "delete",
    path: "/api/threads/:id",
    summary:
      "Delete one of the caller's threads with its messages and turns; ?forget=true also forgets the memories drawn from it",
    tags: chatTags,
    role: "operator",
    query: threadDeleteQuery,
    responses: { 204: { description: "Deleted" } },
  },
  {
    method: "get",
    path: "/api/threads/:id/messages",
    summary: "A thread's messages",
    tags: chatTags,
    role: "viewer",
    query: messagesQuery,
    responses: {
      200: {
        description: "Messages",
        schema: z.strictObject({ items: z.array(MESSAGE), next_cursor: z.string().nullable() }),
      },
    },
  },
  {
    method: "post",
    path: "/api/threads/:id/turns",
    summary: "Send a message: 202 with the turn, or its events as server-sent events",
    tags: chatTags,
    role: "operator",
    body: turnBody,
    responses: {
      202: { description: "Accepted", schema: TURN_ACCEPTED },
      200: { description: "With Accept: text/event-stream, the turn's events" },
    },
  },
  {
    method: "get",
    path: "/api/turns/:id",
    summary: "A turn's status, stages and usage",
    tags: chatTags,
    role: "viewer",
    responses: { 200: { description: "The turn", schema: TURN } },
  },
  {
    method: "get",
    path: "/api/turns/:id/events",
    summary:
      "A turn's events as server-sent events (replayed for 10 minutes; Last-Event-ID resumes)",
    tags: chatTags,
    role: "viewer",
    headers: z.object({
      "last-event-id": z.string().regex(LAST_EVENT_ID).optional().describe(
        "The id of the last event received (<turn id>:<n>): the stream resumes after it",
      ),
    }),
    responses: {
      200: { description: "text/event-stream" },
      410: {
        description: "MIND_TURN_GONE: the turn ended over 10 minutes ago (or before a restart)",
      },
    },
  },
  {
    method: "get",
    path: "/api/turns/:id/influence",
    summary:
      "Why this reply: fragments, memories, affect, forecast, calibration (404 until the turn ends; a failed or cancelled turn has one if it got to its reply)",
    tags: mindTags,
    role: "viewer",
    responses: { 200: { description: "The influence record", schema: INFLUENCE_RECORD } },
  },
  {
    method: "post",
    path: "/api/turns/:id/cancel",
    summary: "Cancel one's running or queued turn",
    tags: chatTags,
    role: "operator",
    responses: {
      202: {
        description: "Cancelling",
        schema: z.strictObject({ turn_id: z.string(), status: z.literal("cancelling") }),
      },
    },
  },
  {
    method: "post",
    path: "/api/threads/:id/feedback",
    summary: "Rate the last reply of a thread",
    tags: chatTags,
    role: "operator",
    body: feedbackBody,
    responses: {
      200: {
        description: "Recorded (replaced: an earlier rating of that reply was changed)",
        schema: z.strictObject({ turn_id: z.string(), replaced: z.boolean() }),
      },
    },
  },
  {
    method: "get",
    path: "/api/state",
    summary: "The SystemState snapshot (the earlier project's shape, from the modules' records)",
    tags: mindTags,
    role: "viewer",
    responses: { 200: { description: "The state", schema: SYSTEM_STATE } },
  },
  {
    method: "get",
    path: "/api/threads/:id/state",
    summary: "A thread's own state: forecasts, concerns, sentiments",
    tags: mindTags,
    role: "viewer",
    responses: { 200: { description: "The thread's state", schema: THREAD_STATE } },
  },
  {
    method: "get",
    path: "/api/budgets",
    summary: "Token budgets per module with what was used",
    tags: mindTags,
    role: "viewer",
    responses: {
      200: { description: "Budgets", schema: z.strictObject({ items: z.array(BUDGET) }) },
    },
  },
  {
    method: "put",
    path: "/api/budgets/:module",
    summary: "Set a module's limits (null lifts one; an omitted key keeps it)",
    tags: mindTags,
    role: "admin",
    body: budgetBody,
    responses: { 200: { description: "The budget", schema: BUDGET_LIMITS } },
  },
  {
    method: "delete",
    path: "/api/budgets/:module",
    summary: "Return a module to its profile's limits",
    tags: mindTags,
    role: "admin",
    responses: { 200: { description: "The budget", schema: BUDGET_LIMITS } },
  },
] satisfies readonly Operation[];
