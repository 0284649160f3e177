/**
 * A vector index whose searches answer through a promise, so that callers
 * need not know where it runs: on the server's thread ({@link onThisThread})
 * or on a worker of its own ({@link createThreadedVectorIndex}).
 *
 * @module
 */
import {
  createVectorIndex,
  type CreateVectorIndexOptions,
  type SlotFilter,
  type VectorHit,
  type VectorIndex,
  type VectorRow,
} from "./index.ts";
import type { IndexReply, IndexRequest } from "./index_worker.ts";

/**
 * An in-memory k-NN index over unit vectors, searched on this thread or on a worker. On a worker,
 * `memoryBytes` is as of its last answer, and an upsert answered true may still be refused later,
 * when the index cannot grow (see {@link ThreadedIndexOptions.onRefused}).
 */
export interface AsyncVectorIndex extends Omit<VectorIndex, "search"> {
  /** Where the scans run. */
  readonly thread: "main" | "worker";
  /** The k most similar unit vectors that pass the filter, best first. */
  search(query: Float32Array, k: number, filter: SlotFilter): Promise<VectorHit[]>;
  /** Frees the index (stops its worker); later searches fail. */
  close(): Promise<void>;
}

/** The index on the server's thread, behind the same interface. */
export function onThisThread(options: CreateVectorIndexOptions): AsyncVectorIndex {
  const index = createVectorIndex(options);
  return {
    kind: index.kind,
    thread: "main",
    dims: index.dims,
    get size() {
      return index.size;
    },
    get memoryBytes() {
      return index.memoryBytes;
    },
    upsert: (row) => index.upsert(row),
    remove: (id) => index.remove(id),
    updateMeta: (id, meta) => index.updateMeta(id, meta),
    has: (id) => index.has(id),
    search: (query, k, filter) => Promise.resolve(index.search(query, k, filter)),
    close: () => Promise.resolve(),
  };
}

/** Options for {@link createThreadedVectorIndex}. */
export interface ThreadedIndexOptions extends CreateVectorIndexOptions {
  /** Ids the worker's index refused because it could not grow (they stay unindexed). */
  onRefused?: (ids: number[]) => void;
  /** The worker failed: searches fail from then on. */
  onFailure?: (message: string) => void;
}

/**
 * The index on a worker (`index_worker.ts`). Writes are posted without waiting, upserts batched
 * per task; each search is answered in order after them. The ids are mirrored here, so that
 * `size`, `has` and `updateMeta`'s answer need no round trip.
 */
export function createThreadedVectorIndex(options: ThreadedIndexOptions): AsyncVectorIndex {
  const { dims, onRefused, onFailure } = options;
  const maxVectors = options.maxVectors ?? 1_000_000;
  const worker = new Worker(new URL("./index_worker.ts", import.meta.url), { type: "module" });
  const ids = new Set<number>();
  const waiting = new Map<number, PromiseWithResolvers<VectorHit[]>>();
  let upserts: VectorRow[] = [];
  let searches = 0;
  let memoryBytes = 0;
  let failure: string | undefined;

  const post = (request: IndexRequest) => {
    if (failure !== undefined) return;
    if (request.type !== "upsert" && upserts.length > 0) flush();
    worker.postMessage(request);
  };
  function flush() {
    if (upserts.length === 0) return;
    const rows = upserts;
    upserts = [];
    post({ type: "upsert", rows });
  }
  function fail(message: string) {
    if (failure !== undefined) return;
    failure = message;
    worker.terminate();
    upserts = [];
    for (const answer of waiting.values()) answer.reject(new Error(message));
    waiting.clear();
  }

  function remove(id: number) {
    if (!ids.delete(id)) return;
    post({ type: "remove", ids: [id] });
  }

  worker.onmessage = (event: MessageEvent<IndexReply>) => {
    const reply = event.data;
    if (reply.type === "written") {
      memoryBytes = reply.memoryBytes;
      if (reply.refused.length > 0) {
        for (const id of reply.refused) ids.delete(id);
        onRefused?.(reply.refused);
      }
      return;
    }
    const answer = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.type === "hits") {
      memoryBytes = reply.memoryBytes;
      answer?.resolve(reply.hits);
    } else {
      answer?.reject(new Error(`The vector search failed: ${reply.message}`));
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    const message = `The vector index's thread failed: ${event.message}`;
    fail(message);
    onFailure?.(message);
  };
  // The index's own options only: the callbacks stay here.
  const { onRefused: _refused, onFailure: _failure, ...indexOptions } = options;
  post({ type: "create", options: indexOptions });

  return {
    kind: "wasm-int8-rerank",
    thread: "worker",
    dims,
    get size() {
      return ids.size;
    },
    get memoryBytes() {
      return memoryBytes;
    },
    upsert(row) {
      if (failure !== undefined) return false;
      if (row.vector.length !== dims) {
        throw new RangeError(
          `Cannot index a vector of ${row.vector.length} dimensions in an index of ${dims}`,
        );
      }
      let norm = 0;
      for (const value of row.vector) norm += value * value;
      if (!(norm > 0) || !Number.isFinite(norm)) {
        remove(row.id);
        return true;
      }
      if (!ids.has(row.id) && ids.size >= maxVectors) return false;
      ids.add(row.id);
      // A copy: the caller may reuse its array before the batch is posted.
      upserts.push({ id: row.id, vector: row.vector.slice(), meta: { ...row.meta } });
      if (upserts.length === 1) queueMicrotask(flush);
      return true;
    },
    remove,
    updateMeta(id, meta) {
      if (!ids.has(id)) return false;
      post({ type: "meta", id, meta });
      return true;
    },
    has: (id) => ids.has(id),
    search(query, k, filter) {
      if (failure !== undefined) return Promise.reject(new Error(failure));
      if (ids.size === 0 || k <= 0) return Promise.resolve([]);
      const id = ++searches;
      const answer = Promise.withResolvers<VectorHit[]>();
      waiting.set(id, answer);
      post({ type: "search", id, query, k, filter });
      return answer.promise;
    },
    close() {
      fail("The vector index is closed");
      return Promise.resolve();
    },
  };
}
