/**
 * `code_execute` (spec/tools.md §2): runs JavaScript or TypeScript in its
 * own sandbox process (never the warm pool) with no grants at all: no files,
 * network, environment, subprocesses, remote or npm imports. Output of
 * `console.*` is captured (≤ 10,000 characters per stream); an uncaught
 * error is reported in `data.error`, not as a failed call. A busy loop ends
 * at `limits.timeoutMs` (`TOOLS_TIMEOUT`), a heap bomb as
 * `TOOLS_SANDBOX_OOM`, a write to `Deno.stdout` as `TOOLS_SANDBOX_PROTOCOL`.
 *
 * The user's code shares its Worker with the worker module, so nothing the
 * worker reports is taken on its word: it accepts no error code from the
 * worker (every coded throw is `TOOLS_FAILED`), checks the report's shape,
 * and calls it out of memory only when the worker's own allocation watch
 * says so (or the process died of it, which the sandbox host decides).
 *
 * @module
 */
import { defineTool, ToolError } from "@synth/kernel";
import { z } from "zod";
import { MAX_STREAM_CHARS } from "./worker.ts";

/** The worker's report (`ExecuteReport` in `worker.ts`), checked before it is believed. */
const REPORT = z.strictObject({
  result: z.strictObject({
    stdout: z.string().max(MAX_STREAM_CHARS),
    stderr: z.string().max(MAX_STREAM_CHARS),
    error: z.strictObject({
      name: z.string().max(200),
      message: z.string().max(MAX_STREAM_CHARS),
    }).optional(),
    durationMs: z.number(),
    truncated: z.boolean(),
  }),
  outOfMemory: z.boolean(),
});

/** The code_execute tool: `{ code, language }` → `{ stdout, stderr, error?, durationMs, truncated }`. */
export const codeExecuteTool = defineTool({
  name: "code_execute",
  description:
    "Run JavaScript or TypeScript (not Python) as a module in an isolated sandbox with no file, " +
    "network, environment or subprocess access, and return what it printed with console.log " +
    "(stdout) and console.warn/error (stderr), plus any uncaught error. Top-level await works; " +
    "the run is stopped after 10 seconds. TypeScript is transpiled, not type-checked.",
  args: z.strictObject({
    code: z.string().min(1).max(100_000).describe(
      "The program, up to 100,000 characters; print results with console.log",
    ),
    language: z.enum(["javascript", "typescript"]).default("javascript").describe(
      "The language of the code",
    ),
  }),
  risk: "execute",
  limits: { timeoutMs: 10_000, maxOutputChars: 25_000 },
  grants: {},
  pool: false,
  worker: new URL("./worker.ts", import.meta.url),
  // No grants whatever the call: the time limit is the definition's.
  async run(args, ctx) {
    const report = REPORT.safeParse(await ctx.sandbox(args, {}, { workerCodes: [] }));
    if (!report.success) {
      throw new ToolError(
        "TOOLS_FAILED",
        "code_execute failed: the sandbox sent a malformed report",
      );
    }
    // A buffer the memory cap refused is the sandbox running out of memory, not the program's bug.
    if (report.data.outOfMemory) {
      throw new ToolError("TOOLS_SANDBOX_OOM", "The code ran out of memory");
    }
    return report.data.result;
  },
});
