import {
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
import { type Memory, toMemory } from "./records.ts";
import { createMaintenance, type MaintenanceReport } from "./retention.ts";
import { createTransfer, type Transfer } from "./transfer.ts";
import { createReembedder, LEASE_MS, type Reembedder } from "./reembed.ts";
import { createSemanticMemory, type SemanticMemory } from "./semantic.ts";
import { createVectorManager, type VectorManager } from "./vectors.ts";
import { createMemoryWriter } from "./writer.ts";

/** `memory.update` on the bus: ids and kind only, never content. */
export interface MemoryUpdateEvent {
  op: "created" | "forgotten";
  ids: string[];
  kind?: MemoryKind;
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

/** The assembled service plus what the plugin lifecycle needs. */
export interface MemoryService extends MemoryApi {
  readonly vectors: VectorManager;
}

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
  const writer = createMemoryWriter({ store, clock, ids, config, vectors });

  const onWritten = (kind: MemoryKind) => (_ids: number[], uids: string[]) => {
    vectors.wake();
    bus.publish("memory.update", { op: "created", ids: uids, kind });
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
  const forget = createForget({
    store,
    vectors,
    config,
    clock,
    log,
    recall,
    onForgotten: (uids) => {
      if (uids.length > 0) bus.publish("memory.update", { op: "forgotten", ids: uids });
    },
  });
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
    transfer: createTransfer({ store, vectors, clock, log }),
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

    flushEmbeddings: () => vectors.flush(),
    runMaintenance,
  };
}

/** Throws `MEMORY_NOT_FOUND` unless the memory exists for the caller. */
export function requireMemory(memory: Memory | null): Memory {
  if (!memory) throw memoryError("NOT_FOUND");
  return memory;
}
