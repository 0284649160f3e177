/**
 * The one way to a language model (spec/llm.md): failover chains per role,
 * retries with back-off and `retry-after`, a circuit breaker per provider,
 * timeouts on the injected clock, capability learning, JSON tool mode, the
 * budget check and one ledger row per request.
 *
 * @module
 */
import type { EventBus } from "../bus.ts";
import { type Clock, delay, type TimerHandle } from "../clock.ts";
import { ConfigurationError } from "../errors.ts";
import type { IdFactory } from "../ids.ts";
import type { Random } from "../random.ts";
import type { Store } from "../store/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { AdapterEvent, AdapterRequest, ProviderAdapter } from "./adapters/types.ts";
import { ollamaAnswers } from "./autodetect.ts";
import { CircuitBreaker } from "./breaker.ts";
import type { LlmConfig } from "./config.ts";
import { createLexicalEmbedder } from "./embeddings/lexical.ts";
import { type Embedder, embedderId } from "./embeddings/types.ts";
import { LLM_ERRORS, LlmError } from "./errors.ts";
import {
  firstJsonObject,
  jsonToolPrompt,
  looksLikeJsonStart,
  parseJsonToolCalls,
  parseLenient,
} from "./json_tools.ts";
import { createLedger, createPricer, type Ledger, type LedgerEntry, type Price } from "./ledger.ts";
import {
  backoffMs,
  classify,
  providerHost,
  type RetryReason,
  retryReason,
  type Verdict,
} from "./policy.ts";
import { ProviderError } from "./provider_error.ts";
import {
  assertNoKeysInConfig,
  type Capabilities,
  type ChatEntry,
  OLLAMA_DEFAULT_URL,
  resolveChains,
  type ResolvedChains,
  type ResolvedProvider,
} from "./providers.ts";
import type {
  BudgetDecision,
  BudgetGuard,
  ChatEvent,
  ChatMessage,
  ChatRequest,
  Completion,
  EmbedResult,
  EntryState,
  LlmGateway,
  LlmStatus,
  SafeParser,
  StopReason,
  ToolCall,
  Usage,
} from "./types.ts";

/** The kv namespace of learned capabilities. */
export const CAPABILITY_NAMESPACE = "llm";

/** Options for {@link createLlmGateway}. */
export interface CreateLlmGatewayOptions {
  config: LlmConfig;
  /** Sees every ledger row as it is written (metrics). */
  onCall?: ((row: LedgerEntry) => void) | undefined;
  /** Sees every retry on the same provider (metrics: `synth_llm_retries_total`). */
  onRetry?: ((provider: string, reason: RetryReason) => void) | undefined;
  /** `mind.prices`. */
  prices: Readonly<Record<string, Price>>;
  /** Reads an environment variable (API keys, base URLs). */
  env: (name: string) => string | undefined;
  store: Store;
  clock: Clock;
  random: Random;
  ids: IdFactory;
  log: Logger;
  bus: EventBus;
  /** `health.llmProbeIntervalSeconds`. */
  probeIntervalMs: number;
  /** Config values checked for API keys; `skip` holds the paths set by environment variables. */
  configCheck?: { value: unknown; skip: ReadonlySet<string> };
}

/** A plugin's view of the gateway: calls are attributed to the plugin. */
export interface ModuleLlm {
  chat(request: Omit<ChatRequest, "module">): AsyncIterable<ChatEvent>;
  complete(request: Omit<ChatRequest, "module">): Promise<Completion>;
  completeJson<T>(request: Omit<ChatRequest, "module">, schema: SafeParser<T>): Promise<T>;
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<EmbedResult>;
  /** The `embedding` role as an {@link Embedder} (memory's vector space). */
  readonly embedder: Embedder;
  status(): LlmStatus;
  /** This module's ledger sums since a time. */
  usage(sinceMs: number): Promise<Usage>;
}

/** The kernel's gateway. */
export interface KernelLlm extends LlmGateway {
  /** The ledger the routes read. */
  readonly ledger: Ledger;
  /** The resolved chains (after {@link KernelLlm.init}). */
  readonly chains: ResolvedChains;
  /** The `embedding` role as an {@link Embedder}, attributed to `module`. */
  embedder(module: string): Embedder;
  /** A view whose calls are attributed to `module`. */
  forModule(module: string): ModuleLlm;
  /**
   * Resolves providers (autodetecting Ollama), loads learned capabilities
   * and, unless `background` is false (CLI commands), starts probing and
   * the daily ledger compaction.
   */
  init(options?: { background?: boolean }): Promise<void>;
  /** Probes every provider now (no tokens spent). */
  probe(): Promise<LlmStatus>;
  /** Readiness: the `llm` health check. */
  readiness(): Promise<{ status: "ok" | "fail"; reason: string }>;
  /** Each provider's circuit breaker: 0 closed, 1 half-open, 2 open (`synth_llm_breaker_state`). */
  breakerStates(): Array<{ provider: string; level: 0 | 1 | 2 }>;
  /** Stops the probe and compaction timers. */
  close(): void;
}

interface ProviderRuntime {
  provider: ResolvedProvider;
  adapter: ProviderAdapter;
  breaker: CircuitBreaker;
  throttledUntil: number;
  authFailed: boolean;
  /** Models a call or probe found missing. */
  missingModels: Set<string>;
  /** The last probe's verdict for the provider as a whole. */
  probe?: { state: EntryState; reason?: string };
  /** The last failure's reason, for LLM_UNAVAILABLE. */
  lastReason?: string;
}

interface Outcome {
  entry?: ChatEntry;
  attempts: number;
  failoverIndex: number;
  firstTokenMs: number | null;
  status: LedgerEntry["status"];
  errorCode: string | null;
  httpStatus: number | null;
  stopReason: string | null;
  toolCalls: number;
  usage: {
    inputTokens: number;
    outputTokens: number;
    cachedInputTokens: number;
    estimated: boolean;
  };
}

type AttemptAbort = "connect" | "first_token" | "idle";
type RequestAbort = "user" | "total" | "consumer";

const DAY_MS = 86_400_000;

/** `ceil(chars / 4)`, the estimate used when a provider reports no usage. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** The characters of each tool's parameter schema, counted once per schema object. */
const schemaChars = new WeakMap<object, number>();

function inputChars(request: ChatRequest): number {
  let chars = request.system?.length ?? 0;
  for (const message of request.messages) {
    chars += message.content.length;
    if (message.role === "assistant") {
      for (const call of message.toolCalls ?? []) chars += JSON.stringify(call.args).length;
    }
  }
  for (const tool of request.tools ?? []) {
    let schema = schemaChars.get(tool.parameters);
    if (schema === undefined) {
      schema = JSON.stringify(tool.parameters).length;
      schemaChars.set(tool.parameters, schema);
    }
    chars += tool.name.length + tool.description.length + schema;
  }
  return chars;
}

/** Tool turns as text, for models in JSON tool mode (they know no tool roles). */
export function toJsonModeMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.map((message) => {
    if (message.role === "assistant" && message.toolCalls?.length) {
      const calls = JSON.stringify({
        tool_calls: message.toolCalls.map((call) => ({ name: call.name, arguments: call.args })),
      });
      return {
        role: "assistant",
        content: message.content ? `${message.content}\n${calls}` : calls,
      };
    }
    if (message.role === "tool") {
      return {
        role: "user",
        content: `Result of tool ${message.name} (call ${message.toolCallId})${
          message.isError ? ", an error" : ""
        }:\n${message.content}`,
      };
    }
    return message;
  });
}

/**
 * A promise that rejects with an abort error once `signal` aborts, and never settles otherwise.
 * A reply stream races each of its reads against one of these (SDK streams do not always end on
 * abort): one listener per attempt, where adding and removing one per read cost more than the
 * rest of the gateway's work per chunk.
 */
function rejectedOnAbort(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(new ProviderError("abort", "aborted"));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
  aborted.catch(() => {}); // a read that loses the race reports it; this copy is of no interest
  return aborted;
}

/**
 * What a call the budget guard refused says: the window used up, or, when the call alone is more
 * than the window's whole limit, that waiting will not help.
 */
export function budgetRefusal(
  module: string,
  decision: Extract<BudgetDecision, { allowed: false }>,
): { message: string; retryAfterSeconds?: number } {
  const after = decision.retryAfterSeconds !== undefined
    ? { retryAfterSeconds: decision.retryAfterSeconds }
    : {};
  const per = decision.window === "turn" || decision.window === "hour" ||
      decision.window === "day"
    ? `per-${decision.window} limit`
    : `limit (${decision.window})`;
  if (!decision.tooLarge) {
    return { message: `The ${module} budget for ${decision.window} is used up`, ...after };
  }
  const { estimateTokens: estimate, limitTokens: limit } = decision.tooLarge;
  return {
    message: `This call needs about ${estimate} tokens, more than the ${module} budget's whole ` +
      `${per} of ${limit}: waiting will not help; raise the limit (PUT /api/budgets/${module}) ` +
      "or ask for fewer tokens",
    ...after,
  };
}

/** Races a promise against an abort signal (SDK streams do not always end on abort). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // abandoned: its failure is expected and of no interest
    return Promise.reject(new ProviderError("abort", "aborted"));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ProviderError("abort", "aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Reads tool calls out of a JSON-mode reply stream; prose streams on as text. */
async function* jsonToolMode(
  events: AsyncIterable<AdapterEvent>,
  offered: ReadonlySet<string>,
  nextId: () => string,
): AsyncIterable<AdapterEvent> {
  let mode: "undecided" | "stream" | "buffer" = "undecided";
  let buffered = "";
  for await (const event of events) {
    if (event.type === "text") {
      if (mode === "stream") {
        yield event;
        continue;
      }
      buffered += event.delta;
      if (mode === "undecided" && buffered.trim() !== "") {
        mode = looksLikeJsonStart(buffered) ? "buffer" : "stream";
        if (mode === "stream") {
          yield { type: "text", delta: buffered };
          buffered = "";
          continue;
        }
      }
      yield { type: "activity" }; // held back, but the model is producing
      continue;
    }
    if (event.type === "stop") {
      const calls = mode === "buffer" ? parseJsonToolCalls(buffered, offered, nextId) : null;
      if (calls) {
        for (const call of calls) yield { type: "tool_call", call };
        yield { type: "stop", reason: "tool_calls", providerReason: event.providerReason };
        continue;
      }
      if (buffered) yield { type: "text", delta: buffered };
      buffered = "";
    }
    yield event;
  }
}

/**
 * Builds the gateway. Nothing is contacted until {@link KernelLlm.init}.
 *
 * @throws {ConfigurationError} From `init`: `LLM_SECRET_IN_CONFIG`,
 * `LLM_EMBEDDING_CHAIN_MIXED`, `LLM_PROVIDER_UNKNOWN`.
 */
export function createLlmGateway(options: CreateLlmGatewayOptions): KernelLlm {
  const { config, clock, log, store } = options;
  const ledger = createLedger({
    store,
    clock,
    retentionDays: config.ledger.retentionDays,
    onRecord: options.onCall,
    onWriteError: (error, rows) => log.error("could not write ledger rows", { error, rows }),
  });
  const price = createPricer(options.prices, log);
  const runtimes = new Map<string, ProviderRuntime>();
  let chains: ResolvedChains = { providers: [], reply: [], background: [], embedding: [] };
  let guard: BudgetGuard | undefined;
  let probeTimer: TimerHandle | undefined;
  let compactTimer: TimerHandle | undefined;
  let probing: Promise<LlmStatus> | undefined;
  let probedOnce: Promise<LlmStatus> | undefined;
  // Assumed usable until shown otherwise, so the first failure is announced too.
  let wasUsable = true;
  let jsonCallCount = 0;
  const learnedLogged = new Set<string>();
  const lexical = createLexicalEmbedder();

  function env(name: string): string | undefined {
    try {
      return options.env(name);
    } catch {
      throw new ConfigurationError(
        "LLM_ENV_NOT_READABLE",
        `Cannot start: the server may not read the environment variable ${name}; name API key variables ANTHROPIC_*, OPENAI_* or SYNTH_*`,
      );
    }
  }

  /** Loads only the SDKs of configured providers (each costs memory at idle). */
  async function runtimeFor(provider: ResolvedProvider): Promise<ProviderRuntime> {
    const adapterOptions = { clock, log: log.child(provider.id) };
    const adapter = provider.type === "anthropic"
      ? (await import("./adapters/anthropic.ts")).createAnthropicAdapter(provider, adapterOptions)
      : provider.type === "openai"
      ? (await import("./adapters/openai.ts")).createOpenAiAdapter(provider, adapterOptions)
      : (await import("./adapters/ollama.ts")).createOllamaAdapter(provider, adapterOptions);
    return {
      provider,
      adapter,
      breaker: new CircuitBreaker(config.breaker, clock),
      throttledUntil: 0,
      authFailed: false,
      missingModels: new Set(),
    };
  }

  /** The state of one entry now; "ok" and "unknown" are usable. */
  function entryState(
    runtime: ProviderRuntime,
    model: string,
  ): { state: EntryState; reason?: string } {
    if (runtime.authFailed) return { state: "auth_failed", reason: "invalid API key (401)" };
    if (runtime.breaker.state === "open") {
      return { state: "breaker_open", reason: runtime.lastReason ?? "circuit open" };
    }
    if (runtime.throttledUntil > clock.now()) {
      return {
        state: "throttled",
        reason: `rate limited for ${Math.ceil((runtime.throttledUntil - clock.now()) / 1000)} s`,
      };
    }
    if (runtime.missingModels.has(model)) {
      return {
        state: "model_missing",
        reason: runtime.provider.type === "ollama"
          ? `model ${model} not pulled: run \`ollama pull ${model}\``
          : `model ${model} not found`,
      };
    }
    if (runtime.probe) return runtime.probe;
    return { state: "unknown" };
  }

  function status(): LlmStatus {
    const entries: LlmStatus["entries"] = [];
    for (const role of ["reply", "background"] as const) {
      for (const entry of chains[role]) {
        const runtime = runtimes.get(entry.provider.id)!;
        const state = entryState(runtime, entry.model);
        entries.push({
          role,
          provider: entry.provider.id,
          model: entry.model,
          state: state.state,
          ...(state.reason ? { reason: state.reason } : {}),
        });
      }
    }
    for (const entry of chains.embedding) {
      if (entry.provider === "lexical") {
        entries.push({ role: "embedding", provider: "lexical", model: entry.model, state: "ok" });
        continue;
      }
      const state = entryState(runtimes.get(entry.provider.id)!, entry.model);
      entries.push({
        role: "embedding",
        provider: entry.provider.id,
        model: entry.model,
        state: state.state,
        ...(state.reason ? { reason: state.reason } : {}),
      });
    }
    const usable = entries.some((entry) =>
      entry.role === "reply" && (entry.state === "ok" || entry.state === "unknown")
    );
    return { configured: chains.providers.length > 0, usable, entries };
  }

  function noticeIfChanged() {
    const current = status();
    if (!current.configured) return;
    if (wasUsable && !current.usable) {
      options.bus.publish("notice", {
        level: "warn",
        code: LLM_ERRORS.UNAVAILABLE.code,
        message: unavailableMessage("reply"),
      });
    }
    wasUsable = current.usable;
  }

  function unavailableMessage(role: "reply" | "background"): string {
    const reasons = chains[role].map((entry) => {
      const runtime = runtimes.get(entry.provider.id)!;
      const state = entryState(runtime, entry.model);
      const reason = state.state === "unknown" || state.state === "ok"
        ? runtime.lastReason ?? "failed"
        : state.reason ?? state.state;
      return `${entry.provider.id}: ${reason}`;
    });
    return `No language model provider is available (${reasons.join("; ")})`;
  }

  function retryAfterSeconds(role: "reply" | "background"): number {
    const now = clock.now();
    let soonest = Infinity;
    for (const entry of chains[role]) {
      const runtime = runtimes.get(entry.provider.id)!;
      if (runtime.throttledUntil > now) soonest = Math.min(soonest, runtime.throttledUntil - now);
    }
    return Number.isFinite(soonest) ? Math.ceil(soonest / 1000) : config.breaker.openMs / 1000;
  }

  async function learn(entry: ChatEntry, refused: "temperature" | "max_tokens" | "tools") {
    const change: Partial<Capabilities> = refused === "temperature"
      ? { temperature: "unsupported" }
      : refused === "tools"
      ? { tools: "json" }
      : {
        maxTokensParam: entry.capabilities.maxTokensParam === "max_tokens"
          ? "max_completion_tokens"
          : "max_tokens",
      };
    for (const role of ["reply", "background"] as const) {
      for (const other of chains[role]) {
        if (other.provider.id === entry.provider.id && other.model === entry.model) {
          other.capabilities = { ...other.capabilities, ...change, ...other.configured };
        }
      }
    }
    const key = `capabilities/${entry.provider.id}/${entry.model}`;
    const learned = { ...entry.capabilities };
    try {
      const now = clock.now();
      const value = JSON.stringify(learned);
      await store.db.insertInto("kv")
        .values({ namespace: CAPABILITY_NAMESPACE, key, value, version: 1, updated_at: now })
        .onConflict((conflict) =>
          conflict.columns(["namespace", "key"]).doUpdateSet((eb) => ({
            value,
            version: eb("kv.version", "+", 1),
            updated_at: now,
          }))
        ).execute();
    } catch (error) {
      log.warn("could not store a learned model capability", { error });
    }
    const logKey = `${key}/${refused}`;
    if (!learnedLogged.has(logKey)) {
      learnedLogged.add(logKey);
      log.info("learned a model capability", {
        code: "LLM_CAPABILITY_LEARNED",
        provider: entry.provider.id,
        model: entry.model,
        refused,
        capabilities: learned,
      });
    }
  }

  async function loadLearned() {
    const rows = await store.db.selectFrom("kv").select(["key", "value"])
      .where("namespace", "=", CAPABILITY_NAMESPACE).where("key", "like", "capabilities/%")
      .execute();
    for (const row of rows) {
      const [, providerId, ...modelParts] = row.key.split("/");
      const model = modelParts.join("/");
      let learned: Partial<Capabilities>;
      try {
        learned = JSON.parse(row.value);
      } catch {
        continue;
      }
      for (const role of ["reply", "background"] as const) {
        for (const entry of chains[role]) {
          if (entry.provider.id === providerId && entry.model === model) {
            entry.capabilities = { ...entry.capabilities, ...learned, ...entry.configured };
          }
        }
      }
    }
  }

  function timeoutsFor(entry: ChatEntry) {
    const role = config.timeouts[entry.role];
    return {
      connectMs: role.connectMs,
      firstTokenMs: entry.provider.type === "ollama"
        ? Math.max(role.firstTokenMs, config.timeouts.ollamaFirstTokenMs)
        : role.firstTokenMs,
      idleMs: role.idleMs,
      totalMs: role.totalMs,
    };
  }

  /** The stream of one request: see {@link LlmGateway.chat}. */
  async function* chat(
    request: ChatRequest,
    onRow?: (id: string) => void,
  ): AsyncGenerator<ChatEvent> {
    const startedAt = clock.now();
    const fail = (
      kind: keyof typeof LLM_ERRORS,
      partial = false,
      extra: { message?: string; retryAfterSeconds?: number } = {},
    ): ChatEvent => ({
      type: "error",
      error: {
        code: LLM_ERRORS[kind].code,
        message: extra.message ?? LLM_ERRORS[kind].message,
        partial,
        ...(extra.retryAfterSeconds !== undefined
          ? { retryAfterSeconds: extra.retryAfterSeconds }
          : {}),
      },
    });
    if (
      !request.module || !request.purpose || !Array.isArray(request.messages) ||
      request.messages.length === 0
    ) {
      log.error("a language model request is malformed", {
        module: request.module,
        purpose: request.purpose,
      });
      yield fail("BAD_REQUEST");
      return;
    }
    if (chains.providers.length === 0) {
      yield fail("NOT_CONFIGURED");
      return;
    }
    const chain = chains[request.role];
    const maxTokens = request.maxTokens ?? config.defaults.maxTokens[request.role];
    const chars = inputChars(request);
    if (guard) {
      let decision: BudgetDecision;
      try {
        decision = await guard.check({
          module: request.module,
          purpose: request.purpose,
          estimateTokens: estimateTokens(chars) + maxTokens,
          ...(request.context?.turnId ? { turnId: request.context.turnId } : {}),
          ...(request.context?.jobId ? { jobId: request.context.jobId } : {}),
        });
      } catch (error) {
        log.error("the budget check failed", { error, module: request.module });
        yield fail("BAD_REQUEST", false, { message: "The budget check failed" });
        return;
      }
      if (!decision.allowed) {
        yield fail("BUDGET_EXHAUSTED", false, budgetRefusal(request.module, decision));
        return;
      }
    }

    const requestController = new AbortController();
    let requestAbort: RequestAbort | undefined;
    const abortRequest = (reason: RequestAbort) => {
      requestAbort ??= reason;
      requestController.abort();
    };
    const onUserAbort = () => abortRequest("user");
    if (request.signal?.aborted) abortRequest("user");
    request.signal?.addEventListener("abort", onUserAbort, { once: true });
    const totalMs = config.timeouts[request.role].totalMs;
    const totalTimer = clock.setTimeout(() => abortRequest("total"), totalMs);

    const outcome: Outcome = {
      attempts: 0,
      failoverIndex: 0,
      firstTokenMs: null,
      status: "error",
      errorCode: null,
      httpStatus: null,
      stopReason: null,
      toolCalls: 0,
      usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, estimated: true },
    };
    let outputChars = 0;
    let emitted = false;
    /** Stops the attempt in flight (timers, provider request, stream) when the request ends early. */
    let abandonAttempt: (() => void) | undefined;
    let finished = false;
    const timeoutReasons: string[] = [];
    let allTimeouts = true;

    const finish = (event: ChatEvent): ChatEvent => {
      finished = true;
      if (event.type === "error") {
        outcome.errorCode = event.error.code;
        outcome.status = event.error.code === LLM_ERRORS.ABORTED.code ? "aborted" : "error";
      } else if (event.type === "stop") {
        outcome.status = "ok";
        outcome.stopReason = event.providerReason;
      }
      return event;
    };
    /** The one `start`, for the attempt whose output the consumer sees. */
    const startEvent = (entry: ChatEntry, index: number): ChatEvent => {
      emitted = true;
      outcome.firstTokenMs = clock.now() - startedAt;
      return {
        type: "start",
        provider: entry.provider.id,
        model: entry.model,
        attempt: outcome.attempts,
        failoverIndex: index,
      };
    };
    const usageEvent = (): ChatEvent => {
      if (outcome.usage.estimated) {
        outcome.usage.inputTokens = estimateTokens(chars);
        outcome.usage.outputTokens = estimateTokens(outputChars);
      }
      return {
        type: "usage",
        inputTokens: outcome.usage.inputTokens,
        outputTokens: outcome.usage.outputTokens,
        ...(outcome.usage.cachedInputTokens
          ? { cachedInputTokens: outcome.usage.cachedInputTokens }
          : {}),
        estimated: outcome.usage.estimated,
        ...(outcome.entry
          ? {
            costUsd: price(outcome.entry.provider.type, outcome.entry.model, {
              input: outcome.usage.inputTokens,
              output: outcome.usage.outputTokens,
              cached: outcome.usage.cachedInputTokens,
            }),
          }
          : {}),
      };
    };

    try {
      chainLoop: for (let index = 0; index < chain.length; index++) {
        const entry = chain[index]!;
        const runtime = runtimes.get(entry.provider.id)!;
        const skip = entryState(runtime, entry.model);
        if (
          skip.state === "auth_failed" || skip.state === "throttled" ||
          skip.state === "model_missing"
        ) {
          allTimeouts = false;
          continue;
        }
        if (!runtime.breaker.allow()) {
          allTimeouts = false;
          continue;
        }
        outcome.entry = entry;
        outcome.failoverIndex = index;
        let retries = 0;
        let capabilityRetried = false;
        const timeouts = timeoutsFor(entry);
        // Whatever ends this entry's attempts, a half-open probe slot is given back.
        try {
          for (;;) {
            if (requestController.signal.aborted) break chainLoop;
            outcome.attempts++;
            const attemptStart = clock.now();
            const attemptController = new AbortController();
            let attemptAbort: AttemptAbort | undefined;
            const abortAttempt = (reason: AttemptAbort) => {
              attemptAbort ??= reason;
              attemptController.abort();
            };
            const onRequestAbort = () => attemptController.abort();
            requestController.signal.addEventListener("abort", onRequestAbort, { once: true });
            // Until the response headers; the first-token limit covers it when not shorter.
            let connectTimer: TimerHandle | undefined = timeouts.connectMs < timeouts.firstTokenMs
              ? clock.setTimeout(() => abortAttempt("connect"), timeouts.connectMs)
              : undefined;
            let firstTokenTimer: TimerHandle | undefined = clock.setTimeout(
              () => abortAttempt("first_token"),
              timeouts.firstTokenMs,
            );
            let idleTimer: TimerHandle | undefined;
            /** When the idle timer was armed. */
            let idleArmedAt = -Infinity;
            // The idle limit runs from the last frame. Chunks often come several in one read,
            // within a millisecond: the timer moves on only when the clock has.
            const rearmIdle = () => {
              const at = clock.now();
              if (idleTimer !== undefined && at <= idleArmedAt) return;
              if (idleTimer !== undefined) clock.clearTimeout(idleTimer);
              idleArmedAt = at;
              idleTimer = clock.setTimeout(() => abortAttempt("idle"), timeouts.idleMs);
            };
            const clearTimers = () => {
              if (connectTimer !== undefined) clock.clearTimeout(connectTimer);
              if (firstTokenTimer !== undefined) clock.clearTimeout(firstTokenTimer);
              if (idleTimer !== undefined) clock.clearTimeout(idleTimer);
              connectTimer = firstTokenTimer = idleTimer = undefined;
            };
            abandonAttempt = () => {
              clearTimers();
              attemptController.abort();
              requestController.signal.removeEventListener("abort", onRequestAbort);
            };

            const jsonMode = entry.capabilities.tools === "json" && !!request.tools?.length &&
              request.toolChoice !== "none";
            const offerTools = entry.capabilities.tools === "native" ? request.tools : undefined;
            const system = jsonMode
              ? [request.system, jsonToolPrompt(request.tools!)].filter(Boolean).join("\n\n")
              : request.system;
            const adapterRequest: AdapterRequest = {
              model: entry.model,
              messages: jsonMode || entry.capabilities.tools === "none"
                ? toJsonModeMessages(request.messages)
                : request.messages,
              maxTokens,
              capabilities: entry.capabilities,
              headers: config.testHeaders
                ? { "x-synth-module": request.module, "x-synth-purpose": request.purpose }
                : {},
              timeoutMs: totalMs,
              ...(system ? { system } : {}),
              ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
              ...(offerTools?.length ? { tools: offerTools } : {}),
              ...(offerTools?.length && request.toolChoice
                ? { toolChoice: request.toolChoice }
                : {}),
              ...(request.stop?.length ? { stop: request.stop } : {}),
            };
            let events = runtime.adapter.stream(
              adapterRequest,
              attemptController.signal,
              () => {
                if (connectTimer !== undefined) clock.clearTimeout(connectTimer);
                connectTimer = undefined;
              },
            );
            if (jsonMode) {
              events = jsonToolMode(
                events,
                new Set(request.tools!.map((tool) => tool.name)),
                () => `call_${++jsonCallCount}`,
              );
            }
            const iterator = events[Symbol.asyncIterator]();
            const previousAbandon = abandonAttempt;
            abandonAttempt = () => {
              previousAbandon?.();
              void Promise.resolve(iterator.return?.()).catch(() => {});
            };
            let stop: { reason: StopReason; providerReason: string } | undefined;
            let attemptUsage: AdapterEvent & { type: "usage" } | undefined;
            const attemptAborted = rejectedOnAbort(attemptController.signal);
            try {
              for (;;) {
                const next = await Promise.race([iterator.next(), attemptAborted]);
                if (next.done) break;
                const event = next.value;
                if (event.type === "keepalive") {
                  // Between two chunks the idle limit runs from the last frame, whatever it held.
                  if (idleTimer !== undefined) rearmIdle();
                  continue;
                }
                if (firstTokenTimer !== undefined) {
                  clock.clearTimeout(firstTokenTimer);
                  firstTokenTimer = undefined;
                }
                if (connectTimer !== undefined) {
                  clock.clearTimeout(connectTimer);
                  connectTimer = undefined;
                }
                rearmIdle();
                if (event.type === "activity") continue; // the model is producing; nothing to show yet
                if (event.type === "text" || event.type === "tool_call") {
                  if (!emitted) yield startEvent(entry, index);
                  if (event.type === "text") outputChars += event.delta.length;
                  else {
                    outcome.toolCalls++;
                    outputChars += event.call.name.length + JSON.stringify(event.call.args).length;
                  }
                  yield event;
                } else if (event.type === "usage") {
                  attemptUsage = event;
                } else if (event.type === "stop") {
                  stop = { reason: event.reason, providerReason: event.providerReason };
                }
              }
              if (!stop) {
                throw new ProviderError("protocol", "the stream ended without a stop reason");
              }
            } catch (caught) {
              abandonAttempt?.();
              abandonAttempt = undefined;
              if (attemptUsage) {
                // What the provider reported before the failure beats an estimate.
                outcome.usage = {
                  inputTokens: attemptUsage.inputTokens,
                  outputTokens: attemptUsage.outputTokens,
                  cachedInputTokens: attemptUsage.cachedInputTokens ?? 0,
                  estimated: false,
                };
              }
              const error = caught instanceof ProviderError
                ? caught
                : new ProviderError("protocol", String(caught), { cause: caught });
              if (error.status !== undefined) outcome.httpStatus = error.status;
              if (requestAbort === "user" || requestAbort === "consumer") {
                if (emitted) yield usageEvent();
                yield finish(fail("ABORTED", emitted));
                return;
              }
              if (requestAbort === "total") {
                if (emitted) yield usageEvent();
                yield finish(fail("TIMEOUT", emitted, {
                  message:
                    `The language model did not finish within ${totalMs} ms (llm.timeouts.${request.role}.totalMs)`,
                }));
                return;
              }
              if (emitted) {
                // Retrying would repeat text the user already saw.
                runtime.breaker.failure();
                runtime.lastReason = attemptAbort === "idle"
                  ? `no data for ${timeouts.idleMs} ms`
                  : "stream interrupted";
                log.warn("a reply stream was interrupted", {
                  provider: entry.provider.id,
                  model: entry.model,
                  module: request.module,
                  reason: attemptAbort ?? error.message,
                });
                yield usageEvent();
                yield finish(fail("STREAM_INTERRUPTED", true));
                return;
              }
              const verdict: Verdict = attemptAbort
                ? {
                  action: "retry",
                  countsForBreaker: true,
                  reason: attemptAbort === "connect"
                    ? `no connection within ${timeouts.connectMs} ms`
                    : attemptAbort === "idle"
                    ? `no data for ${timeouts.idleMs} ms`
                    : `no first token within ${timeouts.firstTokenMs} ms`,
                }
                : classify(error, {
                  provider: entry.provider,
                  model: entry.model,
                  now: clock.now(),
                  maxRetryAfterMs: config.retry.maxRetryAfterMs,
                  capabilityRetried,
                });
              if (attemptAbort) timeoutReasons.push(`${entry.provider.id}: ${verdict.reason}`);
              else allTimeouts = false;
              log.debug("a language model attempt failed", {
                provider: entry.provider.id,
                model: entry.model,
                attempt: outcome.attempts,
                action: verdict.action,
                reason: verdict.reason,
                error: error.message,
                ms: clock.now() - attemptStart,
              });
              if (verdict.action === "fail") {
                runtime.breaker.success(); // the provider answered; the request was at fault
                if (verdict.kind === "context_too_long") {
                  yield finish(fail("CONTEXT_TOO_LONG"));
                } else {
                  log.error("a provider refused a request", {
                    code: LLM_ERRORS.BAD_REQUEST.code,
                    provider: entry.provider.id,
                    model: entry.model,
                    status: error.status,
                    error: error.message,
                  });
                  yield finish(fail(verdict.kind === "timeout" ? "TIMEOUT" : "BAD_REQUEST"));
                }
                return;
              }
              if (verdict.action === "capability") {
                capabilityRetried = true;
                options.onRetry?.(entry.provider.id, "capability");
                await learn(entry, verdict.refused);
                continue;
              }
              runtime.lastReason = verdict.reason;
              if (verdict.countsForBreaker) runtime.breaker.failure();
              if (verdict.action === "failover") {
                if (verdict.mark?.state === "auth_failed") runtime.authFailed = true;
                if (verdict.mark?.state === "throttled") {
                  runtime.throttledUntil = verdict.mark.untilMs;
                }
                if (verdict.mark?.state === "model_missing") runtime.missingModels.add(entry.model);
                noticeIfChanged();
                continue chainLoop;
              }
              // Retry on the same provider, unless retries are spent or the breaker opened.
              if (retries >= config.retry.maxRetries || runtime.breaker.state === "open") {
                noticeIfChanged();
                continue chainLoop;
              }
              const wait = verdict.waitMs ??
                backoffMs(retries, config.retry.baseMs, config.retry.capMs, options.random);
              retries++;
              options.onRetry?.(
                entry.provider.id,
                retryReason(error, { timedOut: attemptAbort !== undefined }),
              );
              try {
                await delay(clock, wait, { signal: requestController.signal });
              } catch {
                // Aborted during the back-off: the loop's check reports it.
              }
              if (requestController.signal.aborted) {
                yield finish(
                  requestAbort === "total"
                    ? fail("TIMEOUT", false, {
                      message:
                        `The language model did not finish within ${totalMs} ms (llm.timeouts.${request.role}.totalMs)`,
                    })
                    : fail("ABORTED"),
                );
                return;
              }
              continue;
            }
            clearTimers();
            abandonAttempt = undefined;
            requestController.signal.removeEventListener("abort", onRequestAbort);
            outcome.httpStatus = null; // an earlier attempt's status does not describe this success
            runtime.breaker.success();
            delete runtime.lastReason;
            if (runtime.probe && runtime.probe.state !== "ok") runtime.probe = { state: "ok" };
            runtime.missingModels.delete(entry.model);
            if (!emitted) yield startEvent(entry, index);
            if (attemptUsage) {
              outcome.usage = {
                inputTokens: attemptUsage.inputTokens,
                outputTokens: attemptUsage.outputTokens,
                cachedInputTokens: attemptUsage.cachedInputTokens ?? 0,
                estimated: false,
              };
            }
            yield usageEvent();
            yield finish({
              type: "stop",
              reason: stop!.reason,
              providerReason: stop!.providerReason,
            });
            wasUsable = true;
            return;
          }
        } finally {
          runtime.breaker.release();
        }
      }
      if (requestAbort === "user" || requestAbort === "consumer") {
        yield finish(fail("ABORTED"));
        return;
      }
      if (requestAbort === "total") {
        yield finish(fail("TIMEOUT", false, {
          message:
            `The language model did not finish within ${totalMs} ms (llm.timeouts.${request.role}.totalMs)`,
        }));
        return;
      }
      if (allTimeouts && timeoutReasons.length > 0) {
        yield finish(fail("TIMEOUT", false, {
          message: `The language model did not answer in time (${timeoutReasons.join("; ")})`,
        }));
        return;
      }
      yield finish(fail("UNAVAILABLE", false, {
        message: unavailableMessage(request.role),
        retryAfterSeconds: retryAfterSeconds(request.role),
      }));
    } finally {
      abandonAttempt?.();
      clock.clearTimeout(totalTimer);
      request.signal?.removeEventListener("abort", onUserAbort);
      if (!finished) {
        // The consumer stopped reading: abort the provider request.
        abortRequest("consumer");
        outcome.status = "aborted";
        outcome.errorCode = LLM_ERRORS.ABORTED.code;
        if (outcome.usage.estimated) {
          outcome.usage.inputTokens = estimateTokens(chars);
          outcome.usage.outputTokens = estimateTokens(outputChars);
        }
      }
      const entry = outcome.entry ?? chain[0];
      if (entry) {
        const id = options.ids.next("llm");
        onRow?.(id);
        const row: LedgerEntry = {
          id,
          at: startedAt,
          module: request.module,
          purpose: request.purpose,
          role: request.role,
          provider: entry.provider.id,
          model: entry.model,
          request_uid: id,
          attempts: outcome.attempts,
          failover_index: outcome.failoverIndex,
          turn_id: request.context?.turnId ?? null,
          job_id: request.context?.jobId ?? null,
          user_id: request.context?.userId ?? null,
          thread_id: request.context?.threadId ?? null,
          tokens_in: outcome.usage.inputTokens,
          tokens_out: outcome.usage.outputTokens,
          cached_input_tokens: outcome.usage.cachedInputTokens,
          tokens_estimated: outcome.usage.estimated ? 1 : 0,
          latency_ms: clock.now() - startedAt,
          first_token_ms: outcome.firstTokenMs,
          cost_usd: outcome.attempts === 0 ? 0 : price(entry.provider.type, entry.model, {
            input: outcome.usage.inputTokens,
            output: outcome.usage.outputTokens,
            cached: outcome.usage.cachedInputTokens,
          }),
          status: outcome.status,
          error_code: outcome.errorCode,
          http_status: outcome.httpStatus,
          stop_reason: outcome.stopReason,
          tool_calls: outcome.toolCalls,
        };
        ledger.record(row);
      }
    }
  }

  async function collect(
    request: ChatRequest,
    onRow?: (id: string) => void,
  ): Promise<Completion> {
    let text = "";
    const toolCalls: ToolCall[] = [];
    let usage: Completion["usage"] = { inputTokens: 0, outputTokens: 0, estimated: true };
    let provider = "";
    let model = "";
    for await (const event of chat(request, onRow)) {
      switch (event.type) {
        case "start":
          provider = event.provider;
          model = event.model;
          break;
        case "text":
          text += event.delta;
          break;
        case "tool_call":
          toolCalls.push(event.call);
          break;
        case "usage":
          usage = {
            inputTokens: event.inputTokens,
            outputTokens: event.outputTokens,
            estimated: event.estimated,
          };
          break;
        case "stop":
          return {
            text,
            toolCalls,
            usage,
            stop: { reason: event.reason, providerReason: event.providerReason },
            provider,
            model,
          };
        case "error": {
          const kind = (Object.keys(LLM_ERRORS) as Array<keyof typeof LLM_ERRORS>).find((key) =>
            LLM_ERRORS[key].code === event.error.code
          ) ?? "BAD_REQUEST";
          throw new LlmError(kind, {
            message: event.error.message,
            ...(event.error.retryAfterSeconds !== undefined
              ? { retryAfterSeconds: event.error.retryAfterSeconds }
              : {}),
          });
        }
      }
    }
    throw new LlmError("BAD_REQUEST", { message: "The reply stream ended without a stop" });
  }

  async function completeJson<T>(request: ChatRequest, schema: SafeParser<T>): Promise<T> {
    const instruction = "Answer with only one JSON value, no prose and no code fence.";
    const first: ChatRequest = {
      ...request,
      system: [request.system, instruction].filter(Boolean).join("\n\n"),
    };
    const completion = await collect(first);
    const parsed = parseJsonReply(completion.text, schema);
    if (parsed.ok) return parsed.value;
    let repairLedgerId: string | undefined;
    const repair: ChatRequest = {
      ...first,
      messages: [
        ...request.messages,
        { role: "assistant", content: completion.text },
        {
          role: "user",
          content:
            `That answer was not the JSON asked for (${parsed.problem}). ${instruction} Answer again.`,
        },
      ],
    };
    const second = await collect(repair, (id) => (repairLedgerId = id));
    const reparsed = parseJsonReply(second.text, schema);
    if (reparsed.ok) return reparsed.value;
    if (repairLedgerId) await ledger.markParseFailed(repairLedgerId);
    log.warn("a model did not return the JSON asked for", {
      code: LLM_ERRORS.JSON_INVALID.code,
      module: request.module,
      purpose: request.purpose,
      problem: reparsed.problem,
    });
    throw new LlmError("JSON_INVALID");
  }

  async function embed(
    texts: readonly string[],
    embedOptions: { module?: string; signal?: AbortSignal } = {},
  ): Promise<EmbedResult> {
    const entries = chains.embedding;
    const first = entries[0];
    if (!first || first.provider === "lexical") {
      const vectors = await lexical.embed(texts);
      return { vectors, provider: "lexical", model: lexical.model, dims: lexical.dims };
    }
    const module = embedOptions.module ?? "memory";
    const chars = texts.reduce((sum, text) => sum + text.length, 0);
    if (guard) {
      const decision = await guard.check({
        module,
        purpose: "embed",
        estimateTokens: estimateTokens(chars),
      });
      if (!decision.allowed) {
        throw new LlmError("BUDGET_EXHAUSTED", budgetRefusal(module, decision));
      }
    }
    const startedAt = clock.now();
    const signal = embedOptions.signal;
    let attempts = 0;
    let lastError: ProviderError | undefined;
    let last: { provider: ResolvedProvider; model: string; index: number } | undefined;
    const record = (status: LedgerEntry["status"], extra: {
      tokens?: number;
      errorCode?: string;
      httpStatus?: number;
    } = {}) => {
      const tried = last ?? {
        ...(entries[0] as { provider: ResolvedProvider; model: string }),
        index: 0,
      };
      recordEmbed(module, tried.provider, tried.model, {
        startedAt,
        attempts,
        index: tried.index,
        tokens: extra.tokens ?? 0,
        status,
        ...(extra.errorCode ? { errorCode: extra.errorCode } : {}),
        ...(extra.httpStatus !== undefined ? { httpStatus: extra.httpStatus } : {}),
      });
    };
    const aborted = () => {
      record("aborted", { errorCode: LLM_ERRORS.ABORTED.code });
      return new LlmError("ABORTED");
    };
    entryLoop: for (const [index, entry] of entries.entries()) {
      if (entry.provider === "lexical") continue;
      const runtime = runtimes.get(entry.provider.id)!;
      const state = entryState(runtime, entry.model).state;
      if (state === "auth_failed" || state === "throttled" || !runtime.breaker.allow()) continue;
      last = { provider: entry.provider, model: entry.model, index };
      try {
        for (let retry = 0; retry <= config.retry.maxRetries; retry++) {
          if (signal?.aborted) throw aborted();
          attempts++;
          const controller = new AbortController();
          const onAbort = () => controller.abort();
          signal?.addEventListener("abort", onAbort, { once: true });
          const timer = clock.setTimeout(
            () => controller.abort(),
            config.timeouts.background.firstTokenMs,
          );
          let vectors: Float32Array[];
          try {
            vectors = await untilAborted(
              runtime.adapter.embed(texts, {
                model: entry.model,
                dims: entry.dims,
                signal: controller.signal,
                headers: config.testHeaders
                  ? { "x-synth-module": module, "x-synth-purpose": "embed" }
                  : {},
              }),
              controller.signal,
            );
          } catch (caught) {
            const error = caught instanceof ProviderError
              ? caught
              : new ProviderError("protocol", String(caught));
            lastError = error;
            if (signal?.aborted) throw aborted();
            const verdict = classify(error, {
              provider: entry.provider,
              model: entry.model,
              now: clock.now(),
              maxRetryAfterMs: config.retry.maxRetryAfterMs,
              capabilityRetried: true,
            });
            runtime.lastReason = verdict.reason;
            if (verdict.action === "fail") {
              // The request is at fault: another endpoint of the same model would refuse it too.
              record("error", {
                errorCode: LLM_ERRORS.BAD_REQUEST.code,
                ...(error.status !== undefined ? { httpStatus: error.status } : {}),
              });
              throw new LlmError(
                verdict.kind === "context_too_long" ? "CONTEXT_TOO_LONG" : "BAD_REQUEST",
              );
            }
            if (
              (verdict.action === "retry" || verdict.action === "failover") &&
              verdict.countsForBreaker
            ) {
              runtime.breaker.failure();
            }
            if (verdict.action === "failover") {
              if (verdict.mark?.state === "auth_failed") runtime.authFailed = true;
              if (verdict.mark?.state === "throttled") {
                runtime.throttledUntil = verdict.mark.untilMs;
              }
              continue entryLoop;
            }
            if (runtime.breaker.state === "open" || retry >= config.retry.maxRetries) {
              continue entryLoop;
            }
            options.onRetry?.(
              entry.provider.id,
              retryReason(error, { timedOut: controller.signal.aborted }),
            );
            try {
              await delay(
                clock,
                (verdict.action === "retry" ? verdict.waitMs : undefined) ??
                  backoffMs(retry, config.retry.baseMs, config.retry.capMs, options.random),
                signal ? { signal } : {},
              );
            } catch {
              throw aborted();
            }
            continue;
          } finally {
            clock.clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
          }
          runtime.breaker.success();
          if (vectors.some((vector) => vector.length !== entry.dims)) {
            record("error", { errorCode: LLM_ERRORS.BAD_REQUEST.code });
            throw new LlmError("BAD_REQUEST", {
              message:
                `The embedding model ${entry.model} returned vectors of another dimension than the configured ${entry.dims}`,
            });
          }
          record("ok", { tokens: estimateTokens(chars) });
          return { vectors, provider: entry.provider.id, model: entry.model, dims: entry.dims };
        }
      } finally {
        runtime.breaker.release();
      }
    }
    record("error", {
      errorCode: LLM_ERRORS.UNAVAILABLE.code,
      ...(lastError?.status !== undefined ? { httpStatus: lastError.status } : {}),
    });
    throw new LlmError("UNAVAILABLE", {
      message: `No embedding provider is available (${
        entries.map((item) =>
          item.provider === "lexical"
            ? "lexical"
            : `${item.provider.id}: ${runtimes.get(item.provider.id)!.lastReason ?? "skipped"}`
        ).join("; ")
      })`,
      retryAfterSeconds: config.breaker.openMs / 1000,
    });
  }

  function recordEmbed(
    module: string,
    provider: ResolvedProvider,
    model: string,
    facts: {
      startedAt: number;
      attempts: number;
      index: number;
      tokens: number;
      status: LedgerEntry["status"];
      errorCode?: string;
      httpStatus?: number;
    },
  ) {
    const id = options.ids.next("llm");
    ledger.record({
      id,
      at: facts.startedAt,
      module,
      purpose: "embed",
      role: "embedding",
      provider: provider.id,
      model,
      request_uid: id,
      attempts: facts.attempts,
      failover_index: facts.index,
      turn_id: null,
      job_id: null,
      user_id: null,
      thread_id: null,
      tokens_in: facts.tokens,
      tokens_out: 0,
      cached_input_tokens: 0,
      tokens_estimated: 1,
      latency_ms: clock.now() - facts.startedAt,
      first_token_ms: null,
      cost_usd: price(provider.type, model, { input: facts.tokens, output: 0, cached: 0 }),
      status: facts.status,
      error_code: facts.errorCode ?? null,
      http_status: facts.httpStatus ?? null,
      stop_reason: null,
      tool_calls: 0,
    });
  }

  function embedderFor(module: string): Embedder {
    const first = chains.embedding[0];
    if (!first || first.provider === "lexical") return lexical;
    return {
      provider: first.provider.type,
      model: first.model,
      dims: first.dims,
      quality: "semantic",
      id: embedderId(first.provider.type, first.model, first.dims),
      embed: async (texts, embedOptions = {}) =>
        (await embed(texts, {
          module,
          ...(embedOptions.signal ? { signal: embedOptions.signal } : {}),
        }))
          .vectors,
    };
  }

  async function probeAll(): Promise<LlmStatus> {
    const models = new Map<string, Set<string>>();
    for (const role of ["reply", "background"] as const) {
      for (const entry of chains[role]) {
        const set = models.get(entry.provider.id) ?? new Set();
        set.add(entry.model);
        models.set(entry.provider.id, set);
      }
    }
    for (const entry of chains.embedding) {
      if (entry.provider === "lexical") continue;
      const set = models.get(entry.provider.id) ?? new Set();
      set.add(entry.model);
      models.set(entry.provider.id, set);
    }
    await Promise.all([...runtimes.values()].map(async (runtime) => {
      const controller = new AbortController();
      const timer = clock.setTimeout(() => controller.abort(), config.timeouts.reply.connectMs);
      try {
        const wanted = [...(models.get(runtime.provider.id) ?? [])];
        const result = await untilAborted(
          runtime.adapter.probe(wanted, controller.signal),
          controller.signal,
        ).catch((): Awaited<ReturnType<ProviderAdapter["probe"]>> => ({
          ok: false,
          state: "unreachable",
          reason: `no answer within ${config.timeouts.reply.connectMs} ms from ${
            providerHost(runtime.provider)
          }`,
        }));
        runtime.missingModels = new Set(result.missing ?? []);
        if (result.state === "auth_failed") runtime.authFailed = true;
        runtime.probe = result.state === "ok" || result.state === "model_missing"
          ? { state: "ok" }
          : {
            state: result.state === "error" ? "unreachable" : result.state,
            ...(result.reason ? { reason: result.reason } : {}),
          };
        if (result.reason && !result.ok) runtime.lastReason = result.reason;
      } finally {
        clock.clearTimeout(timer);
      }
    }));
    noticeIfChanged();
    return status();
  }

  function probe(): Promise<LlmStatus> {
    probing ??= probeAll().finally(() => (probing = undefined));
    return probing;
  }

  let closed = false;
  function scheduleProbe() {
    if (closed) return;
    probeTimer = clock.setTimeout(() => {
      void probe().catch((error) => log.error("probing the providers failed", { error }))
        .finally(scheduleProbe);
    }, options.probeIntervalMs);
  }

  function scheduleCompaction() {
    if (closed) return;
    compactTimer = clock.setTimeout(() => {
      void ledger.compact().then(({ folded, dropped }) => {
        if (folded || dropped) log.info("ledger compacted", { folded, dropped });
      }).catch((error) => log.error("compacting the ledger failed", { error }))
        .finally(scheduleCompaction);
    }, DAY_MS);
  }

  async function detectOllama(): Promise<boolean> {
    if (!config.autodetectOllama || config.providers !== null) return false;
    if (env("ANTHROPIC_API_KEY") || env("OPENAI_API_KEY") || env("OPENAI_BASE_URL")) return false;
    if (env("OLLAMA_HOST")) return false;
    return await ollamaAnswers(OLLAMA_DEFAULT_URL, { clock, timeoutMs: 1_000 });
  }

  const gateway: KernelLlm = {
    ledger,
    get chains() {
      return chains;
    },
    chat: (request) => chat(request),
    complete: (request) => collect(request),
    completeJson,
    embed,
    status,
    setBudgetGuard(next) {
      guard = next;
    },
    usage: (module, sinceMs) => ledger.usage(module, sinceMs),
    embedder: embedderFor,
    forModule(module) {
      const embedder = embedderFor(module);
      return {
        chat: (request) => chat({ ...request, module }),
        complete: (request) => collect({ ...request, module }),
        completeJson: (request, schema) => completeJson({ ...request, module }, schema),
        embed: (texts, embedOptions = {}) => embed(texts, { ...embedOptions, module }),
        embedder,
        status,
        usage: (sinceMs) => ledger.usage(module, sinceMs),
      };
    },
    async init(initOptions = {}) {
      const background = initOptions.background ?? true;
      if (options.configCheck) {
        assertNoKeysInConfig(options.configCheck.value, { skip: options.configCheck.skip });
      }
      const detected = await detectOllama();
      chains = resolveChains(config, env, detected);
      for (const provider of chains.providers) {
        runtimes.set(provider.id, await runtimeFor(provider));
      }
      await loadLearned();
      if (chains.providers.length > 0) {
        log.info("language model providers", {
          providers: chains.providers.map((provider) => ({
            id: provider.id,
            type: provider.type,
            host: providerHost(provider),
          })),
          reply: chains.reply.map((entry) => `${entry.provider.id}/${entry.model}`),
          background: chains.background.map((entry) => `${entry.provider.id}/${entry.model}`),
          embedding: chains.embedding.map((entry) =>
            entry.provider === "lexical" ? "lexical" : `${entry.provider.id}/${entry.model}`
          ),
        });
        if (background) {
          probedOnce = probe();
          scheduleProbe();
        }
      } else {
        log.warn("no language model provider is configured; chat answers 503", {
          code: LLM_ERRORS.NOT_CONFIGURED.code,
        });
      }
      if (background) {
        await ledger.compact().catch((error) =>
          log.error("compacting the ledger failed", { error })
        );
        scheduleCompaction();
      }
    },
    probe,
    breakerStates() {
      return [...runtimes.values()].map((runtime) => ({
        provider: runtime.provider.id,
        level: runtime.breaker.level,
      }));
    },
    async readiness() {
      if (chains.providers.length === 0) {
        return {
          status: "fail",
          reason:
            "no provider configured: set ANTHROPIC_API_KEY, OPENAI_API_KEY (optionally OPENAI_BASE_URL) or OLLAMA_HOST",
        };
      }
      if (probedOnce) await probedOnce;
      const current = status();
      const reply = current.entries.filter((entry) => entry.role === "reply");
      const usable = reply.find((entry) => entry.state === "ok" || entry.state === "unknown");
      if (usable) {
        return { status: "ok", reason: `${usable.provider}/${usable.model} ${usable.state}` };
      }
      return {
        status: "fail",
        reason: reply.map((entry) => `${entry.provider}: ${entry.reason ?? entry.state}`).join(
          "; ",
        ),
      };
    },
    close() {
      closed = true;
      if (probeTimer !== undefined) clock.clearTimeout(probeTimer);
      if (compactTimer !== undefined) clock.clearTimeout(compactTimer);
      probeTimer = compactTimer = undefined;
    },
  };
  return gateway;
}

/** Reads a JSON reply (whole, fenced, or the first object in prose) and validates it. */
export function parseJsonReply<T>(
  text: string,
  schema: SafeParser<T>,
): { ok: true; value: T } | { ok: false; problem: string } {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1];
  const candidates = [text.trim(), fenced?.trim(), firstJsonObject(text)].filter(
    (candidate): candidate is string => !!candidate,
  );
  let value: unknown = undefined;
  let found = false;
  for (const candidate of candidates) {
    try {
      value = parseLenient(candidate);
      found = true;
      break;
    } catch {
      // try the next reading
    }
  }
  if (!found) return { ok: false, problem: "no JSON value found" };
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return {
    ok: false,
    problem: issue
      ? `${issue.path.map(String).join(".") || "value"}: ${issue.message}`
      : "invalid value",
  };
}
