/**
 * Routes of the guards (spec/server.md §6, §8, §9): rate-limit status and
 * statistics, the IP firewall's rules, mode and refusals (with the earlier
 * project's whitelist/blacklist routes as aliases), and the access log.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { AppError } from "../errors.ts";
import { rateKey } from "../http/rate_limit.ts";
import { describe, type Operation } from "../http/openapi.ts";
import type { AppEnv } from "../http/types.ts";
import { queryInt, readJson, readQuery, requireRole } from "../http/validate.ts";
import type { AccessLog } from "../telemetry/access_log.ts";
import type { Firewall, FirewallMode } from "./firewall.ts";
import { type RateLimiter, TIERS } from "./rate_limit.ts";

const modeBody = z.strictObject({
  mode: z.enum(["off", "allowlist", "denylist", "whitelist", "blacklist"]),
  force: z.boolean().optional(),
});
const ruleBody = z.strictObject({
  list: z.enum(["allow", "deny"]),
  cidr: z.string().min(1).max(60),
  note: z.string().max(200).optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  force: z.boolean().optional().describe("Add it even if it blocks your own address"),
});
const legacyBody = z.strictObject({
  ip: z.string().min(1).max(60),
  force: z.boolean().optional().describe("Change it even if it blocks your own address"),
});
const removeQuery = z.strictObject({
  force: z.enum(["true", "false"]).optional().describe(
    "Remove it even if that blocks your own address",
  ),
});
const blockedQuery = z.strictObject({
  limit: queryInt({ min: 1, max: 1_000 }).default(100),
});
const accessQuery = z.strictObject({
  status: queryInt({ min: 100, max: 599 }).optional(),
  user_id: z.string().min(1).max(100).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  limit: queryInt({ min: 1, max: 1_000 }).default(100),
});

/** Options for {@link guardRoutes}. */
export interface GuardRoutesOptions {
  limiter: RateLimiter;
  rateLimitEnabled: boolean;
  firewall: Firewall;
  accessLog: AccessLog;
  now(): number;
}

/** The guard routes. */
export function guardRoutes(options: GuardRoutesOptions): OpenAPIHono<AppEnv> {
  const { limiter, firewall, accessLog } = options;
  const app = new OpenAPIHono<AppEnv>();
  describe(app, OPERATIONS);

  /** 409 `FIREWALL_LOCKOUT` when `change` would block the caller's own address, unless forced. */
  const refuseLockout = (
    c: Context<AppEnv>,
    force: boolean | undefined,
    change: Parameters<Firewall["wouldPassAfter"]>[1],
    field?: string,
  ) => {
    const ip = c.get("clientIp") ?? "local";
    if (force || firewall.wouldPassAfter(ip, change)) return;
    throw new AppError(
      "FIREWALL_LOCKOUT",
      "This change would block your own address; send force: true to make it anyway",
      { status: 409, ...(field ? { field } : {}), details: { ip, mode: firewall.mode } },
    );
  };

  app.get("/api/ratelimit/status", (c) => {
    requireRole(c, "viewer");
    const tiers: Record<string, unknown> = {};
    for (const tier of TIERS) {
      const decision = limiter.peek(tier, rateKey(c, tier));
      tiers[tier] = {
        limit: decision.limit,
        remaining: decision.remaining,
        reset_s: decision.resetSeconds,
      };
    }
    return c.json({ enabled: options.rateLimitEnabled, key: rateKey(c, "api"), tiers });
  });

  app.get("/api/ratelimit/stats", (c) => {
    requireRole(c, "admin");
    return c.json({ success: true, enabled: options.rateLimitEnabled, tiers: limiter.stats() });
  });

  app.delete("/api/ratelimit/clients/:key", (c) => {
    requireRole(c, "admin");
    if (!limiter.clear(c.req.param("key"))) {
      throw new AppError("RATELIMIT_CLIENT_NOT_FOUND", "No counters for this key", {
        status: 404,
      });
    }
    return c.body(null, 204);
  });

  app.get("/api/accesslog/stats", async (c) => {
    requireRole(c, "admin");
    return c.json({ success: true, ...await accessLog.stats() });
  });

  app.get("/api/accesslog", (c) => {
    requireRole(c, "admin");
    const query = readQuery(c, accessQuery);
    const items = accessLog.recent({
      limit: query.limit,
      ...(query.status !== undefined ? { status: query.status } : {}),
      ...(query.user_id !== undefined ? { userId: query.user_id } : {}),
      ...(query.since !== undefined ? { since: Date.parse(query.since) } : {}),
    });
    return c.json({ items, next_cursor: null });
  });

  app.get("/api/firewall/stats", (c) => {
    requireRole(c, "admin");
    return c.json({ success: true, ...firewall.stats() });
  });

  app.get("/api/firewall/rules", (c) => {
    requireRole(c, "admin");
    const rules = firewall.rules();
    return c.json({
      success: true,
      mode: firewall.mode,
      whitelist: rules.filter((rule) => rule.list === "allow").map((rule) => rule.cidr),
      blacklist: rules.filter((rule) => rule.list === "deny").map((rule) => rule.cidr),
      always_allowed: firewall.stats().always_allowed,
      rules,
    });
  });

  app.get("/api/firewall/blocked", (c) => {
    requireRole(c, "admin");
    const { limit } = readQuery(c, blockedQuery);
    const blocked = firewall.blocked(limit);
    return c.json({ success: true, blocked, count: blocked.length });
  });

  app.put("/api/firewall/mode", async (c) => {
    requireRole(c, "admin");
    const body = await readJson(c, modeBody);
    const mode: FirewallMode = body.mode === "whitelist"
      ? "allowlist"
      : body.mode === "blacklist"
      ? "denylist"
      : body.mode;
    if (!body.force && !firewall.wouldPass(c.get("clientIp") ?? "local", mode)) {
      throw new AppError(
        "FIREWALL_LOCKOUT",
        "This mode would block your own address; add a rule for it first or send force: true",
        { status: 409, field: "mode" },
      );
    }
    await firewall.setMode(mode);
    return c.json({ success: true, mode });
  });

  app.post("/api/firewall/rules", async (c) => {
    requireRole(c, "admin");
    const body = await readJson(c, ruleBody);
    const expiresAt = body.expires_at ? Date.parse(body.expires_at) : null;
    if (expiresAt !== null && expiresAt <= options.now()) {
      throw new AppError("VALIDATION_FAILED", "expires_at must be in the future", {
        status: 400,
        field: "expires_at",
      });
    }
    refuseLockout(c, body.force, { add: { list: body.list, cidr: body.cidr } }, "cidr");
    const rule = await firewall.addRule(
      {
        list: body.list,
        cidr: body.cidr,
        ...(body.note !== undefined ? { note: body.note } : {}),
        expiresAt,
      },
      c.get("principal").userId,
    );
    c.header("Location", `/api/firewall/rules/${rule.id}`);
    return c.json(rule, 201);
  });

  app.delete("/api/firewall/rules/:id", async (c) => {
    requireRole(c, "admin");
    const { force } = readQuery(c, removeQuery);
    refuseLockout(c, force === "true", { removeId: c.req.param("id") });
    await firewall.removeRule(c.req.param("id"));
    return c.body(null, 204);
  });

  for (const [legacy, list] of [["whitelist", "allow"], ["blacklist", "deny"]] as const) {
    app.post(`/api/firewall/${legacy}`, async (c) => {
      requireRole(c, "admin");
      const body = await readJson(c, legacyBody);
      refuseLockout(c, body.force, { add: { list, cidr: body.ip } }, "ip");
      const rule = await firewall.addRule({ list, cidr: body.ip }, c.get("principal").userId);
      c.header("Location", `/api/firewall/rules/${rule.id}`);
      return c.json({ success: true, message: `Added ${rule.cidr} to ${legacy}`, rule }, 201);
    });
    app.delete(`/api/firewall/${legacy}`, async (c) => {
      requireRole(c, "admin");
      const body = await readJson(c, legacyBody);
      refuseLockout(c, body.force, { remove: { list, cidr: body.ip } }, "ip");
      await firewall.removeByCidr(list, body.ip);
      return c.json({ success: true, message: `Removed ${body.ip} from ${legacy}` });
    });
  }

  return app;
}

const RULE = z.object({
  id: z.string(),
  list: z.enum(["allow", "deny"]),
  cidr: z.string(),
  note: z.string(),
  source: z.enum(["api", "config"]),
  created_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});
const TIER = z.object({
  limit: z.number().int(),
  remaining: z.number().int(),
  reset_s: z.number().int(),
});
const STATS = z.object({ success: z.literal(true) }).catchall(z.unknown());
const limits = ["rate limits"];
const fw = ["firewall"];
const access = ["access log"];

/** The document's view of these routes (the handlers validate with the same schemas). */
const OPERATIONS = [
  {
    method: "get",
    path: "/api/ratelimit/status",
    summary: "The caller's own counters per tier",
    tags: limits,
    role: "viewer",
    responses: {
      200: {
        description: "Counters",
        schema: z.object({
          enabled: z.boolean(),
          key: z.string(),
          tiers: z.record(z.string(), TIER),
        }),
      },
    },
  },
  {
    method: "get",
    path: "/api/ratelimit/stats",
    summary: "Clients tracked and refused per tier",
    tags: limits,
    role: "admin",
    responses: { 200: { description: "Statistics", schema: STATS } },
  },
  {
    method: "delete",
    path: "/api/ratelimit/clients/:key",
    summary: "Forget a client's counters (u:<id> or ip:<address>)",
    tags: limits,
    role: "admin",
    responses: { 204: { description: "Forgotten" } },
  },
  {
    method: "get",
    path: "/api/accesslog/stats",
    summary: "The access log's file, size and rotation",
    tags: access,
    role: "admin",
    responses: { 200: { description: "Statistics", schema: STATS } },
  },
  {
    method: "get",
    path: "/api/accesslog",
    summary: "Recent access-log lines, newest first",
    tags: access,
    role: "admin",
    query: accessQuery,
    responses: {
      200: {
        description: "Lines",
        schema: z.object({
          items: z.array(z.record(z.string(), z.unknown())),
          next_cursor: z.null(),
        }),
      },
    },
  },
  {
    method: "get",
    path: "/api/firewall/stats",
    summary: "Mode, rule counts and recent refusals",
    tags: fw,
    role: "admin",
    responses: { 200: { description: "Statistics", schema: STATS } },
  },
  {
    method: "get",
    path: "/api/firewall/rules",
    summary: "The mode and every rule (with the earlier whitelist/blacklist keys)",
    tags: fw,
    role: "admin",
    responses: {
      200: {
        description: "Rules",
        schema: z.object({
          success: z.literal(true),
          mode: z.enum(["off", "allowlist", "denylist"]),
          whitelist: z.array(z.string()),
          blacklist: z.array(z.string()),
          always_allowed: z.array(z.string()),
          rules: z.array(RULE),
        }),
      },
    },
  },
  {
    method: "get",
    path: "/api/firewall/blocked",
    summary: "The latest refusals",
    tags: fw,
    role: "admin",
    query: blockedQuery,
    responses: {
      200: {
        description: "Refusals",
        schema: z.object({
          success: z.literal(true),
          blocked: z.array(
            z.object({
              timestamp: z.string(),
              ip: z.string(),
              reason: z.string(),
              path: z.string(),
            }),
          ),
          count: z.number().int(),
        }),
      },
    },
  },
  {
    method: "put",
    path: "/api/firewall/mode",
    summary: "Set the mode (409 FIREWALL_LOCKOUT if it would block the caller, unless force)",
    tags: fw,
    role: "admin",
    body: modeBody,
    responses: {
      200: { description: "Set", schema: z.object({ success: z.literal(true), mode: z.string() }) },
    },
  },
  {
    method: "post",
    path: "/api/firewall/rules",
    summary:
      "Add a rule (a bare address is /32 or /128); 409 FIREWALL_LOCKOUT if it would block your own address, unless force",
    tags: fw,
    role: "admin",
    body: ruleBody,
    responses: { 201: { description: "Added", schema: RULE } },
  },
  {
    method: "delete",
    path: "/api/firewall/rules/:id",
    summary:
      "Remove a rule added through the API (409 FIREWALL_LOCKOUT if that would block your own address, unless force=true)",
    tags: fw,
    role: "admin",
    query: removeQuery,
    responses: { 204: { description: "Removed" } },
  },
  ...(["whitelist", "blacklist"] as const).flatMap((legacy) => [
    {
      method: "post" as const,
      path: `/api/firewall/${legacy}`,
      summary: `Add an address or range to the ${legacy} (the earlier project's route)`,
      tags: fw,
      role: "admin" as const,
      body: legacyBody,
      responses: {
        201: {
          description: "Added",
          schema: z.object({ success: z.literal(true), message: z.string(), rule: RULE }),
        },
      },
    },
    {
      method: "delete" as const,
      path: `/api/firewall/${legacy}`,
      summary: `Remove an address or range from the ${legacy}`,
      tags: fw,
      role: "admin" as const,
      body: legacyBody,
      errors: [404 as const],
      responses: {
        200: {
          description: "Removed",
          schema: z.object({ success: z.literal(true), message: z.string() }),
        },
      },
    },
  ]),
] satisfies readonly Operation[];
