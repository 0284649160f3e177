/**
 * The request guards that run before any route (spec/server.md §8–10): the
 * access log around everything, the Host check against DNS rebinding, the
 * IP firewall, secure headers (a strict CSP on HTML, `no-store` on the
 * API, HSTS over TLS) and CORS for configured origins only.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { type Clock, DeadlineTimer } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { Firewall } from "../security/firewall.ts";
import type { AccessLog } from "../telemetry/access_log.ts";
import { routeTemplate } from "../telemetry/metrics.ts";
import { errorResponse } from "./errors.ts";
import { unstorableTextIssueIn, validationError } from "./validate.ts";
import type { AppEnv } from "./types.ts";

/** The dashboard's Content-Security-Policy (no inline scripts or styles, same origin only). */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
/** The API reference at `/docs` runs under the same strict policy (our own page, no inline styles). */
export const DOCS_CSP = CSP;

/** Writes one access-log line per request, after the response is known. */
export function accessLogger(log: AccessLog, clock: Clock): MiddlewareHandler<AppEnv> {
  return async function accessLogMiddleware(c, next) {
    // An upgraded socket is logged when it closes (it must get Deno's upgrade response untouched);
    // an excluded path (the probes) costs nothing here.
    if ((c.req.header("upgrade") ?? "").toLowerCase() === "websocket") return await next();
    if (log.excludes(c.req.path)) return await next();
    const started = performance.now();
    try {
      await next();
    } finally {
      const principal = c.get("principal");
      const route = routeTemplate(c);
      const lengthIn = c.req.header("content-length");
      // Only a declared length: reading the body to measure it cost /api/state over a third of its
      // throughput (docs/benchmarks.md), so Hono's JSON answers log null.
      const lengthOut = c.res?.headers.get("content-length");
      const blocked = c.get("blocked");
      log.write({
        ts: new Date(clock.now()).toISOString(),
        request_id: c.get("requestId") ?? "",
        method: c.req.method,
        path: c.req.path,
        route,
        status: c.res?.status ?? 500,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        bytes_in: lengthIn ? Number(lengthIn) : null,
        bytes_out: lengthOut ? Number(lengthOut) : null,
        client_ip: c.get("clientIp") ?? "local",
        peer_ip: c.get("peerIp") ?? "local",
        user_id: principal && principal.auth !== "none" ? principal.userId : null,
        auth: principal?.auth ?? "none",
        user_agent: c.req.header("user-agent")?.slice(0, 200) ?? null,
        ...(blocked ? { blocked } : {}),
      });
    }
  };
}

/** True for names only this machine resolves to itself. */
export function isLoopbackName(host: string): boolean {
  const bare = unbracketed(host);
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/** A host name in lower case, an IPv6 address without its brackets (`[fd00::1]` is `fd00::1`). */
function unbracketed(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

/** Options for {@link hostCheck}. */
export interface HostCheckOptions {
  /** Host names accepted besides loopback ones (publicUrl's host, allowedHosts). */
  allowed: readonly string[];
  /** False skips the check (a network bind with nothing configured; start warns). */
  enabled: boolean;
}

/** Refuses a `Host` that is not loopback or configured (421 `HOST_NOT_ALLOWED`). */
export function hostCheck(options: HostCheckOptions): MiddlewareHandler<AppEnv> {
  // An IPv6 address is compared without its brackets: `[fd00::1]:8080` is `fd00::1`.
  const allowed = new Set(options.allowed.map(unbracketed));
  return async function hostCheckMiddleware(c, next) {
    if (options.enabled) {
      const header = c.req.header("host") ?? new URL(c.req.url).host;
      const name = unbracketed(header.replace(/:\d+$/, ""));
      if (!isLoopbackName(name) && !allowed.has(name) && !allowed.has(header.toLowerCase())) {
        c.set("blocked", "host");
        return errorResponse(c, {
          status: 421,
          code: "HOST_NOT_ALLOWED",
          message: "This host name is not served here",
        });
      }
    }
    return await next();
  };
}

/** Refuses addresses the firewall refuses (403 `FIREWALL_DENIED`, a generic message). */
export function firewallGuard(firewall: Firewall): MiddlewareHandler<AppEnv> {
  return async function firewallMiddleware(c, next) {
    if (firewall.check(c.get("clientIp") ?? "local", c.req.path) !== null) {
      c.set("blocked", "firewall");
      return errorResponse(c, {
        status: 403,
        code: "FIREWALL_DENIED",
        message: "Access from this address is not allowed",
      });
    }
    return await next();
  };
}

/** Options for {@link securityHeaders}. */
export interface SecurityHeadersOptions {
  /** `max-age` of HSTS when serving TLS; null when not. */
  hstsMaxAge: number | null;
}

/** `hono/secure-headers` everywhere, the CSP on HTML, `no-store` on the API. */
export function securityHeaders(options: SecurityHeadersOptions): MiddlewareHandler<AppEnv> {
  const base = secureHeaders({
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: "same-origin",
    crossOriginResourcePolicy: "same-origin",
    originAgentCluster: false,
    referrerPolicy: "no-referrer",
    strictTransportSecurity: options.hstsMaxAge === null ? false : `max-age=${options.hstsMaxAge}`,
    xContentTypeOptions: "nosniff",
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xFrameOptions: "DENY",
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
    removePoweredBy: true,
  });
  return async function securityHeadersMiddleware(c, next) {
    // Deno needs its upgrade response back untouched (the headers middleware would copy it).
    if ((c.req.header("upgrade") ?? "").toLowerCase() === "websocket") return await next();
    await base(c, async () => {
      await next();
    });
    const type = c.res.headers.get("content-type") ?? "";
    if (type.startsWith("text/html")) {
      c.res.headers.set("Content-Security-Policy", CSP);
    }
    if (c.req.path.startsWith("/api/")) c.res.headers.set("Cache-Control", "no-store");
  };
}

/** CORS for exactly the configured origins; none configured, no CORS headers at all. */
export function corsFor(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  if (origins.length === 0) return async (_c, next) => await next();
  return cors({
    origin: [...origins],
    allowHeaders: ["Authorization", "Content-Type", "X-API-Key", "X-Request-Id"],
    exposeHeaders: [
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
      "RateLimit-Policy",
      "Retry-After",
      "X-Request-Id",
    ],
    credentials: false,
    maxAge: 600,
  });
}

/** Options for {@link bodyGuard}. */
export interface BodyGuardOptions {
  /** Largest body in bytes (`server.maxBodyBytes`). */
  maxBytes: number;
  /** Larger limits for some exact paths (the NDJSON memory import). */
  larger: Readonly<Record<string, number>>;
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Refuses bytes that are not UTF-8 (a BOM is dropped, as `Response.text()` drops it). */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Refuses bodies over the limit (413 `PAYLOAD_TOO_LARGE`, also when a
 * chunked body grows past it), mutating `/api` bodies that are not JSON
 * (415; the NDJSON import is the exception) and JSON that does not parse
 * (400 `MALFORMED_JSON`), before authentication; the parsed body is kept
 * as `jsonBody` for {@link readJson}.
 */
export function bodyGuard(options: BodyGuardOptions): MiddlewareHandler<AppEnv> {
  const tooLarge: Parameters<typeof bodyLimit>[0]["onError"] = (c) =>
    errorResponse(c as never, {
      status: 413,
      code: "PAYLOAD_TOO_LARGE",
      message: "The request body is too large",
    });
  const limits = new Map<number, MiddlewareHandler<AppEnv>>();
  const limiter = (maxSize: number) => {
    let made = limits.get(maxSize);
    if (!made) {
      made = bodyLimit({ maxSize, onError: tooLarge }) as MiddlewareHandler<AppEnv>;
      limits.set(maxSize, made);
    }
    return made;
  };
  return async function bodyGuardMiddleware(c, next) {
    // Every body is limited, whatever its headers say: over HTTP/2 a body needs neither a
    // Content-Length nor a Transfer-Encoding, and a bodiless POST still has an (empty) stream.
    if (c.req.raw.body === null) return await next();
    const larger = options.larger[c.req.path];
    const json = MUTATING.has(c.req.method) && c.req.path.startsWith("/api/") &&
      larger === undefined;
    return await limiter(larger ?? options.maxBytes)(c, async () => {
      if (!json) return await next();
      // Read and parsed here, before sign-in and the rate limit (spec/server.md §1 step 8),
      // once: `readJson` takes the value from the context. An empty body is left to the route
      // (most take none); one that cannot be read (the client went away) or parsed is 400.
      const refuse = (status: 400 | 415, message: string) => {
        const code = status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "MALFORMED_JSON";
        c.res = errorResponse(c, { status, code, message });
      };
      let bytes: ArrayBuffer;
      try {
        bytes = await c.req.arrayBuffer();
      } catch {
        return refuse(400, "The body could not be read");
      }
      if (bytes.byteLength === 0) return await next();
      if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
        return refuse(415, "The body must be application/json");
      }
      let text: string;
      let value: unknown;
      try {
        // JSON is UTF-8: other bytes are refused, where a lenient decoding would store U+FFFD
        // in their place without a word.
        text = STRICT_UTF8.decode(bytes);
      } catch {
        return refuse(400, "The body is not valid UTF-8");
      }
      if (text.trim() === "") return await next();
      try {
        value = JSON.parse(text);
      } catch {
        return refuse(400, "The body is not valid JSON");
      }
      const unstorable = unstorableTextIssueIn(text, value);
      if (unstorable) throw validationError([unstorable]);
      c.set("jsonBody", { value });
      await next();
    });
  };
}

/** Options for {@link createRequestTimer}. */
export interface RequestTimerOptions {
  clock: Clock;
  /** `server.requestTimeoutMs`. */
  ms: number;
  /** `"METHOD /path"` of the requests with a limit of their own. */
  exempt: ReadonlySet<string>;
}

/** The request time limit: its middleware, and the handlers answered 504 still running. */
export interface RequestTimer {
  readonly middleware: MiddlewareHandler<AppEnv>;
  /** Resolves once every handler whose request was answered `504 TIMEOUT` has finished. */
  settled(): Promise<void>;
  /** Clears the timer (the kernel's close). */
  stop(): void;
}

/**
 * Answers `504 TIMEOUT` when a request is not answered within
 * `server.requestTimeoutMs` (spec/server.md §1). The handler is not stopped:
 * its work goes on, its answer is dropped, and {@link RequestTimer.settled}
 * waits for it (shutdown). A stream counts until its response starts; the
 * requests in `exempt` have their own limits.
 */
export function createRequestTimer(options: RequestTimerOptions): RequestTimer {
  const { ms, exempt } = options;
  // One timer for all requests in flight, armed for the earliest deadline; it is not cleared
  // when a request ends (setting and clearing a timer per request cost a fifth of the
  // throughput of GET /health/live), so one is left for up to `ms` after the last request.
  const deadlines = new DeadlineTimer(options.clock, { lingers: true });
  const late = new Set<Promise<void>>();
  return {
    async middleware(c, next) {
      if (exempt.has(`${c.req.method} ${c.req.path}`)) return await next();
      let expired: AppError | undefined;
      const handled = next();
      try {
        await deadlines.limit(handled, {
          ms,
          error: () =>
            expired = new AppError(
              "TIMEOUT",
              "The request took longer than the server allows",
              { status: 504 },
            ),
        });
      } catch (error) {
        if (error !== expired) throw error;
        const running: Promise<void> = handled.catch((failure) =>
          c.get("log")?.warn("a request answered 504 TIMEOUT failed later", { error: failure })
        ).finally(() => late.delete(running));
        late.add(running);
        throw error;
      }
    },
    async settled() {
      while (late.size > 0) await Promise.all(late);
    },
    stop: () => deadlines.stop(),
  };
}
