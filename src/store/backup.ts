import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { jwtSecretFile, prepareDataDir } from "../data_dir.ts";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Clock } from "../clock.ts";
import { DB_ERROR_CODES, DbError } from "./errors.ts";
import { acquireDataDirLock } from "./lock.ts";
import type { BackupWorkerResult } from "./backup_worker.ts";
import { DATABASE_FILE } from "./store.ts";

/** `manifest.json` of a backup. */
export interface BackupManifest {
  app_version: string;
  schema_version: number;
  created_at: string;
  files: Record<string, string>;
}

/** A finished backup. */
export interface BackupInfo {
  dir: string;
  manifest: BackupManifest;
  pages: number;
}

/** Options for {@link backupDatabase}. */
export interface BackupOptions {
  /** The database file to copy. */
  source: string;
  /** Folder receiving `<UTC stamp>/`. */
  backupsDir: string;
  clock: Clock;
  appVersion: string;
  /** The JWT signing secret's file, copied too as {@link SECRET_FILE} (`backup --include-secrets`). */
  jwtSecret?: string;
}

/** The JWT secret's name in a backup folder (`<dataDir>/secrets/jwt.key` when in place). */
export const SECRET_FILE = "jwt.key";
/** The files a backup folder may hold beside its manifest. */
const BACKUP_FILES = new Set([DATABASE_FILE, SECRET_FILE]);

async function sha256File(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

function runBackupWorker(source: string, target: string) {
  const worker = new Worker(new URL("./backup_worker.ts", import.meta.url), { type: "module" });
  return new Promise<Extract<BackupWorkerResult, { ok: true }>>((resolve, reject) => {
    worker.onmessage = (event) => {
      worker.terminate();
      const data = event.data as BackupWorkerResult;
      if (data.ok) resolve(data);
      else reject(new Error(`The backup failed: ${data.message}`));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      reject(new Error(`The backup failed: ${event.message}`));
    };
    worker.postMessage({ source, target });
  });
}

/**
 * Copies the database online into `<backupsDir>/<UTC stamp>/synth.db` from
 * a Worker, checks the copy with `PRAGMA integrity_check` and writes
 * `manifest.json` with the files' SHA-256.
 *
 * @throws {Error} When the copy fails its integrity check.
 */
export async function backupDatabase(options: BackupOptions): Promise<BackupInfo> {
  const createdAt = new Date(options.clock.now()).toISOString();
  const stamp = createdAt.replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  const dir = join(options.backupsDir, stamp);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const target = join(dir, DATABASE_FILE);
  const result = await runBackupWorker(options.source, target);
  if (result.integrity.length !== 1 || result.integrity[0] !== "ok") {
    throw new Error(`The backup copy failed its integrity check: ${result.integrity.join("; ")}`);
  }
  const files: Record<string, string> = { [DATABASE_FILE]: result.sha256 };
  if (options.jwtSecret !== undefined) {
    const copy = join(dir, SECRET_FILE);
    await Deno.copyFile(options.jwtSecret, copy);
    await Deno.chmod(copy, 0o600);
    files[SECRET_FILE] = await sha256File(copy);
  }
  const manifest: BackupManifest = {
    app_version: options.appVersion,
    schema_version: result.schemaVersion,
    created_at: createdAt,
    files,
  };
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n", {
    mode: 0o600,
  });
  return { dir, manifest, pages: result.pages };
}

/** Deletes all but the newest `keep` backups; returns the removed folders. */
export async function pruneBackups(backupsDir: string, keep: number): Promise<string[]> {
  const stamps: string[] = [];
  try {
    for await (const entry of Deno.readDir(backupsDir)) {
      if (entry.isDirectory && /^\d{8}T\d{6}Z$/.test(entry.name)) stamps.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const removed = stamps.sort().reverse().slice(keep);
  for (const stamp of removed) await Deno.remove(join(backupsDir, stamp), { recursive: true });
  return removed;
}

/**
 * The manifest of the backup folder `from`, or an error saying in one sentence what is wrong
 * with the folder (absent, a file, not readable under the permission set, no or a bad manifest).
 */
async function readManifest(from: string): Promise<BackupManifest> {
  const path = join(from, "manifest.json");
  const { state } = await Deno.permissions.query({ name: "read", path: from });
  if (state !== "granted") {
    throw new Error(
      `Cannot read the backup at "${from}": the permission set allows reading only inside the ` +
        `application's folder. Copy the backup folder into ./data (for example ` +
        `./data/backups/<stamp>) and restore from there.`,
    );
  }
  let text: string;
  try {
    const info = await Deno.stat(from);
    if (!info.isDirectory) {
      throw new Error(
        `"${from}" is a file; restore takes a backup folder (backups/<UTC stamp>/)`,
      );
    }
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `There is no backup at "${from}": ${
          existsSync(from) ? "the folder has no manifest.json" : "no such folder"
        }. A backup folder is backups/<UTC stamp>/ with synth.db and manifest.json.`,
      );
    }
    throw error;
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new Error(`The backup's manifest ${path} is not valid JSON: ${errorMessage(error)}`);
  }
  const files = (manifest as Partial<BackupManifest> | null)?.files;
  if (
    typeof (manifest as Partial<BackupManifest> | null)?.schema_version !== "number" ||
    typeof files !== "object" || files === null || typeof files[DATABASE_FILE] !== "string"
  ) {
    throw new Error(
      `The backup's manifest ${path} lacks schema_version or the hash of ${DATABASE_FILE}`,
    );
  }
  const unknown = Object.keys(files).filter((name) => !BACKUP_FILES.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `The backup's manifest ${path} names files a backup does not hold: ${unknown.join(", ")}`,
    );
  }
  return manifest as BackupManifest;
}

/** Options for {@link restoreDatabase}. */
export interface RestoreOptions {
  /** The backup folder (with `synth.db` and `manifest.json`). */
  from: string;
  dataDir: string;
  /** The newest schema version this app knows. */
  newestSchema: number;
  clock: Clock;
  /** For the data directory's check (a warning when other users can read it). */
  log: Logger;
}

/**
 * Replaces `<dataDir>/synth.db` with a backup after checking its hashes and
 * schema version; the current file is kept as `synth.db.pre-restore-<stamp>`.
 * A backup taken with its JWT secret puts that back too (the current one kept the same way).
 *
 * @throws {DbError} `DB_DATA_DIR_IN_USE` while a server holds the data
 * directory; `DB_NEWER_THAN_APP` for a backup from a newer schema.
 * @throws {Error} When a file's hash does not match the manifest.
 */
export async function restoreDatabase(
  options: RestoreOptions,
): Promise<{ previous: string | null; secret: boolean }> {
  // The backup is checked before anything is made or moved in the data directory.
  const manifest = await readManifest(options.from);
  for (const [name, hash] of Object.entries(manifest.files)) {
    const actual = await sha256File(join(options.from, name));
    if (actual !== hash) {
      throw new Error(
        `Cannot restore: ${name} in ${options.from} does not match its manifest hash`,
      );
    }
  }
  if (manifest.schema_version > options.newestSchema) {
    throw new DbError(
      DB_ERROR_CODES.NEWER_THAN_APP,
      `Cannot restore: the backup has schema version ${manifest.schema_version}, newer than this app's ${options.newestSchema}`,
    );
  }
  // A new, empty volume: the data directory is made (and checked) as the server makes it.
  await prepareDataDir(options.dataDir, options.log, { command: `restore ${options.from}` });
  const lock = await acquireDataDirLock(options.dataDir);
  try {
    const current = join(options.dataDir, DATABASE_FILE);
    const stamp = new Date(options.clock.now()).toISOString().replace(/[-:]/g, "").replace(
      /\.\d{3}Z$/,
      "Z",
    );
    /** Moves `path` aside as `<path>.pre-restore-<stamp>`; the new name, or null when absent. */
    const keep = async (path: string, suffixes: readonly string[] = []) => {
      const kept = `${path}.pre-restore-${stamp}`;
      try {
        await Deno.rename(path, kept);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return null;
        throw error;
      }
      for (const suffix of suffixes) {
        await Deno.rename(path + suffix, kept + suffix).catch(() => {});
      }
      return kept;
    };
    // The secret first: a failure after it leaves the old database with the backup's secret,
    // which a new sign-in mends, rather than the backup's sessions with a secret that refuses them.
    const secret = manifest.files[SECRET_FILE] !== undefined;
    if (secret) {
      const key = jwtSecretFile(options.dataDir);
      await Deno.mkdir(dirname(key), { recursive: true, mode: 0o700 });
      await keep(key);
      await Deno.copyFile(join(options.from, SECRET_FILE), key);
      await Deno.chmod(key, 0o600);
    }
    const previous = await keep(current, ["-wal", "-shm"]);
    await Deno.copyFile(join(options.from, DATABASE_FILE), current);
    await Deno.chmod(current, 0o600);
    return { previous, secret };
  } finally {
    lock.release();
  }
}
