import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { isoTime } from "../clock.ts";
import type { Clock } from "../clock.ts";
import {
  queryInt,
  RANGE_IN_ORDER,
  rangeInOrder,
  readJson,
  readQuery,
  requireRole,
  threadReader,
} from "../http/validate.ts";
import type { AppEnv } from "../http/types.ts";
import { ANY_OBJECT, describe, PAGE } from "../http/openapi.ts";
import type { KernelLlm } from "./gateway.ts";
import { LEDGER_GROUPS, type LedgerEntry } from "./ledger.ts";

/** A ledger row as `GET /api/ledger` shows it. */
export interface LedgerEntryView {
  id: string;
  at: string;
  module: string;
  purpose: string;
  role: string;
  provider: string;
  model: string;
  status: LedgerEntry["status"];
  attempts: number;
  failover_index: number;
  tokens_in: number;
  tokens_out: number;
  cached_input_tokens: number;
  tokens_estimated: boolean;
  latency_ms: number;
  first_token_ms: number | null;
  cost_usd: number | null;
  error_code: string | null;
  http_status: number | null;
  stop_reason: string | null;
  tool_calls: number;
  turn_id: string | null;
  job_id: string | null;
  user_id: string | null;
  thread_id: string | null;
}

/** The API shape of a ledger row. */
export function toLedgerEntryView(row: LedgerEntry): LedgerEntryView {
  return {
    id: row.id,
    at: isoTime(row.at),
    module: row.module,
    purpose: row.purpose,
    role: row.role,
    provider: row.provider,
    model: row.model,
    status: row.status,
    attempts: row.attempts,
    failover_index: row.failover_index,
    tokens_in: row.tokens_in,
    tokens_out: row.tokens_out,
    cached_input_tokens: row.cached_input_tokens,
    tokens_estimated: row.tokens_estimated === 1,
    latency_ms: row.latency_ms,
    first_token_ms: row.first_token_ms,
    cost_usd: row.cost_usd,
    error_code: row.error_code,
    http_status: row.http_status,
    stop_reason: row.stop_reason,
    tool_calls: row.tool_calls,
    turn_id: row.turn_id,
    job_id: row.job_id,
    user_id: row.user_id,
    thread_id: row.thread_id,
  };
}

const time = z.iso.datetime({ offset: true }).transform((value) => Date.parse(value));

const ledgerQuery = z.strictObject({
  module: z.string().min(1).max(100).optional(),
  status: z.enum(["ok", "error", "parse_failed", "aborted"]).optional(),
  since: time.optional(),
  until: time.optional(),
  limit: queryInt({ min: 1, max: 500 }).default(100),
  cursor: z.string().regex(/^llm_[0-9A-Z]{26}$/, "a next_cursor from the previous page")
    .optional(),
}).refine(rangeInOrder, RANGE_IN_ORDER);

const summaryQuery = z.strictObject({
  group_by: z.enum(LEDGER_GROUPS).default("module"),
  since: time.optional(),
  until: time.optional(),
}).refine(rangeInOrder, RANGE_IN_ORDER);

/**
 * The ledger routes (`GET /api/ledger`, `/api/ledger/summary`) and
 * `POST /api/generate` (spec/server.md §4).
 */
export function llmRoutes(
  llm: KernelLlm,
  options: { clock: Clock; generateMaxTokens: number },
): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  const generateBody = z.strictObject({
    prompt: z.string().min(1).max(8_000),
    temperature: z.number().min(0).max(2).default(0.85),
    max_tokens: z.number().int().min(1).max(options.generateMaxTokens)
      .default(options.generateMaxTokens),
  });
  describe(app, [
    {
      method: "get",
      path: "/api/ledger",
      summary:
        "Language model calls, newest first (?module=&since=&until=&status=&limit=&cursor=); another user's rows name no user, thread, turn or job (an administrator's show all)",
      tags: ["llm"],
      role: "viewer",
      query: ledgerQuery,
      responses: { 200: { description: "Ledger rows", schema: PAGE } },
    },
    {
      method: "get",
      path: "/api/ledger/summary",
      summary:
        "Calls, tokens and cost grouped by module, provider, model, purpose, role or status (?group_by=)",
      tags: ["llm"],
      role: "viewer",
      query: summaryQuery,
      responses: { 200: { description: "Totals", schema: ANY_OBJECT } },
    },
    {
      method: "post",
      path: "/api/generate",
      summary:
        "One completion from the reply model (the earlier project's route; budget `generate`)",
      tags: ["llm"],
      role: "operator",
      body: generateBody,
      responses: {
        200: {
          description: "The text",
          schema: z.object({ success: z.literal(true), response: z.string() }),
        },
      },
    },
  ]);

  app.get("/api/ledger", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, ledgerQuery);
    const page = await llm.ledger.list({
      limit: query.limit,
      ...(query.module !== undefined ? { module: query.module } : {}),
      ...(query.status !== undefined ? { status: query.status } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
      ...(query.until !== undefined ? { until: query.until } : {}),
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    });
    // Spending is everyone's to see; whose turns and threads made it, only one's own (an
    // administrator sees all).
    const reader = threadReader(c);
    const items = page.items.map(toLedgerEntryView).map((entry) =>
      reader === null || entry.user_id === reader
        ? entry
        : { ...entry, user_id: null, thread_id: null, turn_id: null, job_id: null }
    );
    return c.json({ items, next_cursor: page.next_cursor });
  });

  app.get("/api/ledger/summary", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, summaryQuery);
    const until = query.until ?? options.clock.now() + 1;
    const since = query.since ?? until - 30 * 86_400_000;
    const summary = await llm.ledger.summary({ since, until, groupBy: query.group_by });
    return c.json({ ...summary, since: isoTime(summary.since), until: isoTime(summary.until) });
  });

  app.post("/api/generate", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, generateBody);
    const completion = await llm.complete({
      module: "generate",
      purpose: "generate",
      role: "reply",
      messages: [{ role: "user", content: body.prompt }],
      temperature: body.temperature,
      maxTokens: body.max_tokens,
      context: { userId: c.get("principal")?.userId ?? "local" },
    });
    return c.json({ success: true, response: completion.text });
  });

  return app;
}
