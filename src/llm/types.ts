/** The roles a model plays (spec/llm.md §2.2). */
export type LlmRole = "reply" | "background";

/** A tool offered to the model; `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A tool call the model made. */
export interface ToolCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
  /** Set when the arguments were not valid JSON; `args` is then `{}`. */
  parseError?: string;
}

/** One message of the conversation, never a flattened string. */
export type ChatMessage =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[] }
  | { role: "tool"; toolCallId: string; name: string; content: string; isError?: boolean };

/** A request to the gateway. */
export interface ChatRequest {
  /** Budget and ledger key: the calling plugin or kernel module. */
  module: string;
  /** Why the call is made: `reply`, `forecast`, `extract`… */
  purpose: string;
  role: LlmRole;
  messages: ChatMessage[];
  system?: string;
  /** Internal scale 0..2; adapters clamp per provider. */
  temperature?: number;
  /** @default llm.defaults.maxTokens of the role */
  maxTokens?: number;
  tools?: ToolSpec[];
  toolChoice?: "auto" | "none" | { name: string };
  stop?: string[];
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  context?: { userId?: string; threadId?: string; turnId?: string; jobId?: string };
}

/** Why a reply ended. */
export type StopReason =
  | "end"
  | "max_tokens"
  | "tool_calls"
  | "stop_sequence"
  | "refusal"
  | "content_filter"
  | "other";

/** One event of a reply stream (spec/llm.md §3). */
export type ChatEvent =
  | { type: "start"; provider: string; model: string; attempt: number; failoverIndex: number }
  | { type: "text"; delta: string }
  | { type: "tool_call"; call: ToolCall }
  | {
    type: "usage";
    inputTokens: number;
    outputTokens: number;
    cachedInputTokens?: number;
    estimated: boolean;
    /** From `mind.prices`; null when the model has no price. */
    costUsd?: number | null;
  }
  | { type: "stop"; reason: StopReason; providerReason: string }
  | {
    type: "error";
    error: { code: string; message: string; partial: boolean; retryAfterSeconds?: number };
  };

/** A whole reply, collected. */
export interface Completion {
  text: string;
  toolCalls: ToolCall[];
  usage: { inputTokens: number; outputTokens: number; estimated: boolean };
  stop: { reason: StopReason; providerReason: string };
  provider: string;
  model: string;
}

/** Vectors from the embedding role. */
export interface EmbedResult {
  vectors: Float32Array[];
  provider: string;
  model: string;
  dims: number;
}

/** What the cost governor is asked before every request. */
export interface BudgetCheck {
  module: string;
  purpose: string;
  estimateTokens: number;
  turnId?: string;
  jobId?: string;
}

/**
 * The cost governor's answer; a refusal names its window and, where waiting helps, how many
 * seconds until enough of the window's spending leaves it (the `Retry-After` of a 429).
 */
export type BudgetDecision =
  | { allowed: true }
  | {
    allowed: false;
    window: string;
    retryAfterSeconds?: number;
    /** Why, when waiting would not help: the call alone is more than the window's whole limit. */
    tooLarge?: { estimateTokens: number; limitTokens: number };
  };

/** The cost governor (mind.md §13) registers one. */
export interface BudgetGuard {
  check(request: BudgetCheck): BudgetDecision | Promise<BudgetDecision>;
}

/** Ledger sums for a module since a time. */
export interface Usage {
  calls: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

/** The state of one chain entry. */
export type EntryState =
  | "ok"
  | "unknown"
  | "breaker_open"
  | "throttled"
  | "auth_failed"
  | "unreachable"
  | "model_missing";

/** Readiness and dashboard view of the providers. */
export interface LlmStatus {
  configured: boolean;
  /** True when some reply entry is usable. */
  usable: boolean;
  entries: Array<
    { role: string; provider: string; model: string; state: EntryState; reason?: string }
  >;
}

/** What `completeJson` validates with: a zod schema, or anything with its `safeParse`. */
export interface SafeParser<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | {
    success: false;
    error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> };
  };
}

/** The one way to reach a language model. */
export interface LlmGateway {
  /** Streams a reply: one `start`, text and tool calls, one `usage`, then `stop` or `error` last. */
  chat(request: ChatRequest): AsyncIterable<ChatEvent>;
  /**
   * Collects the stream.
   *
   * @throws {LlmError} With the error event's code and message.
   */
  complete(request: ChatRequest): Promise<Completion>;
  /**
   * Asks for JSON and validates it; one repair attempt.
   *
   * @throws {LlmError} `LLM_JSON_INVALID` when it still does not validate.
   */
  completeJson<T>(request: ChatRequest, schema: SafeParser<T>): Promise<T>;
  /** Embeds through the `embedding` role. */
  embed(
    texts: readonly string[],
    options?: { module?: string; signal?: AbortSignal },
  ): Promise<EmbedResult>;
  status(): LlmStatus;
  setBudgetGuard(guard: BudgetGuard): void;
  usage(module: string, sinceMs: number): Promise<Usage>;
}
