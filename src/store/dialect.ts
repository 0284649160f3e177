import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryResult,
  SqliteDialect,
  SqliteDriver,
} from "kysely";
import type { DatabaseSync } from "node:sqlite";
import { bindable, StatementCache } from "./sqlite.ts";

/** Whether Kysely has handed out the connection (to a transaction, or to a query in flight). */
interface ConnectionUse {
  held: boolean;
}

/**
 * A driver whose transactions take the write lock at once, and which says when Kysely has its
 * connection (see {@link executeCompiled}).
 */
class ImmediateSqliteDriver extends SqliteDriver {
  #use: ConnectionUse;

  constructor(config: ConstructorParameters<typeof SqliteDriver>[0], use: ConnectionUse) {
    super(config);
    this.#use = use;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    this.#use.held = true;
    return connection;
  }

  override async releaseConnection(): Promise<void> {
    this.#use.held = false;
    await super.releaseConnection();
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // A deferred BEGIN upgrades to a write lock on the first write and can
    // then fail with SQLITE_BUSY past the busy timeout; IMMEDIATE waits up front.
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/** Runs one statement on the connection at once, as Kysely's driver would. */
type DirectRun = (sql: string, parameters: readonly unknown[]) => QueryResult<unknown>;

/** The direct runner of each store's Kysely instances (and their transactions), by adapter. */
const directRunners = new WeakMap<DialectAdapter, { use: ConnectionUse; run: DirectRun }>();

/** The store's Kysely instance or one of its transactions. */
type QueryTarget = Pick<Kysely<unknown>, "getExecutor" | "isTransaction" | "executeQuery">;

/**
 * Runs a compiled query on `db` (the store's Kysely or a transaction). When
 * Kysely would run it at once anyway — `db` is the transaction that holds the
 * connection, or no one holds it — the statement runs on the connection
 * directly: Kysely's way costs a chain of promises per statement (the
 * connection lock, the driver, the result plugins), which a turn's several
 * dozen statements feel. Otherwise (another transaction or query holds the
 * connection) it goes through Kysely and waits its turn.
 */
export function executeCompiled<R>(
  db: QueryTarget,
  query: CompiledQuery<R>,
): Promise<QueryResult<R>> {
  const direct = directRunners.get(db.getExecutor().adapter);
  if (!direct || (direct.use.held && !db.isTransaction)) return db.executeQuery(query);
  try {
    return Promise.resolve(direct.run(query.sql, query.parameters) as QueryResult<R>);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Kysely's SQLite dialect with {@link ImmediateSqliteDriver}. */
class NodeSqliteDialect extends SqliteDialect {
  #config: ConstructorParameters<typeof SqliteDialect>[0];
  #use: ConnectionUse = { held: false };
  #run: DirectRun;

  constructor(config: ConstructorParameters<typeof SqliteDialect>[0], run: DirectRun) {
    super(config);
    this.#config = config;
    this.#run = run;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#use);
  }

  override createAdapter(): DialectAdapter {
    const adapter = super.createAdapter();
    directRunners.set(adapter, { use: this.#use, run: this.#run });
    return adapter;
  }
}

/**
 * Lets Kysely's SQLite dialect run on Deno's built-in `node:sqlite` by
 * giving it the better-sqlite3 shape it expects: statements cached by SQL,
 * parameters spread and made bindable, `reader` from the result columns.
 */
export function createNodeSqliteDialect(db: DatabaseSync): SqliteDialect {
  const cache = new StatementCache(db);
  const params = (parameters: readonly unknown[]) => parameters.map(bindable);
  const all = (sql: string, parameters: readonly unknown[]) =>
    cache.get(sql).all(...params(parameters));
  const run = (sql: string, parameters: readonly unknown[]) => {
    const { changes, lastInsertRowid } = cache.get(sql).run(...params(parameters));
    return { changes, lastInsertRowid };
  };
  return new NodeSqliteDialect({
    database: {
      close: () => db.close(),
      prepare(sql: string) {
        return {
          reader: cache.returnsRows(sql),
          all: (parameters: readonly unknown[]) => all(sql, parameters),
          run: (parameters: readonly unknown[]) => run(sql, parameters),
          iterate: (parameters: readonly unknown[]) =>
            cache.get(sql).iterate(...params(parameters)),
        };
      },
    },
  }, (sql, parameters) => {
    // The shape of Kysely's own SQLite connection's results.
    if (cache.returnsRows(sql)) return { rows: all(sql, parameters) };
    const { changes, lastInsertRowid } = run(sql, parameters);
    return {
      insertId: BigInt(lastInsertRowid),
      numAffectedRows: BigInt(changes),
      rows: [],
    };
  });
}
