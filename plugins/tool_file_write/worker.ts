/**
 * The sandboxed half of `file_write`. It runs in a blob Worker granted read
 * and write of the workspace only, so it is self-contained (type imports
 * only). It checks the path again — every existing component with `lstat`,
 * any symlink refused (permission checks follow links, spec/tools.md §3.1
 * fact 2) — then makes the missing parent folders and writes.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

interface Args {
  path: string;
  given: string;
  contentBase64: string;
  mode: "create" | "overwrite" | "append";
}

function fail(code: string, message: string): never {
  throw Object.assign(new Error(message), { code });
}

/** The path's parts, refusing anything that could leave the workspace or enter `.git`. */
function pathParts(path: string, shown: string): string[] {
  if (path.includes("\0")) fail("TOOLS_PATH_INVALID", `The path ${shown} contains a NUL character`);
  if (path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path)) {
    fail("TOOLS_PATH_OUTSIDE_WORKSPACE", `The path ${shown} is absolute`);
  }
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) {
    fail("TOOLS_PATH_OUTSIDE_WORKSPACE", `The path ${shown} leaves the workspace`);
  }
  // `.git` in any case, with trailing dots or spaces, or as `GIT~1` (see isGitName).
  if (parts.some((part) => /^(\.git|git~1)[. ]*$/i.test(part))) {
    fail("TOOLS_PATH_INVALID", `The path ${shown} is inside .git, which tools may not touch`);
  }
  return parts;
}

/** `lstat` of every component; the path's own info, or null when it does not exist. */
async function checkComponents(
  base: string,
  parts: string[],
  shown: string,
): Promise<Deno.FileInfo | null> {
  let info = await Deno.lstat(base);
  for (let index = 0; index < parts.length; index++) {
    try {
      info = await Deno.lstat(`${base}/${parts.slice(0, index + 1).join("/")}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      if (error instanceof Deno.errors.NotADirectory) {
        fail("TOOLS_PATH_INVALID", `The path ${shown} goes through a file as if it were a folder`);
      }
      throw error;
    }
    if (info.isSymlink) {
      fail(
        "TOOLS_SYMLINK_REFUSED",
        `The path ${shown} goes through a symbolic link, which tools do not follow`,
      );
    }
    if (index < parts.length - 1 && !info.isDirectory) {
      fail("TOOLS_PATH_INVALID", `The path ${shown} goes through a file as if it were a folder`);
    }
  }
  return info;
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** Writes one file of the workspace. */
export async function run(
  args: Args,
  ctx: WorkerContext,
): Promise<{ path: string; bytes: number; created: boolean }> {
  const shown = JSON.stringify(args.given);
  const base = ctx.workspace ?? ".";
  const parts = pathParts(args.path, shown);
  if (parts.length === 0) {
    fail(
      "TOOLS_PATH_INVALID",
      `The path ${shown} is the workspace folder itself; give a file path`,
    );
  }
  const info = await checkComponents(base, parts, shown);
  if (info?.isDirectory) fail("TOOLS_PATH_INVALID", `The path ${shown} is a folder, not a file`);
  if (info && !info.isFile) fail("TOOLS_PATH_INVALID", `The path ${shown} is not a regular file`);
  if (info && args.mode === "create") {
    fail(
      "TOOLS_FILE_EXISTS",
      `The file ${shown} already exists; use mode "overwrite" or "append" to change it`,
    );
  }
  const bytes = fromBase64(args.contentBase64);
  const file = `${base}/${parts.join("/")}`;
  if (info === null && parts.length > 1) {
    await Deno.mkdir(`${base}/${parts.slice(0, -1).join("/")}`, { recursive: true });
  }
  try {
    if (args.mode === "append") await Deno.writeFile(file, bytes, { append: true });
    else await Deno.writeFile(file, bytes, { createNew: args.mode === "create" });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      fail("TOOLS_FILE_EXISTS", `The file ${shown} already exists`);
    }
    throw error;
  }
  return { path: parts.join("/"), bytes: bytes.length, created: info === null };
}
