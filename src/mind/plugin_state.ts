/**
 * Small JSON state a plugin keeps across restarts, in the shared `kv` table
 * under the plugin's namespace (calibration outputs, counters, per-thread
 * windows). Larger records belong in the plugin's own tables.
 *
 * @module
 */
import type { Kysely } from "kysely";
import type { Clock } from "../clock.ts";
import { BoundedMap } from "../bounded_map.ts";
import { prepare } from "../store/prepared.ts";
import type { Database } from "../store/schema.ts";
import type { Store } from "../store/store.ts";

/** The database handle: the store's, or the open transaction inside `mind.persist`. */
type Db = Store["db"];

/**
 * A plugin's key-value state. Inside `mind.persist` pass the hook's `db`:
 * the turn's transaction holds the only connection.
 */
export interface PluginState {
  get<T>(key: string, db?: Db): Promise<T | undefined>;
  set(key: string, value: unknown, db?: Db): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key with a prefix. */
  list<T>(prefix: string): Promise<Array<{ key: string; value: T }>>;
}

const readValue = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("kv").select("value").where("namespace", "=", slot("namespace"))
    .where("key", "=", slot("key"))
);
const writeValue = prepare((db: Kysely<Database>, slot) =>
  db.insertInto("kv").values({
    namespace: slot("namespace"),
    key: slot("key"),
    value: slot("value"),
    version: 1,
    updated_at: slot<number>("now"),
  }).onConflict((conflict) =>
    conflict.columns(["namespace", "key"]).doUpdateSet((eb) => ({
      value: slot("value"),
      version: eb("kv.version", "+", 1),
      updated_at: slot<number>("now"),
    }))
  )
);

/** Keys whose values (JSON, or null when absent) each store keeps in memory. */
const CACHED_KEYS = 4_096;
/** A store's kept values, and a count of writes and forgets (a read started before one of them
 * may hold an older value, so it is not kept). */
interface Cache {
  values: BoundedMap<string, string | null>;
  changes: number;
}
const caches = new WeakMap<Store, Cache>();

function cacheOf(store: Store): Cache {
  let cache = caches.get(store);
  if (!cache) {
    cache = { values: new BoundedMap(CACHED_KEYS), changes: 0 };
    caches.set(store, cache);
  }
  return cache;
}

/**
 * Forgets the plugin state kept in memory: call it when rows of `kv` changed
 * other than through {@link pluginState} (the memory KV API, an import).
 */
export function forgetPluginStateCache(store: Store): void {
  const cache = caches.get(store);
  if (!cache) return;
  cache.values.clear();
  cache.changes++;
}

/**
 * The state of `namespace` (the plugin id). Values read or written outside a
 * transaction are kept in memory: turns read the same few keys every time. A
 * value read or written inside one (`mind.persist`'s `db`) is not kept, and a
 * write there drops the kept value, since the transaction may roll back.
 */
export function pluginState(store: Store, clock: Clock, namespace: string): PluginState {
  const cache = cacheOf(store);
  const cacheKey = (key: string) => `${namespace}\u0000${key}`;
  return {
    async get<T>(key: string, db: Db = store.db) {
      let value = cache.values.get(cacheKey(key));
      if (value === undefined) {
        const changes = cache.changes;
        const row = await readValue.executeTakeFirst(db, { namespace, key });
        value = row?.value ?? null;
        if (db === store.db && cache.changes === changes) cache.values.set(cacheKey(key), value);
      }
      // Parsed for each reader: callers may change what they get.
      return value === null ? undefined : JSON.parse(value) as T;
    },
    async set(key, value, db = store.db) {
      cache.changes++;
      const encoded = JSON.stringify(value);
      await writeValue.execute(db, { namespace, key, value: encoded, now: clock.now() });
      if (db === store.db) cache.values.set(cacheKey(key), encoded);
      else cache.values.delete(cacheKey(key));
    },
    async delete(key) {
      cache.changes++;
      await store.db.deleteFrom("kv").where("namespace", "=", namespace).where("key", "=", key)
        .execute();
      cache.values.set(cacheKey(key), null);
    },
    async list<T>(prefix: string) {
      const rows = await store.db.selectFrom("kv").select(["key", "value"]).where(
        "namespace",
        "=",
        namespace,
      )
        .where("key", ">=", prefix).where("key", "<", prefix + "\uffff").orderBy("key").execute();
      return rows.map((row) => ({ key: row.key, value: JSON.parse(row.value) as T }));
    },
  };
}
