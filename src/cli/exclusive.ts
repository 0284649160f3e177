/**
 * For CLI commands that use the data directory: the permission check every
 * one runs first (`backup`, `migrate`, `cert`), and for those that change it
 * while no server runs (`migrate up`, `admin …`) the directory and its lock.
 *
 * @module
 */
import {
  DataDirError,
  dataDirPermissionProblem,
  type DataDirUse,
  prepareDataDir,
} from "../data_dir.ts";
import { DB_ERROR_CODES, DbError } from "../store/errors.ts";
import { acquireDataDirLock, type DataDirLock } from "../store/lock.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type CliIo, EXIT } from "./io.ts";

/**
 * 78 after saying why, when the permission set keeps `use.command` out of `dataDir` (with the way
 * to run it there); null when it may go on.
 */
export async function refuseDataDir(
  io: CliIo,
  dataDir: string,
  use: DataDirUse,
): Promise<number | null> {
  const problem = await dataDirPermissionProblem(dataDir, use);
  if (!problem) return null;
  io.stderr(`${problem}\n`);
  return EXIT.CONFIG;
}

/**
 * The data directory's lock, or the exit code after saying why not: 78
 * when the directory cannot be used (with the way to run `command` on it),
 * 75 (with `whileRunning` as advice) when a server holds it.
 */
export async function lockDataDir(
  io: CliIo,
  dataDir: string,
  log: Logger,
  whileRunning: string,
  command: string,
): Promise<DataDirLock | number> {
  try {
    await prepareDataDir(dataDir, log, { command });
  } catch (error) {
    if (!(error instanceof DataDirError)) throw error;
    io.stderr(error.message + "\n");
    return EXIT.CONFIG;
  }
  try {
    return await acquireDataDirLock(dataDir);
  } catch (error) {
    if (error instanceof DbError && error.code === DB_ERROR_CODES.DATA_DIR_IN_USE) {
      io.stderr(`${error.message}\n${whileRunning}\n`);
      return EXIT.DATA_DIR_IN_USE;
    }
    throw error;
  }
}
