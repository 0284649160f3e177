/**
 * The rate-limit middleware (spec/server.md §6): picks the request's tier,
 * keys it by user (`u:<id>`) or client address (`ip:<address>`, IPv6 by
 * /64), and answers with `RateLimit-*` and legacy `X-RateLimit-*` headers;
 * a refused request is 429 `RATE_LIMITED` with `Retry-After` and the legacy
 * top-level `retry_after` and `limit`.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { ipBucket } from "../security/ip.ts";
import {
  type RateDecision,
  type RateLimiter,
  type TierName,
  tierOf,
} from "../security/rate_limit.ts";
import type { AppEnv } from "./types.ts";

/**
 * The key of a caller for a tier: the address for `auth` and `ws_connect`, else the user when
 * signed in (`auth` other than none), else the address. Requests and sockets key alike.
 */
export function callerKey(
  tier: TierName,
  caller: { userId: string; auth: string } | null | undefined,
  clientIp: string | undefined,
): string {
  if (tier !== "auth" && tier !== "ws_connect" && caller && caller.auth !== "none") {
    return `u:${caller.userId}`;
  }
  return `ip:${ipBucket(clientIp ?? "local")}`;
}

/** {@link callerKey} of a request. */
export function rateKey(c: Context<AppEnv>, tier: TierName): string {
  return callerKey(tier, c.get("principal"), c.get("clientIp"));
}

/** Writes the rate-limit headers of a decision. */
export function rateHeaders(decision: RateDecision, nowMs: number): Record<string, string> {
  return {
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(decision.remaining),
    "RateLimit-Reset": String(decision.resetSeconds),
    "RateLimit-Policy": `${decision.limit};w=${decision.windowSeconds}`,
    "X-RateLimit-Limit": String(decision.limit),
    "X-RateLimit-Remaining": String(decision.remaining),
    "X-RateLimit-Reset": String(Math.ceil(nowMs / 1000) + decision.resetSeconds),
  };
}

/** Options for {@link rateLimit}. */
export interface RateLimitOptions {
  limiter: RateLimiter;
  now(): number;
}

/** Counts every non-exempt request against its tier. */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const tier = tierOf(c.req.method, c.req.path);
    if (!tier) return await next();
    const decision = options.limiter.hit(tier, rateKey(c, tier));
    const headers = rateHeaders(decision, options.now());
    if (!decision.allowed) {
      c.set("blocked", "rate_limit");
      return c.json(
        {
          success: false,
          error: {
            code: "RATE_LIMITED",
            message: "Too many requests; wait before trying again",
            details: { tier, retry_after_seconds: decision.retryAfterSeconds },
            request_id: c.get("requestId") ?? "",
          },
          retry_after: decision.retryAfterSeconds,
          limit: decision.limit,
        },
        429,
        { ...headers, "Retry-After": String(decision.retryAfterSeconds) },
      );
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
