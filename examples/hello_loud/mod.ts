/**
 * The second half of the example: a plugin that depends on `hello`, gets
 * its API with `use()`, and amends its greeting through the hook.
 *
 * @module
 */
import { configMeta, definePlugin, type SequentialHook } from "@synth/kernel";
import { z } from "zod";

/**
 * The part of `hello`'s API this plugin uses. Plugins never import each
 * other, not even for types: each states the shape it relies on.
 */
interface HelloApi {
  greetingHook: SequentialHook<{ name: string; text: string }>;
}

/** The example dependent plugin. */
export const helloLoudPlugin = definePlugin({
  manifest: {
    id: "hello_loud",
    version: "1.0.0",
    isolation: "in_process",
    dependsOn: ["hello"],
    configSchema: z.strictObject({
      suffix: z.string().default("!").meta(
        configMeta({ description: "Appended to every greeting." }),
      ),
    }),
  },
  setup(ctx) {
    const hello = ctx.use<HelloApi>("hello");
    ctx.hooks.on(hello.greetingHook, (greeting) => ({
      ...greeting,
      text: greeting.text.toUpperCase() + ctx.config.suffix,
    }));
  },
});
