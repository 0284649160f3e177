/**
 * Small JSON state a plugin keeps across restarts, in the shared `kv` table
 * under the plugin's namespace (calibration outputs, counters, per-thread
 * windows). Larger records belong in the plugin's own tables.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
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

/** The state of `namespace` (the plugin id). */
export function pluginState(store: Store, clock: Clock, namespace: string): PluginState {
  return {
    async get<T>(key: string, db: Db = store.db) {
      const row = await db.selectFrom("kv").select("value").where("namespace", "=", namespace)
        .where("key", "=", key).executeTakeFirst();
      return row ? JSON.parse(row.value) as T : undefined;
    },
    async set(key, value, db = store.db) {
      const encoded = JSON.stringify(value);
      const now = clock.now();
      await db.insertInto("kv").values({
        namespace,
        key,
        value: encoded,
        version: 1,
        updated_at: now,
      })
        .onConflict((conflict) =>
          conflict.columns(["namespace", "key"]).doUpdateSet((eb) => ({
            value: encoded,
            version: eb("kv.version", "+", 1),
            updated_at: now,
          }))
        ).execute();
    },
    async delete(key) {
      await store.db.deleteFrom("kv").where("namespace", "=", namespace).where("key", "=", key)
        .execute();
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
