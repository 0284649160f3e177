import { afterResponse, type Clock } from "../clock.ts";
import { sql } from "kysely";
import type { Store } from "../store/store.ts";
import type { MindLedgerTable } from "../store/schema.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Usage } from "./types.ts";

/** A ledger row as the API shows it (`LedgerEntry`, spec/mind.md §13 + llm.md §7.1). */
export type LedgerEntry = MindLedgerTable;

/** A model's price in USD per million tokens (`mind.prices`). */
export interface Price {
  in: number;
  out: number;
  cachedIn?: number | undefined;
}

/** What the summary groups by. */
export const LEDGER_GROUPS = ["module", "provider", "model", "purpose", "role", "status"] as const;
/** One of {@link LEDGER_GROUPS}. */
export type LedgerGroup = typeof LEDGER_GROUPS[number];

/** Totals of a set of rows. */
export interface LedgerTotals {
  calls: number;
  tokens_in: number;
  tokens_out: number;
  /** Sum of the known costs; null when no call's cost is known (not a free 0). */
  cost_usd: number | null;
  /** Calls whose cost is unknown (no price for the model). */
  cost_unknown_calls: number;
}

/** `GET /api/ledger/summary`. */
export interface LedgerSummary {
  since: number;
  until: number;
  group_by: LedgerGroup;
  groups: Array<{ key: string } & LedgerTotals>;
  total: LedgerTotals;
}

/** Filters of `GET /api/ledger`. */
export interface LedgerQuery {
  module?: string;
  status?: LedgerEntry["status"];
  since?: number;
  until?: number;
  limit: number;
  /** The last id of the previous page (rows are newest first). */
  cursor?: string;
}

/** The one ledger of language model calls. */
export interface Ledger {
  /**
   * Notes one row. Rows are written together in a later task, so a reply is not held up by
   * its ledger write; every read here writes them first (see {@link Ledger.flush}). A write that
   * fails is reported to `onWriteError`, never to the caller.
   */
  record(row: LedgerEntry): void;
  /** Writes the rows noted so far; a reader of `mind_ledger` outside this API calls it first. */
  flush(): Promise<void>;
  /** Tokens (in + out) of one background job's rows. */
  jobTokens(jobId: string): Promise<number>;
  /** Sets a row's status to `parse_failed` (completeJson after its repair attempt). */
  markParseFailed(id: string): Promise<void>;
  /** Rows newest first, with the cursor of the next page. */
  list(query: LedgerQuery): Promise<{ items: LedgerEntry[]; next_cursor: string | null }>;
  /** Totals per group; daily aggregates of compacted rows count under their module/provider/model. */
  summary(options: { since: number; until: number; groupBy: LedgerGroup }): Promise<LedgerSummary>;
  /** Sums of one module's rows since a time (the cost governor's windows). */
  usage(module: string, sinceMs: number): Promise<Usage>;
  /** Tokens (in + out) of one module's rows attributed to a turn. */
  turnTokens(module: string, turnId: string): Promise<number>;
  /** Tokens (in + out) of every module but `except` since a time (the global background cap). */
  tokensSince(sinceMs: number, except: readonly string[]): Promise<number>;
  /**
   * When `tokens` (in + out) of the rows since a time have been spent, counting from the oldest:
   * the time of the row that brings the sum to `tokens`, or null when the rows hold fewer. A
   * refused budget's window frees that much once this row leaves it.
   */
  spentBy(
    rows: { module: string } | { except: readonly string[] },
    window: { sinceMs: number; tokens: number },
  ): Promise<number | null>;
  /** Folds rows older than the retention into daily totals; drops totals older than 730 days. */
  compact(): Promise<{ folded: number; dropped: number }>;
}

const DAY_MS = 86_400_000;
/** Ledger rows per INSERT (26 parameters each, well under SQLite's limit). */
const ROWS_PER_INSERT = 100;
/** How long daily totals are kept. */
export const DAILY_RETENTION_DAYS = 730;

/**
 * The cost of a call: ((input − cached) × in + cached × cachedIn + output ×
 * out) / 10⁶, or null when the model has no price.
 */
export function callCost(
  price: Price | undefined,
  tokens: { input: number; output: number; cached: number },
): number | null {
  if (!price) return null;
  const cached = Math.min(tokens.cached, tokens.input);
  return ((tokens.input - cached) * price.in + cached * (price.cachedIn ?? price.in) +
    tokens.output * price.out) / 1e6;
}

/** Prices by model; Ollama and the lexical embedder cost nothing; unknown models log once. */
export function createPricer(
  prices: Readonly<Record<string, Price>>,
  log: Logger,
): (
  providerType: string,
  model: string,
  tokens: { input: number; output: number; cached: number },
) => number | null {
  const warned = new Set<string>();
  return (providerType, model, tokens) => {
    if (providerType === "ollama" || providerType === "lexical") return 0;
    const price = prices[model];
    if (!price && !warned.has(model)) {
      warned.add(model);
      log.warn("no price for this model; its cost shows as unknown (set mind.prices)", {
        code: "LLM_PRICE_UNKNOWN",
        model,
      });
    }
    return callCost(price, tokens);
  };
}

function emptyTotals(): LedgerTotals {
  return { calls: 0, tokens_in: 0, tokens_out: 0, cost_usd: null, cost_unknown_calls: 0 };
}

/** `a` plus `b`; a cost stays null only while every call's cost is unknown. */
function addTotals(a: LedgerTotals, b: LedgerTotals): LedgerTotals {
  const calls = Number(b.calls);
  const unknown = Number(b.cost_unknown_calls);
  const known = calls - unknown > 0 ? Number(b.cost_usd ?? 0) : null;
  return {
    calls: a.calls + calls,
    tokens_in: a.tokens_in + Number(b.tokens_in),
    tokens_out: a.tokens_out + Number(b.tokens_out),
    cost_usd: a.cost_usd === null && known === null ? null : (a.cost_usd ?? 0) + (known ?? 0),
    cost_unknown_calls: a.cost_unknown_calls + unknown,
  };
}

/** Creates the ledger over the store's `mind_ledger` tables. */
export function createLedger(
  options: {
    store: Store;
    clock: Clock;
    retentionDays: number;
    /** Sees every recorded row (metrics). */
    onRecord?: ((row: LedgerEntry) => void) | undefined;
    /** Told when noted rows could not be written. */
    onWriteError?: ((error: unknown, rows: number) => void) | undefined;
  },
): Ledger {
  const { db } = options.store;
  let noted: LedgerEntry[] = [];
  let writing: Promise<void> = Promise.resolve();
  let scheduled = false;

  /** Writes the noted rows (in one transaction), after any write already under way; never rejects. */
  function flush(): Promise<void> {
    if (noted.length === 0) return writing;
    const rows = noted;
    noted = [];
    writing = writing.then(async () => {
      try {
        await options.store.transaction(async (trx) => {
          for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
            await trx.insertInto("mind_ledger").values(rows.slice(i, i + ROWS_PER_INSERT))
              .execute();
          }
        });
      } catch (error) {
        try {
          options.onWriteError?.(error, rows.length);
        } catch {
          // A failing reporter must not stop the ledger.
        }
        return;
      }
      for (const row of rows) {
        try {
          options.onRecord?.(row);
        } catch {
          // Metrics must not stop the ledger.
        }
      }
    });
    return writing;
  }

  return {
    record(row) {
      noted.push(row);
      if (!scheduled) {
        scheduled = true;
        void afterResponse().then(() => {
          scheduled = false;
          return flush();
        });
      }
    },

    flush,

    async jobTokens(jobId) {
      await flush();
      const row = await db.selectFrom("mind_ledger")
        .select((eb) => eb.fn.sum<number>(eb("tokens_in", "+", eb.ref("tokens_out"))).as("tokens"))
        .where("job_id", "=", jobId).executeTakeFirstOrThrow();
      return Number(row.tokens ?? 0);
    },

    async markParseFailed(id) {
      await flush();
      await db.updateTable("mind_ledger").set({ status: "parse_failed" }).where("id", "=", id)
        .execute();
    },

    async list(query) {
      await flush();
      let select = db.selectFrom("mind_ledger").selectAll().orderBy("id", "desc")
        .limit(query.limit + 1);
      if (query.module !== undefined) select = select.where("module", "=", query.module);
      if (query.status !== undefined) select = select.where("status", "=", query.status);
      if (query.since !== undefined) select = select.where("at", ">=", query.since);
      if (query.until !== undefined) select = select.where("at", "<", query.until);
      if (query.cursor !== undefined) select = select.where("id", "<", query.cursor);
      const rows = await select.execute();
      const items = rows.slice(0, query.limit);
      return {
        items,
        next_cursor: rows.length > query.limit ? items.at(-1)!.id : null,
      };
    },

    async summary({ since, until, groupBy }) {
      await flush();
      const rows = await db.selectFrom("mind_ledger")
        .select((eb) => [
          eb.ref(groupBy).as("key"),
          eb.fn.countAll<number>().as("calls"),
          eb.fn.sum<number>("tokens_in").as("tokens_in"),
          eb.fn.sum<number>("tokens_out").as("tokens_out"),
          eb.fn.sum<number | null>("cost_usd").as("cost_usd"),
          eb.fn.sum<number>(eb.case().when("cost_usd", "is", null).then(1).else(0).end()).as(
            "cost_unknown_calls",
          ),
        ])
        .where("at", ">=", since).where("at", "<", until)
        .groupBy(groupBy).execute();
      const groups = new Map<string, LedgerTotals>();
      const add = (
        key: string,
        row: LedgerTotals,
      ) => {
        groups.set(key, addTotals(groups.get(key) ?? emptyTotals(), row));
      };
      for (const row of rows) add(String(row.key), row);
      // Compacted days, counted whole when the day lies inside the range.
      const dailyKey = groupBy === "module" || groupBy === "provider" || groupBy === "model"
        ? groupBy
        : null;
      const daily = await db.selectFrom("mind_ledger_daily").selectAll()
        .where("day", ">=", dayOf(since)).where("day", "<", dayOf(until + DAY_MS - 1)).execute();
      for (const row of daily) {
        if (Date.parse(row.day) < since || Date.parse(row.day) + DAY_MS > until) continue;
        add(dailyKey ? row[dailyKey] : "(compacted)", {
          calls: row.calls,
          tokens_in: row.tokens_in,
          tokens_out: row.tokens_out,
          cost_usd: row.cost_usd,
          cost_unknown_calls: row.cost_usd === null ? row.calls : 0,
        });
      }
      let total = emptyTotals();
      for (const totals of groups.values()) total = addTotals(total, totals);
      return {
        since,
        until,
        group_by: groupBy,
        groups: [...groups].map(([key, totals]) => ({ key, ...totals }))
          .sort((a, b) => b.tokens_in + b.tokens_out - (a.tokens_in + a.tokens_out)),
        total,
      };
    },

    async usage(module, sinceMs) {
      await flush();
      const row = await db.selectFrom("mind_ledger")
        .select((eb) => [
          eb.fn.countAll<number>().as("calls"),
          eb.fn.sum<number>("tokens_in").as("tokens_in"),
          eb.fn.sum<number>("tokens_out").as("tokens_out"),
          eb.fn.sum<number | null>("cost_usd").as("cost_usd"),
        ])
        .where("module", "=", module).where("at", ">=", sinceMs).executeTakeFirstOrThrow();
      return {
        calls: Number(row.calls),
        tokensIn: Number(row.tokens_in ?? 0),
        tokensOut: Number(row.tokens_out ?? 0),
        costUsd: Number(row.cost_usd ?? 0),
      };
    },

    async turnTokens(module, turnId) {
      await flush();
      const row = await db.selectFrom("mind_ledger")
        .select((eb) => eb.fn.sum<number>(eb("tokens_in", "+", eb.ref("tokens_out"))).as("tokens"))
        .where("module", "=", module).where("turn_id", "=", turnId).executeTakeFirstOrThrow();
      return Number(row.tokens ?? 0);
    },

    async tokensSince(sinceMs, except) {
      await flush();
      let query = db.selectFrom("mind_ledger")
        .select((eb) => eb.fn.sum<number>(eb("tokens_in", "+", eb.ref("tokens_out"))).as("tokens"))
        .where("at", ">=", sinceMs);
      if (except.length > 0) query = query.where("module", "not in", [...except]);
      const row = await query.executeTakeFirstOrThrow();
      return Number(row.tokens ?? 0);
    },

    async spentBy(rows, { sinceMs, tokens }) {
      await flush();
      const spent = sql<number>`sum(tokens_in + tokens_out) over (order by at, id)`;
      let query = db.selectFrom("mind_ledger").select(["at", spent.as("spent")])
        .where("at", ">=", sinceMs);
      query = "module" in rows
        ? query.where("module", "=", rows.module)
        : rows.except.length > 0
        ? query.where("module", "not in", [...rows.except])
        : query;
      const row = await db.selectFrom(query.as("window")).select("at")
        .where("spent", ">=", tokens).orderBy("at").limit(1).executeTakeFirst();
      return row ? Number(row.at) : null;
    },

    async compact() {
      await flush();
      const now = options.clock.now();
      // Whole days only, so a day's total is never split between the tables.
      const cutoff = Date.parse(dayOf(now - options.retentionDays * DAY_MS));
      const dropBefore = dayOf(now - DAILY_RETENTION_DAYS * DAY_MS);
      return await options.store.transaction(async (trx) => {
        const old = await trx.selectFrom("mind_ledger")
          .select(["at", "module", "provider", "model", "tokens_in", "tokens_out", "cost_usd"])
          .where("at", "<", cutoff).execute();
        const totals = new Map<string, {
          day: string;
          module: string;
          provider: string;
          model: string;
          calls: number;
          tokens_in: number;
          tokens_out: number;
          cost_usd: number | null;
        }>();
        for (const row of old) {
          const day = dayOf(row.at);
          const key = JSON.stringify([day, row.module, row.provider, row.model]);
          const entry = totals.get(key) ??
            {
              day,
              module: row.module,
              provider: row.provider,
              model: row.model,
              calls: 0,
              tokens_in: 0,
              tokens_out: 0,
              cost_usd: 0,
            };
          entry.calls++;
          entry.tokens_in += row.tokens_in;
          entry.tokens_out += row.tokens_out;
          entry.cost_usd = entry.cost_usd === null || row.cost_usd === null
            ? null
            : entry.cost_usd + row.cost_usd;
          totals.set(key, entry);
        }
        for (const entry of totals.values()) {
          const existing = await trx.selectFrom("mind_ledger_daily").selectAll()
            .where("day", "=", entry.day).where("module", "=", entry.module)
            .where("provider", "=", entry.provider).where("model", "=", entry.model)
            .executeTakeFirst();
          if (existing) {
            await trx.updateTable("mind_ledger_daily").set({
              calls: existing.calls + entry.calls,
              tokens_in: existing.tokens_in + entry.tokens_in,
              tokens_out: existing.tokens_out + entry.tokens_out,
              cost_usd: existing.cost_usd === null || entry.cost_usd === null
                ? null
                : existing.cost_usd + entry.cost_usd,
            }).where("day", "=", entry.day).where("module", "=", entry.module)
              .where("provider", "=", entry.provider).where("model", "=", entry.model).execute();
          } else {
            await trx.insertInto("mind_ledger_daily").values(entry).execute();
          }
        }
        await trx.deleteFrom("mind_ledger").where("at", "<", cutoff).execute();
        const dropped = await trx.deleteFrom("mind_ledger_daily").where("day", "<", dropBefore)
          .executeTakeFirst();
        return { folded: old.length, dropped: Number(dropped.numDeletedRows) };
      });
    },
  };
}

/** `YYYY-MM-DD` (UTC) of a time. */
function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
