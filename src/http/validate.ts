import type { Context } from "hono";
import { z } from "zod";
import { AppError } from "../errors.ts";
import { plainIssueMessage } from "../issue_text.ts";
import type { AppEnv, Role } from "./types.ts";

/** Roles by rank (a higher one may do all a lower one may). */
export const ROLE_RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** The dotted path an issue is about; an unknown key's path ends with that key. */
export function issuePath(issue: z.core.$ZodIssue): string {
  return [
    ...issue.path.map(String),
    ...(issue.code === "unrecognized_keys" && issue.keys[0] !== undefined ? [issue.keys[0]] : []),
  ].join(".");
}

/** An issue found outside a schema, in zod's shape. */
export function customIssue(path: PropertyKey[], message: string): z.core.$ZodIssue {
  return { code: "custom", path, message, input: undefined } as z.core.$ZodIssue;
}

/**
 * The issue of the first string in `value` (a parsed JSON body or frame) that SQLite would not
 * keep as given, or null: one holding U+0000 (stored, but read back only up to the NUL) or an
 * unpaired surrogate, half an emoji (stored as U+FFFD). Either would change without a word, so it
 * is refused instead. The walk keeps its own stack: a deeply nested body cannot overflow the call
 * stack.
 */
export function unstorableTextIssue(value: unknown): z.core.$ZodIssue | null {
  const stack: Array<{ item: unknown; path: PropertyKey[] }> = [{ item: value, path: [] }];
  while (stack.length > 0) {
    const { item, path } = stack.pop()!;
    if (typeof item === "string") {
      if (item.includes("\u0000")) {
        return customIssue(path, "must not contain the NUL character (U+0000)");
      }
      if (!item.isWellFormed()) {
        return customIssue(path, "is not valid Unicode (an unpaired surrogate, half an emoji)");
      }
      continue;
    }
    if (typeof item !== "object" || item === null) continue;
    // Pushed last to first, so the first string in document order is found first.
    const entries = Object.entries(item);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      stack.push({ item: child, path: [...path, Array.isArray(item) ? Number(key) : key] });
    }
  }
  return null;
}

/**
 * {@link unstorableTextIssue} of `value` parsed from JSON `text`, looked for only when the text
 * spells an escape that makes such a string: JSON has no raw control characters, and well-formed
 * UTF-8 has no surrogates, so only `\u0000` and `\uD800`–`\uDFFF` can.
 */
export function unstorableTextIssueIn(text: string, value: unknown): z.core.$ZodIssue | null {
  return text.includes("\\u0000") || /\\u[dD][89a-fA-F]/.test(text)
    ? unstorableTextIssue(value)
    : null;
}

/**
 * Whether a query's `until` is not before its `since` (either may be missing; RFC 3339 text or
 * epoch ms). A reversed range would answer an empty page as if nothing happened.
 */
export function rangeInOrder(
  query: { since?: string | number | undefined; until?: string | number | undefined },
): boolean {
  if (query.since === undefined || query.until === undefined) return true;
  const at = (value: string | number) => typeof value === "number" ? value : Date.parse(value);
  return at(query.since) <= at(query.until);
}

/** The refinement of {@link rangeInOrder}: the issue names `until`. */
export const RANGE_IN_ORDER = { path: ["until"], message: "must not be before since" };

/** Where a validated input came from, as the error names it. */
export type InputSource = "body" | "query" | "path";

/**
 * 400 `VALIDATION_FAILED` naming the first bad field (an unknown key names that key), with up to
 * 20 issues; a query parameter or path segment is called so.
 */
export function validationError(
  issues: readonly z.core.$ZodIssue[],
  prefix: string[] = [],
  source: InputSource = "body",
): AppError {
  const listed = issues.slice(0, 20).map((issue) => ({
    path: [...prefix, issuePath(issue)].filter(Boolean).join("."),
    code: issue.code,
    message: plainIssueMessage(issue),
  }));
  const first = listed[0];
  const where = (path: string) =>
    source === "body"
      ? path || "body"
      : `${source === "query" ? "query parameter" : "path"} ${path}`;
  return new AppError(
    "VALIDATION_FAILED",
    first
      ? `The request is invalid at ${where(first.path)}: ${first.message}`
      : "The request is invalid",
    { status: 400, field: first?.path || undefined, details: { issues: listed } },
  );
}

/**
 * Reads and validates a JSON body: 415 `UNSUPPORTED_MEDIA_TYPE` unless it
 * is `application/json`, 400 `MALFORMED_JSON` when it does not parse, 400
 * `VALIDATION_FAILED` naming the first bad field.
 */
export async function readJson<T>(c: Context<AppEnv>, schema: z.ZodType<T>): Promise<T> {
  const type = c.req.header("content-type") ?? "";
  // No body (a POST without one has an empty stream under Deno.serve, not none), whatever type
  // it declares (many clients send `application/json` on every request): validated as `{}`, for
  // routes whose fields are all optional.
  if (
    !c.req.raw.body ||
    (c.get("jsonBody") === undefined && await c.req.text() === "")
  ) {
    const empty = schema.safeParse({});
    if (empty.success) return empty.data;
  }
  if (!/^application\/json\b/i.test(type)) {
    throw new AppError("UNSUPPORTED_MEDIA_TYPE", "The body must be application/json", {
      status: 415,
    });
  }
  // Parsed by the body guard; without it (an app built without the guards), here.
  let body = c.get("jsonBody")?.value;
  // The body guard checked its body for text SQLite would change; one read here is checked here.
  const unchecked = body === undefined;
  if (unchecked) {
    try {
      body = await c.req.json();
    } catch {
      throw new AppError("MALFORMED_JSON", "The body is not valid JSON", { status: 400 });
    }
  }
  const result = schema.safeParse(body);
  if (!result.success) throw validationError(result.error.issues);
  const unstorable = unchecked ? unstorableTextIssue(body) : null;
  if (unstorable) throw validationError([unstorable]);
  return result.data;
}

/** A query string's whole number: decimal digits, an optional minus sign, at most 15 digits. */
const DECIMAL = /^-?\d{1,15}$/;

/**
 * A whole number in a query string, written in decimal digits: `0x10`, `1e2`, ` 5` and the empty
 * string are refused (400 naming the parameter), where `z.coerce.number()` would read them as 16,
 * 100, 5 and 0. The OpenAPI document shows an integer with the bounds.
 */
export function queryInt(bounds: { min: number; max?: number }): z.ZodType<number> {
  const notDecimal = "must be a whole number in decimal digits";
  const number = z.number({ error: notDecimal }).int({ error: notDecimal })
    .min(bounds.min, { error: `must be at least ${bounds.min}` });
  return z.preprocess(
    (value) => typeof value === "string" && DECIMAL.test(value) ? Number(value) : value,
    bounds.max === undefined
      ? number
      : number.max(bounds.max, { error: `must be at most ${bounds.max}` }),
  );
}

/**
 * Validates the query string (values are strings; {@link queryInt} for numbers). A parameter
 * given more than once is refused, naming it: which of its values counts would be a guess.
 */
export function readQuery<T>(c: Context<AppEnv>, schema: z.ZodType<T>): T {
  const values = c.req.queries();
  const repeated = Object.keys(values).find((name) => values[name]!.length > 1);
  if (repeated !== undefined) {
    throw validationError([customIssue([repeated], "is given more than once")], [], "query");
  }
  const result = schema.safeParse(c.req.query());
  if (!result.success) throw validationError(result.error.issues, [], "query");
  return result.data;
}

/**
 * Refuses the request (403 `FORBIDDEN`) unless the caller's role is at
 * least `role`. The role comes from the principal the auth layer set.
 */
export function requireRole(c: Context<AppEnv>, role: Role): void {
  const principal = c.get("principal");
  if (!principal || ROLE_RANK[principal.role] < ROLE_RANK[role]) {
    throw new AppError("FORBIDDEN", `This needs the ${role} role`, { status: 403 });
  }
}

/**
 * Whose threads the caller may read: `null` for an admin (everyone's),
 * otherwise the caller's user id. Per-thread data (concerns, reflections'
 * raw text, memories) is filtered by `threads.created_by` with it.
 */
export function threadReader(c: Context<AppEnv>): string | null {
  const principal = c.get("principal");
  if (!principal) throw new AppError("UNAUTHORIZED", "Sign in first", { status: 401 });
  return principal.role === "admin" ? null : principal.userId;
}

/**
 * The signed-in caller of a route: user id and role from the principal the
 * auth layer set.
 *
 * @throws {AppError} 401 `UNAUTHORIZED` without one.
 */
export function signedInCaller(c: Context<AppEnv>): { userId: string; role: Role } {
  const principal = c.get("principal");
  if (!principal) throw new AppError("UNAUTHORIZED", "Sign in first", { status: 401 });
  return { userId: principal.userId, role: principal.role };
}
