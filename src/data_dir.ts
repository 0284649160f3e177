import { join } from "node:path";
import denoConfig from "../deno.json" with { type: "json" };
import type { Logger } from "./telemetry/logger.ts";

/**
 * What `--allow-read` must list for permission set `set` to read `path` too: the flag replaces
 * the set's read list (`/usr/bin` and `/bin` among it, where `shell_run` finds its binaries), so
 * the list is repeated.
 */
export function readListWith(set: string, path: string): string {
  const sets = denoConfig.permissions as Record<string, { read?: unknown }>;
  const read = sets[set]?.read;
  return [...(Array.isArray(read) ? read.map(String) : ["."]), path].join(",");
}

/** The data directory could not be prepared; the message says why and what to do. */
/** `<dataDir>/secrets/jwt.key`: the JWT signing secret made at first start (ops.md §6). */
export function jwtSecretFile(dataDir: string): string {
  return join(dataDir, "secrets", "jwt.key");
}

export class DataDirError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataDirError";
  }
}

/** The CLI command that uses the data directory, and the permission set its task runs under. */
export interface DataDirUse {
  /** What follows `src/main.ts`, e.g. `serve` or `migrate status`. */
  command: string;
  /** @default "server" */
  permissionSet?: string;
}

/**
 * Why the permission set keeps the process from reading and writing `path`, with the command
 * that runs `use` on it; null when it may. Checked before any file in it is touched, so that a
 * directory outside `./data` gets this message rather than a stack trace.
 */
export async function dataDirPermissionProblem(
  path: string,
  use: DataDirUse = { command: "serve" },
): Promise<string | null> {
  for (const name of ["read", "write"] as const) {
    if ((await Deno.permissions.query({ name, path })).state === "granted") continue;
    const set = use.permissionSet ?? "server";
    const named = set === "server" ? "the server's permission set" : `the "${set}" permission set`;
    return `Cannot use data directory "${path}": ${named} allows writing only inside ./data. ` +
      `Choose a directory inside ./data with ${
        use.command === "serve" ? "--data-dir or " : ""
      }SYNTH_DATA_DIR, or run ` +
      `"SYNTH_DATA_DIR=${path} deno run -P=${set} --no-prompt --allow-read=${
        readListWith(set, path)
      } --allow-write=${path} src/main.ts ${use.command}"`;
  }
  return null;
}

/**
 * Creates the data directory (mode 0700) if needed and checks the process
 * may write there. Warns when other users can read it.
 *
 * @throws {DataDirError} When the permission set does not cover it, it is
 * not a directory, or it cannot be created.
 */
export async function prepareDataDir(
  path: string,
  log: Logger,
  use?: DataDirUse,
): Promise<void> {
  const problem = await dataDirPermissionProblem(path, use);
  if (problem) throw new DataDirError(problem);
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new DataDirError(`Cannot use data directory "${path}": ${String(error)}`, {
        cause: error,
      });
    }
  }
  if (info && !info.isDirectory) {
    throw new DataDirError(`Cannot use data directory "${path}": it exists and is not a directory`);
  }
  if (!info) {
    try {
      await Deno.mkdir(path, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new DataDirError(`Cannot create data directory "${path}": ${String(error)}`, {
        cause: error,
      });
    }
    info = await Deno.stat(path);
  }
  // Permissions may allow it and the file system still refuse (a read-only mount, another
  // owner): found here, it is one line, not a stack trace from the lock or the database.
  const probe = `${path}/.synth-write-check`;
  try {
    await Deno.writeTextFile(probe, "");
    // Another process probing at the same moment may have removed it first.
    await Deno.remove(probe).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  } catch (error) {
    throw new DataDirError(
      `Cannot use data directory "${path}": it cannot be written (${
        error instanceof Error ? error.message : String(error)
      }). The server keeps its database, lock and files there: make it writable, or choose another with --data-dir or SYNTH_DATA_DIR.`,
      { cause: error },
    );
  }
  if (info.mode !== null && (info.mode & 0o007) !== 0) {
    log.warn("the data directory is readable by other users; run chmod 700 on it", {
      data_dir: path,
      mode: (info.mode & 0o777).toString(8),
    });
  }
}
