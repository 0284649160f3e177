import { AppError } from "../errors.ts";

/** HTTP statuses of the codes that direct calls map (spec/tools.md §10); other codes are run outcomes. */
const STATUS: Record<string, number> = {
  TOOLS_UNKNOWN: 404,
  TOOLS_DISABLED: 409,
  TOOLS_ARGS_INVALID: 400,
  TOOLS_BUSY: 503,
};

/**
 * A tool's coded failure (`TOOLS_…`): the run's `error_code` and the
 * `ToolResult` the model sees. Messages name paths as the caller gave them,
 * never a host path.
 */
export class ToolError extends AppError {
  /** Creates the error; `message` is shown to the model and the user. */
  constructor(code: string, message: string, options: { field?: string; details?: unknown } = {}) {
    super(code, message, { status: STATUS[code] ?? 422, ...options });
    this.name = "ToolError";
  }
}

/**
 * Codes only the host decides: validation, approvals, the gate, and how a
 * sandbox process ended. Sandboxed code (a worker, a third-party plugin)
 * that reports one of them gets a generic failure instead, so a run's
 * record never says "cancelled" or "out of memory" because the code said so.
 */
export const HOST_ONLY_CODES: ReadonlySet<string> = new Set([
  "TOOLS_ARGS_INVALID",
  "TOOLS_BUSY",
  "TOOLS_CANCELLED",
  "TOOLS_DENIED",
  "TOOLS_DISABLED",
  "TOOLS_INTERRUPTED",
  "TOOLS_SANDBOX_CRASHED",
  "TOOLS_SANDBOX_OOM",
  "TOOLS_SANDBOX_PROTOCOL",
  "TOOLS_SANDBOX_UNSUPPORTED",
  "TOOLS_APPROVAL_REQUIRED",
  "TOOLS_UNKNOWN",
  "PLUGIN_CRASHED",
  "PLUGIN_DISABLED",
  "PLUGIN_PROTOCOL_VIOLATION",
  "PLUGIN_UNAVAILABLE",
]);

/**
 * The code sandboxed code reported, when it may stand: `TOOLS_…` or
 * `PLUGIN_…`, not one of {@link HOST_ONLY_CODES}, and in `accepted` when
 * that list is given. Null otherwise (the caller reports a generic failure).
 */
export function reportedCode(code: unknown, accepted?: readonly string[]): string | null {
  if (typeof code !== "string" || !/^(TOOLS|PLUGIN)_[A-Z0-9_]+$/.test(code)) return null;
  if (HOST_ONLY_CODES.has(code)) return null;
  if (accepted && !accepted.includes(code)) return null;
  return code;
}
