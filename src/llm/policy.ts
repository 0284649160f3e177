import type { ProviderError } from "./provider_error.ts";
import type { ResolvedProvider } from "./providers.ts";

/** What the gateway does after a failed attempt that produced no output (spec/llm.md §5). */
export type Verdict =
  /** Try the same entry again after `waitMs` (undefined: the back-off). */
  | { action: "retry"; waitMs?: number; countsForBreaker: boolean; reason: string }
  /** Go to the next chain entry now; maybe mark the provider. */
  | {
    action: "failover";
    countsForBreaker: boolean;
    mark?: { state: "auth_failed" } | { state: "throttled"; untilMs: number } | {
      state: "model_missing";
    };
    reason: string;
  }
  /** Drop the refused parameter, learn it, try once more. */
  | { action: "capability"; refused: "temperature" | "max_tokens" | "tools"; reason: string }
  /** The request is at fault: no retry, no failover. */
  | { action: "fail"; kind: "context_too_long" | "bad_request" | "timeout"; reason: string };

const RETRYABLE_STATUS = new Set([408, 500, 502, 503, 504, 529]);

/** The host of a provider, for reasons ("connection refused at 127.0.0.1:11434"). */
export function providerHost(provider: ResolvedProvider): string {
  const fallback = provider.type === "anthropic"
    ? "api.anthropic.com"
    : provider.type === "openai"
    ? "api.openai.com"
    : "127.0.0.1:11434";
  try {
    return provider.baseUrl ? new URL(provider.baseUrl).host : fallback;
  } catch {
    return fallback;
  }
}

/**
 * Decides what a failure before any output means: retry, fail over, learn a
 * capability, or give up. Reasons are short, fixed and hold no provider body.
 */
export function classify(
  error: ProviderError,
  context: {
    provider: ResolvedProvider;
    model: string;
    now: number;
    maxRetryAfterMs: number;
    /** Whether the capability retry was already used in this request. */
    capabilityRetried: boolean;
  },
): Verdict {
  const { provider, model } = context;
  const status = error.status;
  switch (error.kind) {
    case "connection_refused":
      return {
        action: "failover",
        countsForBreaker: true,
        reason: `connection refused at ${providerHost(provider)}`,
      };
    case "connection":
      return { action: "retry", countsForBreaker: true, reason: "connection reset" };
    case "timeout":
      return { action: "fail", kind: "timeout", reason: "the request timed out" };
    case "protocol":
      return { action: "retry", countsForBreaker: true, reason: "malformed response" };
    case "abort":
      return { action: "fail", kind: "timeout", reason: "aborted" };
    case "http":
      break;
  }
  const wait = error.retryAfterMs;
  if (
    wait !== undefined && wait > context.maxRetryAfterMs &&
    (status === 429 || (status !== undefined && status >= 500))
  ) {
    // A long wait is not worth holding the request for: fail over, skip the provider until then.
    return {
      action: "failover",
      countsForBreaker: false,
      mark: { state: "throttled", untilMs: context.now + wait },
      reason: `${status === 429 ? "rate limited" : `HTTP ${status}`} (retry after ${
        Math.ceil(wait / 1000)
      } s)`,
    };
  }
  if (status === 429) {
    return {
      action: "retry",
      ...(wait !== undefined ? { waitMs: wait } : {}),
      countsForBreaker: false,
      reason: "rate limited (429)",
    };
  }
  if (status === 401 || status === 403) {
    return {
      action: "failover",
      countsForBreaker: false,
      mark: { state: "auth_failed" },
      reason: `invalid API key (${status})`,
    };
  }
  if (status === 404) {
    return {
      action: "failover",
      countsForBreaker: false,
      mark: { state: "model_missing" },
      reason: provider.type === "ollama"
        ? `model ${model} not found: run \`ollama pull ${model}\``
        : `model ${model} not found (404)`,
    };
  }
  if (status !== undefined && (RETRYABLE_STATUS.has(status) || status > 500)) {
    if (error.refused && !context.capabilityRetried) {
      // Ollama answers "does not support tools" with a 500 on some versions.
      return {
        action: "capability",
        refused: error.refused,
        reason: `model does not support ${error.refused}`,
      };
    }
    return {
      action: "retry",
      ...(wait !== undefined ? { waitMs: wait } : {}),
      countsForBreaker: true,
      reason: `HTTP ${status}`,
    };
  }
  if (error.refused && !context.capabilityRetried) {
    return {
      action: "capability",
      refused: error.refused,
      reason: `model does not support ${error.refused}`,
    };
  }
  if (error.contextTooLong) {
    return { action: "fail", kind: "context_too_long", reason: "context too long" };
  }
  return { action: "fail", kind: "bad_request", reason: `HTTP ${status ?? "error"}` };
}

/** Full-jitter back-off: random(0, min(cap, base × 2^n)) ms. */
export function backoffMs(
  attempt: number,
  base: number,
  cap: number,
  random: () => number,
): number {
  return Math.floor(random() * Math.min(cap, base * 2 ** attempt));
}

/** Why an attempt is retried: the `reason` label of `synth_llm_retries_total` (a fixed set). */
export type RetryReason =
  | "rate_limited"
  | "overloaded"
  | "server_error"
  | "timeout"
  | "connection"
  | "malformed"
  | "capability";

/** Every {@link RetryReason}, for label validation. */
export const RETRY_REASONS: readonly RetryReason[] = [
  "rate_limited",
  "overloaded",
  "server_error",
  "timeout",
  "connection",
  "malformed",
  "capability",
];

/**
 * The reason label of a retry: a timer of ours that fired (`timedOut`), else
 * the failure's kind and HTTP status. Never a provider message (cardinality).
 * (`capability` retries are labelled where they happen.)
 */
export function retryReason(
  error: ProviderError,
  options: { timedOut?: boolean } = {},
): RetryReason {
  if (options.timedOut || error.status === 408 || error.kind === "timeout") return "timeout";
  if (error.status === 429) return "rate_limited";
  if (error.status === 529) return "overloaded";
  if (error.kind === "protocol") return "malformed";
  if (error.kind === "http") return "server_error";
  return "connection";
}
