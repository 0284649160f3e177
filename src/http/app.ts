import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Hono, NotFoundHandler } from "hono";
import { validationError } from "./validate.ts";
import type { Logger } from "../telemetry/logger.ts";
import { handleError, handleMethodNotAllowed, handleNotFound } from "./errors.ts";
import { authGate, type AuthGateOptions } from "./auth.ts";
import { clientAddress } from "./client_ip.ts";
import {
  accessLogger,
  bodyGuard,
  type BodyGuardOptions,
  corsFor,
  firewallGuard,
  hostCheck,
  type HostCheckOptions,
  type RequestTimer,
  securityHeaders,
} from "./guards.ts";
import { isPageRequest } from "./dashboard.ts";
import { rateLimit } from "./rate_limit.ts";
import type { Clock } from "../clock.ts";
import type { Cidr } from "../security/ip.ts";
import type { Firewall } from "../security/firewall.ts";
import type { RateLimiter } from "../security/rate_limit.ts";
import type { AccessLog } from "../telemetry/access_log.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import { requestId } from "./request_id.ts";
import type { AppEnv } from "./types.ts";

/** Options for {@link createApp}. */
export interface CreateAppOptions {
  log: Logger;
  /** The dashboard's page, for page requests no route has (see {@link isPageRequest}). */
  page?: (c: Context<AppEnv>) => Promise<Response>;
  /** Authentication; omitted, every request is the local administrator. */
  auth?: AuthGateOptions;
  /** The guards in front of every route; omitted, none (unit tests of the app alone). */
  guards?: {
    clock: Clock;
    trustedProxies: readonly Cidr[];
    proxyHeader: "x-forwarded-for" | "forwarded";
    accessLog: AccessLog;
    host: HostCheckOptions;
    firewall: Firewall;
    hstsMaxAge: number | null;
    corsOrigins: readonly string[];
    /** Null when rate limiting is off. */
    limiter: RateLimiter | null;
    metrics: Metrics;
    body: BodyGuardOptions;
    timeout: RequestTimer;
  };
}

/**
 * Builds the Hono app with the kernel's middleware and error mapping. It
 * never listens; `src/http/serve.ts` does. Order: request id, client
 * address, access log, metrics, secure headers, CORS, request timeout, Host check,
 * firewall, body guard, authentication, rate limit.
 */
export function createApp(options: CreateAppOptions): OpenAPIHono<AppEnv> {
  // An OpenAPIHono: routes defined with createRoute add themselves to /openapi.json, and a
  // failed validation becomes the uniform 400 VALIDATION_FAILED.
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const source = result.target === "query"
          ? "query"
          : result.target === "param"
          ? "path"
          : "body";
        throw validationError(result.error.issues, [], source);
      }
    },
  });
  app.use(requestId({ log: options.log }));
  const guards = options.guards;
  if (guards) {
    app.use(clientAddress({ trusted: guards.trustedProxies, header: guards.proxyHeader }));
    app.use(accessLogger(guards.accessLog, guards.clock));
    app.use(guards.metrics.http());
    app.use(securityHeaders({ hstsMaxAge: guards.hstsMaxAge }));
    app.use(corsFor(guards.corsOrigins));
    app.use(guards.timeout.middleware);
    app.use(hostCheck(guards.host));
    app.use(firewallGuard(guards.firewall));
    app.use(bodyGuard(guards.body));
  }
  app.use(authGate({
    ...(options.auth ?? { enabled: false, service: () => null }),
    hasRoute: (path) => allowedMethods(app, path).length > 0,
    allowedMethods: (path) => allowedMethods(app, path),
  }));
  if (guards?.limiter) {
    app.use(rateLimit({ limiter: guards.limiter, now: () => guards.clock.now() }));
  }
  app.onError(handleError);
  app.notFound(notFoundFor(app, options.page));
  return app;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * The methods a route answers on `path` (HEAD with GET, and OPTIONS, which {@link notFoundFor}
 * answers); middleware, registered for every method, does not count. Empty when no route has
 * the path.
 */
export function allowedMethods(app: Hono<AppEnv>, path: string): string[] {
  const allowed = METHODS.filter((method) =>
    app.router.match(method, path)[0].some(([[, route]]) => route.method !== "ALL")
  );
  if (allowed.length === 0) return [];
  const head = allowed.includes("GET") ? ["HEAD"] : [];
  return [...allowed.slice(0, head.length), ...head, ...allowed.slice(head.length), "OPTIONS"];
}

/**
 * What `app` answers when no route took the request on a known path: `OPTIONS` 204 with `Allow`
 * (CORS preflights are answered before, when CORS is on), another method 405; an unknown path 404,
 * or `page` for a browser's page request (spec/server.md §2: the dashboard, whose router says
 * "Not found").
 */
export function notFoundFor(
  app: Hono<AppEnv>,
  page?: (c: Context<AppEnv>) => Promise<Response>,
): NotFoundHandler<AppEnv> {
  return (c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (
      allowed.length === 0 && page &&
      isPageRequest(c.req.method, c.req.path, c.req.header("accept"))
    ) {
      return page(c);
    }
    if (allowed.length === 0 || allowed.includes(c.req.method) && c.req.method !== "OPTIONS") {
      return handleNotFound(c);
    }
    if (c.req.method === "OPTIONS") {
      return c.body(null, 204, { allow: allowed.join(", ") });
    }
    return handleMethodNotAllowed(c, allowed);
  };
}
