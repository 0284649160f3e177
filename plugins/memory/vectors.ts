import {
  type AsyncVectorIndex,
  type CheckResult,
  type Clock,
  ConfigurationError,
  createThreadedVectorIndex,
  type Embedder,
  errorMessage,
  type Logger,
  onThisThread,
  type SlotFilter,
  type Store,
  type VectorHit,
} from "@synth/kernel";
import type { Kysely, Transaction } from "kysely";
import { type Database, listValues, prepareByCount, slotList } from "@synth/kernel";
import type { MemoryConfig } from "./config.ts";
import { MEMORY_ERRORS } from "./errors.ts";
import { KIND_CODES } from "./kinds.ts";

/** Where vector search stands. */
export type VectorState = "loading" | "ready" | "reembedding";

/** A vector space row. */
interface Space {
  id: number;
  provider: string;
  model: string;
  dims: number;
  status: "active" | "building" | "retired";
}

const MAX_BACKOFF_MS = 600_000;

/** Memories into the embedding queue (each message of a turn comes one by one). */
const enqueueRows = prepareByCount((db: Kysely<Database>, slot, count) =>
  db.insertInto("embed_queue").values(
    slotList<number>(slot, "memory", count).map((memoryId) => ({
      space_id: slot<number>("spaceId"),
      memory_id: memoryId,
      next_attempt_at: slot<number>("now"),
    })),
  ).onConflict((conflict) => conflict.columns(["space_id", "memory_id"]).doNothing())
);

/** Float32 little-endian bytes of a vector (the BLOB format). */
export function vectorToBlob(vector: Float32Array): Uint8Array {
  return new Uint8Array(
    vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength),
  );
}

/** The vector in a BLOB, or null when its length is not `dims` floats. */
export function blobToVector(blob: Uint8Array, dims: number): Float32Array | null {
  if (blob.byteLength !== dims * 4) return null;
  return new Float32Array(blob.slice().buffer);
}

/** Options for {@link createVectorManager}. */
export interface VectorManagerOptions {
  store: Store;
  embedder: Embedder;
  config: MemoryConfig;
  clock: Clock;
  log: Logger;
}

/** Vector spaces, the in-memory index, and the embedding queue. */
export interface VectorManager {
  readonly embedder: Embedder;
  readonly state: VectorState;
  /** The space new memories are embedded into. */
  readonly spaceId: number;
  /** Memories waiting for a vector. */
  queueSize(): Promise<number>;
  /**
   * Checks the configured embedder against the stored spaces.
   *
   * @throws {ConfigurationError} `MEMORY_EMBEDDING_MISMATCH` when the model
   * changed and `memory.embedding.onMismatch` is `refuse`.
   */
  prepare(): Promise<void>;
  /** Loads the index from the database in chunks; recall is full-text only until done. */
  load(signal: AbortSignal): Promise<void>;
  /** Queues memories for embedding (inside the inserting transaction). */
  enqueue(trx: Transaction<Database>, memoryIds: readonly number[]): Promise<void>;
  /** Schedules a queue run after `embedQueue.flushMs`. */
  wake(): void;
  /** Embeds every due item now (in batches); returns how many got a vector. */
  flush(): Promise<number>;
  /**
   * k-NN over the index, or null while vector search is unavailable. On a worker (see
   * `memory.vector.workerFrom`) the scan runs there, while the caller's thread goes on.
   */
  search(query: Float32Array, k: number, filter: SlotFilter): Promise<VectorHit[] | null>;
  /** Takes forgotten memories out of the index. */
  remove(ids: readonly number[]): void;
  /** Keeps the index's copy of a memory's expiry and flag in step with its row. */
  updateMeta(id: number, meta: { expiresAt?: number | null; flagged?: boolean }): void;
  /** The `vector_index` health check. */
  health(): CheckResult;
  /** Index size, memory, and the thread its scans run on. */
  indexInfo(): { size: number; memoryBytes: number; kind: string; thread: "main" | "worker" };
  /** Records re-embedding progress for the health check. */
  setProgress(progress: { done: number; total: number }): void;
  /** After re-embedding finished: the building space is active; load the index from it. */
  completeReembed(signal: AbortSignal): Promise<void>;
  /** Stops the queue timer and waits for a running batch or load to end. */
  stop(): Promise<void>;
}

/** Creates the manager; call `prepare()` in setup and `load()` in start. */
export function createVectorManager(options: VectorManagerOptions): VectorManager {
  const { store, embedder, config, clock, log } = options;
  const { db } = store;
  let state: VectorState = "loading";
  let space: Space | undefined;
  const indexOptions = {
    dims: embedder.dims,
    maxVectors: config.vector.maxVectors,
    minCandidates: config.vector.minCandidates,
  };
  // On this thread until loaded: only `loadIndex` starts a worker, which `stop()` then closes.
  let index: AsyncVectorIndex = onThisThread(indexOptions);
  /** Why the index's worker stopped, if it did: vector search is off until the next load. */
  let indexFailure: string | undefined;
  let timer: number | undefined;
  let running: Promise<number> | undefined;
  let loading: Promise<void> | undefined;
  let stopped = false;
  let capacityWarned = false;
  let reembedPercent = 0;

  /** An index for `vectors` vectors: from `memory.vector.workerFrom` on, on a worker. */
  function newIndex(vectors: number): AsyncVectorIndex {
    if (vectors < config.vector.workerFrom) return onThisThread(indexOptions);
    return createThreadedVectorIndex({
      ...indexOptions,
      onRefused: () => warnFull(),
      onFailure: (message) => {
        indexFailure = message;
        log.error("vector search is off until the next start: its thread failed", {
          error: message,
        });
      },
    });
  }

  function warnFull() {
    if (capacityWarned) return;
    capacityWarned = true;
    log.warn("the vector index is full; further memories are found by full-text search only", {
      code: "MEMORY_VECTOR_CAPACITY",
      max_vectors: config.vector.maxVectors,
    });
  }

  function upsert(id: number, vector: Float32Array, row: IndexMeta) {
    const ok = index.upsert({
      id,
      vector,
      meta: {
        owner: row.owner_user_id,
        kind: KIND_CODES[row.kind],
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        flagged: row.suspicious === 1,
      },
    });
    if (!ok) warnFull();
  }

  async function due(limit: number) {
    return await db.selectFrom("embed_queue as q")
      .innerJoin("memories as m", "m.id", "q.memory_id")
      .select([
        "q.memory_id as id",
        "q.attempts as attempts",
        "m.text as text",
        "m.owner_user_id",
        "m.kind",
        "m.created_at",
        "m.expires_at",
        "m.suspicious",
      ])
      .where("q.space_id", "=", space!.id)
      .where("q.next_attempt_at", "<=", clock.now())
      .where("q.attempts", "<", config.embedQueue.maxAttempts)
      .orderBy("q.next_attempt_at").orderBy("q.memory_id")
      .limit(limit)
      .execute();
  }

  async function backoff(ids: readonly number[], attempts: Map<number, number>, error: string) {
    const now = clock.now();
    await store.transaction(async (trx) => {
      for (const id of ids) {
        const tries = (attempts.get(id) ?? 0) + 1;
        await trx.updateTable("embed_queue")
          .set({
            attempts: tries,
            next_attempt_at: now + Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** (tries - 1)),
            last_error: error.slice(0, 500),
          })
          .where("space_id", "=", space!.id).where("memory_id", "=", id)
          .execute();
      }
    });
  }

  async function runBatch(): Promise<number> {
    const rows = await due(config.embedQueue.batchSize);
    if (rows.length === 0) return 0;
    const attempts = new Map(rows.map((row) => [row.id, row.attempts]));
    let vectors: Float32Array[];
    try {
      vectors = await embedder.embed(rows.map((row) => row.text));
      if (vectors.length !== rows.length) {
        throw new Error(`the embedder returned ${vectors.length} vectors for ${rows.length} texts`);
      }
    } catch (error) {
      log.warn("embedding failed; the items stay queued", {
        embedder: embedder.id,
        count: rows.length,
        error: errorMessage(error),
      });
      await backoff(rows.map((row) => row.id), attempts, errorMessage(error));
      return 0;
    }
    const good: Array<{ row: (typeof rows)[number]; vector: Float32Array }> = [];
    const wrong: number[] = [];
    rows.forEach((row, i) => {
      const vector = vectors[i]!;
      if (vector.length === embedder.dims) good.push({ row, vector });
      else wrong.push(row.id);
    });
    if (wrong.length > 0) {
      const message =
        `the embedder returned vectors of the wrong dimension (expected ${embedder.dims})`;
      log.error(message, { code: MEMORY_ERRORS.EMBEDDING_DIMENSION.code, count: wrong.length });
      await backoff(wrong, attempts, `${MEMORY_ERRORS.EMBEDDING_DIMENSION.code}: ${message}`);
    }
    if (good.length > 0) {
      await store.transaction(async (trx) => {
        await trx.insertInto("memory_vectors")
          .values(good.map(({ row, vector }) => ({
            space_id: space!.id,
            memory_id: row.id,
            vec: vectorToBlob(vector),
          })))
          .onConflict((conflict) =>
            conflict.columns(["space_id", "memory_id"]).doUpdateSet((eb) => ({
              vec: eb.ref("excluded.vec"),
            }))
          )
          .execute();
        await trx.deleteFrom("embed_queue")
          .where("space_id", "=", space!.id)
          .where("memory_id", "in", good.map(({ row }) => row.id))
          .execute();
      });
      if (state === "ready") {
        for (const { row, vector } of good) upsert(row.id, vector, row);
      }
    }
    return good.length;
  }

  async function flushAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const embedded = await runBatch();
      total += embedded;
      if (embedded < config.embedQueue.batchSize || stopped) break;
    }
    return total;
  }

  function schedule(delayMs: number) {
    if (stopped || timer !== undefined) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      manager.flush().then(async () => {
        const next = await db.selectFrom("embed_queue")
          .select((eb) => eb.fn.min("next_attempt_at").as("next"))
          .where("space_id", "=", space!.id)
          .where("attempts", "<", config.embedQueue.maxAttempts)
          .executeTakeFirst();
        if (next?.next != null) schedule(Math.max(0, Number(next.next) - clock.now()));
      }).catch((error) => log.error("the embedding queue failed", { error }));
    }, delayMs);
  }

  async function loadIndex(signal: AbortSignal): Promise<void> {
    if (state === "reembedding") return;
    state = "loading";
    const stored = await db.selectFrom("memory_vectors")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("space_id", "=", space!.id)
      .executeTakeFirstOrThrow();
    // Stopped meanwhile (a re-embedding that ends after the stop): no worker nobody would close.
    if (stopped || signal.aborted) return;
    const old = index;
    index = newIndex(Number(stored.n));
    indexFailure = undefined;
    await old.close();
    let after = 0;
    let loaded = 0;
    for (;;) {
      if (signal.aborted) return;
      const rows = await db.selectFrom("memory_vectors as v")
        .innerJoin("memories as m", "m.id", "v.memory_id")
        .select([
          "v.memory_id as id",
          "v.vec",
          "m.owner_user_id",
          "m.kind",
          "m.created_at",
          "m.expires_at",
          "m.suspicious",
        ])
        .where("v.space_id", "=", space!.id)
        .where("v.memory_id", ">", after)
        .orderBy("v.memory_id")
        .limit(config.vector.loadChunk)
        .execute();
      if (rows.length === 0) break;
      const broken: number[] = [];
      for (const row of rows) {
        const vector = blobToVector(row.vec, embedder.dims);
        if (vector) upsert(row.id, vector, row);
        else broken.push(row.id);
      }
      if (broken.length > 0) {
        log.warn("stored vectors of the wrong length were queued again", { count: broken.length });
        await store.transaction(async (trx) => {
          await trx.deleteFrom("memory_vectors").where("space_id", "=", space!.id)
            .where("memory_id", "in", broken).execute();
          await manager.enqueue(trx, broken);
        });
      }
      loaded += rows.length;
      after = rows.at(-1)!.id;
      // Let requests run between chunks: recall stays full-text only meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await queueMissing(signal);
    state = "ready";
    log.info("vector index loaded", { vectors: index.size, rows: loaded, embedder: embedder.id });
    manager.wake();
  }

  /**
   * Every memory has a vector in the active space or waits in the queue. One written while
   * `deno task reembed` built this space beside a server still on the old embedder has neither:
   * it is queued here, so no memory stays out of vector search.
   */
  async function queueMissing(signal: AbortSignal) {
    const spaceId = space!.id;
    const missing = await db.selectFrom("memories as m").select("m.id")
      .where(({ exists, not, selectFrom }) =>
        not(exists(
          selectFrom("memory_vectors as v").select("v.memory_id")
            .whereRef("v.memory_id", "=", "m.id").where("v.space_id", "=", spaceId),
        ))
      )
      .where(({ exists, not, selectFrom }) =>
        not(exists(
          selectFrom("embed_queue as q").select("q.memory_id")
            .whereRef("q.memory_id", "=", "m.id").where("q.space_id", "=", spaceId),
        ))
      )
      .orderBy("m.id").execute();
    if (missing.length === 0 || signal.aborted) return;
    const ids = missing.map((row) => row.id);
    for (let start = 0; start < ids.length; start += 500) {
      await store.transaction((trx) => manager.enqueue(trx, ids.slice(start, start + 500)));
    }
    log.warn("memories without a vector were queued for embedding", { count: ids.length });
  }

  const manager: VectorManager = {
    embedder,
    get state() {
      return state;
    },
    get spaceId() {
      return space!.id;
    },

    async queueSize() {
      const row = await db.selectFrom("embed_queue").select((eb) =>
        eb.fn.countAll<number>().as("n")
      )
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async prepare() {
      const spaces = await db.selectFrom("vector_spaces")
        .select(["id", "provider", "model", "dims", "status"]).execute() as Space[];
      const configured = spaces.find((row) =>
        row.provider === embedder.provider && row.model === embedder.model &&
        row.dims === embedder.dims
      );
      const active = spaces.find((row) => row.status === "active");
      const now = clock.now();
      if (!active) {
        if (configured) {
          await db.updateTable("vector_spaces").set({ status: "active", updated_at: now })
            .where("id", "=", configured.id).execute();
          space = { ...configured, status: "active" };
        } else {
          const row = await db.insertInto("vector_spaces").values({
            provider: embedder.provider,
            model: embedder.model,
            dims: embedder.dims,
            quality: embedder.quality,
            status: "active",
            created_at: now,
            updated_at: now,
          }).returning("id").executeTakeFirstOrThrow();
          space = {
            id: row.id,
            provider: embedder.provider,
            model: embedder.model,
            dims: embedder.dims,
            status: "active",
          };
        }
        return;
      }
      if (configured?.id === active.id) {
        space = active;
        return;
      }
      if (configured?.status === "building") {
        space = configured;
        state = "reembedding";
        return;
      }
      if (config.embedding.onMismatch === "reembed") {
        if (configured) {
          await db.updateTable("vector_spaces").set({ status: "building", updated_at: now })
            .where("id", "=", configured.id).execute();
          space = { ...configured, status: "building" };
        } else {
          const row = await db.insertInto("vector_spaces").values({
            provider: embedder.provider,
            model: embedder.model,
            dims: embedder.dims,
            quality: embedder.quality,
            status: "building",
            created_at: now,
            updated_at: now,
          }).returning("id").executeTakeFirstOrThrow();
          space = {
            id: row.id,
            provider: embedder.provider,
            model: embedder.model,
            dims: embedder.dims,
            status: "building",
          };
        }
        state = "reembedding";
        log.warn(
          "the embedding model changed; re-embedding in the server, recall is full-text only meanwhile",
          {
            from: `${active.provider}/${active.model}/${active.dims}`,
            to: embedder.id,
          },
        );
        return;
      }
      const count = await db.selectFrom("memories").select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      throw new ConfigurationError(
        MEMORY_ERRORS.EMBEDDING_MISMATCH.code,
        `Cannot start memory: the embedding model changed from '${active.provider}/${active.model}' (${active.dims} dims) to '${embedder.provider}/${embedder.model}' (${embedder.dims} dims): run 'deno task reembed' (${
          Number(count.n)
        } memories) or set llm.roles.embedding back`,
      );
    },

    load(signal) {
      loading = loadIndex(signal).catch((error) => {
        indexFailure = `loading failed: ${errorMessage(error)}`;
        throw error;
      });
      return loading;
    },

    async enqueue(trx, memoryIds) {
      if (memoryIds.length === 0) return;
      const now = clock.now();
      await enqueueRows(memoryIds.length).execute(
        trx,
        listValues("memory", memoryIds, { spaceId: space!.id, now }),
      );
    },

    wake() {
      schedule(config.embedQueue.flushMs);
    },

    flush() {
      if (running) return running.then(() => manager.flush());
      running = flushAll().finally(() => {
        running = undefined;
      });
      return running;
    },

    async search(query, k, filter) {
      if (state !== "ready" || indexFailure !== undefined) return null;
      return await index.search(query, k, filter);
    },

    remove(ids) {
      for (const id of ids) index.remove(id);
    },

    updateMeta(id, meta) {
      index.updateMeta(id, {
        ...(meta.expiresAt !== undefined ? { expiresAt: meta.expiresAt } : {}),
        ...(meta.flagged !== undefined ? { flagged: meta.flagged } : {}),
      });
    },

    health() {
      if (indexFailure !== undefined) return { status: "degraded", reason: indexFailure };
      if (state === "loading") return { status: "degraded", reason: "loading" };
      if (state === "reembedding") {
        return { status: "degraded", reason: `re-embedding ${reembedPercent}%` };
      }
      return {
        status: "ok",
        reason:
          `${index.size} vectors of ${embedder.dims} dims (${embedder.quality}, ${embedder.id})` +
          (index.thread === "worker" ? ", searched on a worker thread" : ""),
      };
    },

    indexInfo() {
      return {
        size: index.size,
        memoryBytes: index.memoryBytes,
        kind: index.kind,
        thread: index.thread,
      };
    },

    setProgress(progress) {
      reembedPercent = progress.total === 0
        ? 100
        : Math.floor((progress.done / progress.total) * 100);
    },

    completeReembed(signal) {
      state = "loading";
      return manager.load(signal);
    },

    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      await Promise.allSettled([running, loading]);
      await index.close();
    },
  };
  return manager;
}

interface IndexMeta {
  owner_user_id: string | null;
  kind: keyof typeof KIND_CODES;
  created_at: number;
  expires_at: number | null;
  suspicious: number;
}
