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
import { describe } from "../http/openapi.ts";
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

/** {@link LedgerEntryView} for the OpenAPI document. */
const LEDGER_ENTRY = z.strictObject({
  id: z.string(),
  at: z.iso.datetime(),
  module: z.string().describe("The module that made the call (mind, a plugin id, generate…)"),
  purpose: z.string().describe("What the call was for (reply, reflection, forecast…)"),
  role: z.string().describe("The model role it used (reply, background…)"),
  provider: z.string(),
  model: z.string(),
  status: z.enum(["ok", "error", "parse_failed", "aborted"]),
  attempts: z.number().int(),
  failover_index: z.number().int().describe("0: the first provider answered; n: the n-th fallback"),
  tokens_in: z.number().int(),
  tokens_out: z.number().int(),
  cached_input_tokens: z.number().int(),
  tokens_estimated: z.boolean().describe("The provider gave no counts: the tokens are estimated"),
  latency_ms: z.number(),
  first_token_ms: z.number().nullable(),
  cost_usd: z.number().nullable().describe("Null when the model has no price"),
  error_code: z.string().nullable(),
  http_status: z.number().int().nullable(),
  stop_reason: z.string().nullable(),
  tool_calls: z.number().int(),
  turn_id: z.string().nullable().describe("Null on another user's row, as user_id"),
  job_id: z.string().nullable().describe("Null on another user's row, as user_id"),
  user_id: z.string().nullable().describe(
    "Null on another user's row, with its thread_id, turn_id and job_id (an administrator sees all)",
  ),
  thread_id: z.string().nullable().describe("Null on another user's row, as user_id"),
});
/** `LedgerTotals` (ledger.ts) for the OpenAPI document. */
const LEDGER_TOTALS = {
  calls: z.number().int(),
  tokens_in: z.number().int(),
  tokens_out: z.number().int(),
  cost_usd: z.number().nullable().describe(
    "The sum of the known costs; null when no call's cost is known (not a free 0)",
  ),
  cost_unknown_calls: z.number().int().describe("Calls whose model has no price"),
};
/** `LedgerSummary` (ledger.ts) as `GET /api/ledger/summary` shows it. */
const LEDGER_SUMMARY = z.strictObject({
  since: z.iso.datetime(),
  until: z.iso.datetime(),
  group_by: z.enum(LEDGER_GROUPS),
  groups: z.array(
    z.strictObject({
      key: z.string().describe(
        'The group\'s value (a module, model…); days folded into daily totals count under their module, provider or model, or under "(compacted)" for the other groupings',
      ),
      ...LEDGER_TOTALS,
    }),
  ).describe("One per value of group_by, most tokens first"),
  total: z.strictObject(LEDGER_TOTALS).describe("Every group together"),
});

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
      responses: {
        200: {
          description: "Ledger rows",
          schema: z.strictObject({
            items: z.array(LEDGER_ENTRY),
            next_cursor: z.string().nullable(),
          }),
        },
      },
    },
    {
      method: "get",
      path: "/api/ledger/summary",
      summary:
        "Calls, tokens and cost grouped by module, provider, model, purpose, role or status (?group_by=)",
      tags: ["llm"],
      role: "viewer",
      query: summaryQuery,
      responses: {
        200: { description: "Totals per group and overall", schema: LEDGER_SUMMARY },
      },
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
