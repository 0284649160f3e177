/**
 * `json_parse` (spec/tools.md §2): parses JSON text (or takes a JSON value)
 * and returns the value at a path with its JSON type, in the sandbox. Path
 * syntax, limits and error codes are in `worker.ts`.
 *
 * A selected value whose JSON is longer than `limits.maxOutputChars` comes
 * back cut: `value` is then a string holding the start of its JSON text,
 * `type` still names the value's own type, `truncated` is true and
 * `totalChars` the full length.
 *
 * @module
 */
import { defineTool } from "@synth/kernel";
import { z } from "zod";

/** Longest JSON text accepted, in characters. */
const MAX_TEXT_CHARS = 1_000_000;

/** A JSON value given directly (the model's arguments are JSON already). */
const jsonValue = z.union([
  z.record(z.string(), z.unknown()),
  z.array(z.unknown()),
  z.number(),
  z.boolean(),
  z.null(),
]);

/** What the worker returns (see `SelectedJson` in `worker.ts`). */
interface Selected {
  path: string;
  type: string;
  json: string;
  truncated: boolean;
  totalChars: number;
}

/** The json_parse tool: `{ data, path }` → `{ path, value, type, truncated }`. */
export const jsonParseTool = defineTool({
  name: "json_parse",
  description:
    "Parse JSON and return the value at a path with its JSON type (object, array, string, " +
    "number, boolean, null). Paths look like `a.b[0][\"key.with.dots\"]['x']`, with an optional " +
    'leading `$`; "" selects the whole document. Invalid JSON is reported with line and column.',
  args: z.strictObject({
    data: z.union([z.string().max(MAX_TEXT_CHARS), jsonValue])
      .refine(
        (data) => typeof data === "string" || JSON.stringify(data).length <= MAX_TEXT_CHARS,
        { message: `data is longer than ${MAX_TEXT_CHARS} characters of JSON` },
      )
      .describe(
        "JSON text of up to 1,000,000 characters (a string is always parsed as JSON), or a JSON value",
      ),
    path: z.string().max(2_000).default("").describe(
      'Where to look, e.g. `items[0].name` or `$["key.with.dots"]`; "" (default) is the whole value',
    ),
  }),
  risk: "safe",
  limits: { timeoutMs: 3_000, maxOutputChars: 50_000 },
  grants: {},
  pool: true,
  worker: new URL("./worker.ts", import.meta.url),
  async run(args, ctx) {
    const text = typeof args.data === "string" ? args.data : JSON.stringify(args.data);
    // Text, not a value, crosses the frame channel both ways: frames refuse keys such as
    // `__proto__`, which a document may hold. JSON.parse makes them own data properties.
    const selected = await ctx.sandbox({ text, path: args.path }, {}) as Selected;
    return {
      path: selected.path,
      value: JSON.parse(selected.json),
      type: selected.type,
      truncated: selected.truncated,
      ...(selected.truncated ? { totalChars: selected.totalChars } : {}),
    };
  },
});
