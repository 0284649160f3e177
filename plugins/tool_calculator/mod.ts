/**
 * `calculator` (spec/tools.md §2): evaluates an arithmetic expression with
 * its own parser (no `eval`) in the sandbox. Grammar and error codes are in
 * `worker.ts`.
 *
 * @module
 */
import { defineTool } from "@synth/kernel";
import { z } from "zod";

/** The calculator tool: `{ expression }` → `{ expression, result }`. */
export const calculatorTool = defineTool({
  name: "calculator",
  description:
    "Evaluate an arithmetic expression (double precision), e.g. `2 + 2 * 3` or `sqrt(2) * pi`. Numbers " +
    "(1.5, 1e3), + - * / % and ** (power, right-associative, above unary minus: -2 ** 2 = -4; ^ is " +
    "not supported), unary signs, " +
    "parentheses, the constants pi and e, and the functions abs round floor ceil min max sum pow " +
    "sqrt cbrt exp log (natural) log10 log2 sin cos tan asin acos atan atan2 hypot (radians).",
  args: z.strictObject({
    expression: z.string().min(1).max(1_000).describe(
      "The expression to evaluate, up to 1,000 characters, e.g. `(3 + 4) ** 2 / 7`",
    ),
  }),
  risk: "safe",
  limits: { timeoutMs: 2_000, maxOutputChars: 2_000 },
  grants: {},
  pool: true,
  worker: new URL("./worker.ts", import.meta.url),
});
