import { Hono } from "hono";
import type { Logger } from "../telemetry/logger.ts";
import { handleError, handleNotFound } from "./errors.ts";
import { authGate, type AuthGateOptions } from "./auth.ts";
import { requestId } from "./request_id.ts";
import type { AppEnv } from "./types.ts";

/** Options for {@link createApp}. */
export interface CreateAppOptions {
  log: Logger;
  /** Authentication; omitted, every request is the local administrator. */
  auth?: AuthGateOptions;
}

/**
 * Builds the Hono app with the kernel's middleware and error mapping. It
 * never listens; `src/http/serve.ts` does.
 */
export function createApp(options: CreateAppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId({ log: options.log }));
  app.use(authGate(options.auth ?? { enabled: false, service: () => null }));
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
