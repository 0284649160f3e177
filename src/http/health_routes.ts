import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { type Clock, isoTime } from "../clock.ts";
import { queryPermissions } from "../telemetry/permissions.ts";
import { type CheckReport, firstFailure, type HealthRegistry } from "../telemetry/health.ts";
import type { AppEnv } from "./types.ts";

/** Overall state in the `/health` report. */
export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** Options for {@link healthRoutes}. */
export interface HealthRoutesOptions {
  registry: HealthRegistry;
  clock: Clock;
  version: string;
  /** Epoch ms when the process started serving. */
  startedAt: number;
  /** True once shutdown began: readiness fails at once. */
  isStopping: () => boolean;
  /** Absolute application and data directories, for the permission report. */
  appDir: string;
  dataDir: string;
  /** Open WebSockets, for the report. */
  websocketConnections?: () => number;
}

const STOPPING_REASON = "shutdown: the server is stopping";

const CHECK = z.object({
  status: z.enum(["ok", "degraded", "fail"]),
  required: z.boolean().optional(),
  reason: z.string().optional(),
  latency_ms: z.number().optional(),
}).openapi("HealthCheck");
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const READY_BODY = z.object({
  status: z.enum(["ready", "not_ready"]),
  timestamp: z.string(),
  reason: z.string().optional(),
  checks: z.record(z.string(), CHECK),
}).openapi("Readiness");
const REPORT_BODY = z.object({
  status: z.enum(["healthy", "degraded", "unhealthy"]),
  timestamp: z.string(),
  version: z.string(),
  uptime_s: z.number().int(),
  websocket_connections: z.number().int(),
  checks: z.record(z.string(), CHECK),
  permissions: z.array(z.record(z.string(), z.unknown())).optional(),
}).openapi("HealthReport");

const LIVE = createRoute({
  method: "get",
  path: "/health/live",
  tags: ["health"],
  summary: "Liveness: the process answers",
  responses: {
    200: json(z.object({ status: z.literal("alive"), timestamp: z.string() }), "Alive"),
  },
});
const READY = createRoute({
  method: "get",
  path: "/health/ready",
  tags: ["health"],
  summary: "Readiness: every required check passes",
  responses: {
    200: json(READY_BODY, "Ready"),
    503: json(READY_BODY, "Not ready; `reason` names the first failing required check"),
  },
});
const REPORT = createRoute({
  method: "get",
  path: "/health",
  tags: ["health"],
  summary: "Every check; reasons and permissions for administrators only",
  responses: {
    200: json(REPORT_BODY, "Healthy or degraded"),
    503: json(REPORT_BODY, "Unhealthy"),
  },
});

/** Sums up check results: any failed required check makes the whole unhealthy. */
export function overallStatus(checks: Record<string, CheckReport>): HealthStatus {
  const list = Object.values(checks);
  if (list.some((check) => check.required && check.status === "fail")) return "unhealthy";
  if (list.some((check) => check.status !== "ok")) return "degraded";
  return "healthy";
}

/**
 * `GET /health/live`, `/health/ready` and `/health`. The full report
 * (reasons, permissions) is for administrators; anonymous callers and other
 * roles see each check's status only.
 */
export function healthRoutes(options: HealthRoutesOptions): OpenAPIHono<AppEnv> {
  const routes = new OpenAPIHono<AppEnv>();
  const now = () => isoTime(options.clock.now());

  routes.openapi(LIVE, (c) => c.json({ status: "alive" as const, timestamp: now() }, 200));

  routes.openapi(READY, async (c) => {
    const checks = await options.registry.run();
    const reason = options.isStopping() ? STOPPING_REASON : firstFailure(checks);
    if (reason !== null) {
      return c.json({ status: "not_ready" as const, timestamp: now(), reason, checks }, 503);
    }
    return c.json({ status: "ready" as const, timestamp: now(), checks }, 200);
  });

  routes.openapi(REPORT, async (c) => {
    const [checks, permissions] = await Promise.all([
      options.registry.run(),
      queryPermissions({ appDir: options.appDir, dataDir: options.dataDir }),
    ]);
    const status = options.isStopping() ? "unhealthy" : overallStatus(checks);
    const base = {
      status,
      timestamp: now(),
      version: options.version,
      uptime_s: Math.max(0, Math.floor((options.clock.now() - options.startedAt) / 1000)),
      websocket_connections: options.websocketConnections?.() ?? 0,
    };
    // Reasons, latencies and paths are for administrators; anyone else sees each check's status.
    const report = c.get("principal")?.role === "admin" ? { ...base, checks, permissions } : {
      ...base,
      checks: Object.fromEntries(
        Object.entries(checks).map(([name, check]) => [name, { status: check.status }]),
      ),
    };
    return status === "unhealthy" ? c.json(report, 503) : c.json(report, 200);
  });

  return routes;
}
