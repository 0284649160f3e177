import { AppError } from "../errors.ts";

/** Stable codes of the storage layer. */
export const DB_ERROR_CODES = {
  /** An applied migration file changed since it was applied. */
  MIGRATION_CHECKSUM_MISMATCH: "DB_MIGRATION_CHECKSUM_MISMATCH",
  /** The database records a migration whose file is gone. */
  MIGRATION_MISSING: "DB_MIGRATION_MISSING",
  /** The database was migrated by a newer version of the app. */
  NEWER_THAN_APP: "DB_NEWER_THAN_APP",
  /** Migrations are pending and the server may not apply them (`db.migrateOnStart` false). */
  MIGRATIONS_PENDING: "DB_MIGRATIONS_PENDING",
  /** A migration failed and was rolled back. */
  MIGRATION_FAILED: "DB_MIGRATION_FAILED",
  /** Another process holds the data directory. */
  DATA_DIR_IN_USE: "DB_DATA_DIR_IN_USE",
  /** The database file is not a SQLite database, or is damaged. */
  UNREADABLE: "DB_UNREADABLE",
  /** A value that SQLite cannot store was bound. */
  UNBINDABLE: "DB_UNBINDABLE",
  /** A prepared query's slot did not become a parameter, or a run lacked its value. */
  PREPARED_QUERY: "DB_PREPARED_QUERY",
} as const;

/** One of {@link DB_ERROR_CODES}. */
export type DbErrorCode = typeof DB_ERROR_CODES[keyof typeof DB_ERROR_CODES];

/** A storage failure; its message names the file or value and what to do. */
export class DbError extends AppError {
  /** Creates the error; storage errors never reach HTTP callers verbatim. */
  constructor(code: DbErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { status: 500, cause: options.cause, expose: false });
    this.name = "DbError";
  }
}
