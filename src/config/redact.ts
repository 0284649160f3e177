import type { ConfigField } from "./fields.ts";

/** What replaces a secret when config is printed or logged. */
export const REDACTED = "***";

/**
 * Returns a copy of the config that is safe to print: secret keys become
 * `"***"` and the user-info of any URL (`postgres://user:pw@host`) too.
 */
export function redactConfig(
  config: Readonly<Record<string, unknown>>,
  fields: readonly ConfigField[],
): Record<string, unknown> {
  const secretKeys = new Set(fields.filter((field) => field.secret).map((field) => field.key));
  return redactNode(config, [], secretKeys) as Record<string, unknown>;
}

function redactNode(value: unknown, path: string[], secretKeys: Set<string>): unknown {
  if (secretKeys.has(path.join(".")) && value !== null && value !== undefined) return REDACTED;
  if (typeof value === "string") return redactUrlUserInfo(value);
  if (Array.isArray(value)) return value.map((item) => redactNode(item, path, secretKeys));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [
        key,
        redactNode(child, [...path, key], secretKeys),
      ]),
    );
  }
  return value;
}

/** Replaces the user-info of a URL string with `***`; other strings pass through. */
export function redactUrlUserInfo(text: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]+)@/i.exec(text);
  return match ? `${match[1]}${REDACTED}@${text.slice(match[0].length)}` : text;
}

/** The values of every secret key that is set (for the log redactor). */
export function secretConfigValues(
  config: Readonly<Record<string, unknown>>,
  fields: readonly ConfigField[],
): string[] {
  const values: string[] = [];
  for (const field of fields) {
    if (!field.secret) continue;
    let node: unknown = config;
    for (const segment of field.path) {
      node = (node as Record<string, unknown> | undefined)?.[segment];
    }
    if (typeof node === "string" && node.length > 0) values.push(node);
  }
  return values;
}
