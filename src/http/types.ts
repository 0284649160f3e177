import type { Logger } from "../telemetry/logger.ts";

/** Variables every request carries through the middleware chain. */
export interface AppVariables {
  /** The request id, echoed as `X-Request-Id`. */
  requestId: string;
  /** A logger whose records carry the request id. */
  log: Logger;
}

/** The Hono environment of the app and of every plugin's sub-app. */
export interface AppEnv {
  /** Set by the kernel's middleware on every request. */
  Variables: AppVariables;
}
