/**
 * Host-side lookups of `shell_run`: a binary's absolute path along
 * `tools.shell.searchPath`, and symbolic links inside folder operands.
 *
 * @module
 */
import { findExecutable, ToolError } from "@synth/kernel";
import { join } from "node:path";
import { SHELL_ERRORS } from "./errors.ts";

/**
 * The absolute path of `name` along `searchPath` (see `findExecutable`).
 *
 * @throws {ToolError} `TOOLS_SHELL_BINARY_NOT_FOUND` when no folder holds it.
 */
export async function resolveBinary(name: string, searchPath: string): Promise<string> {
  const path = await findExecutable(name, searchPath);
  if (path !== null) return path;
  throw new ToolError(
    SHELL_ERRORS.BINARY_NOT_FOUND,
    `The binary ${JSON.stringify(name)} is not installed: no executable file of that name in ${
      JSON.stringify(searchPath)
    } (tools.shell.searchPath)`,
  );
}

/** Entries a folder scan looks at before it gives up. */
export const MAX_SCAN_ENTRIES = 50_000;

/**
 * The first symbolic link inside `dir` (its own entries, or the whole tree
 * when `recursive`), as a path relative to `dir`, or null when there is none.
 * Links are never followed.
 *
 * @throws {ToolError} `TOOLS_SHELL_OPERAND_NOT_ALLOWED` when the tree holds
 * more than {@link MAX_SCAN_ENTRIES} entries.
 */
export async function findSymlinkInside(
  dir: string,
  options: { recursive: boolean; shown: string },
): Promise<string | null> {
  let seen = 0;
  const pending = [""];
  while (pending.length > 0) {
    const relative = pending.pop()!;
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(join(dir, relative)));
    } catch (error) {
      // The message would hold the host path: name the folder as given instead.
      throw new ToolError(
        "TOOLS_PATH_INVALID",
        `The folder ${options.shown} could not be checked for symbolic links (${
          error instanceof Error ? error.name : "Error"
        } at ${JSON.stringify(relative || ".")})`,
      );
    }
    for (const entry of entries) {
      if (++seen > MAX_SCAN_ENTRIES) {
        throw new ToolError(
          SHELL_ERRORS.OPERAND_NOT_ALLOWED,
          `The folder ${options.shown} holds more than ${MAX_SCAN_ENTRIES} entries, too many to check for symbolic links`,
        );
      }
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isSymlink) return path;
      if (entry.isDirectory && options.recursive) pending.push(path);
    }
  }
  return null;
}
