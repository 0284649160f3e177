/**
 * An example first-party plugin showing the whole contract: a config
 * section (with a secret), routes under `/api/hello`, a hook other plugins
 * amend, an API for dependents, a bus event and a health check.
 *
 * Load it in a test with `createTestHost({ plugins: [helloPlugin] })`.
 *
 * @module
 */
import {
  AppError,
  configMeta,
  defineHook,
  definePlugin,
  describe,
  type SequentialHook,
} from "@synth/kernel";
import { z } from "zod";

const GREETING_BODY = z.object({ greeting: z.string().min(1).max(40) });

/** The greeting being built; plugins may amend it through {@link GREETING_HOOK}. */
export interface Greeting {
  name: string;
  text: string;
}

/** Sequential hook: each handler may rewrite the greeting in turn. */
export const GREETING_HOOK: SequentialHook<Greeting> = defineHook("hello.greeting", "sequential");

declare module "@synth/kernel" {
  interface BusEventMap {
    "hello.greeted": { name: string };
  }
}

/** What `use("hello")` returns. */
export interface HelloApi {
  /** Builds the greeting for `name`, running the hook. */
  greet(name: string): Promise<string>;
  /** The hook, so dependents can register without importing this module. */
  greetingHook: SequentialHook<Greeting>;
}

const configSchema = z.strictObject({
  greeting: z.string().min(1).default("Hello").meta(configMeta({
    description: "The word the greeting starts with.",
  })),
  maxNameLength: z.number().int().min(1).max(200).default(40).meta(configMeta({
    description: "Longest name accepted.",
  })),
  adminToken: z.string().min(16).nullable().default(null).meta(configMeta({
    description: "Bearer token required to change the greeting; null disables changes.",
    secret: true,
  })),
});

/** The example plugin. */
export const helloPlugin = definePlugin({
  manifest: { id: "hello", version: "1.0.0", isolation: "in_process", configSchema },
  setup(ctx): HelloApi {
    let greeting = ctx.config.greeting;
    let count = 0;

    async function greet(name: string): Promise<string> {
      const result = await ctx.hooks.sequential(GREETING_HOOK, {
        name,
        text: `${greeting}, ${name}`,
      });
      count += 1;
      ctx.bus.publish("hello.greeted", { name });
      return result.text;
    }

    // Each route is described for GET /openapi.json with the schema its handler validates with.
    describe(ctx.http, [
      {
        method: "get",
        path: "/",
        summary: "A greeting (?name=)",
        tags: ["hello"],
        role: "viewer",
        responses: {
          200: { description: "The greeting", schema: z.object({ message: z.string() }) },
        },
      },
      {
        method: "put",
        path: "/greeting",
        summary: "Change the greeting (needs the plugin's admin token)",
        tags: ["hello"],
        role: "viewer",
        body: GREETING_BODY,
        responses: {
          200: { description: "The new greeting", schema: z.object({ greeting: z.string() }) },
        },
      },
    ]);

    ctx.http.get("/", async (c) => {
      const name = c.req.query("name") ?? "world";
      if (name.length > ctx.config.maxNameLength) {
        throw new AppError(
          "HELLO_NAME_TOO_LONG",
          `The name is longer than ${ctx.config.maxNameLength} characters`,
          { status: 400, field: "name" },
        );
      }
      return c.json({ message: await greet(name) });
    });

    ctx.http.put("/greeting", async (c) => {
      const token = ctx.config.adminToken;
      if (token === null || c.req.header("authorization") !== `Bearer ${token}`) {
        throw new AppError("HELLO_FORBIDDEN", "Changing the greeting needs the admin token", {
          status: 403,
        });
      }
      const body = GREETING_BODY.safeParse(
        await c.req.json().catch(() => null),
      );
      if (!body.success) {
        throw new AppError("VALIDATION_FAILED", "greeting must be a string of 1 to 40 characters", {
          status: 400,
          field: "greeting",
        });
      }
      greeting = body.data.greeting;
      ctx.log.info("greeting changed");
      return c.json({ greeting });
    });

    ctx.health.register("hello", () => ({
      status: "ok",
      reason: `served ${count} greeting${count === 1 ? "" : "s"}`,
    }));
    return { greet, greetingHook: GREETING_HOOK };
  },
});
