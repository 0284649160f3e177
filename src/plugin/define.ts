import type { Plugin } from "./types.ts";

/**
 * Declares a first-party plugin. It returns its argument unchanged and
 * exists so TypeScript infers the config type from `manifest.configSchema`
 * and checks the API returned by `setup`.
 *
 * @example A plugin with a config section and one route
 * ```ts
 * import { z } from "zod";
 * import { definePlugin } from "./define.ts";
 *
 * export const pingPlugin = definePlugin({
 *   manifest: {
 *     id: "ping",
 *     version: "1.0.0",
 *     isolation: "in_process",
 *     configSchema: z.strictObject({ reply: z.string().default("pong") }),
 *   },
 *   setup(ctx) {
 *     ctx.http.get("/", (c) => c.json({ reply: ctx.config.reply }));
 *   },
 * });
 * ```
 */
export function definePlugin<Config = unknown, Api = void>(
  plugin: Plugin<Config, Api>,
): Plugin<Config, Api> {
  return plugin;
}
