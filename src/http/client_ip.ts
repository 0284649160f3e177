/**
 * The client's address (spec/server.md §7): the socket peer, with
 * IPv4-mapped IPv6 normalised to IPv4. In-process requests (tests) have no
 * peer and are `local`.
 *
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "./types.ts";

/** `::ffff:1.2.3.4` → `1.2.3.4`; other addresses unchanged. */
export function normaliseIp(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

/** The socket peer's address, or `local` for a request without one. */
export function peerIp(c: Context<AppEnv>): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  const host = info?.remoteAddr?.hostname;
  return host ? normaliseIp(host) : "local";
}
