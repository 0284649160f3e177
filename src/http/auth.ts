/**
 * Authentication and the one authorisation gate (spec/server.md §3.1–3.2,
 * §3.6). Public routes are an exact list matched on the request path
 * (`/assets/` and `/docs/` are the only prefixes); every other path, known
 * to the router or not, needs a credential: `Authorization: Bearer` with an
 * access token or an `smk_` API key, or `X-API-Key`. The role comes from the
 * user record, never from the token. With `auth.enabled: false` every
 * request acts as the built-in local administrator.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { AppError } from "../errors.ts";
import { handleMethodNotAllowed } from "./errors.ts";
import type { AuthService } from "../security/auth.ts";
import { LOCAL_PRINCIPAL } from "./principal.ts";
import { isClientRoute, isPageRequest } from "./dashboard.ts";
import type { AppEnv } from "./types.ts";

/** Exact public routes: `METHOD path`. */
const PUBLIC_EXACT = new Set([
  "GET /health",
  "GET /health/live",
  "GET /health/ready",
  "GET /api/auth/status",
  "GET /api/auth/setup",
  "POST /api/auth/setup",
  "POST /api/auth/login",
  "POST /api/auth/refresh",
  "GET /openapi.json",
  "GET /docs",
  "GET /",
  "GET /timeline",
  "GET /favicon.ico",
  "GET /ws",
  // The route itself checks the scrape token or a credential unless metrics.public is on.
  "GET /metrics",
]);
/** Public prefixes (static files and the API reference). */
const PUBLIC_PREFIXES = ["GET /assets/", "GET /docs/"];

/** A path with empty, `.` or `..` segments; never public, refused once authenticated. */
export function irregularPath(path: string): boolean {
  return /\/\/|\/\.\.?(\/|$)/.test(path) || /%2e|%2f|%5c/i.test(path);
}

/** Whether `method path` is on the public list (HEAD counts as GET). */
export function isPublicRoute(method: string, path: string): boolean {
  if (irregularPath(path)) return false;
  const key = `${method === "HEAD" ? "GET" : method} ${path}`;
  return PUBLIC_EXACT.has(key) || PUBLIC_PREFIXES.some((prefix) => key.startsWith(prefix)) ||
    // The dashboard's client routes: the page itself; its data needs a login.
    ((method === "GET" || method === "HEAD") && isClientRoute(path));
}

/** The credential a request carries, if any. */
export function bearerOf(headers: Headers): string | null {
  const authorization = headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    return match ? match[1]! : authorization;
  }
  return headers.get("x-api-key");
}

/** Options for {@link authGate}. */
export interface AuthGateOptions {
  /** False: every request is the local administrator. */
  enabled: boolean;
  /** The auth service; null until the kernel started it. */
  service(): AuthService | null;
  /**
   * Whether a route has `path` (for any method). A page request (see {@link isPageRequest})
   * without one is public: it gets the dashboard's page. Omitted, no page request is public
   * beyond the client routes.
   */
  hasRoute?(path: string): boolean;
  /**
   * The methods a route answers at `path` (none: no route). Another method, at a path where one of
   * them is public, gets 405 with `Allow` from the gate rather than 401 (and `OPTIONS` its 204).
   */
  allowedMethods?(path: string): readonly string[];
}

/**
 * Sets the principal from the request's credential and refuses every
 * non-public path without one (401 `AUTH_REQUIRED`). An invalid credential
 * on a protected path is 401 with its own code (`AUTH_TOKEN_EXPIRED`…); on
 * a public path it is ignored. A principal set before (a test host's
 * `as()`) is kept.
 */
export function authGate(options: AuthGateOptions): MiddlewareHandler<AppEnv> {
  return async function authGateMiddleware(c, next) {
    if (!c.get("principal")) {
      if (!options.enabled) {
        c.set("principal", LOCAL_PRINCIPAL);
      } else {
        // A method no route answers, on a path with a public one: the gate answers it here (405
        // with Allow, or OPTIONS' 204), credential or not, and nothing behind the gate runs.
        // (Public routes are GETs and POSTs; the router is asked only on such a path, by another.)
        const { method, path } = c.req;
        const publicRoute = isPublicRoute(method, path);
        const allowed = options.allowedMethods && !publicRoute &&
            ((method !== "GET" && method !== "HEAD" && isPublicRoute("GET", path)) ||
              (method !== "POST" && isPublicRoute("POST", path)))
          ? options.allowedMethods(path)
          : [];
        if (
          allowed.some((each) => isPublicRoute(each, path)) &&
          (method === "OPTIONS" || !allowed.includes(method))
        ) {
          return method === "OPTIONS"
            ? c.body(null, 204, { allow: allowed.join(", ") })
            : handleMethodNotAllowed(c, allowed);
        }
        // Whether the route is public matters only without a valid credential.
        const credential = bearerOf(c.req.raw.headers);
        const isPublic = () =>
          publicRoute ||
          (isPageRequest(c.req.method, c.req.path, c.req.header("accept")) &&
            options.hasRoute !== undefined && !options.hasRoute(c.req.path));
        const service = options.service();
        // `Basic …` and other schemes are no token of ours: say which scheme is expected.
        const scheme = /^(\S+)\s+\S/.exec(c.req.header("authorization") ?? "")?.[1];
        if (
          scheme && scheme.toLowerCase() !== "bearer" && !isPublic()
        ) {
          throw new AppError(
            "AUTH_TOKEN_INVALID",
            "Only the Bearer scheme is accepted: send 'Authorization: Bearer <access token>', or an API key in X-API-Key",
            { status: 401 },
          );
        }
        if (credential !== null && service) {
          try {
            c.set("principal", await service.authenticate(credential));
          } catch (error) {
            if (!isPublic()) throw error;
          }
        } else if (!isPublic()) {
          if (!service) {
            throw new AppError("NOT_READY", "The server is starting; try again shortly", {
              status: 503,
              details: { retry_after_seconds: 1 },
            });
          }
          throw new AppError("AUTH_REQUIRED", "Sign in first: send a bearer token or an API key", {
            status: 401,
          });
        }
      }
    }
    if (irregularPath(c.req.path)) {
      throw new AppError("PATH_INVALID", "The path has empty or dot segments", { status: 400 });
    }
    await next();
    return undefined;
  };
}
