/**
 * `timer` (spec/tools.md §2): waits 0–30 seconds. The wait happens in the
 * sandbox, never on the server's event loop.
 *
 * @module
 */
import { defineTool } from "@synth/kernel";
import { z } from "zod";

export const timerTool = defineTool({
  name: "timer",
  description: "Wait for a number of seconds (0 to 30), then report how long the wait took.",
  args: z.strictObject({
    seconds: z.number().min(0).max(30).describe("Seconds to wait, 0 to 30"),
  }),
  risk: "safe",
  limits: { timeoutMs: 32_000, maxOutputChars: 200 },
  grants: {},
  pool: true,
  worker: new URL("./worker.ts", import.meta.url),
  run: (args, ctx) => ctx.sandbox(args, {}, { timeoutMs: args.seconds * 1000 + 2_000 }),
});
