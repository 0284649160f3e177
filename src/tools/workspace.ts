/**
 * Tool workspaces and the path rules of spec/tools.md §5, checked by the
 * host before a sandbox starts (the file tools and `shell_run` check again
 * inside it; the child's permission flags are the last line). Errors name
 * the path as the caller gave it, never a host path.
 *
 * @module
 */
import { join, normalize, sep } from "node:path";
import { clipText } from "../text.ts";
import { ToolError } from "./errors.ts";

/** A path checked against a workspace. */
export interface WorkspacePath {
  /** As the caller gave it. */
  given: string;
  /** Normalised, relative to the workspace (`.` for the workspace itself). */
  relative: string;
  /** Absolute host path (only for the sandbox's grants and cwd; never shown). */
  absolute: string;
  /** Whether it exists (as a file, folder or anything but a symlink). */
  exists: boolean;
  /** `lstat` of the path when it exists. */
  info: Deno.FileInfo | null;
}

/** Longest path accepted. */
export const MAX_PATH_CHARS = 1_024;

/**
 * The user's workspace `<dataDir>/workspaces/<userId>/`, created on first
 * use; resolves with its real path (what grants use).
 */
export async function userWorkspace(dataDir: string, userId: string): Promise<string> {
  const dir = await userWorkspacePath(dataDir, userId);
  await Deno.mkdir(dir, { recursive: true });
  return await Deno.realPath(dir);
}

/** Where {@link userWorkspace} keeps a user's folder (not made here). */
export async function userWorkspacePath(dataDir: string, userId: string): Promise<string> {
  const safe = /^[A-Za-z0-9_-]{1,100}$/.test(userId)
    ? userId
    : `u_${await sha256Hex(userId).then((hex) => hex.slice(0, 24))}`;
  return join(dataDir, "workspaces", safe);
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether a path part names git's folder on any file system: `.git` in any
 * case (macOS and Windows fold case), with trailing dots or spaces (Windows
 * drops them), or Windows' short name `GIT~1`.
 */
export function isGitName(part: string): boolean {
  const name = part.toLowerCase().replace(/[. ]+$/, "");
  return name === ".git" || name === "git~1";
}

/**
 * Checks `given` against the workspace (its real path): relative, no NUL,
 * at most 1,024 characters, inside after normalising, not in `.git`, and no
 * existing component a symlink.
 *
 * @throws {ToolError} `TOOLS_PATH_INVALID`, `TOOLS_PATH_OUTSIDE_WORKSPACE`,
 * `TOOLS_SYMLINK_REFUSED`, or `TOOLS_FILE_NOT_FOUND` when `mustExist`.
 */
export async function resolveInWorkspace(
  workspace: string,
  given: string,
  options: { mustExist?: boolean } = {},
): Promise<WorkspacePath> {
  const shown = JSON.stringify(clipText(given, 81));
  if (given.length === 0) throw new ToolError("TOOLS_PATH_INVALID", "The path is empty");
  if (given.includes("\0")) {
    throw new ToolError("TOOLS_PATH_INVALID", `The path ${shown} contains a NUL character`);
  }
  if (given.length > MAX_PATH_CHARS) {
    throw new ToolError(
      "TOOLS_PATH_INVALID",
      `The path is longer than ${MAX_PATH_CHARS} characters`,
    );
  }
  if (given.startsWith("/") || given.startsWith("\\") || /^[A-Za-z]:/.test(given)) {
    throw new ToolError(
      "TOOLS_PATH_OUTSIDE_WORKSPACE",
      `The path ${shown} is absolute; give a path relative to the workspace`,
    );
  }
  const relative = normalize(given).replace(/\/+$/, "") || ".";
  if (relative === ".." || relative.startsWith(`..${sep}`)) {
    throw new ToolError("TOOLS_PATH_OUTSIDE_WORKSPACE", `The path ${shown} leaves the workspace`);
  }
  const parts = relative === "." ? [] : relative.split(sep);
  if (parts.some(isGitName)) {
    throw new ToolError(
      "TOOLS_PATH_INVALID",
      `The path ${shown} is inside .git, which tools may not touch`,
    );
  }
  let current = workspace;
  let info: Deno.FileInfo | null = await Deno.lstat(workspace);
  for (const part of parts) {
    current = join(current, part);
    try {
      info = await Deno.lstat(current);
    } catch (error) {
      if (error instanceof Deno.errors.NotADirectory) {
        throw new ToolError("TOOLS_PATH_INVALID", `The path ${shown} goes through a file`);
      }
      if (error instanceof Deno.errors.PermissionDenied) {
        throw new ToolError("TOOLS_PATH_INVALID", `The path ${shown} is not accessible`);
      }
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      info = null;
      break;
    }
    if (info.isSymlink) {
      throw new ToolError(
        "TOOLS_SYMLINK_REFUSED",
        `The path ${shown} goes through a symbolic link, which tools do not follow`,
      );
    }
  }
  const absolute = join(workspace, relative);
  if (info !== null) {
    const real = await Deno.realPath(absolute);
    if (real !== workspace && !real.startsWith(workspace + sep)) {
      throw new ToolError("TOOLS_PATH_OUTSIDE_WORKSPACE", `The path ${shown} leaves the workspace`);
    }
  }
  if (options.mustExist && info === null) {
    throw new ToolError("TOOLS_FILE_NOT_FOUND", `No file or folder ${shown} in the workspace`);
  }
  return { given, relative, absolute, exists: info !== null, info };
}

/** Bytes the files under `dir` hold (symlinks count as nothing and are not followed). */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isSymlink) continue;
    if (entry.isDirectory) total += await folderBytes(path);
    else if (entry.isFile) total += (await Deno.lstat(path)).size;
  }
  return total;
}

/** Replaces the workspace's host path with `.` (outputs never show host paths). */
export function hideWorkspace(text: string, workspace: string): string {
  return text.split(workspace).join(".");
}

/**
 * Keeps host paths out of what a caller sees (the file tools): a coded
 * error gets the workspace's path replaced by `.`; a file-system error
 * (which names the absolute path) becomes a coded one naming the path as
 * given. `access` words the permission refusal ("read", "write").
 */
export function withoutHostPaths(
  error: unknown,
  options: { workspace: string; given: string; tool: string; access: "read" | "write" },
): unknown {
  const { workspace, given, tool } = options;
  if (error instanceof ToolError) {
    return error.message.includes(workspace)
      ? new ToolError(error.code, hideWorkspace(error.message, workspace))
      : error;
  }
  const shown = JSON.stringify(given);
  if (error instanceof Deno.errors.NotADirectory) {
    return new ToolError(
      "TOOLS_PATH_INVALID",
      `The path ${shown} goes through a file as if it were a folder`,
    );
  }
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return new ToolError(
      "TOOLS_FAILED",
      `${tool} may not ${options.access} ${shown}: permission denied`,
    );
  }
  if (error instanceof Error && error.message.includes(workspace)) {
    return new ToolError(
      "TOOLS_FAILED",
      `${tool} failed: ${hideWorkspace(error.message, workspace)}`,
    );
  }
  return error;
}
