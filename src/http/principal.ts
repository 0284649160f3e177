import type { MiddlewareHandler } from "hono";
import type { AppEnv, Principal } from "./types.ts";

/**
 * The built-in local administrator every request acts as while users and
 * logins do not exist yet (the same principal `auth.enabled: false` gives).
 * The server binds to loopback by default and warns on any other address.
 */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({
  userId: "local",
  role: "admin",
  auth: "none",
});

/**
 * Sets {@link LOCAL_PRINCIPAL} on every request that has no principal yet
 * (a test host's `as()` sets one before the app runs).
 */
export function localPrincipal(): MiddlewareHandler<AppEnv> {
  return async function localPrincipalMiddleware(c, next) {
    if (!c.get("principal")) c.set("principal", LOCAL_PRINCIPAL);
    await next();
  };
}
