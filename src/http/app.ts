import { Hono } from "hono";
import type { Logger } from "../telemetry/logger.ts";
import { handleError, handleNotFound } from "./errors.ts";
import { localPrincipal } from "./principal.ts";
import { requestId } from "./request_id.ts";
import type { AppEnv } from "./types.ts";

/** Options for {@link createApp}. */
export interface CreateAppOptions {
  log: Logger;
}

/**
 * Builds the Hono app with the kernel's middleware and error mapping. It
 * never listens; `src/http/serve.ts` does.
 */
export function createApp(options: CreateAppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId({ log: options.log }));
  app.use(localPrincipal());
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
