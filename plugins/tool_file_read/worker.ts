/**
 * The sandboxed half of `file_read`. It runs in a blob Worker granted read
 * of the workspace only, so it is self-contained (type imports only). It
 * checks the path again — every existing component with `lstat`, any
 * symlink refused (permission checks follow links, spec/tools.md §3.1
 * fact 2) — then reads at most 1,000,000 bytes and refuses binary content.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

const MAX_FILE_BYTES = 1_000_000;
/** Binary detection looks for a NUL byte in this many leading bytes. */
const SNIFF_BYTES = 8 * 1024;

interface Args {
  path: string;
  given: string;
  offset: number;
  maxChars: number;
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

/** Reads at most `limit + 1` bytes, so a file that grew after `lstat` is still caught. */
async function readBounded(path: string, limit: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(limit + 1);
  let length = 0;
  while (length < buffer.length) {
    const read = await file.read(buffer.subarray(length));
    if (read === null) break;
    length += read;
  }
  return buffer.subarray(0, length);
}

/** Reads one page of a text file of the workspace. */
export async function run(
  args: Args,
  ctx: WorkerContext,
): Promise<{
  path: string;
  content: string;
  size: number;
  truncated: boolean;
  nextOffset: number | null;
}> {
  const shown = JSON.stringify(args.given);
  const base = ctx.workspace ?? ".";
  const parts = pathParts(args.path, shown);
  const info = await checkComponents(base, parts, shown);
  if (info === null) fail("TOOLS_FILE_NOT_FOUND", `No file or folder ${shown} in the workspace`);
  if (info.isDirectory) {
    fail(
      "TOOLS_PATH_INVALID",
      `The path ${shown} is a folder, not a file; use file_list to see what it holds`,
    );
  }
  if (!info.isFile) fail("TOOLS_PATH_INVALID", `The path ${shown} is not a regular file`);
  const tooLarge = (size: number) =>
    fail(
      "TOOLS_FILE_TOO_LARGE",
      `The file ${shown} has ${size} bytes; file_read reads files of at most ${MAX_FILE_BYTES} bytes`,
    );
  if (info.size > MAX_FILE_BYTES) tooLarge(info.size);
  const bytes = await readBounded(`${base}/${parts.join("/")}`, MAX_FILE_BYTES);
  if (bytes.length > MAX_FILE_BYTES) tooLarge(bytes.length);
  if (bytes.subarray(0, SNIFF_BYTES).includes(0)) {
    fail(
      "TOOLS_FILE_BINARY",
      `The file ${shown} is binary (it holds NUL bytes); file_read reads text`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    fail("TOOLS_FILE_BINARY", `The file ${shown} is not valid UTF-8 text; file_read reads text`);
  }
  const start = Math.min(args.offset, text.length);
  let end = Math.min(text.length, start + args.maxChars);
  // Never split a surrogate pair across pages.
  const last = text.charCodeAt(end - 1);
  if (end < text.length && end - 1 > start && last >= 0xd800 && last <= 0xdbff) end--;
  const more = end < text.length;
  return {
    path: parts.length > 0 ? parts.join("/") : ".",
    content: text.slice(start, end),
    size: bytes.length,
    truncated: more,
    nextOffset: more ? end : null,
  };
}
