import { join } from "node:path";
import { DB_ERROR_CODES, DbError } from "./errors.ts";

/** A held data-directory lock. */
export interface DataDirLock {
  /** Releases the lock; idempotent. */
  release(): void;
}

/**
 * Takes the exclusive lock on `<dataDir>/synth.lock`, so one server (or
 * one restore) works on a data directory at a time. The operating system
 * releases it when the process dies, so a crash never leaves it stuck.
 *
 * @throws {DbError} `DB_DATA_DIR_IN_USE` when another process holds it.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, "synth.lock");
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  if (!(await file.tryLock(true))) {
    file.close();
    throw new DbError(
      DB_ERROR_CODES.DATA_DIR_IN_USE,
      `Cannot use data directory "${dataDir}": another Synth Mind process is using it (${path} is locked). Stop it first, or choose another data directory.`,
    );
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      file.close();
    },
  };
}

/** True when a process holds the lock (used by restore and `migrate up`). */
export async function isDataDirLocked(dataDir: string): Promise<boolean> {
  try {
    const lock = await acquireDataDirLock(dataDir);
    lock.release();
    return false;
  } catch (error) {
    if (error instanceof DbError && error.code === DB_ERROR_CODES.DATA_DIR_IN_USE) return true;
    throw error;
  }
}
