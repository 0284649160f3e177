/**
 * How tool arguments are recorded: a stable hash (SHA-256 of canonical
 * JSON, so key order does not matter) and a preview with secret-looking
 * keys redacted (spec/tools.md §8).
 *
 * @module
 */

const ARGS_PREVIEW_CHARS = 1_000;
const SECRET_KEY = /password|token|secret|key|authorization/i;

/** JSON with sorted keys. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner) => {
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    return Object.fromEntries(
      Object.keys(inner).sort().map((key) => [key, (inner as Record<string, unknown>)[key]]),
    );
  }) ?? "null";
}

/** SHA-256 (hex) of the arguments' canonical JSON. */
export async function toolArgsHash(args: unknown): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(canonicalJson(args ?? {})),
  );
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The arguments for display: secret-looking keys redacted, at most 1,000 characters. */
export function argsPreview(args: unknown): string {
  const text = JSON.stringify(
    args ?? {},
    (key, value) => (key && SECRET_KEY.test(key) ? "[redacted]" : value),
  ) ?? "null";
  return text.length > ARGS_PREVIEW_CHARS ? `${text.slice(0, ARGS_PREVIEW_CHARS - 1)}…` : text;
}
