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
 * @throws {DataDirError} When the permission set does not cover it or it
 * cannot be created.
 */
export async function prepareDataDir(path: string, log: Logger): Promise<void> {
  const { state } = await Deno.permissions.query({ name: "write", path });
  if (state !== "granted") {
    throw new DataDirError(
      `Cannot use data directory "${path}": the server's permission set does not allow writing there. ` +
        `The start task grants only ./data; set SYNTH_DATA_DIR inside it, or run with --allow-read and --allow-write for that path`,
    );
  }
  try {
    await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new DataDirError(`Cannot create data directory "${path}": ${String(error)}`, {
      cause: error,
    });
  }
  const info = await Deno.stat(path);
  if (!info.isDirectory) {
    throw new DataDirError(`Cannot use data directory "${path}": it exists and is not a directory`);
  }
  if (info.mode !== null && (info.mode & 0o007) !== 0) {
    log.warn("the data directory is readable by other users; run chmod 700 on it", {
      data_dir: path,
      mode: (info.mode & 0o777).toString(8),
    });
  }
}
