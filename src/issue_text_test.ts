import assert from "node:assert/strict";
import { z } from "zod";
import { plainIssueMessage } from "./issue_text.ts";

/** The plain message of the first issue `value` raises against `schema`. */
function said(schema: z.ZodType, value: unknown): string {
  const result = schema.safeParse(value);
  if (result.success) throw new Error("expected a failure");
  return plainIssueMessage(result.error.issues[0]!);
}

Deno.test("zod's own texts are said in plain words, each kind of issue", () => {
  const cases: Array<[z.ZodType, unknown, string]> = [
    [z.object({ a: z.string() }), {}, "is required"],
    [z.object({ a: z.string() }), { a: 5 }, "must be a string"],
    [z.object({ a: z.number() }), { a: null }, "must be a number, not null"],
    [z.number().int(), 1.5, "must be an integer"],
    [z.boolean(), "yes", "must be true or false"],
    [z.string().min(1), "", "must not be empty"],
    [z.array(z.string()).min(1), [], "must not be empty"],
    [z.string().min(3), "ab", "must have at least 3 characters"],
    [z.string().max(1), "ab", "must have at most 1 character"],
    [z.array(z.number()).max(2), [1, 2, 3], "must have at most 2 items"],
    [z.number().min(0), -1, "must be at least 0"],
    [z.number().max(1), 2, "must be at most 1"],
    [z.number().positive(), 0, "must be greater than 0"],
    [z.number().lt(5), 5, "must be less than 5"],
    [z.number().multipleOf(5), 7, "must be a multiple of 5"],
    [z.enum(["a", "b"]), "c", 'must be one of: "a", "b"'],
    [z.literal("x"), "y", 'must be "x"'],
    [z.string().datetime(), "now", "must be an RFC 3339 date-time (e.g. 2026-01-31T09:30:00Z)"],
    [z.string().email(), "nobody", "must be an email address"],
    [z.string().url(), "nowhere", "must be a URL"],
    [z.string().regex(/^\d+$/), "x", "must match the pattern /^\\d+$/"],
    [z.strictObject({}), { extra: 1 }, 'is not a known field ("extra")'],
    [z.strictObject({}), { a: 1, b: 2 }, 'are not known fields ("a", "b")'],
    [
      z.discriminatedUnion("type", [
        z.object({ type: z.literal("p") }),
        z.object({ type: z.literal("q") }),
      ]),
      { type: "r" },
      'must be one of: "p", "q"',
    ],
    [z.union([z.string(), z.number()]), true, "matches none of the accepted forms"],
    [z.xor([z.string(), z.string().min(1)]), "a", "matches more than one of the accepted forms"],
    [z.string().length(5), "abc", "must have exactly 5 characters"],
    [z.set(z.string()).max(0), new Set(["a"]), "must have at most 0 items"],
    [z.map(z.string(), z.number()).min(2), new Map([["a", 1]]), "must have at least 2 entries"],
    [z.string().lowercase(), "AB", "must be in lower case"],
    [z.string().startsWith("ab"), "x", 'must start with "ab"'],
    [z.string().ipv4(), "x", "must be a valid IPv4 address"],
  ];
  for (const [schema, value, expected] of cases) {
    assert.equal(said(schema, value), expected, JSON.stringify(value));
  }
});

Deno.test("a message a schema wrote itself is kept word for word", () => {
  assert.equal(said(z.string().min(1, "say something"), ""), "say something");
  // A schema's message that happens to start as zod's do is still the schema's.
  assert.equal(
    said(z.string().email("Invalid work email: use your @corp.com address"), "x"),
    "Invalid work email: use your @corp.com address",
  );
  assert.equal(said(z.string().email("Invalid work email"), "x"), "Invalid work email");
  assert.equal(said(z.number().max(3, "Too big: three at most"), 5), "Too big: three at most");
  assert.equal(
    said(z.string().refine((text) => text === "ok", "must be ok"), "no"),
    "must be ok",
  );
});
