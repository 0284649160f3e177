import { definePlugin } from "../plugin/define.ts";
import { type Plugin, TOOL_PLUGIN } from "../plugin/types.ts";
import { VERSION } from "../version.ts";
import type { z } from "zod";
import type { ToolDefinition } from "./types.ts";

/**
 * Declares a built-in tool as a plugin `tool_<name>` (isolation `sandbox`:
 * its worker never runs in the server process) that registers the tool;
 * `.tool` is the definition (tests call it through `invokeTool`).
 *
 * @example
 * ```ts ignore
 * export const timerTool = defineTool({
 *   name: "timer", description: "Waits", args: z.strictObject({ seconds: z.number() }),
 *   risk: "safe", limits: { timeoutMs: 32_000, maxOutputChars: 200 }, grants: {},
 *   pool: true, worker: new URL("./worker.ts", import.meta.url),
 * });
 * ```
 */
export function defineTool<S extends z.ZodObject>(
  tool: ToolDefinition<S>,
): Plugin & { readonly tool: ToolDefinition<S>; readonly [TOOL_PLUGIN]: true } {
  const plugin = definePlugin({
    manifest: {
      id: `tool_${tool.name}`,
      version: VERSION,
      isolation: "sandbox",
      permissions: tool.grants,
    },
    setup(ctx) {
      ctx.tools.register(tool);
    },
  });
  return { ...plugin, tool, [TOOL_PLUGIN]: true };
}
