import { Hono } from "hono";
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
export function healthRoutes(options: HealthRoutesOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const now = () => isoTime(options.clock.now());

  routes.get("/health/live", (c) => c.json({ status: "alive", timestamp: now() }));

  routes.get("/health/ready", async (c) => {
    const checks = await options.registry.run();
    const reason = options.isStopping() ? STOPPING_REASON : firstFailure(checks);
    if (reason !== null) {
      return c.json({ status: "not_ready", timestamp: now(), reason, checks }, 503);
    }
    return c.json({ status: "ready", timestamp: now(), checks });
  });

  routes.get("/health", async (c) => {
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
    return c.json(report, status === "unhealthy" ? 503 : 200);
  });

  return routes;
}
