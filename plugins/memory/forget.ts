import type { Clock, Database, ForgottenTable, Logger, Store } from "@synth/kernel";
import type { Kysely } from "kysely";
import type { MemoryConfig } from "./config.ts";
import { memoryError } from "./errors.ts";
import type { RecallQuery, RecallResult } from "./recall.ts";
import type { VectorManager } from "./vectors.ts";

/** What to forget; the selectors given intersect. */
export interface ForgetSelector {
  /** Memory uids. */
  ids?: readonly string[];
  threadId?: string;
  /** Memories recalled for this text with score ≥ `memory.forget.matchMinScore`. */
  match?: string;
  /** Only memories created before this time (epoch ms). */
  before?: number;
  /** Only return the ids. */
  dryRun?: boolean;
}

/** Whose memories a forget may touch. */
export interface ForgetScope {
  /** Who asks (recorded in the forget log). */
  actor: string;
  /** The owner whose memories are searched (null = agent-wide). */
  owner: string | null;
}

/** The result of a forget. */
export interface ForgetResult {
  forgotten: number;
  /** Uids (of what would be forgotten, for a dry run). */
  ids: string[];
}

/** Options for {@link createForget}. */
export interface ForgetOptions {
  store: Store;
  vectors: VectorManager;
  config: MemoryConfig;
  clock: Clock;
  log: Logger;
  recall: (query: RecallQuery) => Promise<RecallResult>;
  onForgotten: (uids: string[]) => void;
}

/** The one forget path: HTTP, commands, thread and user deletion all use it. */
export interface Forget {
  /**
   * Deletes the selected memories in one transaction (cascades and the
   * FTS trigger remove their parts), then takes them out of the index.
   *
   * @throws {AppError} `MEMORY_PAYLOAD_INVALID` when no selector is given.
   */
  forget(selector: ForgetSelector, scope: ForgetScope): Promise<ForgetResult>;
  /** Forgets everything a user owns: memories, threads and their `kv` rows. */
  forgetUser(userId: string, actor: string): Promise<ForgetResult>;
  /** Deletes numeric ids (retention); logs the selector. */
  deleteIds(
    ids: readonly number[],
    actor: string,
    selector: Record<string, unknown>,
  ): Promise<string[]>;
}

/** Rows of `forgotten` per statement (three parameters each). */
const FORGOTTEN_CHUNK = 300;

/**
 * Records that `keys` were forgotten, by id only, so that an import skips them (spec/memory.md
 * §8.2: nothing returns them again). Runs in the forget's own transaction.
 */
export async function recordForgotten(
  db: Kysely<Database>,
  what: ForgottenTable["what"],
  keys: readonly string[],
  at: number,
): Promise<void> {
  for (let i = 0; i < keys.length; i += FORGOTTEN_CHUNK) {
    await db.insertInto("forgotten")
      .values(keys.slice(i, i + FORGOTTEN_CHUNK).map((key) => ({ what, key, at })))
      .onConflict((conflict) => conflict.doNothing()).execute();
  }
}

/** Creates the forget path. */
export function createForget(options: ForgetOptions): Forget {
  const { store, vectors, config, clock } = options;
  const { db } = store;

  async function deleteIds(
    ids: readonly number[],
    actor: string,
    selector: Record<string, unknown>,
  ) {
    if (ids.length === 0) return [];
    const uids = await store.transaction(async (trx) => {
      const removed: string[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const rows = await trx.deleteFrom("memories").where("id", "in", chunk).returning("uid")
          .execute();
        removed.push(...rows.map((row) => row.uid));
      }
      await recordForgotten(trx, "memory", removed, clock.now());
      await trx.insertInto("forget_log").values({
        actor,
        selector: JSON.stringify(selector),
        count: removed.length,
        created_at: clock.now(),
      }).execute();
      return removed;
    });
    vectors.remove(ids);
    options.onForgotten(uids);
    return uids;
  }

  /** Scrubs freed pages and the log after forgetting a whole thread or user. */
  async function scrub() {
    await store.text.optimize();
    await store.checkpoint();
  }

  return {
    async forget(selector, scope) {
      const given = [selector.ids, selector.threadId, selector.match, selector.before]
        .filter((value) => value !== undefined);
      if (given.length === 0) {
        throw memoryError("PAYLOAD_INVALID", {
          field: "ids",
          message: "Give at least one of ids, thread_id, match or before",
        });
      }
      let query = db.selectFrom("memories").select(["id", "uid"]);
      query = scope.owner === null
        ? query.where("owner_user_id", "is", null)
        : query.where("owner_user_id", "=", scope.owner);
      if (selector.ids) {
        if (selector.ids.length === 0) return { forgotten: 0, ids: [] };
        query = query.where("uid", "in", [...selector.ids]);
      }
      if (selector.threadId !== undefined) query = query.where("thread_id", "=", selector.threadId);
      if (selector.before !== undefined) query = query.where("created_at", "<", selector.before);
      if (selector.match !== undefined) {
        if (scope.owner === null) return { forgotten: 0, ids: [] };
        const matched = await options.recall({
          text: selector.match,
          ownerUserId: scope.owner,
          k: 10_000,
          tokenBudget: Infinity,
          minScore: config.forget.matchMinScore,
        });
        const matchedUids = matched.items.map((item) => item.uid);
        if (matchedUids.length === 0) return { forgotten: 0, ids: [] };
        query = query.where("uid", "in", matchedUids);
      }
      const rows = await query.orderBy("id").execute();
      if (selector.dryRun) return { forgotten: 0, ids: rows.map((row) => row.uid) };
      const uids = await deleteIds(rows.map((row) => row.id), scope.actor, {
        ids: selector.ids?.length,
        thread_id: selector.threadId,
        match: selector.match !== undefined,
        before: selector.before,
        owner: scope.owner,
      });
      if (selector.threadId !== undefined) await scrub();
      return { forgotten: uids.length, ids: uids };
    },

    async forgetUser(userId, actor) {
      const rows = await db.selectFrom("memories").select("id").where("owner_user_id", "=", userId)
        .execute();
      const uids = await deleteIds(rows.map((row) => row.id), actor, { user: userId });
      const namespace = `user:${userId}`;
      await store.transaction(async (trx) => {
        const threads = await trx.selectFrom("threads").select("id")
          .where("created_by", "=", userId).execute();
        await recordForgotten(trx, "thread", threads.map((thread) => thread.id), clock.now());
        await recordForgotten(trx, "kv", [namespace], clock.now());
        await trx.deleteFrom("threads").where("created_by", "=", userId).execute();
        await trx.deleteFrom("kv").where("namespace", "=", namespace).execute();
      });
      await scrub();
      return { forgotten: uids.length, ids: uids };
    },

    deleteIds,
  };
}
