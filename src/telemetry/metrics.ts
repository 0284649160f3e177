/**
 * Prometheus metrics (spec/server.md §12) on a `prom-client` registry of
 * our own: HTTP (route templates, never paths), guards, WebSocket, language
 * model calls from the ledger, turns and their stages, memory and database
 * size, the psychological state (updated when it changes, not at scrape),
 * health, and process figures from our own collectors
 * (`collectDefaultMetrics()` is never called: its Node collectors break
 * under Deno). Label values come only from enums and config names.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { matchedRoutes, routePath } from "hono/route";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EventBus } from "../bus.ts";
import type { AppEnv } from "../http/types.ts";
import { RETRY_REASONS } from "../llm/policy.ts";
import { tierOf } from "../security/rate_limit.ts";
import type { MindLedgerTable } from "../store/schema.ts";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const MOODS = [
  "exuberant",
  "bored",
  "dependent",
  "disdainful",
  "relaxed",
  "anxious",
  "docile",
  "hostile",
] as const;
const WS_TYPES = new Set([
  "hello",
  "welcome",
  "ack",
  "error",
  "ping",
  "pong",
  "state.snapshot",
  "state.delta",
  "chat.send",
  "chat.cancel",
  "chat.token",
  "chat.done",
  "turn.influence",
  "notice",
  "subscribe",
  "unsubscribe",
  "approval.respond",
  "state_update",
]);
/** The reasons of `synth_llm_retries_total` (spec/llm.md §7.4); anything else counts as "other". */
const LLM_RETRY_REASONS: ReadonlySet<string> = new Set(RETRY_REASONS);
const CLOSE_REASONS: Record<number, string> = {
  1000: "normal",
  1001: "shutdown",
  1005: "normal",
  1006: "abnormal",
  1009: "too_large",
  1013: "connection_limit",
  4400: "invalid_messages",
  4401: "unauthenticated",
  4403: "role_lost",
  4408: "slow_consumer",
  4429: "message_rate",
};

/** What the scrape-time collectors read. */
export interface MetricsSources {
  version: string;
  wsClients(): number;
  queueDepth(): number;
  memoryItems(): Promise<Array<{ kind: string; count: number }>>;
  dbSizeBytes(): Promise<number>;
  health(): Promise<{ ready: boolean; checks: Record<string, string> }>;
  activeProjects(): Promise<number>;
  /** Tool approvals waiting for a decision. */
  approvalsPending(): number;
  /** Each module's budget: limits and what the last hour and day used. */
  budgets(): Promise<
    Array<
      {
        module: string;
        perHour: number | null;
        perDay: number | null;
        usedHour: number;
        usedDay: number;
      }
    >
  >;
  /** Each provider of the failover chains: usable or not. */
  providers(): Array<{ provider: string; up: boolean }>;
  /** Each provider's circuit breaker: 0 closed, 1 half-open, 2 open (read at scrape). */
  breakers?(): Array<{ provider: string; level: 0 | 1 | 2 }>;
}

/** The psychological values the gauges show (from the `SystemState`). */
export interface PsycheReading {
  pleasure: number;
  arousal: number;
  dominance: number;
  mood: string;
  valence: number;
  uncertainty: number;
  concernsOpen: number;
  forecastAccuracy: number | null;
  flowDifficulty: number;
  flowState: string;
  reflectionCoherence: number | null;
}

/** The metrics. */
export interface Metrics {
  readonly registry: Registry;
  /** Counts requests; after the guards have spoken, counts their refusals too. */
  http(): MiddlewareHandler<AppEnv>;
  /** A WebSocket message in or out (`type` from the envelope). */
  wsMessage(direction: "in" | "out", type: string): void;
  /** A WebSocket closed with `code`. */
  wsClosed(code: number): void;
  /** One language model call from the ledger. */
  llmCall(row: MindLedgerTable): void;
  /** A language model attempt retried on the same provider (`reason` from a fixed set). */
  llmRetry(provider: string, reason: string): void;
  /** A background job skipped for its budget. */
  budgetExhausted(module: string): void;
  /** A tool run ended (`outcome` is its final status). */
  toolRun(tool: string, outcome: string, seconds: number): void;
  /** The host killed a sandbox process. */
  sandboxKill(reason: string): void;
  /** A finished turn. */
  turn(
    outcome: "completed" | "failed" | "cancelled",
    stages?: ReadonlyArray<{ name: string; durationMs: number }>,
  ): void;
  /** New psychological values. */
  psyche(reading: PsycheReading): void;
  /** The exposition text. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Stops the event-loop lag probe. */
  close(): void;
}

/** The type of an outgoing frame, read from its start without parsing the whole text. */
export function frameType(text: string): string {
  const match = /^\{"type":"([a-z_.]{1,30})"/.exec(text);
  const type = match?.[1] ?? "other";
  return WS_TYPES.has(type) ? type : "other";
}

/** Creates the registry and its metrics; `sources` feed the scrape-time collectors. */
export function createMetrics(options: { sources: MetricsSources; bus?: EventBus }): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const { sources } = options;
  // prom-client collects gauges concurrently; readings shared by several gauges are made once per scrape.
  let scrape = 0;
  const perScrape = <T>(read: () => Promise<T>) => {
    let memo: { scrape: number; value: Promise<T> } | null = null;
    return () => {
      if (memo?.scrape !== scrape) memo = { scrape, value: read() };
      return memo.value;
    };
  };
  const health = perScrape(() => sources.health());
  const budgets = perScrape(() => sources.budgets());

  const httpRequests = new Counter({
    name: "synth_http_requests_total",
    help: "HTTP requests by method, route template and status.",
    labelNames: ["method", "route", "status"],
    registers,
  });
  const httpDuration = new Histogram({
    name: "synth_http_request_duration_seconds",
    help: "HTTP request duration.",
    labelNames: ["method", "route"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const inFlight = new Gauge({
    name: "synth_http_requests_in_flight",
    help: "HTTP requests being handled.",
    registers,
  });
  const rateLimited = new Counter({
    name: "synth_rate_limited_total",
    help: "Requests refused by a rate limit, by tier.",
    labelNames: ["tier"],
    registers,
  });
  const firewallDenied = new Counter({
    name: "synth_firewall_denied_total",
    help: "Requests refused by the IP firewall.",
    registers,
  });
  const authAttempts = new Counter({
    name: "synth_auth_attempts_total",
    help: "Sign-in, refresh, setup and password-change attempts by result.",
    labelNames: ["kind", "result"],
    registers,
  });
  new Gauge({
    name: "synth_ws_clients",
    help: "Open WebSockets.",
    registers,
    collect() {
      this.set(sources.wsClients());
    },
  });
  const wsMessages = new Counter({
    name: "synth_ws_messages_total",
    help: "WebSocket messages by direction and type.",
    labelNames: ["direction", "type"],
    registers,
  });
  const wsDisconnects = new Counter({
    name: "synth_ws_disconnects_total",
    help: "WebSocket closes by reason.",
    labelNames: ["reason"],
    registers,
  });
  const llmRequests = new Counter({
    name: "synth_llm_requests_total",
    help: "Language model calls by provider, module and outcome.",
    labelNames: ["provider", "module", "outcome"],
    registers,
  });
  const llmDuration = new Histogram({
    name: "synth_llm_request_duration_seconds",
    help: "Language model call duration.",
    labelNames: ["provider", "module"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const llmTtft = new Histogram({
    name: "synth_llm_ttft_seconds",
    help: "Time to the first token of a streamed call.",
    labelNames: ["provider", "module"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const llmTokens = new Counter({
    name: "synth_llm_tokens_total",
    help: "Tokens by provider, module and direction.",
    labelNames: ["provider", "module", "direction"],
    registers,
  });
  const llmCost = new Counter({
    name: "synth_llm_cost_usd_total",
    help: "Estimated cost in USD of calls with a known price.",
    labelNames: ["provider", "module"],
    registers,
  });
  const llmRetries = new Counter({
    name: "synth_llm_retries_total",
    help: "Language model attempts retried on the same provider, by provider and reason.",
    labelNames: ["provider", "reason"],
    registers,
  });
  new Gauge({
    name: "synth_llm_breaker_state",
    help: "Each provider's circuit breaker: 0 closed, 1 half-open, 2 open.",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const { provider, level } of sources.breakers?.() ?? []) this.set({ provider }, level);
    },
  });
  const toolRuns = new Counter({
    name: "synth_tool_runs_total",
    help: "Tool runs by tool and final status.",
    labelNames: ["tool", "outcome"],
    registers,
  });
  const toolDuration = new Histogram({
    name: "synth_tool_run_duration_seconds",
    help: "Duration of tool runs, approval wait included.",
    labelNames: ["tool"],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers,
  });
  new Gauge({
    name: "synth_tool_approvals_pending",
    help: "Tool runs waiting for an operator's decision.",
    registers,
    collect() {
      this.set(sources.approvalsPending());
    },
  });
  const sandboxKills = new Counter({
    name: "synth_tool_sandbox_kills_total",
    help: "Sandbox processes the host killed, by reason.",
    labelNames: ["reason"],
    registers,
  });
  const turns = new Counter({
    name: "synth_turns_total",
    help: "Turns by outcome.",
    labelNames: ["outcome"],
    registers,
  });
  new Gauge({
    name: "synth_turn_queue_depth",
    help: "Turns waiting behind the running one.",
    registers,
    collect() {
      this.set(sources.queueDepth());
    },
  });
  const stageDuration = new Histogram({
    name: "synth_turn_stage_duration_seconds",
    help: "Duration of each turn stage.",
    labelNames: ["stage"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
    registers,
  });
  new Gauge({
    name: "synth_llm_provider_up",
    help: "1 when a provider's entries are usable, else 0.",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const { provider, up } of sources.providers()) this.set({ provider }, up ? 1 : 0);
    },
  });
  new Gauge({
    name: "synth_budget_used_tokens",
    help: "Tokens a module used in the window (hour or day).",
    labelNames: ["module", "window"],
    registers,
    async collect() {
      this.reset();
      for (const budget of await budgets()) {
        this.set({ module: budget.module, window: "hour" }, budget.usedHour);
        this.set({ module: budget.module, window: "day" }, budget.usedDay);
      }
    },
  });
  new Gauge({
    name: "synth_budget_limit_tokens",
    help: "A module's token limit per window (absent when unlimited).",
    labelNames: ["module", "window"],
    registers,
    async collect() {
      this.reset();
      for (const budget of await budgets()) {
        if (budget.perHour !== null) {
          this.set({ module: budget.module, window: "hour" }, budget.perHour);
        }
        if (budget.perDay !== null) {
          this.set({ module: budget.module, window: "day" }, budget.perDay);
        }
      }
    },
  });
  const budgetExhausted = new Counter({
    name: "synth_budget_exhausted_total",
    help: "Background jobs skipped because their module's budget was spent.",
    labelNames: ["module"],
    registers,
  });
  new Gauge({
    name: "synth_memory_items",
    help: "Stored memories by kind.",
    labelNames: ["kind"],
    registers,
    async collect() {
      this.reset();
      for (const { kind, count } of await sources.memoryItems()) this.set({ kind }, count);
    },
  });
  new Gauge({
    name: "synth_db_size_bytes",
    help: "Size of the database file.",
    registers,
    async collect() {
      this.set(await sources.dbSizeBytes());
    },
  });

  // The psychological state: set when it changes.
  const affect = new Gauge({
    name: "synth_affect",
    help: "Affect by dimension (pleasure, arousal, dominance), -1..1.",
    labelNames: ["dimension"],
    registers,
  });
  const mood = new Gauge({
    name: "synth_mood",
    help: "1 for the current mood octant, 0 for the others.",
    labelNames: ["label"],
    registers,
  });
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  const uncertainty = gauge("synth_uncertainty", "The last reply's uncertainty, 0..1.");
  const concerns = gauge("synth_concerns_open", "Open assurance concerns.");
  const accuracy = gauge("synth_forecast_accuracy", "The last scored forecast's accuracy, 0..1.");
  const difficulty = gauge("synth_flow_difficulty", "The flow EMA of difficulty, 0..1.");
  const coherence = gauge("synth_reflection_coherence", "The last reflection's coherence, 0..1.");
  const legacyValence = gauge("synth_emotional_valence", "Valence (the earlier project's name).");
  const legacyAlignment = gauge("synth_dream_alignment", "Forecast alignment (earlier name).");
  const legacyUncertainty = gauge("synth_uncertainty_level", "Uncertainty (earlier name).");
  const legacyFlow = gauge("synth_flow_state", "Flow state: 0 bored, 1 flow, 2 overloaded.");
  new Gauge({
    name: "synth_websocket_connections",
    help: "Open WebSockets (the earlier project's name).",
    registers,
    collect() {
      this.set(sources.wsClients());
    },
  });
  new Gauge({
    name: "synth_active_projects",
    help: "Projects in an active phase (initialization, planning, iteration).",
    registers,
    async collect() {
      this.set(await sources.activeProjects());
    },
  });

  new Gauge({
    name: "synth_ready",
    help: "1 when /health/ready would answer 200.",
    registers,
    async collect() {
      this.set((await health()).ready ? 1 : 0);
    },
  });
  new Gauge({
    name: "synth_health_check_status",
    help: "Each health check: 1 ok, 0.5 degraded, 0 fail.",
    labelNames: ["check"],
    registers,
    async collect() {
      this.reset();
      for (const [check, status] of Object.entries((await health()).checks)) {
        this.set({ check }, status === "ok" ? 1 : status === "degraded" ? 0.5 : 0);
      }
    },
  });
  new Gauge({
    name: "synth_info",
    help: "Version information.",
    labelNames: ["version", "deno"],
    registers,
  }).set({ version: sources.version, deno: Deno.version.deno }, 1);
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory of the process.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new Gauge({
    name: "synth_heap_used_bytes",
    help: "V8 heap in use.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: "process_start_time_seconds",
    help: "When the process started, in epoch seconds.",
    registers,
  }).set(Math.floor((Date.now() - performance.now()) / 1000));
  const lag = new Histogram({
    name: "synth_event_loop_lag_seconds",
    help: "How late a 500 ms timer fires.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  // Real time on purpose: this measures the process, not the kernel clock.
  let expected = performance.now() + 500;
  const probe = setInterval(() => {
    const now = performance.now();
    lag.observe(Math.max(0, now - expected) / 1000);
    expected = now + 500;
  }, 500);
  Deno.unrefTimer(probe);

  const routeOf = (c: Parameters<MiddlewareHandler<AppEnv>>[0]): string =>
    routeTemplate(c) ?? "unmatched";

  return {
    registry,
    contentType: registry.contentType,

    http() {
      return async function metricsMiddleware(c, next) {
        const started = performance.now();
        inFlight.inc();
        try {
          await next();
        } finally {
          inFlight.dec();
          const method = METHODS.has(c.req.method) ? c.req.method : "other";
          const route = routeOf(c);
          const status = String(c.res?.status ?? 500);
          httpRequests.inc({ method, route, status });
          httpDuration.observe({ method, route }, (performance.now() - started) / 1000);
          const blocked = c.get("blocked");
          if (blocked === "rate_limit") {
            rateLimited.inc({ tier: tierOf(c.req.method, c.req.path) ?? "ws_connect" });
          }
          if (blocked === "firewall") firewallDenied.inc();
          const auth = /^\/api\/auth\/(login|refresh|setup)$/.exec(c.req.path)?.[1] ??
            (c.req.path === "/api/auth/me/password" ? "password" : null);
          if (auth && c.req.method !== "GET") {
            const code = c.res?.status ?? 500;
            authAttempts.inc({
              kind: auth,
              result: code < 300 ? "ok" : code === 429 ? "limited" : "refused",
            });
          }
        }
      };
    },

    wsMessage(direction, type) {
      wsMessages.inc({ direction, type: WS_TYPES.has(type) ? type : "other" });
    },

    wsClosed(code) {
      wsDisconnects.inc({ reason: CLOSE_REASONS[code] ?? "other" });
    },

    llmCall(row) {
      const labels = { provider: row.provider, module: row.module };
      llmRequests.inc({ ...labels, outcome: row.status });
      llmDuration.observe(labels, row.latency_ms / 1000);
      if (row.first_token_ms !== null) llmTtft.observe(labels, row.first_token_ms / 1000);
      llmTokens.inc({ ...labels, direction: "in" }, row.tokens_in);
      llmTokens.inc({ ...labels, direction: "out" }, row.tokens_out);
      if (row.cost_usd !== null) llmCost.inc(labels, row.cost_usd);
    },

    llmRetry(provider, reason) {
      llmRetries.inc({ provider, reason: LLM_RETRY_REASONS.has(reason) ? reason : "other" });
    },

    budgetExhausted(module) {
      budgetExhausted.inc({ module });
    },
    toolRun(tool, outcome, seconds) {
      toolRuns.inc({ tool, outcome });
      toolDuration.observe({ tool }, seconds);
    },
    sandboxKill(reason) {
      sandboxKills.inc({ reason });
    },

    turn(outcome, stages = []) {
      turns.inc({ outcome });
      for (const stage of stages) {
        stageDuration.observe({ stage: stage.name }, stage.durationMs / 1000);
      }
    },

    psyche(reading) {
      affect.set({ dimension: "pleasure" }, reading.pleasure);
      affect.set({ dimension: "arousal" }, reading.arousal);
      affect.set({ dimension: "dominance" }, reading.dominance);
      for (const label of MOODS) mood.set({ label }, label === reading.mood ? 1 : 0);
      uncertainty.set(reading.uncertainty);
      legacyUncertainty.set(reading.uncertainty);
      concerns.set(reading.concernsOpen);
      if (reading.forecastAccuracy !== null) {
        accuracy.set(reading.forecastAccuracy);
        legacyAlignment.set(reading.forecastAccuracy);
      }
      difficulty.set(reading.flowDifficulty);
      if (reading.reflectionCoherence !== null) coherence.set(reading.reflectionCoherence);
      legacyValence.set(reading.valence);
      legacyFlow.set(
        reading.flowState === "bored" ? 0 : reading.flowState === "overloaded" ? 2 : 1,
      );
    },

    render() {
      scrape++;
      return registry.metrics();
    },

    close() {
      clearInterval(probe);
    },
  };
}

/**
 * The template of the route that answered (after `next()` the current
 * route index is the responding handler's); when a middleware answered
 * first (a 401 before the route ran), the route the request was for.
 * Null when no route matched — only middleware, whose patterns end in `*`.
 */
export function routeTemplate(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string | null {
  try {
    const path = routePath(c);
    if (path && !path.endsWith("*")) return path;
    // The first that matches answers, as the router would have chosen.
    const endpoint = matchedRoutes(c).find((route) =>
      route.method !== "ALL" && !route.path.endsWith("*")
    );
    return endpoint?.path ?? null;
  } catch {
    return null;
  }
}
