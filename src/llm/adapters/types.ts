import type { Capabilities, ResolvedProvider } from "../providers.ts";
import type { ChatMessage, StopReason, ToolCall, ToolSpec } from "../types.ts";

/** What an adapter sends: the gateway's request after capability handling. */
export interface AdapterRequest {
  model: string;
  system?: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens: number;
  tools?: ToolSpec[];
  toolChoice?: "auto" | "none" | { name: string };
  stop?: string[];
  capabilities: Capabilities;
  /** Extra request headers (x-synth-module/purpose with llm.testHeaders). */
  headers: Record<string, string>;
  /** Applies to the whole attempt. */
  timeoutMs: number;
}

/** An event of one provider stream, before the gateway adds start and usage fallbacks. */
export type AdapterEvent =
  /** A chunk arrived that produced no event yet (tool arguments, buffered JSON): resets timers. */
  | { type: "activity" }
  /**
   * A frame arrived that carries nothing to show (a role, a finish reason, a ping): the idle
   * limit restarts, the first-token limit does not.
   */
  | { type: "keepalive" }
  | { type: "text"; delta: string }
  | { type: "tool_call"; call: ToolCall }
  | { type: "usage"; inputTokens: number; outputTokens: number; cachedInputTokens?: number }
  | { type: "stop"; reason: StopReason; providerReason: string };

/** The result of a no-token probe. */
export interface ProbeResult {
  ok: boolean;
  /** `auth_failed`, `unreachable`, `model_missing`… */
  state: "ok" | "auth_failed" | "unreachable" | "model_missing" | "error";
  reason?: string;
  /** Models asked for that the provider does not have (Ollama: not pulled). */
  missing?: string[];
}

/** One provider, reached through its official SDK. */
export interface ProviderAdapter {
  readonly provider: ResolvedProvider;
  /**
   * Streams one attempt; throws a {@link ProviderError} before or during the
   * stream. `onResponse` is called when the response headers arrive (the
   * gateway's connect timeout ends there).
   */
  stream(
    request: AdapterRequest,
    signal: AbortSignal,
    onResponse?: (response: Response) => void,
  ): AsyncIterable<AdapterEvent>;
  /** L2-normalised vectors, in input order. */
  embed(
    texts: readonly string[],
    options: { model: string; dims: number; signal: AbortSignal; headers: Record<string, string> },
  ): Promise<Float32Array[]>;
  /** GET models/tags: no tokens spent. */
  probe(models: readonly string[], signal: AbortSignal): Promise<ProbeResult>;
}
