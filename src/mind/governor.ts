/**
 * The cost governor (spec/mind.md §13): token budgets per module, per turn,
 * hour and day, plus a global daily cap on background work. It is the LLM
 * gateway's budget guard, so every call of every module is checked; the
 * reply is never refused.
 *
 * @module
 */
import { BoundedMap } from "../bounded_map.ts";
import type { Clock } from "../clock.ts";
import type { Ledger } from "../llm/ledger.ts";
import type { BudgetCheck, BudgetDecision, BudgetGuard } from "../llm/types.ts";
import type { Store } from "../store/store.ts";
import type { Profile } from "./profile.ts";

/** Token limits of one module; undefined = unlimited. */
export interface ModuleBudget {
  perTurn?: number | undefined;
  perHour?: number | undefined;
  perDay?: number | undefined;
}

/** A budget and what it has used, for `GET /api/budgets`. */
export interface BudgetView {
  module: string;
  limits: ModuleBudget;
  source: "profile" | "api" | "none";
  usedHour: number;
  usedDay: number;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Calls of these purposes of module `mind` are the reply: never refused. */
const REPLY_PURPOSES = new Set(["reply", "tool_loop", "clarify"]);

/** The profile's budget key of a module: `psyche_dreaming` → `dreaming`. */
export function budgetKey(module: string): string {
  return module.startsWith("psyche_") ? module.slice("psyche_".length) : module;
}

/** The governor. */
export interface Governor extends BudgetGuard {
  /** The limits in force for a module (API override, else the profile's). */
  limits(module: string): Promise<{ limits: ModuleBudget; source: BudgetView["source"] }>;
  /** Every module that may be budgeted, with its limits and use. */
  list(): Promise<BudgetView[]>;
  /**
   * Changes a module's limits: a given key sets it (null = no limit), an
   * omitted one keeps the limit in force. The result is an API override.
   */
  set(
    module: string,
    limits: { perTurn?: number | null; perHour?: number | null; perDay?: number | null },
  ): Promise<void>;
  /** Drops the API override: the profile's limits apply again. */
  reset(module: string): Promise<void>;
  /** Whether `module` is one whose calls are budgeted here (a loaded plugin, `mind`, `generate`). */
  knows(module: string): boolean;
  /** The modules {@link knows} accepts, sorted. */
  readonly modules: readonly string[];
  /** The window a job was last refused for (the scheduler records it). */
  refusal(jobId: string): string | undefined;
}

/** Options for {@link createGovernor}. */
export interface GovernorOptions {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  profile: Profile;
  /** `mind.budget.dailyTokens`: background tokens per day across modules; null = unlimited. */
  dailyTokens: number | null;
  /** The loaded plugins' ids (their calls carry them as the module). */
  plugins: readonly string[];
}

/** Creates the governor. */
export function createGovernor(options: GovernorOptions): Governor {
  const { store, ledger, clock, profile } = options;
  const modules = [...new Set(["mind", "generate", ...options.plugins])].sort();
  const known = new Set(modules);
  const refusals = new BoundedMap<string, string>(1_000);

  async function limits(
    module: string,
  ): Promise<{ limits: ModuleBudget; source: BudgetView["source"] }> {
    const row = await store.db.selectFrom("mind_budgets").selectAll().where("module", "=", module)
      .executeTakeFirst();
    if (row) {
      return {
        limits: {
          ...(row.per_turn !== null ? { perTurn: row.per_turn } : {}),
          ...(row.per_hour !== null ? { perHour: row.per_hour } : {}),
          ...(row.per_day !== null ? { perDay: row.per_day } : {}),
        },
        source: "api",
      };
    }
    const fromProfile = (profile.budgets as Record<string, ModuleBudget>)[budgetKey(module)];
    return fromProfile
      ? { limits: fromProfile, source: "profile" }
      : { limits: {}, source: "none" };
  }

  async function decide(request: BudgetCheck): Promise<BudgetDecision> {
    if (request.module === "mind" && REPLY_PURPOSES.has(request.purpose)) return { allowed: true };
    const now = clock.now();
    const { limits: budget } = await limits(request.module);
    const tokens = (usage: { tokensIn: number; tokensOut: number }) =>
      usage.tokensIn + usage.tokensOut;
    if (budget.perTurn !== undefined && request.turnId) {
      const used = await ledger.turnTokens(request.module, request.turnId);
      if (used + request.estimateTokens > budget.perTurn) {
        return {
          allowed: false,
          window: "turn",
          ...(request.estimateTokens > budget.perTurn
            ? { tooLarge: { estimateTokens: request.estimateTokens, limitTokens: budget.perTurn } }
            : {}),
        };
      }
    }
    /** The refusal of a sliding window, with the wait until enough leaves it. */
    const refusal = async (
      window: string,
      rows: Parameters<typeof ledger.spentBy>[0],
      spanMs: number,
      over: number,
      limit: number,
    ): Promise<BudgetDecision> => {
      const tooLarge = request.estimateTokens > limit
        ? { tooLarge: { estimateTokens: request.estimateTokens, limitTokens: limit } }
        : {};
      // The oldest spending leaves first; the request alone over the limit never fits, and
      // waiting the whole window is the most that could help.
      const at = await ledger.spentBy(rows, { sinceMs: now - spanMs, tokens: over });
      // A row is in the window while its time is at or after the window's start.
      const waitMs = at === null ? spanMs : at + spanMs + 1 - now;
      return {
        allowed: false,
        window,
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1_000)),
        ...tooLarge,
      };
    };
    const byModule = { module: request.module };
    if (budget.perHour !== undefined) {
      const used = tokens(await ledger.usage(request.module, now - HOUR));
      const over = used + request.estimateTokens - budget.perHour;
      if (over > 0) return await refusal("hour", byModule, HOUR, over, budget.perHour);
    }
    if (budget.perDay !== undefined) {
      const used = tokens(await ledger.usage(request.module, now - DAY));
      const over = used + request.estimateTokens - budget.perDay;
      if (over > 0) return await refusal("day", byModule, DAY, over, budget.perDay);
    }
    if (options.dailyTokens !== null && request.module !== "mind") {
      const used = await ledger.tokensSince(now - DAY, ["mind"]);
      const over = used + request.estimateTokens - options.dailyTokens;
      if (over > 0) {
        return await refusal(
          "mind.budget.dailyTokens",
          { except: ["mind"] },
          DAY,
          over,
          options.dailyTokens,
        );
      }
    }
    return { allowed: true };
  }

  return {
    async check(request) {
      const decision = await decide(request);
      if (!decision.allowed && request.jobId) refusals.set(request.jobId, decision.window);
      return decision;
    },
    limits,
    async list() {
      const now = clock.now();
      const views: BudgetView[] = [];
      for (const module of modules) {
        const { limits: budget, source } = await limits(module);
        const hour = await ledger.usage(module, now - HOUR);
        const day = await ledger.usage(module, now - DAY);
        views.push({
          module,
          limits: budget,
          source,
          usedHour: hour.tokensIn + hour.tokensOut,
          usedDay: day.tokensIn + day.tokensOut,
        });
      }
      return views;
    },
    async set(module, next) {
      const { limits: current } = await limits(module);
      const pick = (key: keyof ModuleBudget) =>
        next[key] === undefined ? current[key] ?? null : next[key];
      const values = {
        per_turn: pick("perTurn"),
        per_hour: pick("perHour"),
        per_day: pick("perDay"),
      };
      const updated_at = clock.now();
      await store.db.insertInto("mind_budgets").values({ module, ...values, updated_at })
        .onConflict((conflict) => conflict.column("module").doUpdateSet({ ...values, updated_at }))
        .execute();
    },
    async reset(module) {
      await store.db.deleteFrom("mind_budgets").where("module", "=", module).execute();
    },
    knows: (module) => known.has(module),
    modules,
    refusal: (jobId) => refusals.get(jobId),
  };
}
