import { resolve } from "node:path";
import { existsSync } from "node:fs";
import { SQLITE_MIGRATIONS } from "../../migrations/sqlite/mod.ts";
import { isoTime } from "../clock.ts";
import { DbError } from "../store/errors.ts";
import { applyMigrations, migrationFile, migrationStatus } from "../store/migrations.ts";
import { openSqlite } from "../store/sqlite.ts";
import { DATABASE_FILE } from "../store/store.ts";
import { createLogger } from "../telemetry/logger.ts";
import { lockDataDir, refuseDataDir } from "./exclusive.ts";
import { type CliIo, EXIT } from "./io.ts";
import { loadCliConfig } from "./serve.ts";

const STATE_LABELS = {
  applied: "applied",
  pending: "pending",
  changed: "CHANGED",
  missing_file: "MISSING FILE",
} as const;

/**
 * `migrate status` lists every migration with its state (exit 78 when an
 * applied one is CHANGED or MISSING FILE, as the server refuses); `migrate up`
 * applies the pending ones (refused while a server holds the data
 * directory, exit 75).
 */
export async function runMigrate(io: CliIo, args: readonly string[]): Promise<number> {
  const [action, ...extra] = args;
  if ((action !== "status" && action !== "up") || extra.length > 0) {
    io.stderr("usage: synth-mind migrate status|up  (deno task migrate status)\n");
    return EXIT.USAGE;
  }
  const loaded = loadCliConfig(io, {});
  if (typeof loaded === "number") return loaded;
  const { config } = loaded;
  const dataDir = resolve(io.cwd, config.dataDir);
  const refused = await refuseDataDir(io, dataDir, { command: `migrate ${action}` });
  if (refused !== null) return refused;
  const path = resolve(dataDir, DATABASE_FILE);

  if (action === "status") {
    if (!existsSync(path)) {
      io.stdout(`No database yet at ${path}; every migration is pending:\n`);
      for (const migration of SQLITE_MIGRATIONS) {
        io.stdout(`${migrationFile(migration)}  pending\n`);
      }
      return EXIT.OK;
    }
    const db = openSqlite(path, { busyTimeoutMs: config.db.busyTimeoutMs, readOnly: true });
    let broken = 0;
    try {
      for (const state of migrationStatus(db, SQLITE_MIGRATIONS)) {
        const when = state.appliedAt === null
          ? ""
          : ` ${isoTime(state.appliedAt)} (${state.durationMs} ms)`;
        io.stdout(`${migrationFile(state)}  ${STATE_LABELS[state.state]}${when}\n`);
        if (state.state === "changed" || state.state === "missing_file") broken++;
      }
    } finally {
      db.close();
    }
    if (broken > 0) {
      // What the server refuses to start on (exit 78), so that a script or init container sees it.
      io.stderr(
        `${broken} applied migration(s) CHANGED or MISSING FILE: the server will not start on this database\n`,
      );
      return EXIT.CONFIG;
    }
    return EXIT.OK;
  }

  const lock = await lockDataDir(
    io,
    dataDir,
    createLogger({ level: "error", clock: io.clock }),
    "The server applies pending migrations when it starts.",
    "migrate up",
  );
  if (typeof lock === "number") return lock;
  const db = openSqlite(path, { busyTimeoutMs: config.db.busyTimeoutMs });
  try {
    const applied = applyMigrations(db, SQLITE_MIGRATIONS, {
      clock: io.clock,
      onApplied: (migration) =>
        io.stdout(`applied ${migrationFile(migration)} in ${migration.durationMs} ms\n`),
    });
    if (applied.length === 0) io.stdout("Nothing to apply: the database is up to date.\n");
    return EXIT.OK;
  } catch (error) {
    if (!(error instanceof DbError)) throw error;
    io.stderr(error.message + "\n");
    return EXIT.CONFIG;
  } finally {
    db.close();
    lock.release();
  }
}
