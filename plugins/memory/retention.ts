import { type Clock, type Logger, nextTask, type Store } from "@synth/kernel";
import type { MemoryConfig } from "./config.ts";
import type { Forget } from "./forget.ts";
import { recency } from "./fusion.ts";
import { MEMORY_KINDS } from "./kinds.ts";

/** What one maintenance run removed. */
export interface MaintenanceReport {
  expired: number;
  capped: number;
  /** Slices of full-text segment merging done (0 when the index had few segments). */
  ftsMerges: number;
}

/** Segments the full-text index may have before it is merged (a search reads each one). */
export const FTS_MAX_SEGMENTS = 4;
/** Pages one slice of merging writes at most; a turn waits at most for one slice. */
const FTS_MERGE_PAGES = 256;

/**
 * Merges the full-text index's segments, a slice at a time, each in its own task, so a turn
 * arriving meanwhile waits for one slice at most. Inserts leave the index in many segments
 * (bulk imports most of all); merged, searches run about twice as fast. Returns the slices done.
 */
export async function mergeFullText(store: Store): Promise<number> {
  let slices = 0;
  for (;;) {
    const { merged, more } = await store.text.tidy({
      maxSegments: FTS_MAX_SEGMENTS,
      pages: FTS_MERGE_PAGES,
    });
    if (merged) slices++;
    if (!more) return slices;
    await nextTask();
  }
}

/** Options for {@link createMaintenance}. */
export interface MaintenanceOptions {
  store: Store;
  forget: Forget;
  config: MemoryConfig;
  clock: Clock;
  log: Logger;
}

/**
 * TTL and caps (spec/memory.md §8.1): deletes expired items in batches of
 * 1,000, then, per owner and kind over `maxPerOwner`, the lowest
 * `importance × recency` items (never narrative versions), through the
 * forget path.
 */
export function createMaintenance(options: MaintenanceOptions): () => Promise<MaintenanceReport> {
  const { store, forget, config, clock, log } = options;
  const { db } = store;
  return async function runMaintenance() {
    const now = clock.now();
    let expired = 0;
    for (;;) {
      const rows = await db.selectFrom("memories").select("id")
        .where("expires_at", "is not", null).where("expires_at", "<=", now)
        .orderBy("id").limit(1_000).execute();
      if (rows.length === 0) break;
      expired += (await forget.deleteIds(
        rows.map((row) => row.id),
        "maintenance",
        { expired: true },
      )).length;
    }
    let capped = 0;
    for (const kind of MEMORY_KINDS) {
      const max = config.retention[kind].maxPerOwner;
      const owners = await db.selectFrom("memories")
        .select(["owner_user_id", (eb) => eb.fn.countAll<number>().as("n")])
        .where("kind", "=", kind)
        .groupBy("owner_user_id")
        .having((eb) => eb.fn.countAll(), ">", max)
        .execute();
      for (const { owner_user_id: owner, n } of owners) {
        let query = db.selectFrom("memories as m")
          .leftJoin("memory_self as s", "s.memory_id", "m.id")
          .select(["m.id", "m.importance", "m.created_at", "s.subkind"])
          .where("m.kind", "=", kind);
        query = owner === null
          ? query.where("m.owner_user_id", "is", null)
          : query.where("m.owner_user_id", "=", owner);
        const rows = (await query.execute()).filter((row) => row.subkind !== "narrative");
        const excess = Number(n) - max;
        const victims = rows
          .map((row) => ({
            id: row.id,
            value: row.importance * recency(now - row.created_at, config.recall.halfLifeDays[kind]),
          }))
          .sort((a, b) => a.value - b.value || a.id - b.id)
          .slice(0, excess)
          .map((row) => row.id);
        capped += (await forget.deleteIds(victims, "maintenance", { cap: kind, owner })).length;
      }
    }
    const ftsMerges = await mergeFullText(store);
    if (expired + capped + ftsMerges > 0) {
      log.info("memory maintenance", { expired, capped, fts_merges: ftsMerges });
    }
    return { expired, capped, ftsMerges };
  };
}
