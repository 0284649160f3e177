/** How a provider call failed, normalised across SDKs. */
export type FailureKind =
  | "http"
  | "connection_refused"
  | "connection"
  | "timeout"
  | "abort"
  | "protocol";

/** A parameter a provider refused, which the gateway can drop and learn. */
export type RefusedCapability = "temperature" | "max_tokens" | "tools";

/** A failure of one attempt at one provider. */
export class ProviderError extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  /** From `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
  readonly retryAfterMs: number | undefined;
  /** Set when a 400 names a parameter the model does not support. */
  readonly refused: RefusedCapability | undefined;
  /** True when the provider said the context is too long. */
  readonly contextTooLong: boolean;

  /** Creates the error; `message` is for logs and must hold no key. */
  constructor(
    kind: FailureKind,
    message: string,
    options: {
      status?: number;
      retryAfterMs?: number;
      refused?: RefusedCapability;
      contextTooLong?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ProviderError";
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.refused = options.refused;
    this.contextTooLong = options.contextTooLong ?? false;
  }
}

/** Milliseconds from `retry-after-ms` / `retry-after` headers, if any. */
export function retryAfterMs(headers: Headers | undefined, now: number): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms");
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const value = headers.get("retry-after");
  if (value === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What a 400 message says the model refused. */
export function refusedCapability(message: string): RefusedCapability | undefined {
  if (
    /does not support tools|tools? (are|is) not supported|tool use is not supported/i.test(message)
  ) return "tools";
  if (/\btemperature\b/i.test(message)) return "temperature";
  if (/max_completion_tokens|max_tokens/i.test(message)) return "max_tokens";
  return undefined;
}

/** Whether a provider message says the input is too long. */
export function isContextTooLong(status: number | undefined, message: string): boolean {
  return status === 413 ||
    /context (length|window)|too many tokens|prompt is too long|maximum context/i.test(message);
}

/** Classifies a network-level failure (fetch TypeError, Deno errors). */
export function connectionFailure(error: unknown, message: string): ProviderError {
  const text = String((error as { cause?: unknown })?.cause ?? error);
  const refused =
    /ECONNREFUSED|Connection refused|ConnectionRefused|os error 111|dns error|failed to lookup|Name or service not known|NotFound/i
      .test(text);
  return new ProviderError(refused ? "connection_refused" : "connection", message, {
    cause: error,
  });
}

/**
 * A provider's HTTP error (as the Anthropic and OpenAI SDKs report it) in
 * the gateway's terms: status, `retry-after`, a refused parameter, a
 * context limit. Without a status it was an in-stream error event.
 */
export function httpFailure(
  service: string,
  failure: { status: number | undefined; headers: Headers | undefined; message: string },
  now: number,
  cause: unknown,
): ProviderError {
  const { status, message } = failure;
  const options: ConstructorParameters<typeof ProviderError>[2] = {
    cause,
    contextTooLong: isContextTooLong(status, message),
  };
  if (status !== undefined) options.status = status;
  const after = retryAfterMs(failure.headers, now);
  if (after !== undefined) options.retryAfterMs = after;
  const refused = status === 400 ? refusedCapability(message) : undefined;
  if (refused) options.refused = refused;
  return new ProviderError(
    status === undefined ? "protocol" : "http",
    `${service} ${status ?? ""}: ${message}`,
    options,
  );
}

/** A failed model listing as a probe verdict (`auth_failed`, `unreachable` or `error`). */
export function probeFailure(
  failure: ProviderError,
  unreachableReason: string,
): { ok: false; state: "auth_failed" | "unreachable" | "error"; reason: string } {
  if (failure.status === 401 || failure.status === 403) {
    return { ok: false, state: "auth_failed", reason: `invalid API key (${failure.status})` };
  }
  if (failure.kind === "connection_refused" || failure.kind === "connection") {
    return { ok: false, state: "unreachable", reason: unreachableReason };
  }
  return { ok: false, state: "error", reason: `HTTP ${failure.status ?? "error"}` };
}
