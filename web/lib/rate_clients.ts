/**
 * The clients a rate limit holds back now (spec/dashboard.md §5.7), read
 * from access-log lines marked `blocked: "rate_limit"`: the server's stats
 * count limited clients but do not name them. Each refusal is put in the
 * tier and under the key the server counts it by (server.md §6), and a
 * client is limited until the window of its last refusal ends, which is
 * also when the server's stats stop counting it. Pure.
 *
 * @module
 */
import { parseCidr } from "./cidr.ts";

/** The part of an access-log line this reads. */
export interface RefusalLine {
  ts: string;
  method: string;
  path: string;
  user_id: string | null;
  client_ip: string;
  blocked?: string;
}

/** A client limited now. */
export interface LimitedClient {
  /** The counter key: `u:<user id>` or `ip:<address>` (IPv6 by its /64's network address). */
  key: string;
  tier: string;
  refusals: number;
  /** The last refusal (epoch ms). */
  last: number;
  lastPath: string;
  /** When the window of the last refusal ends (epoch ms). */
  windowEnd: number;
}

/** The tier a request counts in (mirrors the server's `tierOf`). */
export function tierOf(method: string, path: string): string {
  if (path === "/ws") return "ws_connect";
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

/** The counter key of a request in `tier` (mirrors the server's `rateKey`). */
export function rateKeyOf(line: RefusalLine, tier: string): string {
  if (tier !== "auth" && tier !== "ws_connect" && line.user_id) return `u:${line.user_id}`;
  if (line.client_ip.includes(":")) {
    // IPv6 clients share one counter per /64.
    const parsed = parseCidr(`${line.client_ip}/64`);
    const network = parsed.ok ? parsed.range.text : parsed.canonical;
    // The network address alone, as the server keys it (a key stands in a path; no "/").
    if (network) return `ip:${network.replace(/\/64$/, "")}`;
  }
  return `ip:${line.client_ip}`;
}

/**
 * The clients whose last refusal falls in a window that has not ended at
 * `now`, latest first. Windows are aligned to the epoch, as the server's.
 */
export function limitedClients(
  lines: readonly RefusalLine[],
  windows: Readonly<Record<string, { window_seconds: number }>>,
  now: number,
): LimitedClient[] {
  const byKey = new Map<string, LimitedClient>();
  for (const line of lines) {
    if (line.blocked !== "rate_limit") continue;
    const at = Date.parse(line.ts);
    if (!Number.isFinite(at)) continue;
    const tier = tierOf(line.method, line.path);
    const windowMs = (windows[tier]?.window_seconds ?? 60) * 1_000;
    const windowEnd = (Math.floor(at / windowMs) + 1) * windowMs;
    if (windowEnd <= now) continue;
    const key = rateKeyOf(line, tier);
    const id = `${tier}|${key}`;
    const seen = byKey.get(id);
    if (!seen) {
      byKey.set(id, { key, tier, refusals: 1, last: at, lastPath: line.path, windowEnd });
      continue;
    }
    seen.refusals++;
    if (at > seen.last) {
      seen.last = at;
      seen.lastPath = line.path;
      seen.windowEnd = windowEnd;
    }
  }
  return [...byKey.values()].sort((a, b) => b.last - a.last);
}
