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
