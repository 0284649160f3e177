import type { Logger } from "./telemetry/logger.ts";

/** The data directory could not be prepared; the message says why and what to do. */
export class DataDirError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataDirError";
  }
}

/**
 * Creates the data directory (mode 0700) if needed and checks the process
 * may write there. Warns when other users can read it.
 *
 * @throws {DataDirError} When the permission set does not cover it, it is
 * not a directory, or it cannot be created.
 */
export async function prepareDataDir(path: string, log: Logger): Promise<void> {
  const { state } = await Deno.permissions.query({ name: "write", path });
  if (state !== "granted") {
    throw new DataDirError(
      `Cannot use data directory "${path}": the server's permission set allows writing only inside ./data. ` +
        `Choose a directory inside ./data with --data-dir or SYNTH_DATA_DIR, or run ` +
        `"deno run -P=server --no-prompt --allow-read=.,${path} --allow-write=${path} src/main.ts serve --data-dir ${path}"`,
    );
  }
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
  if (info.mode !== null && (info.mode & 0o007) !== 0) {
    log.warn("the data directory is readable by other users; run chmod 700 on it", {
      data_dir: path,
      mode: (info.mode & 0o777).toString(8),
    });
  }
}
