import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { SQLITE_MIGRATIONS } from "../../migrations/sqlite/mod.ts";
import { backupDatabase, pruneBackups, restoreDatabase } from "../store/backup.ts";
import { DB_ERROR_CODES, DbError } from "../store/errors.ts";
import { DATABASE_FILE } from "../store/store.ts";
import { openSqlite } from "../store/sqlite.ts";
import { jwtSecretFile } from "../data_dir.ts";
import { errorMessage } from "../errors.ts";
import { createLogger } from "../telemetry/logger.ts";
import { VERSION } from "../version.ts";
import { refuseDataDir } from "./exclusive.ts";
import { type CliIo, EXIT } from "./io.ts";
import { loadCliConfig } from "./serve.ts";

const BACKUP_USAGE = "usage: synth-mind backup [--out DIR] [--keep 7] [--include-secrets]";
const RESTORE_USAGE = "usage: synth-mind restore BACKUP_DIR";

/**
 * `backup [--out DIR] [--keep 7] [--include-secrets]`: an online, consistent copy of the
 * database (the server may be running), checked and hashed; with the JWT secret on request.
 */
export async function runBackup(io: CliIo, args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        out: { type: "string" },
        keep: { type: "string", default: "7" },
        "include-secrets": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${BACKUP_USAGE}\n`);
    return EXIT.USAGE;
  }
  if (values.help) {
    io.stdout(
      `${BACKUP_USAGE}\n\nWrites an online, consistent copy of the database (the server may be ` +
        "running) into <dataDir>/backups/<UTC stamp>/ or --out, checks and hashes it, and keeps the " +
        "newest --keep backups. --include-secrets copies the JWT signing secret " +
        "(<dataDir>/secrets/jwt.key) too, so that a restore keeps everyone signed in; keep such a " +
        "backup as safe as the secret.\n",
    );
    return EXIT.OK;
  }
  if (!/^\d+$/.test(values.keep) || Number(values.keep) < 1) {
    io.stderr("--keep must be a whole number of at least 1\n");
    return EXIT.USAGE;
  }
  const loaded = loadCliConfig(io, {});
  if (typeof loaded === "number") return loaded;
  const dataDir = resolve(io.cwd, loaded.config.dataDir);
  const refused = await refuseDataDir(io, dataDir, { command: "backup" });
  if (refused !== null) return refused;
  const source = join(dataDir, DATABASE_FILE);
  if (!existsSync(source)) {
    io.stderr(`There is no database to back up at ${source}.\n`);
    return EXIT.FAILURE;
  }
  const backupsDir = values.out ? resolve(io.cwd, values.out) : join(dataDir, "backups");
  const unwritable = await backupsDirProblem(backupsDir);
  if (unwritable) {
    io.stderr(`${unwritable}\n`);
    return EXIT.FAILURE;
  }
  const secretFile = jwtSecretFile(dataDir);
  if (values["include-secrets"] && !existsSync(secretFile)) {
    io.stderr(
      `There is no JWT secret at ${secretFile} to include (it is made at the server's first start; ` +
        "a secret set in SYNTH_AUTH_JWT_SECRET is kept with the configuration).\n",
    );
    return EXIT.FAILURE;
  }
  // A file that is no database, or a damaged one, is named here in one line (DB_UNREADABLE).
  openSqlite(source, { busyTimeoutMs: loaded.config.db.busyTimeoutMs, readOnly: true }).close();
  const info = await backupDatabase({
    source,
    backupsDir,
    clock: io.clock,
    appVersion: VERSION,
    ...(values["include-secrets"] ? { jwtSecret: secretFile } : {}),
  });
  io.stdout(
    `backup written to ${info.dir} (schema ${info.manifest.schema_version}, ${info.pages} pages, integrity ok${
      values["include-secrets"] ? ", with the JWT secret" : ""
    })\n`,
  );
  for (const removed of await pruneBackups(backupsDir, Number(values.keep))) {
    io.stdout(`removed old backup ${removed}\n`);
  }
  return EXIT.OK;
}

/** Why backups cannot be written to `dir`, in one line; null when they can. */
async function backupsDirProblem(dir: string): Promise<string | null> {
  const { state } = await Deno.permissions.query({ name: "write", path: dir });
  if (state !== "granted") {
    return `Cannot write backups to "${dir}": the permission set allows writing only inside ./data. ` +
      `Name a folder inside ./data with --out (without it, backups go to the data directory's ` +
      `backups/), then copy the backup folder off the machine from there.`;
  }
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) return `Cannot write backups to "${dir}": it is a file, not a folder.`;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      return `Cannot write backups to "${dir}": ${errorMessage(error)}`;
    }
  }
  return null;
}

/** `restore DIR`: puts a backup in place; refused (75) while a server runs. */
export async function runRestore(io: CliIo, args: readonly string[]): Promise<number> {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    io.stdout(
      `${RESTORE_USAGE}\n\nPuts a backup in place of the database, keeping the previous one; ` +
        "refused while the server runs. The next start applies any newer migrations.\n",
    );
    return EXIT.OK;
  }
  if (args.length !== 1 || args[0]!.startsWith("-")) {
    io.stderr(`${RESTORE_USAGE}\n`);
    return EXIT.USAGE;
  }
  const loaded = loadCliConfig(io, {});
  if (typeof loaded === "number") return loaded;
  const dataDir = resolve(io.cwd, loaded.config.dataDir);
  try {
    const { previous, secret } = await restoreDatabase({
      from: resolve(io.cwd, args[0]!),
      dataDir,
      newestSchema: Math.max(...SQLITE_MIGRATIONS.map((migration) => migration.version)),
      clock: io.clock,
      log: createLogger({ level: "error", clock: io.clock }),
    });
    io.stdout(
      `restored ${args[0]} into ${dataDir}${
        previous ? `; the previous database is kept as ${previous}` : ""
      }\n` +
        (!secret
          ? ""
          : loaded.config.auth.jwt.secret === null
          ? "The backup's JWT secret is back in place: sessions signed with it stay valid.\n"
          : "The backup's JWT secret is back in place, but auth.jwt.secret " +
            "(SYNTH_AUTH_JWT_SECRET) is set and signs instead.\n") +
        "The next start applies any newer migrations.\n",
    );
    return EXIT.OK;
  } catch (error) {
    if (error instanceof DbError && error.code === DB_ERROR_CODES.DATA_DIR_IN_USE) {
      io.stderr(`${error.message}\nStop the server before restoring.\n`);
      return EXIT.DATA_DIR_IN_USE;
    }
    io.stderr(`${(error as Error).message}\n`);
    return EXIT.FAILURE;
  }
}
