/**
 * The storage layer: `node:sqlite` behind Kysely, migrations, the
 * data-directory lock.
 *
 * @module
 */
export { createNodeSqliteDialect } from "./dialect.ts";
export { DB_ERROR_CODES, DbError, type DbErrorCode } from "./errors.ts";
export { acquireDataDirLock, type DataDirLock, isDataDirLocked } from "./lock.ts";
export {
  type AppliedMigration,
  applyMigrations,
  type Migration,
  migrationChecksum,
  migrationFile,
  type MigrationState,
  migrationStatus,
} from "./migrations.ts";
export * from "./prepared.ts";
export type * from "./schema.ts";
export { assertLittleEndian, bindable, openSqlite, StatementCache } from "./sqlite.ts";
export { DATABASE_FILE, openStore, type OpenStoreOptions, type Store } from "./store.ts";
export {
  createSqliteTextSearch,
  ftsMatchExpression,
  type MemoryFilter,
  memoryFilterSql,
  type TextHit,
  type TextSearch,
} from "./text_search.ts";
