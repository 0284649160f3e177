import type { WorkerContext } from "@synth/kernel";

/** What the host sends (see `mod.ts`). */
interface ShellWorkerArgs {
  command: string;
  binary: string;
  args: string[];
  paths: string[];
  searchPath: string;
}

/** What `shell_run` returns (spec/tools.md §2). */
interface ShellResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
}

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

/** Checks again, inside the sandbox, that no component of a path is a symbolic link. */
async function refuseLinks(workspace: string, path: string): Promise<void> {
  let current = workspace;
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    current = `${current}/${part}`;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(current);
    } catch (error) {
      // The message would hold the host path: name the path as given instead.
      const name = error instanceof Error ? error.name : "Error";
      throw error instanceof Deno.errors.NotFound
        ? coded(
          "TOOLS_FILE_NOT_FOUND",
          `No file or folder ${JSON.stringify(path)} in the workspace`,
        )
        : coded("TOOLS_FAILED", `The path ${JSON.stringify(path)} could not be checked (${name})`);
    }
    if (info.isSymlink) {
      throw coded(
        "TOOLS_SYMLINK_REFUSED",
        `The path ${JSON.stringify(path)} goes through a symbolic link, which tools do not follow`,
      );
    }
  }
}

/** Reads a stream to its end, keeping the first `cap` bytes (draining the rest). */
async function collect(
  stream: ReadableStream<Uint8Array>,
  cap: number,
): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const kept = new Uint8Array(cap);
  let length = 0;
  let cut = false;
  for await (const chunk of stream) {
    const room = cap - length;
    if (chunk.length > room) cut = true;
    if (room > 0) {
      kept.set(chunk.subarray(0, room), length);
      length += Math.min(room, chunk.length);
    }
  }
  return { bytes: kept.subarray(0, length), cut };
}

/**
 * Decodes (invalid UTF-8 becomes U+FFFD), shows the workspace as `.`, and
 * cuts at `limit` characters. When the bytes were cut, an unfinished copy
 * of the workspace path at the end is dropped too.
 */
function present(
  output: { bytes: Uint8Array; cut: boolean },
  workspace: string,
  limit: number,
): { text: string; truncated: boolean } {
  let text = new TextDecoder("utf-8", { fatal: false }).decode(output.bytes)
    .split(workspace).join(".");
  if (output.cut) {
    for (let length = Math.min(workspace.length - 1, text.length); length > 0; length--) {
      if (text.endsWith(workspace.slice(0, length))) {
        text = text.slice(0, text.length - length);
        break;
      }
    }
  }
  if (text.length <= limit) return { text, truncated: output.cut };
  let end = limit;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // no half of a surrogate pair
  return { text: text.slice(0, end), truncated: true };
}

/**
 * Runs the checked command: the binary by absolute path, in the workspace,
 * with a minimal environment and no standard input.
 */
export async function run(args: ShellWorkerArgs, ctx: WorkerContext): Promise<ShellResult> {
  const workspace = ctx.workspace;
  if (workspace === null) throw coded("TOOLS_FAILED", "shell_run needs a workspace");
  for (const path of args.paths) await refuseLinks(workspace, path);
  const limit = ctx.limits.maxOutputChars;
  const child = new Deno.Command(args.binary, {
    args: args.args,
    cwd: workspace,
    clearEnv: true,
    env: { LC_ALL: "C.UTF-8", TZ: "UTC", PATH: args.searchPath },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Ending the program ourselves shortly before the sandbox is killed leaves
  // no orphan behind.
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, Math.max(100, ctx.deadlineMs - 1_500));
  // Four bytes per character at most, and room for a workspace path to shrink to ".".
  const cap = limit * 4 + workspace.length + 4;
  const [stdout, stderr, status] = await Promise.all([
    collect(child.stdout, cap),
    collect(child.stderr, cap),
    child.status,
  ]).finally(() => clearTimeout(timer));
  if (timedOut) {
    const name = args.binary.slice(args.binary.lastIndexOf("/") + 1);
    throw coded("TOOLS_TIMEOUT", `${name} did not finish in time and was stopped`);
  }
  const out = present(stdout, workspace, limit);
  const err = present(stderr, workspace, limit);
  return {
    command: args.command,
    exitCode: status.code,
    stdout: out.text,
    stderr: err.text,
    truncated: out.truncated || err.truncated,
  };
}
