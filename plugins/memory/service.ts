import {
  BoundedMap,
  type Clock,
  delay,
  type EventBus,
  type IdFactory,
  type Logger,
  type MemoryKind,
  type Store,
} from "@synth/kernel";
import type { Embedder } from "@synth/kernel";
import type { MemoryConfig } from "./config.ts";
import { type Conversations, createConversations } from "./conversations.ts";
import { createEpisodes, type Episodes } from "./episodes.ts";
import { memoryError } from "./errors.ts";
import { createForget, type Forget } from "./forget.ts";
import { formatRecallBlock, type RecallLine } from "./format.ts";
import { createKeyValue, type KeyValue } from "./kv.ts";
import { DEFAULT_IMPORTANCE } from "./kinds.ts";
import { createRecall, type RecallQuery, type RecallResult } from "./recall.ts";
import { type Memory, type MemoryRow, toMemory } from "./records.ts";
import { createMaintenance, type MaintenanceReport } from "./retention.ts";
import { createTransfer, type Transfer } from "./transfer.ts";
import { createReembedder, LEASE_MS, type Reembedder } from "./reembed.ts";
import { createSemanticMemory, type SemanticMemory } from "./semantic.ts";
import { createVectorManager, type VectorManager } from "./vectors.ts";
import { createMemoryWriter, type MemoryWriter } from "./writer.ts";

/**
 * `memory.update` on the bus: ids, kind and owner, never content. The
 * WebSocket server sends `{op, ids, kind?}` on the `memory` topic to the
 * owner's sockets only (spec/server.md §5.3).
 */
export interface MemoryUpdateEvent {
  op: "created" | "updated" | "forgotten";
  /** Memory uids, all of one owner. */
  ids: string[];
  /** Present when every id is of this kind (absent on `forgotten`). */
  kind?: MemoryKind;
  /** Whose memories these are; null for agent-wide ones (self memories), which every user reads. */
  ownerUserId: string | null;
}

declare module "@synth/kernel" {
  interface BusEventMap {
    "memory.update": MemoryUpdateEvent;
  }
}

/** Input of {@link MemoryApi.addSelf}. */
export interface AddSelfInput {
  subkind: "reflection" | "narrative";
  version?: number | null;
  text: string;
  payload?: unknown;
  sourceRef?: string | null;
}

/** What `ctx.use("memory")` returns. */
export interface MemoryApi {
  /** The configured embedder (`memory.embedder` in the spec). */
  readonly embedder: Embedder;
  readonly conversations: Conversations;
  readonly episodes: Episodes;
  readonly semantic: SemanticMemory;
  readonly kv: KeyValue;
  /** Stores a reflection or narrative version as an agent-wide `self` memory. */
  addSelf(input: AddSelfInput): Promise<{ id: number; uid: string }>;
  /** Hybrid recall (spec/memory.md §5). */
  recall(query: RecallQuery): Promise<RecallResult>;
  /** The labelled data block: the only way memory text enters a prompt. */
  formatRecallBlock(items: readonly RecallLine[]): string;
  /** Forget by selector, user or ids. */
  readonly forget: Forget;
  /** NDJSON export and import. */
  readonly transfer: Transfer;
  /** Re-embedding into the configured embedder's space. */
  readonly reembedder: Reembedder;
  /**
   * Runs (or resumes) re-embedding in the server until it finishes or
   * `signal` aborts; waits while another process holds the job's lease.
   */
  reembedInServer(signal: AbortSignal): Promise<void>;
  /** One memory visible to `ownerUserId` (their own, or agent-wide self memories). */
  get(uid: string, ownerUserId: string): Promise<Memory | null>;
  /** Embeds every queued memory now (tests, benchmarks and `reembed`). */
  flushEmbeddings(): Promise<number>;
  /** Runs TTL and caps now. */
  runMaintenance(): Promise<MaintenanceReport>;
}

/** Options for {@link createMemoryService}. */
export interface MemoryServiceOptions {
  store: Store;
  clock: Clock;
  ids: IdFactory;
  log: Logger;
  bus: EventBus;
  config: MemoryConfig;
  embedder: Embedder;
}

/** What `PATCH /api/memories/{id}` may change (spec/memory.md §9); the text never changes. */
export interface MemoryChanges {
  importance?: number;
  /** Epoch ms, or null for never. */
  expiresAt?: number | null;
  suspicious?: boolean;
}

/** The assembled service plus what the plugin lifecycle and the routes need. */
export interface MemoryService extends MemoryApi {
  readonly vectors: VectorManager;
  /** Applies `changes` to the memory `uid` and announces `memory.update {op: "updated"}`. */
  update(uid: string, changes: MemoryChanges): Promise<void>;
}

/** Most memories written and not yet announced at once (a rolled-back write is never announced). */
const PENDING_OWNERS = 10_000;

/** Wires the memory parts together. */
export function createMemoryService(options: MemoryServiceOptions): MemoryService {
  const { store, clock, ids, log, bus, config } = options;
  const vectors = createVectorManager({
    store,
    embedder: options.embedder,
    config,
    clock,
    log: log.child("vectors"),
  });
  const baseWriter = createMemoryWriter({ store, clock, ids, config, vectors });
  // The parts report written ids only; the owner each was written for is kept
  // here until its commit is announced, so the event can name the audience.
  const pendingOwners = new BoundedMap<number, string | null>(PENDING_OWNERS);
  const writer: MemoryWriter = {
    async insert(trx, memory) {
      const written = await baseWriter.insert(trx, memory);
      pendingOwners.set(written.id, memory.ownerUserId);
      return written;
    },
  };

  /** Publishes one `memory.update` per owner among `items`. */
  function announce(
    op: MemoryUpdateEvent["op"],
    items: ReadonlyArray<{ uid: string; owner: string | null }>,
    kind?: MemoryKind,
  ) {
    const byOwner = new Map<string | null, string[]>();
    for (const { uid, owner } of items) {
      const list = byOwner.get(owner);
      if (list) list.push(uid);
      else byOwner.set(owner, [uid]);
    }
    for (const [ownerUserId, uids] of byOwner) {
      bus.publish("memory.update", { op, ids: uids, ...(kind ? { kind } : {}), ownerUserId });
    }
  }

  const onWritten = (kind: MemoryKind) => (written: number[], uids: string[]) => {
    vectors.wake();
    const items: Array<{ uid: string; owner: string | null }> = [];
    written.forEach((id, index) => {
      const owner = pendingOwners.get(id);
      pendingOwners.delete(id);
      if (owner === undefined) {
        log.warn("a written memory's owner is unknown; its memory.update is not sent", { id });
      } else items.push({ uid: uids[index]!, owner });
    });
    announce("created", items, kind);
  };
  const conversations = createConversations({
    store,
    clock,
    ids,
    writer,
    onWritten: onWritten("message"),
  });
  const episodes = createEpisodes({ store, writer, onWritten: onWritten("episode") });
  const semantic = createSemanticMemory({
    store,
    writer,
    vectors,
    config,
    clock,
    log,
    onWritten: onWritten("semantic"),
  });
  const recall = createRecall({ store, vectors, config, clock, log });
  // The forget path reports uids only; the owners are known to each caller below.
  const forgetPath = createForget({
    store,
    vectors,
    config,
    clock,
    log,
    recall,
    onForgotten: () => {},
  });
  const forget: Forget = {
    async forget(selector, scope) {
      const result = await forgetPath.forget(selector, scope);
      // Every selected memory is of `scope.owner`: the path searches no other.
      if (!selector.dryRun) {
        announce("forgotten", result.ids.map((uid) => ({ uid, owner: scope.owner })));
      }
      return result;
    },
    async forgetUser(userId, actor) {
      const result = await forgetPath.forgetUser(userId, actor);
      announce("forgotten", result.ids.map((uid) => ({ uid, owner: userId })));
      return result;
    },
    async deleteIds(memoryIds, actor, selector) {
      // Retention deletes across owners: read them while the rows exist.
      const owners = new Map<string, string | null>();
      for (let i = 0; i < memoryIds.length; i += 500) {
        const rows = await store.db.selectFrom("memories").select(["uid", "owner_user_id"])
          .where("id", "in", memoryIds.slice(i, i + 500)).execute();
        for (const row of rows) owners.set(row.uid, row.owner_user_id);
      }
      const uids = await forgetPath.deleteIds(memoryIds, actor, selector);
      announce(
        "forgotten",
        uids.flatMap((uid) => owners.has(uid) ? [{ uid, owner: owners.get(uid)! }] : []),
      );
      return uids;
    },
  };
  const runMaintenance = createMaintenance({ store, forget, config, clock, log });
  const reembedder = createReembedder({
    store,
    embedder: options.embedder,
    config,
    clock,
    ids,
    log,
    owner: `server:${Deno.pid}`,
  });

  async function reembedInServer(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const job = await reembedder.prepare();
        await reembedder.run(job.id, {
          signal,
          onProgress: (progress) => vectors.setProgress(progress),
        });
        await vectors.completeReembed(signal);
        return;
      } catch (error) {
        if (signal.aborted) return;
        const running = error instanceof Error && "code" in error &&
          error.code === "MEMORY_REEMBED_RUNNING";
        if (!running) log.error("re-embedding failed; retrying", { error });
        await delay(clock, LEASE_MS, { signal }).catch(() => {});
      }
    }
  }

  return {
    embedder: options.embedder,
    vectors,
    conversations,
    episodes,
    semantic,
    kv: createKeyValue(store, clock),
    forget,
    transfer: createTransfer({
      store,
      vectors,
      clock,
      log,
      onImported: (items) => {
        for (const kind of new Set(items.map((item) => item.kind))) {
          announce("created", items.filter((item) => item.kind === kind), kind);
        }
      },
    }),
    reembedder,
    reembedInServer,
    recall,
    formatRecallBlock,

    async addSelf(input) {
      const written = await store.transaction(async (trx) => {
        const memory = await writer.insert(trx, {
          kind: "self",
          ownerUserId: null,
          text: input.text,
          source: "agent",
          sourceRef: input.sourceRef ?? null,
          importance: DEFAULT_IMPORTANCE.self,
        });
        await trx.insertInto("memory_self").values({
          memory_id: memory.id,
          subkind: input.subkind,
          version: input.version ?? null,
          payload: input.payload === undefined ? null : JSON.stringify(input.payload),
        }).execute();
        return memory;
      });
      onWritten("self")([written.id], [written.uid]);
      return { id: written.id, uid: written.uid };
    },

    async get(uid, ownerUserId) {
      const row = await store.db.selectFrom("memories").selectAll().where("uid", "=", uid)
        .executeTakeFirst();
      if (!row) return null;
      const visible = row.owner_user_id === ownerUserId ||
        (row.owner_user_id === null && row.kind === "self");
      return visible ? toMemory(row) : null;
    },

    async update(uid, changes) {
      const set: Partial<Pick<MemoryRow, "importance" | "expires_at" | "suspicious">> = {};
      if (changes.importance !== undefined) set.importance = changes.importance;
      if (changes.expiresAt !== undefined) set.expires_at = changes.expiresAt;
      if (changes.suspicious !== undefined) set.suspicious = changes.suspicious ? 1 : 0;
      if (Object.keys(set).length === 0) {
        throw memoryError("PAYLOAD_INVALID", {
          message: "Give at least one of importance, expires_at, suspicious",
        });
      }
      const row = await store.db.updateTable("memories").set(set).where("uid", "=", uid)
        .returning(["id", "kind", "owner_user_id"]).executeTakeFirst();
      if (!row) throw memoryError("NOT_FOUND");
      // The index filters by expiry and flag from its own copy: keep it in step.
      vectors.updateMeta(row.id, {
        ...(set.expires_at !== undefined ? { expiresAt: set.expires_at } : {}),
        ...(set.suspicious !== undefined ? { flagged: set.suspicious === 1 } : {}),
      });
      announce("updated", [{ uid, owner: row.owner_user_id }], row.kind);
    },

    flushEmbeddings: () => vectors.flush(),
    runMaintenance,
  };
}

/** Throws `MEMORY_NOT_FOUND` unless the memory exists for the caller. */
export function requireMemory(memory: Memory | null): Memory {
  if (!memory) throw memoryError("NOT_FOUND");
  return memory;
}
