/**
 * The sandboxed half of `file_list`. It runs in a blob Worker granted read
 * of the workspace only, so it is self-contained (type imports only). It
 * checks the path again — every existing component with `lstat`, any
 * symlink refused (permission checks follow links, spec/tools.md §3.1
 * fact 2) — then lists breadth-first, each folder sorted by name, never
 * following a link and never entering `.git`.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

interface Args {
  path: string;
  given: string;
  recursive: boolean;
  maxEntries: number;
}

interface Item {
  name: string;
  path: string;
  type: "file" | "dir" | "symlink";
  size: number;
  modifiedAt: string | null;
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

/** Lists a folder of the workspace. */
export async function run(
  args: Args,
  ctx: WorkerContext,
): Promise<{ path: string; items: Item[]; count: number; truncated: boolean }> {
  const shown = JSON.stringify(args.given);
  const base = ctx.workspace ?? ".";
  const parts = pathParts(args.path, shown);
  const info = await checkComponents(base, parts, shown);
  if (info === null) fail("TOOLS_FILE_NOT_FOUND", `No file or folder ${shown} in the workspace`);
  if (!info.isDirectory) {
    fail(
      "TOOLS_PATH_INVALID",
      `The path ${shown} is a file, not a folder; use file_read to read it`,
    );
  }
  const items: Item[] = [];
  let truncated = false;
  // Workspace-relative folders still to list ("" is the workspace itself).
  const queue = [parts.join("/")];
  outer: while (queue.length > 0) {
    const folder = queue.shift()!;
    // A queued folder is checked again just before it is read: readDir follows links.
    if (folder !== parts.join("/") && (await Deno.lstat(`${base}/${folder}`)).isSymlink) continue;
    const names: string[] = [];
    for await (const entry of Deno.readDir(folder ? `${base}/${folder}` : base)) {
      if (entry.name !== ".git") names.push(entry.name);
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const path = folder ? `${folder}/${name}` : name;
      let entry: Deno.FileInfo;
      try {
        entry = await Deno.lstat(`${base}/${path}`);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // removed while listing
        throw error;
      }
      if (items.length === args.maxEntries) {
        truncated = true;
        break outer;
      }
      const type = entry.isSymlink ? "symlink" : entry.isDirectory ? "dir" : "file";
      items.push({
        name,
        path,
        type,
        size: type === "file" ? entry.size : 0,
        modifiedAt: entry.mtime ? entry.mtime.toISOString() : null,
      });
      if (args.recursive && type === "dir") queue.push(path);
    }
  }
  return { path: parts.length > 0 ? parts.join("/") : ".", items, count: items.length, truncated };
}
