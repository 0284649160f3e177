/**
 * `GET /metrics` (spec/server.md §12): public with `metrics.public`, else
 * it needs the bearer `metrics.token` (compared in constant time) or a
 * viewer credential. The auth gate lets the path through so this route can
 * accept the scrape token, which is not a user credential.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../errors.ts";
import type { AuthService } from "../security/auth.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { bearerOf } from "./auth.ts";
import { describe } from "./openapi.ts";
import type { AppEnv } from "./types.ts";

/** Options for {@link metricsRoute}. */
export interface MetricsRouteOptions {
  metrics: Metrics;
  public: boolean;
  token: string | null;
  /** False when auth is off (every request is the local administrator). */
  authEnabled: boolean;
  auth(): AuthService | null;
}

function sameText(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The route. */
export function metricsRoute(options: MetricsRouteOptions): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  describe(app, [{
    method: "get",
    path: "/metrics",
    summary: "Prometheus text; public with metrics.public, else the scrape token or a credential",
    tags: ["observability"],
    role: "viewer",
    responses: { 200: { description: "Prometheus exposition format 0.0.4" } },
  }]);
  app.get("/metrics", async (c) => {
    if (!options.public && options.authEnabled) {
      const credential = bearerOf(c.req.raw.headers);
      const byToken = credential !== null && options.token !== null &&
        sameText(credential, options.token);
      if (!byToken) {
        const auth = options.auth();
        if (credential === null || !auth) {
          throw new AppError(
            "AUTH_REQUIRED",
            "Send the metrics token or a credential as a bearer token",
            { status: 401 },
          );
        }
        c.set("principal", await auth.authenticate(credential));
      }
    }
    return c.body(await options.metrics.render(), 200, {
      "content-type": options.metrics.contentType,
    });
  });
  return app;
}
