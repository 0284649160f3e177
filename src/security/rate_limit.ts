/**
 * Rate limiting (spec/server.md §6): a sliding-window counter per tier and
 * key (the previous window weighted by how much of it still overlaps), O(1)
 * per request, at most 100,000 keys with the least recently used
 * forgotten first.
 *
 * @module
 */
import { BoundedMap } from "../bounded_map.ts";
import type { Clock } from "../clock.ts";

/** The tiers. */
export const TIERS = ["auth", "chat", "api", "ws", "ws_connect"] as const;
/** A tier's name. */
export type TierName = typeof TIERS[number];

/** `limit` requests per `windowSeconds`. */
export interface TierConfig {
  limit: number;
  windowSeconds: number;
}

/** The outcome of one request against a tier. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  windowSeconds: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
  /** When refused: seconds until a request would pass. */
  retryAfterSeconds: number;
}

interface Counter {
  windowStart: number;
  current: number;
  previous: number;
  refused: number;
}

/** The limiter. */
export interface RateLimiter {
  /** Counts one request of `key` in `tier` unless it is over the limit. */
  hit(tier: TierName, key: string): RateDecision;
  /** The state of `key` in `tier` without counting. */
  peek(tier: TierName, key: string): RateDecision;
  /** Forgets every counter of `key`; true when there was one. */
  clear(key: string): boolean;
  /** Keys tracked and requests refused, per tier. */
  stats(): Record<
    TierName,
    {
      limit: number;
      window_seconds: number;
      active_clients: number;
      blocked_clients: number;
      refused_total: number;
    }
  >;
}

const MAX_KEYS = 100_000;

/** Creates the limiter for the configured tiers. */
export function createRateLimiter(
  tiers: Readonly<Record<TierName, TierConfig>>,
  clock: Clock,
): RateLimiter {
  const counters = new BoundedMap<string, Counter>(MAX_KEYS);
  const refusedTotal: Record<string, number> = {};

  function roll(counter: Counter, windowMs: number, now: number) {
    const start = Math.floor(now / windowMs) * windowMs;
    if (counter.windowStart === start) return;
    counter.previous = start - counter.windowStart === windowMs ? counter.current : 0;
    counter.current = 0;
    counter.refused = 0;
    counter.windowStart = start;
  }

  function decide(tier: TierName, key: string, count: boolean): RateDecision {
    const { limit, windowSeconds } = tiers[tier];
    const windowMs = windowSeconds * 1000;
    const now = clock.now();
    const id = `${tier}|${key}`;
    const counter = counters.get(id) ?? { windowStart: now, current: 0, previous: 0, refused: 0 };
    roll(counter, windowMs, now);
    const elapsed = now - counter.windowStart;
    const weight = 1 - elapsed / windowMs;
    const estimate = counter.previous * weight + counter.current;
    const allowed = estimate + 1 <= limit;
    if (count) {
      if (allowed) counter.current++;
      else {
        counter.refused++;
        refusedTotal[tier] = (refusedTotal[tier] ?? 0) + 1;
      }
      counters.set(id, counter);
    }
    const used = counter.previous * weight + counter.current;
    const resetMs = counter.windowStart + windowMs - now;
    let retryMs = 0;
    if (!allowed) {
      if (counter.current + 1 > limit || counter.previous === 0) retryMs = resetMs;
      else {
        // previous·(1 − t/w) + current + 1 ≤ limit  ⇒  t ≥ w·(1 − (limit − current − 1)/previous)
        const t = windowMs * (1 - (limit - counter.current - 1) / counter.previous);
        retryMs = Math.max(1, t - elapsed);
      }
    }
    return {
      allowed,
      limit,
      windowSeconds,
      remaining: Math.max(0, Math.floor(limit - used)),
      resetSeconds: Math.max(1, Math.ceil(resetMs / 1000)),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(retryMs / 1000)),
    };
  }

  return {
    hit: (tier, key) => decide(tier, key, true),
    peek: (tier, key) => decide(tier, key, false),
    clear(key) {
      let found = false;
      for (const tier of TIERS) found = counters.delete(`${tier}|${key}`) || found;
      return found;
    },
    stats() {
      const out = {} as ReturnType<RateLimiter["stats"]>;
      const now = clock.now();
      for (const tier of TIERS) {
        out[tier] = {
          limit: tiers[tier].limit,
          window_seconds: tiers[tier].windowSeconds,
          active_clients: 0,
          blocked_clients: 0,
          refused_total: refusedTotal[tier] ?? 0,
        };
      }
      for (const [id, counter] of counters) {
        const tier = id.slice(0, id.indexOf("|")) as TierName;
        const windowMs = tiers[tier].windowSeconds * 1000;
        if (now - counter.windowStart >= 2 * windowMs) continue;
        out[tier].active_clients++;
        if (counter.refused > 0 && now - counter.windowStart < windowMs) {
          out[tier].blocked_clients++;
        }
      }
      return out;
    },
  };
}

/** The tier of a request, or null for exempt paths (health, metrics, static files). */
export function tierOf(method: string, path: string): TierName | null {
  if (path === "/openapi.json") return "api";
  if (!path.startsWith("/api/")) return null;
  if (
    (method === "POST" && /^\/api\/auth\/(login|setup|refresh)$/.test(path)) ||
    (method === "PUT" && path === "/api/auth/me/password")
  ) return "auth";
  if (
    method === "POST" && (
      /^\/api\/(chat|reflect|generate|projects)$/.test(path) ||
      /^\/api\/threads\/[^/]+\/turns$/.test(path) ||
      /^\/api\/projects\/[^/]+\/input$/.test(path) ||
      /^\/api\/tools\/[^/]+\/runs$/.test(path)
    )
  ) return "chat";
  return "api";
}
