import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../errors.ts";
import type { AppEnv } from "./types.ts";

/** The body of every HTTP error (`spec/server.md` §2). */
export interface ErrorBody {
  success: false;
  error: {
    code: string;
    message: string;
    field?: string;
    details?: unknown;
    request_id: string;
  };
}

/** What {@link errorResponse} answers with. */
export interface ErrorResponseOptions {
  status: ContentfulStatusCode;
  code: string;
  /** A fixed sentence per code; never exception text, SQL or paths. */
  message: string;
  field?: string | undefined;
  details?: unknown;
  headers?: Record<string, string>;
}

/** Answers with the uniform error body. */
export function errorResponse(c: Context<AppEnv>, options: ErrorResponseOptions): Response {
  const body: ErrorBody = {
    success: false,
    error: { code: options.code, message: options.message, request_id: c.get("requestId") ?? "" },
  };
  if (options.field !== undefined) body.error.field = options.field;
  if (options.details !== undefined) body.error.details = options.details;
  return c.json(body, options.status, options.headers);
}

/**
 * Maps thrown errors to responses. An {@link AppError} whose message may be
 * shown keeps its status, code and message; anything else is logged with
 * its stack under the request id and answered 500 `INTERNAL` without the
 * exception text. Every 5xx is logged (502–504 as warnings without a
 * stack: an unavailable upstream is a condition, not a bug); a
 * `retry_after_seconds` detail becomes a `Retry-After` header.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  const shown = error instanceof AppError && error.expose;
  // An upstream that is down or slow (502–504) is a condition, not a bug: no stack.
  const upstream = shown && error.status >= 502 && error.status <= 504;
  if (upstream) {
    const timedOut = error.code === "TIMEOUT" || error.code === "TURN_TIMEOUT";
    c.get("log")?.warn(timedOut ? "request timed out" : "request failed upstream", {
      code: error.code,
      reason: error.message,
      status: error.status,
      path: c.req.path,
      method: c.req.method,
    });
  } else if (!shown || error.status >= 500) {
    c.get("log")?.error("request failed", { error, path: c.req.path, method: c.req.method });
  }
  if (shown) {
    const retryAfter = (error.details as { retry_after_seconds?: unknown } | undefined)
      ?.retry_after_seconds;
    return errorResponse(c, {
      status: error.status as ContentfulStatusCode,
      code: error.code,
      message: error.message,
      field: error.field,
      details: error.details,
      ...(typeof retryAfter === "number"
        ? { headers: { "retry-after": String(Math.ceil(retryAfter)) } }
        : {}),
    });
  }
  return errorResponse(c, {
    status: 500,
    code: "INTERNAL",
    message: "The server failed to handle the request",
  });
}

/** Unknown paths: 404 `NOT_FOUND`. */
export function handleNotFound(c: Context<AppEnv>): Response {
  return errorResponse(c, {
    status: 404,
    code: "NOT_FOUND",
    message: "No route matches this path",
  });
}

/** A known path asked with another method: 405 `METHOD_NOT_ALLOWED` with `Allow` (server.md §2). */
export function handleMethodNotAllowed(c: Context<AppEnv>, allowed: readonly string[]): Response {
  return errorResponse(c, {
    status: 405,
    code: "METHOD_NOT_ALLOWED",
    message: "This path does not accept this method",
    details: { allowed },
    headers: { allow: allowed.join(", ") },
  });
}
