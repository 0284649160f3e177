import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { DB_ERROR_CODES, DbError } from "./errors.ts";

/** Options for {@link openSqlite}. */
export interface OpenSqliteOptions {
  /** How long a writer waits for a lock held by another connection. */
  busyTimeoutMs: number;
  /** Open without write access (backups, exports). @default false */
  readOnly?: boolean;
}

/**
 * Opens one connection with the PRAGMAs every connection runs: WAL,
 * foreign keys, busy timeout, `synchronous=NORMAL`, `secure_delete` (freed
 * pages are overwritten, so forgotten text does not linger) and a 32 MiB
 * page cache. PRAGMAs never appear in migrations.
 */
export function openSqlite(path: string, options: OpenSqliteOptions): DatabaseSync {
  const db = new DatabaseSync(path, {
    timeout: options.busyTimeoutMs,
    enableForeignKeyConstraints: true,
    readOnly: options.readOnly ?? false,
  });
  try {
    if (!options.readOnly) db.exec("PRAGMA journal_mode=WAL");
    db.exec(`PRAGMA busy_timeout=${Math.trunc(options.busyTimeoutMs)}`);
    db.exec("PRAGMA synchronous=NORMAL");
    db.exec("PRAGMA secure_delete=ON");
    db.exec("PRAGMA cache_size=-32768");
    // The first read of the schema: a file that is no database, or a damaged one, says so here.
    db.prepare("SELECT count(*) FROM sqlite_schema").get();
  } catch (error) {
    db.close();
    const reason = error instanceof Error ? error.message : String(error);
    if (!/not a database|malformed|corrupt/i.test(reason)) throw error;
    throw new DbError(
      DB_ERROR_CODES.UNREADABLE,
      `Cannot open the database "${path}": ${reason}. It is not a Synth Mind database or it is ` +
        "damaged: restore a backup (deno task restore <backup folder>, docs/deployment.md).",
      { cause: error },
    );
  }
  return db;
}

/** Vector BLOBs are float32 little-endian; fail loudly on any other host. */
export function assertLittleEndian(): void {
  if (new Uint8Array(new Float32Array([1]).buffer)[3] !== 0x3f) {
    throw new Error("Cannot store vectors: this host is not little-endian");
  }
}

/**
 * Turns a query parameter into a value `node:sqlite` can bind: booleans
 * become 0/1; `undefined`, objects and arrays are refused.
 */
export function bindable(value: unknown): SQLInputValue {
  if (value === null || typeof value === "string" || typeof value === "number") return value;
  if (typeof value === "bigint" || value instanceof Uint8Array) return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  throw new DbError(
    DB_ERROR_CODES.UNBINDABLE,
    `Cannot bind a ${value === undefined ? "undefined" : typeof value} value to SQLite: ` +
      "use null, a string, a number, a bigint, a boolean or a Uint8Array",
  );
}

/** A prepared-statement cache, least recently used evicted first. */
export class StatementCache {
  #db: DatabaseSync;
  #max: number;
  #statements = new Map<string, StatementSync>();
  /** Whether each cached statement returns rows (asking SQLite costs a native call). */
  #returnsRows = new Map<string, boolean>();

  /** Caches up to `max` statements of `db`. */
  constructor(db: DatabaseSync, max = 500) {
    this.#db = db;
    this.#max = max;
  }

  /** The prepared statement for `sql`, prepared once. */
  get(sql: string): StatementSync {
    const cached = this.#statements.get(sql);
    if (cached) {
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const statement = this.#db.prepare(sql);
    this.#statements.set(sql, statement);
    this.#returnsRows.set(sql, statement.columns().length > 0);
    if (this.#statements.size > this.#max) {
      const oldest = this.#statements.keys().next().value!;
      this.#statements.delete(oldest);
      this.#returnsRows.delete(oldest);
    }
    return statement;
  }

  /** Whether `sql` returns rows (a SELECT or a statement with RETURNING); prepares it if needed. */
  returnsRows(sql: string): boolean {
    if (!this.#returnsRows.has(sql)) this.get(sql);
    return this.#returnsRows.get(sql)!;
  }

  /** Number of cached statements. */
  get size(): number {
    return this.#statements.size;
  }
}
