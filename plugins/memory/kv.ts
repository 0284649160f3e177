import { type Clock, forgetPluginStateCache, type Store } from "@synth/kernel";
import { memoryError } from "./errors.ts";
import { encodeJson } from "./records.ts";

/** A stored value and its version. */
export interface KvEntry<T = unknown> {
  value: T;
  version: number;
  updatedAt: number;
}

/** Versioned JSON values per namespace (the calling plugin's id; identity uses `identity`). */
export interface KeyValue {
  get<T = unknown>(namespace: string, key: string): Promise<KvEntry<T> | null>;
  /**
   * Writes a value. With `expectedVersion` (0 = must not exist) a stale
   * version fails with `MEMORY_KV_CONFLICT`.
   */
  set(
    namespace: string,
    key: string,
    value: unknown,
    options?: { expectedVersion?: number },
  ): Promise<KvEntry>;
  delete(namespace: string, key: string): Promise<boolean>;
}

/** Creates the store. */
export function createKeyValue(store: Store, clock: Clock): KeyValue {
  const { db } = store;
  return {
    async get<T>(namespace: string, key: string) {
      const row = await db.selectFrom("kv").select(["value", "version", "updated_at"])
        .where("namespace", "=", namespace).where("key", "=", key).executeTakeFirst();
      return row
        ? { value: JSON.parse(row.value) as T, version: row.version, updatedAt: row.updated_at }
        : null;
    },

    async set(namespace, key, value, options = {}) {
      const encoded = encodeJson(value);
      const now = clock.now();
      const entry = await store.transaction(async (trx) => {
        const current = await trx.selectFrom("kv").select("version")
          .where("namespace", "=", namespace).where("key", "=", key).executeTakeFirst();
        const version = current?.version ?? 0;
        if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
          throw memoryError("KV_CONFLICT", {
            details: { expected: options.expectedVersion, actual: version },
          });
        }
        await trx.insertInto("kv")
          .values({ namespace, key, value: encoded, version: version + 1, updated_at: now })
          .onConflict((conflict) =>
            conflict.columns(["namespace", "key"]).doUpdateSet({
              value: encoded,
              version: version + 1,
              updated_at: now,
            })
          )
          .execute();
        return { value: JSON.parse(encoded), version: version + 1, updatedAt: now };
      });
      // The same rows back `pluginState`, which keeps values in memory.
      forgetPluginStateCache(store);
      return entry;
    },

    async delete(namespace, key) {
      const result = await db.deleteFrom("kv").where("namespace", "=", namespace)
        .where("key", "=", key).executeTakeFirst();
      forgetPluginStateCache(store);
      return Number(result.numDeletedRows) > 0;
    },
  };
}
