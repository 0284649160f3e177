/**
 * The error codes `shell_run` adds (spec/tools.md §6); path failures use the
 * kernel's `TOOLS_PATH_*`, `TOOLS_SYMLINK_REFUSED` and
 * `TOOLS_FILE_NOT_FOUND`. The worker throws `TOOLS_SYMLINK_REFUSED` and
 * `TOOLS_TIMEOUT` by their literal names (it may not import values).
 *
 * @module
 */

/** Codes of `shell_run`'s refusals. */
export const SHELL_ERRORS = {
  /** Bad quoting, an empty command, or more than 32 words. */
  SYNTAX: "TOOLS_SHELL_SYNTAX",
  /** The first word is not a binary of the table. */
  UNKNOWN_BINARY: "TOOLS_SHELL_UNKNOWN_BINARY",
  /** A binary of the table is not found along `tools.shell.searchPath`. */
  BINARY_NOT_FOUND: "TOOLS_SHELL_BINARY_NOT_FOUND",
  /** An option, or an option's value, the binary's allow-list does not hold. */
  OPTION_NOT_ALLOWED: "TOOLS_SHELL_OPTION_NOT_ALLOWED",
  /** Too many or too few operands, or one of the wrong kind. */
  OPERAND_NOT_ALLOWED: "TOOLS_SHELL_OPERAND_NOT_ALLOWED",
} as const;
