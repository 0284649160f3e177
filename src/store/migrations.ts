import { createHash } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import { DB_ERROR_CODES, DbError } from "./errors.ts";

/** One migration file. */
export interface Migration {
  version: number;
  /** The snake_case part of `NNNN_name.sql`. */
  name: string;
  sql: string;
}

/** The state of one migration, for `deno task migrate status`. */
export interface MigrationState {
  version: number;
  name: string;
  /** `changed`: applied, but the file differs now; `missing_file`: applied, file gone. */
  state: "applied" | "pending" | "changed" | "missing_file";
  appliedAt: number | null;
  durationMs: number | null;
}

/** A migration applied by {@link applyMigrations}. */
export interface AppliedMigration {
  version: number;
  name: string;
  durationMs: number;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: number;
  duration_ms: number;
}

/** SHA-256 hex of a migration's text (its file bytes, UTF-8). */
export function migrationChecksum(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

/** `NNNN_name.sql` of a migration, for messages. */
export function migrationFile(migration: { version: number; name: string }): string {
  return `${String(migration.version).padStart(4, "0")}_${migration.name}.sql`;
}

function ensureTable(db: DatabaseSync) {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL
  )`);
}

function appliedRows(db: DatabaseSync): AppliedRow[] {
  const exists = db.prepare(
    "SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'",
  ).get();
  if (!exists) return [];
  return db.prepare("SELECT * FROM schema_migrations ORDER BY version")
    .all() as unknown as AppliedRow[];
}

/** Compares the applied migrations with the known files, without changing anything. */
export function migrationStatus(
  db: DatabaseSync,
  migrations: readonly Migration[],
): MigrationState[] {
  const applied = new Map(appliedRows(db).map((row) => [row.version, row]));
  const states: MigrationState[] = migrations.map((migration) => {
    const row = applied.get(migration.version);
    if (!row) {
      return { ...pick(migration), state: "pending", appliedAt: null, durationMs: null };
    }
    const same = row.checksum === migrationChecksum(migration.sql) && row.name === migration.name;
    return {
      ...pick(migration),
      state: same ? "applied" : "changed",
      appliedAt: row.applied_at,
      durationMs: row.duration_ms,
    };
  });
  const known = new Set(migrations.map((migration) => migration.version));
  for (const row of applied.values()) {
    if (!known.has(row.version)) {
      states.push({
        version: row.version,
        name: row.name,
        state: "missing_file",
        appliedAt: row.applied_at,
        durationMs: row.duration_ms,
      });
    }
  }
  return states.sort((a, b) => a.version - b.version);
}

function pick(migration: Migration) {
  return { version: migration.version, name: migration.name };
}

/** Options for {@link applyMigrations}. */
export interface ApplyMigrationsOptions {
  clock: Clock;
  /** Called after each migration commits. */
  onApplied?: (migration: AppliedMigration) => void;
}

/**
 * Applies pending migrations in order, each in its own `BEGIN IMMEDIATE`
 * transaction together with its `schema_migrations` row.
 *
 * @throws {DbError} `DB_MIGRATION_CHECKSUM_MISMATCH` (an applied file
 * changed), `DB_MIGRATION_MISSING` (an applied file is gone),
 * `DB_NEWER_THAN_APP`, or `DB_MIGRATION_FAILED` (that file rolled back);
 * each message names the file.
 */
export function applyMigrations(
  db: DatabaseSync,
  migrations: readonly Migration[],
  options: ApplyMigrationsOptions,
): AppliedMigration[] {
  ensureTable(db);
  const states = migrationStatus(db, migrations);
  const newest = Math.max(0, ...migrations.map((migration) => migration.version));
  for (const state of states) {
    if (state.state === "changed") {
      throw new DbError(
        DB_ERROR_CODES.MIGRATION_CHECKSUM_MISMATCH,
        `Cannot start: migrations/sqlite/${
          migrationFile(state)
        } changed after it was applied to this database. Applied migrations must never be edited: restore the file, and put schema changes in a new migration.`,
      );
    }
    if (state.state === "missing_file") {
      const error = state.version > newest
        ? new DbError(
          DB_ERROR_CODES.NEWER_THAN_APP,
          `Cannot start: this database was migrated by a newer version of Synth Mind (it has ${
            migrationFile(state)
          }, this version knows migrations up to ${newest}). Run the newer version, or restore a backup made for this one.`,
        )
        : new DbError(
          DB_ERROR_CODES.MIGRATION_MISSING,
          `Cannot start: migrations/sqlite/${
            migrationFile(state)
          } was applied to this database but the file is missing. Restore the file.`,
        );
      throw error;
    }
  }
  const applied: AppliedMigration[] = [];
  for (const migration of migrations) {
    if (states.find((state) => state.version === migration.version)?.state !== "pending") continue;
    const started = performance.now();
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(migration.sql);
      const durationMs = Math.round(performance.now() - started);
      db.prepare(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES (?, ?, ?, ?, ?)",
      ).run(
        migration.version,
        migration.name,
        migrationChecksum(migration.sql),
        options.clock.now(),
        durationMs,
      );
      db.exec("COMMIT");
      const done = { version: migration.version, name: migration.name, durationMs };
      applied.push(done);
      options.onApplied?.(done);
    } catch (error) {
      db.exec("ROLLBACK");
      throw new DbError(
        DB_ERROR_CODES.MIGRATION_FAILED,
        `Cannot start: migrations/sqlite/${migrationFile(migration)} failed and was rolled back: ${
          errorMessage(error)
        }`,
        { cause: error },
      );
    }
  }
  return applied;
}
