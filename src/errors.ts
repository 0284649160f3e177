/** Options for {@link AppError}. */
export interface AppErrorOptions {
  /** HTTP status the error maps to. @default 500 */
  status?: number | undefined;
  /** Dotted path of the input that was wrong, if any. */
  field?: string | undefined;
  /** Structured details safe to show to the caller. */
  details?: unknown;
  /** The underlying error. */
  cause?: unknown;
  /**
   * Whether `message` may be shown to HTTP callers. Errors wrapping
   * arbitrary exception text set it to false and are answered `INTERNAL`.
   * @default true
   */
  expose?: boolean | undefined;
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
  /** Stable CONSTANT_CASE code, e.g. `MEMORY_NOT_FOUND`. */
  readonly code: string;
  /** HTTP status the error maps to. */
  readonly status: number;
  /** Dotted path of the wrong input, if any. */
  readonly field: string | undefined;
  /** Structured details safe to show to the caller. */
  readonly details: unknown;
  /** Whether the message may be shown to HTTP callers. */
  readonly expose: boolean;

  /** Creates the error; `message` must be safe to show unless `expose` is false. */
  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = options.status ?? 500;
    this.field = options.field;
    this.details = options.details;
    this.expose = options.expose ?? true;
  }
}

/**
 * Whether a thrown value refuses the request for a reason its caller can act on (a 4xx whose
 * message may be shown: bad input, nothing to rate, too many waiting), rather than a fault.
 */
export function isRefusal(error: unknown): error is AppError {
  return error instanceof AppError && error.expose && error.status >= 400 && error.status < 500;
}

/** Returns the message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Start-up is refused because of how the server is configured (or what the
 * data directory holds); `serve` exits 78 with this message. Plugins throw
 * it from `setup` for conditions the operator must fix.
 */
export class ConfigurationError extends AppError {
  /** Creates the error; `message` says what is wrong and what to do. */
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { status: 500, cause: options.cause, expose: false });
    this.name = "ConfigurationError";
  }
}
