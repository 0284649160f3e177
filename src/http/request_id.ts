import type { MiddlewareHandler } from "hono";
import type { Logger } from "../telemetry/logger.ts";
import type { AppEnv } from "./types.ts";

const REQUEST_ID_REGEXP = /^[A-Za-z0-9._-]{1,64}$/;

/** Options for {@link requestId}. */
export interface RequestIdOptions {
  log: Logger;
  /** Makes a new id. @default crypto.randomUUID */
  generate?: () => string;
}

/**
 * Keeps a valid inbound `X-Request-Id` (≤ 64 of `[A-Za-z0-9._-]`), else
 * makes one; stores it and a request-scoped logger on the context and
 * echoes it in the response.
 */
export function requestId(options: RequestIdOptions): MiddlewareHandler<AppEnv> {
  const generate = options.generate ?? (() => crypto.randomUUID());
  return async function requestIdMiddleware(c, next) {
    const inbound = c.req.header("x-request-id");
    const id = inbound && REQUEST_ID_REGEXP.test(inbound) ? inbound : generate();
    c.set("requestId", id);
    c.set("log", options.log.child("http", { request_id: id }));
    c.header("X-Request-Id", id);
    await next();
    // Responses built by hand (not through c.json) miss the header set above.
    if (!c.res.headers.has("X-Request-Id")) c.res.headers.set("X-Request-Id", id);
  };
}
