/**
 * Forgetting a thread, or everything a user owns, through every module:
 * `/forget thread` (spec/mind.md §15), `DELETE /api/threads/{id}`
 * (server.md §4.2) and user deletion (memory.md §8.2).
 *
 * The order makes a crash harmless: the thread's turns end first, then
 * every module forgets what it derived (`mind.forget`), then the mind's own
 * rows go, and the thread row is deleted last — until then the thread is
 * still listed, so forgetting it again finishes the job.
 *
 * @module
 */
import type { EventBus } from "../bus.ts";
import type { Ledger } from "../llm/ledger.ts";
import type { HookRegistry } from "../plugin/hooks.ts";
import type { UserDeletingEvent } from "../security/auth.ts";
import type { Store } from "../store/store.ts";
import { type ConversationPort, type ForgetRequest, MIND_HOOKS } from "./hooks.ts";
import type { Scheduler } from "./scheduler.ts";

/** Options of {@link Forgetter.forgetThread}. */
export interface ForgetThreadOptions {
  /** Who asks (the forget log). */
  actor: string;
  /**
   * The memories drawn from the thread go too: facts extracted from its
   * messages, events recorded in it (`/forget thread`, `?forget=true`).
   */
  derived: boolean;
}

/** What a forget removed. */
export interface ForgetOutcome {
  /** Rows the modules and the mind deleted. */
  deleted: number;
  /** Threads deleted. */
  threads: number;
}

/** Forgets threads and users through every module. */
export interface Forgetter {
  /** Forgets a thread and deletes it; a thread that does not exist forgets nothing. */
  forgetThread(threadId: string, options: ForgetThreadOptions): Promise<ForgetOutcome>;
  /**
   * Forgets everything a user owns: each of their threads as
   * {@link forgetThread} with `derived`, then the rest of their memories
   * and key-value rows (`mind.forget` with `allOfUser`).
   *
   * @throws {Error} When a module fails: nothing after it ran, and forgetting
   * the user again resumes.
   */
  forgetUser(userId: string, actor: string): Promise<ForgetOutcome>;
}

/** Options for {@link createForgetter}. */
export interface ForgetterOptions {
  store: Store;
  /** The ledger, written out before a thread's turns are unset in it. */
  ledger: Pick<Ledger, "flush">;
  hooks: HookRegistry;
  scheduler: Scheduler;
  signal: AbortSignal;
  /** The conversation port, once the mind has started. */
  conversations(): ConversationPort | null;
  /**
   * Cancels the thread's queued and running turns and refuses new ones; resolves once they
   * ended.
   */
  settleTurns(threadId: string): Promise<void>;
  /** The forget of the thread is over (done or failed): new turns are judged as before. */
  forgetEnded(threadId: string): void;
}

/** Threads listed per round while forgetting a user. */
const PAGE = 200;

/** Creates the forgetter. */
export function createForgetter(options: ForgetterOptions): Forgetter {
  const { store, hooks, scheduler } = options;

  /** Runs `mind.forget` handler by handler, so a failure stops the forget. */
  async function runHook(request: ForgetRequest): Promise<number> {
    let deleted = 0;
    for (const entry of hooks.handlers(MIND_HOOKS.forget)) {
      const result = await entry.run(request, {
        hook: MIND_HOOKS.forget.name,
        signal: options.signal,
      });
      deleted += result?.deleted ?? 0;
    }
    return deleted;
  }

  /** The mind's rows of the thread; ledger rows stay with their turn unset (mind.md §15). */
  async function deleteMindRows(threadId: string): Promise<number> {
    await options.ledger.flush();
    return await store.transaction(async (trx) => {
      const turns = await trx.selectFrom("mind_turns").select("id")
        .where("thread_id", "=", threadId).execute();
      const ids = turns.map((turn) => turn.id);
      if (ids.length > 0) {
        await trx.updateTable("mind_ledger").set({ turn_id: null }).where("turn_id", "in", ids)
          .execute();
      }
      await trx.deleteFrom("mind_influence").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("mind_events").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("mind_jobs").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("mind_turns").where("thread_id", "=", threadId).execute();
      await trx.deleteFrom("mind_threads").where("thread_id", "=", threadId).execute();
      return ids.length;
    });
  }

  async function forgetThread(
    threadId: string,
    { actor, derived }: ForgetThreadOptions,
  ): Promise<ForgetOutcome> {
    const port = options.conversations();
    const thread = await port?.getThread(threadId) ?? null;
    try {
      await options.settleTurns(threadId);
      // Queued jobs of the thread must not write for it after it is gone.
      let deleted = await scheduler.forgetThread(threadId);
      deleted += await runHook({ userId: thread?.createdBy ?? actor, threadId, derived, actor });
      deleted += await deleteMindRows(threadId);
      const removed = port ? await port.deleteThread(threadId) : false;
      return { deleted: deleted + (removed ? 1 : 0), threads: removed ? 1 : 0 };
    } finally {
      // Gone, a thread is refused anyway; one whose forget failed takes turns again.
      options.forgetEnded(threadId);
    }
  }

  return {
    forgetThread,

    async forgetUser(userId, actor) {
      const outcome: ForgetOutcome = { deleted: 0, threads: 0 };
      const port = options.conversations();
      const done = new Set<string>();
      while (port) {
        const listed = await port.listThreads(userId, { limit: PAGE, includeArchived: true });
        const left = listed.filter((thread) => !done.has(thread.id));
        if (left.length === 0) {
          if (listed.length > 0) {
            const stuck = listed[0]!.id;
            throw new Error(
              `Forgetting user ${userId} stopped: thread ${stuck} is still there after it was forgotten`,
            );
          }
          break;
        }
        for (const thread of left) {
          done.add(thread.id);
          const one = await forgetThread(thread.id, { actor, derived: true });
          outcome.deleted += one.deleted;
          outcome.threads += one.threads;
        }
      }
      outcome.deleted += await runHook({ userId, allOfUser: true, actor });
      return outcome;
    },
  };
}

/**
 * Forgets a user's data before their account row goes: the auth service
 * publishes `user.deleting` and deletes the row only once this work has
 * finished. Returns the unsubscribe function.
 */
export function forgetDeletedUsers(bus: EventBus, forgetter: Forgetter): () => void {
  return bus.subscribe("user.deleting", (event) => {
    const deleting: UserDeletingEvent = event.data;
    deleting.waitUntil(forgetter.forgetUser(deleting.userId, deleting.actor));
  });
}
