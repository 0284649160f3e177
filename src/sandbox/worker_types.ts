/**
 * The contract of a tool's sandboxed half (`plugins/tool_<name>/worker.ts`,
 * spec/tools.md §1–§3). The host sends the file's source to the sandbox
 * child, which runs it as a blob module in a Worker whose permissions are
 * the call's grants; so a worker module may only use `import type` (erased
 * before it runs) and must export:
 *
 * ```ts ignore
 * export async function run(args: Args, ctx: WorkerContext): Promise<unknown>;
 * ```
 *
 * Returned values must be JSON. A failure the user should see is thrown as
 * an error with a `code` property (`TOOLS_…`), e.g.
 * `throw Object.assign(new Error("Division by zero"), { code: "TOOLS_CALC_NOT_FINITE" })`;
 * any other throw is `TOOLS_FAILED` with its message.
 *
 * @module
 */

/** What a worker gets besides its arguments. */
export interface WorkerContext {
  /**
   * The call's workspace as an absolute real path (also the child's working
   * directory, so relative paths resolve inside it), or null for tools
   * without one.
   */
  workspace: string | null;
  /** Milliseconds the call may still take. */
  deadlineMs: number;
  /** Secrets of this call (a search API key); never logged or recorded. */
  secrets: Record<string, string>;
  /** Limits the host applies to the result. */
  limits: { maxOutputChars: number };
}
