import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  SqliteDialect,
  SqliteDriver,
} from "kysely";
import type { DatabaseSync } from "node:sqlite";
import { bindable, StatementCache } from "./sqlite.ts";

/** A driver whose transactions take the write lock at once. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // A deferred BEGIN upgrades to a write lock on the first write and can
    // then fail with SQLITE_BUSY past the busy timeout; IMMEDIATE waits up front.
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/** Kysely's SQLite dialect with {@link ImmediateSqliteDriver}. */
class NodeSqliteDialect extends SqliteDialect {
  #config: ConstructorParameters<typeof SqliteDialect>[0];

  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/**
 * Lets Kysely's SQLite dialect run on Deno's built-in `node:sqlite` by
 * giving it the better-sqlite3 shape it expects: statements cached by SQL,
 * parameters spread and made bindable, `reader` from the result columns.
 */
export function createNodeSqliteDialect(db: DatabaseSync): SqliteDialect {
  const cache = new StatementCache(db);
  return new NodeSqliteDialect({
    database: {
      close: () => db.close(),
      prepare(sql: string) {
        const statement = cache.get(sql);
        const params = (parameters: readonly unknown[]) => parameters.map(bindable);
        return {
          reader: cache.returnsRows(sql),
          all: (parameters: readonly unknown[]) => statement.all(...params(parameters)),
          run: (parameters: readonly unknown[]) => {
            const { changes, lastInsertRowid } = statement.run(...params(parameters));
            return { changes, lastInsertRowid };
          },
          iterate: (parameters: readonly unknown[]) => statement.iterate(...params(parameters)),
        };
      },
    },
  });
}
