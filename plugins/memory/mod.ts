/**
 * The memory plugin: conversations, events, facts, self memories and
 * key-value identity in the shared SQLite store, hybrid recall (FTS5 and
 * the WASM vector index), retention and forget, and the `/api/memories`
 * routes (spec/memory.md).
 *
 * @module
 */
import {
  BoundedMap,
  definePlugin,
  type Embedder,
  type MemoryKind,
  type MemorySource,
  MIND_HOOKS,
  type Plugin,
} from "@synth/kernel";
import { formatRecallBlock } from "./format.ts";
import { extractJob } from "./extract.ts";
import { type MemoryConfig, memoryConfigSchema } from "./config.ts";
import { memoryRoutes } from "./routes.ts";
import { createMemoryService, type MemoryApi, type MemoryService } from "./service.ts";
import { markRecalled } from "./recall.ts";

export { createReembedCommand, reembedCommand } from "./cli.ts";
export type { MemoryConfig } from "./config.ts";
export type { MemoryApi, MemoryUpdateEvent } from "./service.ts";
export type { RecallItem, RecallQuery, RecallResult } from "./recall.ts";
export type { Memory } from "./records.ts";
export type { Thread, ThreadMessage } from "./conversations.ts";

/** Options for {@link createMemoryPlugin}. */
export interface CreateMemoryPluginOptions {
  /**
   * The embedder of the vector space. @default the gateway's `embedding`
   * role (`llm.roles.embedding`; the local lexical embedder unless configured)
   */
  embedder?: Embedder;
}

/** Builds the memory plugin (tests may give a scripted embedder). */
export function createMemoryPlugin(
  options: CreateMemoryPluginOptions = {},
): Plugin<MemoryConfig, MemoryApi> {
  // One plugin object may serve several hosts (tests); state lives per context.
  const running = new WeakMap<object, { service: MemoryService; maintenance?: number }>();
  return definePlugin({
    manifest: {
      id: "memory",
      version: "1.0.0",
      isolation: "in_process",
      httpBase: "/api",
      configSchema: memoryConfigSchema,
    },
    async setup(ctx) {
      const service = createMemoryService({
        store: ctx.db,
        clock: ctx.clock,
        ids: ctx.ids,
        log: ctx.log,
        bus: ctx.bus,
        config: ctx.config,
        embedder: options.embedder ?? ctx.llm.embedder,
      });
      await service.vectors.prepare();
      ctx.health.register("vector_index", () => service.vectors.health());
      memoryRoutes(ctx.http, service, ctx.db);
      registerMindHooks(ctx, service);
      running.set(ctx, { service });
      return service;
    },
    start(ctx) {
      const state = running.get(ctx)!;
      const current = state.service;
      if (current.vectors.state === "reembedding") {
        // Recall is full-text only until the new space is complete.
        current.reembedInServer(ctx.signal).catch((error) =>
          ctx.log.error("re-embedding failed", { error })
        );
      } else {
        // The index loads in the background; recall is full-text only until it is ready.
        current.vectors.load(ctx.signal).catch((error) =>
          ctx.log.error("loading the vector index failed", { error })
        );
      }
      const schedule = () => {
        state.maintenance = ctx.clock.setTimeout(() => {
          current.runMaintenance()
            .catch((error) => ctx.log.error("memory maintenance failed", { error }))
            .finally(() => {
              if (!ctx.signal.aborted) schedule();
            });
        }, ctx.config.maintenanceIntervalMs);
      };
      schedule();
    },
    async stop(ctx) {
      const state = running.get(ctx);
      if (state?.maintenance !== undefined) ctx.clock.clearTimeout(state.maintenance);
      await state?.service.vectors.stop();
    },
  });
}

/** The memory plugin with the configured embedder. */
export const memoryPlugin: Plugin<MemoryConfig, MemoryApi> = createMemoryPlugin();

/**
 * Answers the mind: threads and messages (`mind.conversations`), hybrid
 * recall into the labelled data block (`mind.recall`, `mind.fragments`),
 * `/forget` (`mind.forget`) and `/export` (`mind.export`).
 */
function registerMindHooks(
  ctx: Parameters<Plugin<MemoryConfig, MemoryApi>["setup"]>[0],
  service: MemoryService,
) {
  ctx.hooks.on(MIND_HOOKS.conversations, () => ({
    createThread: (input) => service.conversations.createThread(input),
    getThread: (id) => service.conversations.getThread(id),
    threadOwner: (id) => service.conversations.threadOwner(id),
    latestThreadId: (owner) => service.conversations.latestThreadId(owner),
    listThreads: (owner, options) => service.conversations.listThreads(owner, options),
    addMessage: (input, within) => service.conversations.addMessage(input, within),
    threadWindow: (threadId, options) => service.conversations.threadWindow(threadId, options),
    updateThread: (id, patch) => service.conversations.updateThread(id, patch),
    deleteThread: (id) => service.conversations.deleteThread(id),
  }));

  ctx.hooks.on(MIND_HOOKS.recall, async ({ view, query, limit }, { signal }) => {
    // What the prompt already holds (the history and this message) is not recalled again.
    const firstInPrompt = view.history[0]?.seq ?? view.message.seq;
    const result = await service.recall({
      text: query,
      ownerUserId: view.userId,
      k: limit,
      signal,
      excludeThreadWindow: { threadId: view.threadId, fromSeq: firstInPrompt },
      // Counted in the turn's transaction (mind.persist below), not in a write of its own.
      recordStatistics: false,
    });
    const scores = new Map(result.scores.map((score) => [score.uid, score]));
    return {
      mode: result.mode,
      items: result.items.map((item) => {
        const score = scores.get(item.uid);
        return {
          memoryId: item.uid,
          kind: item.kind,
          text: item.text,
          score: item.score,
          source: "recall" as const,
          origin: item.source,
          trust: item.trust,
          createdAt: item.createdAt,
          components: {
            ...(score?.cosine !== null && score?.cosine !== undefined
              ? { vector: score.cosine }
              : {}),
            ...(score?.bm25 !== null && score?.bm25 !== undefined ? { bm25: score.bm25 } : {}),
            ...(score ? { recency: score.recency } : {}),
          },
        };
      }),
    };
  });

  // The memories each turn's prompt holds (recalled and prefetched) are counted as recalled in the
  // turn's own transaction; a turn that fails or is cancelled after its prompt counts them then.
  const inPrompt = new BoundedMap<string, { uids: string[]; at: number }>(64);
  ctx.hooks.on(MIND_HOOKS.persist, async ({ view, db }) => {
    inPrompt.delete(view.turnId);
    await markRecalled(db, (view.recall?.items ?? []).map((item) => item.memoryId), view.now);
  });
  ctx.bus.subscribe("mind.turn.event", async (event) => {
    const { type, turnId } = event.data.event as { type: string; turnId: string };
    if (type !== "turn.failed" && type !== "turn.cancelled") return;
    const pending = inPrompt.get(turnId);
    if (!pending) return;
    inPrompt.delete(turnId);
    await markRecalled(ctx.db.db, pending.uids, pending.at)
      .catch((error) => ctx.log.warn("recording recall statistics failed", { error }));
  });

  ctx.hooks.on(MIND_HOOKS.fragments, (view) => {
    const items = view.recall?.items ?? [];
    if (items.length === 0) return [];
    inPrompt.set(view.turnId, { uids: items.map((item) => item.memoryId), at: view.now });
    const top = items[0];
    const prefetched = items.filter((item) => item.source === "prefetch").length;
    return [{
      module: "memory",
      key: "recall",
      section: "memory" as const,
      priority: 70,
      // The labelled data block is the only way memory text enters a prompt.
      text: formatRecallBlock(items.map((item) => ({
        kind: item.kind as MemoryKind,
        source: item.origin as MemorySource,
        trust: item.trust,
        createdAt: item.createdAt,
        text: item.text,
      }))),
      reason: `${items.length} memories recalled (${view.recall!.mode}${
        prefetched ? `, ${prefetched} prefetched` : ""
      })${top ? `, best score ${top.score.toFixed(2)}` : ""}`,
    }];
  });

  ctx.hooks.on(MIND_HOOKS.background, (view) => {
    if (!ctx.config.semantic.extract) return [];
    const job = extractJob(service.semantic, view);
    return job ? [job] : [];
  });

  // Every path goes through the forget path, which also empties the vector
  // index; the mind deletes the thread row itself once every module is done.
  ctx.hooks.on(MIND_HOOKS.forget, async (request) => {
    const { userId, threadId, memoryId } = request;
    const actor = request.actor ?? userId;
    if (memoryId) {
      const result = await service.forget.forget({ ids: [memoryId] }, { actor, owner: userId });
      return { deleted: result.forgotten };
    }
    if (threadId) return { deleted: await forgetThread(threadId, actor, request.derived ?? false) };
    if (request.allOfUser) {
      const result = await service.forget.forgetUser(userId, actor);
      return { deleted: result.forgotten };
    }
    return { deleted: 0 };
  });

  /** A thread's memories (and with `derived` those drawn from it); returns how many went. */
  async function forgetThread(threadId: string, actor: string, derived: boolean) {
    const conversations = service.conversations;
    const thread = await conversations.getThread(threadId);
    if (!thread) return 0;
    let deleted = 0;
    if (derived) {
      const drawn = await conversations.memoriesDrawnFrom(threadId);
      deleted += (await service.forget.deleteIds(drawn, actor, {
        drawn_from_thread: threadId,
        owner: thread.createdBy,
      })).length;
    } else {
      await conversations.detachMemories(threadId);
    }
    // The thread's memories through the forget path, which adds FTS optimize
    // and a checkpoint for a thread (memory.md §8.2)…
    const own = await service.forget.forget({ threadId }, { actor, owner: thread.createdBy });
    // …and any of another owner stored in it, so none is left to the cascade.
    const strays = await service.forget.deleteIds(
      await conversations.memoriesIn(threadId),
      actor,
      { thread_id: threadId },
    );
    return deleted + own.forgotten + strays.length;
  }

  // `/export`: the caller's memories and identity in the NDJSON export's
  // record shapes; messages are already in the export's threads.
  ctx.hooks.on(MIND_HOOKS.export, async ({ userId }) => {
    const memories: unknown[] = [];
    const kv: unknown[] = [];
    const text = await new Response(service.transfer.exportStream(userId)).text();
    for (const line of text.split("\n")) {
      if (!line) continue;
      const record = JSON.parse(line) as { type: string; kind?: string };
      if (record.type === "memory" && record.kind !== "message") memories.push(record);
      if (record.type === "kv") kv.push(record);
    }
    return { memories, kv };
  });
}
