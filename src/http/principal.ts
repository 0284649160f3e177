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

/** Sets {@link LOCAL_PRINCIPAL} on every request. */
export function localPrincipal(): MiddlewareHandler<AppEnv> {
  return async function localPrincipalMiddleware(c, next) {
    c.set("principal", LOCAL_PRINCIPAL);
    await next();
  };
}
