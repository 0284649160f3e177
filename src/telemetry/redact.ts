/**
 * Removes secrets from text bound for logs, error bodies, ledger rows and
 * WebSocket events (spec/llm.md §6): the values of configured keys, API key
 * patterns (`sk-…`, `sk-ant-…`), our API and refresh tokens (`smk_…`,
 * `smr_…`) and JWTs, `Bearer …` tokens, `authorization` and `x-api-key`
 * header values, and URL parameters named `key`, `api_key` or `token`.
 *
 * @module
 */

/** Replaces secrets in a string. */
export type Redactor = (text: string) => string;

/** What replaces a secret. */
export const REDACTED = "[redacted]";

const PATTERNS: Array<[RegExp, string]> = [
  [/\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`],
  [/\b(authorization|x-api-key)(["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi, `$1$2${REDACTED}`],
  [/\b(smk_[a-z0-9]{8}_)[A-Za-z0-9_-]{20,}/g, `$1${REDACTED}`],
  [/\bsmr_[A-Za-z0-9_]+\.[A-Za-z0-9_-]{20,}/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/([?&](?:api_key|key|token|access_token)=)[^&#\s"']+/gi, `$1${REDACTED}`],
];

/**
 * Builds a redactor for the given secret values (values shorter than 8
 * characters are ignored: they would match ordinary words).
 *
 * @example
 * ```ts
 * import { createRedactor } from "./redact.ts";
 * const redact = createRedactor(["s3cret-value-42"]);
 * console.assert(redact("key s3cret-value-42") === "key [redacted]");
 * ```
 */
export function createRedactor(secrets: readonly (string | undefined)[]): Redactor {
  const values = [...new Set(secrets.filter((value): value is string => (value?.length ?? 0) >= 8))]
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const value of values) {
      if (out.includes(value)) out = out.replaceAll(value, REDACTED);
    }
    for (const [pattern, replacement] of PATTERNS) {
      pattern.lastIndex = 0;
      if (pattern.test(out)) out = out.replace(pattern, replacement);
    }
    return out;
  };
}

/** Applies a redactor to every string inside a JSON-like value (a copy when anything changed). */
export function redactDeep<T>(value: T, redact: Redactor, seen = new WeakSet<object>()): T {
  if (typeof value === "string") return redact(value) as T;
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact, seen)) as T;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item, redact, seen);
  return out as T;
}
