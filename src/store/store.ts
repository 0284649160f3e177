import { CompiledQuery, Kysely, sql, type Transaction } from "kysely";
import type { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SQLITE_MIGRATIONS } from "../../migrations/sqlite/mod.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../telemetry/logger.ts";
import { createNodeSqliteDialect } from "./dialect.ts";
import {
  type AppliedMigration,
  applyMigrations,
  type Migration,
  migrationFile,
  type MigrationState,
  migrationStatus,
} from "./migrations.ts";
import { DB_ERROR_CODES, DbError } from "./errors.ts";
import { errorMessage } from "../errors.ts";
import type { Database } from "./schema.ts";
import { assertLittleEndian, openSqlite } from "./sqlite.ts";
import type { CheckpointReply, CheckpointRequest } from "./checkpoint_worker.ts";
import { createSqliteTextSearch, type TextSearch } from "./text_search.ts";

/** The database file inside the data directory. */
export const DATABASE_FILE = "synth.db";

/** The shared store, reached through repositories. */
export interface Store {
  /** Typed query builder over every table. */
  readonly db: Kysely<Database>;
  /** Absolute path of the database file. */
  readonly path: string;
  /** Full-text search over memory text. */
  readonly text: TextSearch;
  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction; a throw rolls it back. */
  transaction<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  /** Answers `SELECT 1`; throws when the database cannot be read. */
  ping(): Promise<void>;
  /**
   * Commits a one-row update on a connection of its own, on a worker thread, waiting at most
   * `busyTimeoutMs` for the write lock; throws when the database cannot be written (a read-only
   * or full disk, a lock another process holds). Calls meanwhile share the one under way.
   */
  probeWrite(busyTimeoutMs: number): Promise<void>;
  /** The state of every migration. */
  migrations(): MigrationState[];
  /**
   * Moves the write-ahead log into the database file. `truncate` (after forgets) waits for
   * readers and empties the file; `passive` copies what no reader needs and never waits, so
   * that the log restarts small and no later commit pays for an automatic checkpoint. A passive
   * checkpoint runs on a connection of its own in a worker thread, one at a time, so neither the
   * copy nor the file syncs after it hold the caller's thread.
   * @default "truncate"
   */
  checkpoint(mode?: "truncate" | "passive"): Promise<void>;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  dataDir: string;
  busyTimeoutMs: number;
  clock: Clock;
  log: Logger;
  /** Apply pending migrations before returning; when false, pending ones are refused. */
  migrate: boolean;
  /** The migrations to know about. @default the embedded SQLite migrations */
  migrationList?: readonly Migration[];
}

/**
 * Opens `<dataDir>/synth.db` and, with `migrate`, applies pending
 * migrations (each logged with its duration).
 *
 * @throws {DbError} A `DB_MIGRATION_*` or `DB_NEWER_THAN_APP` error naming the file.
 */
export function openStore(options: OpenStoreOptions): Store {
  assertLittleEndian();
  const path = join(options.dataDir, DATABASE_FILE);
  const migrationList = options.migrationList ?? SQLITE_MIGRATIONS;
  const sqlite = openSqlite(path, { busyTimeoutMs: options.busyTimeoutMs });
  try {
    if (!options.migrate) {
      const pending = migrationStatus(sqlite, migrationList).filter((state) =>
        state.state !== "applied"
      );
      if (pending.length > 0) {
        throw new DbError(
          DB_ERROR_CODES.MIGRATIONS_PENDING,
          `Cannot start: ${pending.length} migration(s) not applied (${
            pending.map((state) => `${migrationFile(state)} ${state.state.replace("_", " ")}`).join(
              ", ",
            )
          }) and db.migrateOnStart is false. Run "deno task migrate up", or set db.migrateOnStart to true.`,
        );
      }
    } else {
      applyMigrations(sqlite, migrationList, {
        clock: options.clock,
        onApplied: (migration: AppliedMigration) =>
          options.log.info("migration applied", {
            version: migration.version,
            name: migration.name,
            duration_ms: migration.durationMs,
          }),
      });
    }
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return wrapConnection(sqlite, path, migrationList, options.busyTimeoutMs, options.clock);
}

const TRUNCATE_CHECKPOINT = CompiledQuery.raw("PRAGMA wal_checkpoint(TRUNCATE)");

/**
 * Passive checkpoints on a worker thread (`checkpoint_worker.ts`), one at a time. The worker
 * starts with the first checkpoint and stops when the store closes.
 */
function createCheckpointer(path: string, busyTimeoutMs: number) {
  let worker: Worker | undefined;
  let closed = false;
  let last: Promise<unknown> = Promise.resolve();
  const ask = (request: CheckpointRequest) =>
    new Promise<CheckpointReply>((resolve, reject) => {
      const thread = worker ??= new Worker(new URL("./checkpoint_worker.ts", import.meta.url), {
        type: "module",
      });
      thread.onmessage = (event: MessageEvent<CheckpointReply>) => resolve(event.data);
      thread.onerror = (event) => {
        event.preventDefault();
        // The next checkpoint starts a new worker.
        thread.terminate();
        worker = undefined;
        reject(new Error(event.message));
      };
      thread.postMessage(request);
    });
  /** Runs `step` after every earlier one, so that each request has the worker to itself. */
  const inTurn = <T>(step: () => Promise<T>): Promise<T> => {
    const next = last.then(step, step);
    last = next.catch(() => {});
    return next;
  };
  const run = (type: "checkpoint" | "probe", at: number, waitMs = busyTimeoutMs) =>
    inTurn(async () => {
      if (closed) throw new Error("The store is closed");
      const reply = await ask({ type, path, busyTimeoutMs: waitMs, at });
      if (!reply.ok) throw new Error(reply.message);
    });
  let probing: Promise<void> | undefined;
  return {
    passive: () =>
      run("checkpoint", 0).catch((error) => {
        throw new Error(`The checkpoint failed: ${errorMessage(error)}`);
      }),
    // One probe at a time: callers meanwhile (every readiness request) share it.
    probe: (at: number, waitMs: number) =>
      probing ??= run("probe", at, waitMs).finally(() => probing = undefined),
    close: () =>
      inTurn(async () => {
        closed = true;
        if (!worker) return;
        // The connection closes on its thread; a worker that cannot answer is stopped anyway.
        await ask({ type: "close" }).catch(() => {});
        worker?.terminate();
        worker = undefined;
      }),
  };
}

function wrapConnection(
  sqlite: DatabaseSync,
  path: string,
  migrationList: readonly Migration[],
  busyTimeoutMs: number,
  clock: Clock,
): Store {
  const db = new Kysely<Database>({ dialect: createNodeSqliteDialect(sqlite) });
  const checkpointer = createCheckpointer(path, busyTimeoutMs);
  let closed: Promise<void> | undefined;
  return {
    db,
    path,
    text: createSqliteTextSearch(db),
    transaction: (fn) => db.transaction().execute(fn),
    async checkpoint(mode = "truncate") {
      if (mode === "passive") await checkpointer.passive();
      else await db.executeQuery(TRUNCATE_CHECKPOINT);
    },
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    probeWrite: (waitMs) => checkpointer.probe(clock.now(), waitMs),
    migrations: () => migrationStatus(sqlite, migrationList),
    close() {
      closed ??= checkpointer.close().then(() => db.destroy());
      return closed;
    },
  };
}

/** A read-only connection for long reads (exports, backups) on its own thread. */
export interface StoreReader {
  readonly db: Kysely<Database>;
  close(): Promise<void>;
}

/**
 * Opens the database file read-only through Kysely; use it in a Worker so
 * a long read never blocks the server's writer connection.
 */
export function openStoreReader(path: string, options: { busyTimeoutMs: number }): StoreReader {
  const sqlite = openSqlite(path, { busyTimeoutMs: options.busyTimeoutMs, readOnly: true });
  const db = new Kysely<Database>({ dialect: createNodeSqliteDialect(sqlite) });
  return { db, close: () => db.destroy() };
}
