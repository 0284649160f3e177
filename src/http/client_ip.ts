/**
 * The client's address (spec/server.md §7): the socket peer, IPv4-mapped
 * IPv6 normalised; only when the peer is a configured trusted proxy is its
 * forwarding header read. `X-Real-IP` is never read. In-process requests
 * (tests) have no peer and are `local`. This one value feeds the limits,
 * lockout, firewall and access log.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { type Cidr, clientIpFrom, normaliseIp } from "../security/ip.ts";
import type { AppEnv } from "./types.ts";

/** The socket peer's address, or `local` for a request without one. */
export function peerIp(c: Context<AppEnv>): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  const host = info?.remoteAddr?.hostname;
  return host ? normaliseIp(host) : "local";
}

/** Sets `peerIp` and `clientIp` on every request. */
export function clientAddress(options: {
  trusted: readonly Cidr[];
  header: "x-forwarded-for" | "forwarded";
}): MiddlewareHandler<AppEnv> {
  return async function clientAddressMiddleware(c, next) {
    const peer = peerIp(c);
    c.set("peerIp", peer);
    c.set(
      "clientIp",
      peer === "local" ? peer : clientIpFrom(peer, c.req.raw.headers, options),
    );
    await next();
  };
}
