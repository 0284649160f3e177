import type { Logger } from "../telemetry/logger.ts";

/** A role, lowest first. */
export type Role = "viewer" | "operator" | "admin";

/** Who a request acts as. */
export interface Principal {
  /** Owner id of their memories, threads and keys. */
  userId: string;
  role: Role;
  /** How they authenticated. */
  auth: "none" | "jwt" | "api_key" | "cookie";
  /** The user's name, when a user record stands behind the principal. */
  username?: string;
  /** Login session (refresh family) of a JWT; logout revokes it. */
  sid?: string;
  /** Id and expiry (epoch s) of the access token, for logout. */
  jti?: string;
  exp?: number;
  /** The API key's id, when authenticated by key. */
  keyId?: string;
}

/** Variables every request carries through the middleware chain. */
export interface AppVariables {
  /** Who the request acts as. */
  principal: Principal;
  /** The request id, echoed as `X-Request-Id`. */
  requestId: string;
  /** A logger whose records carry the request id. */
  log: Logger;
  /** The client's address (the peer, or what a trusted proxy says); `local` in-process. */
  clientIp: string;
  /** The socket peer's address; `local` in-process. */
  peerIp: string;
  /** A mutating `/api` request's JSON body, parsed once by the body guard. */
  jsonBody?: { value: unknown };
  /** Why a guard refused the request, for the access log. */
  blocked?: "firewall" | "rate_limit" | "host" | "lockout";
}

/** The Hono environment of the app and of every plugin's sub-app. */
export interface AppEnv {
  /** Set by the kernel's middleware on every request. */
  Variables: AppVariables;
}
