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

/** Options for {@link errorResponse}. */
export interface ErrorResponseOptions {
  field?: string | undefined;
  details?: unknown;
  headers?: Record<string, string>;
}

/** Answers with the uniform error body. */
export function errorResponse(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  options: ErrorResponseOptions = {},
): Response {
  const body: ErrorBody = {
    success: false,
    error: { code, message, request_id: c.get("requestId") ?? "" },
  };
  if (options.field !== undefined) body.error.field = options.field;
  if (options.details !== undefined) body.error.details = options.details;
  return c.json(body, status, options.headers);
}

/**
 * Maps thrown errors to responses: an {@link AppError} keeps its status,
 * code and message; anything else is logged with its stack and answered
 * 500 `INTERNAL` without the exception text.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof AppError && error.status < 500) {
    return errorResponse(c, error.status as ContentfulStatusCode, error.code, error.message, {
      field: error.field,
      details: error.details,
    });
  }
  c.get("log")?.error("request failed", { error, path: c.req.path, method: c.req.method });
  if (error instanceof AppError) {
    return errorResponse(c, error.status as ContentfulStatusCode, error.code, error.message);
  }
  return errorResponse(c, 500, "INTERNAL", "The server failed to handle the request");
}

/** Unknown paths: 404 `NOT_FOUND`. */
export function handleNotFound(c: Context<AppEnv>): Response {
  return errorResponse(c, 404, "NOT_FOUND", "No route matches this path");
}
