/** Options for {@link AppError}. */
export interface AppErrorOptions {
  /** HTTP status the error maps to. @default 500 */
  status?: number;
  /** Dotted path of the input that was wrong, if any. */
  field?: string;
  /** Structured details safe to show to the caller. */
  details?: unknown;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A domain failure with a stable code, e.g. `MEMORY_NOT_FOUND`. The HTTP
 * layer turns it into the uniform error body; its message is shown to
 * callers, so it must not contain secrets, SQL or paths.
 *
 * @example Throw a coded error from a route
 * ```ts
 * import { AppError } from "./errors.ts";
 * const error = new AppError("HELLO_NAME_TOO_LONG", "The name is longer than 40 characters", {
 *   status: 400,
 *   field: "name",
 * });
 * if (error.status !== 400) throw new Error("unexpected status");
 * ```
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly field: string | undefined;
  readonly details: unknown;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = options.status ?? 500;
    this.field = options.field;
    this.details = options.details;
  }
}

/** Returns the message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
