/**
 * `GET /api/plugins`, `GET /api/plugins/{id}`, `POST /api/plugins/{id}/restart`
 * (spec/server.md §4.2, admin): every plugin, built-in and third-party,
 * with its state, isolation, requested and granted permissions, last error
 * and tools.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { describe, type Operation } from "../../http/openapi.ts";
import type { AppEnv } from "../../http/types.ts";
import { requireRole } from "../../http/validate.ts";
import type { ExternalPlugins, ExternalPluginView } from "./host.ts";

const PERMISSIONS = z.record(z.string(), z.array(z.string()).optional());
const PLUGIN = z.object({
  id: z.string(),
  version: z.string().nullable(),
  state: z.enum(["running", "starting", "disabled", "refused"]),
  isolation: z.enum(["in_process", "sandbox"]),
  source: z.string(),
  requested_permissions: PERMISSIONS,
  granted_permissions: PERMISSIONS,
  last_error: z.object({ code: z.string(), message: z.string() }).nullable(),
  tools: z.array(z.string()),
  crashes_recent: z.number().int().optional().describe(
    "Third-party: crashes in the last 10 minutes (5 disable it)",
  ),
  events_dropped: z.number().int().optional().describe(
    "Third-party: events dropped while it restarted (a queue of 100)",
  ),
}).openapi("Plugin");

const OPERATIONS: readonly Operation[] = [
  {
    method: "get",
    path: "/api/plugins",
    summary: "Every plugin, built-in and third-party, with state, permissions and last error",
    tags: ["plugins"],
    role: "admin",
    responses: { 200: { description: "Plugins", schema: z.object({ items: z.array(PLUGIN) }) } },
  },
  {
    method: "get",
    path: "/api/plugins/:id",
    summary: "One plugin",
    tags: ["plugins"],
    role: "admin",
    responses: { 200: { description: "The plugin", schema: PLUGIN } },
  },
  {
    method: "post",
    path: "/api/plugins/:id/restart",
    summary: "Start a third-party plugin afresh (also one disabled after crashes)",
    tags: ["plugins"],
    role: "admin",
    responses: { 200: { description: "The plugin after the restart", schema: PLUGIN } },
  },
];

/** A built-in plugin as the list shows it. */
export interface BuiltinPluginInfo {
  id: string;
  version: string;
  isolation: "in_process" | "sandbox";
  permissions: Record<string, string[] | undefined>;
  tools: string[];
}

/** The plugin routes. */
export function pluginRoutes(options: {
  external: ExternalPlugins;
  builtin: () => BuiltinPluginInfo[];
}): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  describe(app, OPERATIONS);
  const builtins = () =>
    options.builtin().map((plugin) => ({
      id: plugin.id,
      version: plugin.version,
      state: "running" as const,
      isolation: plugin.isolation,
      source: "builtin",
      requested_permissions: plugin.permissions,
      granted_permissions: plugin.permissions,
      last_error: null,
      tools: plugin.tools,
    }));
  const external = (plugin: ExternalPluginView) => plugin;

  app.get("/api/plugins", (c) => {
    requireRole(c, "admin");
    return c.json({ items: [...builtins(), ...options.external.list().map(external)] });
  });

  app.get("/api/plugins/:id", (c) => {
    requireRole(c, "admin");
    const id = c.req.param("id");
    const builtin = builtins().find((plugin) => plugin.id === id);
    return c.json(builtin ?? external(options.external.get(id)));
  });

  app.post("/api/plugins/:id/restart", async (c) => {
    requireRole(c, "admin");
    return c.json(await options.external.restart(c.req.param("id")));
  });

  return app;
}
