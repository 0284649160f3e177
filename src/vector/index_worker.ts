/// <reference lib="deno.worker" />
/**
 * Holds a vector index on a thread of its own (`threaded.ts` is the side the
 * server talks to): the scan over every vector, about 1.3 ms at 10k vectors
 * and 8 ms at 100k on the 2-core machine of docs/benchmarks.md, no longer
 * holds the server's thread, and recall's full-text query runs meanwhile.
 *
 * Requests come in order and are applied in order, so a search sees every
 * write posted before it.
 *
 * @module
 */
import {
  createVectorIndex,
  type CreateVectorIndexOptions,
  type SlotFilter,
  type SlotMeta,
  type VectorHit,
  type VectorIndex,
  type VectorRow,
} from "./index.ts";

/** What the server's side asks. */
export type IndexRequest =
  | { type: "create"; options: CreateVectorIndexOptions }
  | { type: "upsert"; rows: VectorRow[] }
  | { type: "remove"; ids: number[] }
  | { type: "meta"; id: number; meta: Partial<Pick<SlotMeta, "expiresAt" | "flagged">> }
  | { type: "search"; id: number; query: Float32Array; k: number; filter: SlotFilter };

/** What the worker answers: a search's hits, or after each batch of writes its size. */
export type IndexReply =
  | { type: "hits"; id: number; hits: VectorHit[]; memoryBytes: number }
  | { type: "failed"; id: number; message: string }
  /** After a batch of upserts: the ids the full index refused, and its memory. */
  | { type: "written"; refused: number[]; memoryBytes: number };

let index: VectorIndex | undefined;

self.onmessage = (event: MessageEvent<IndexRequest>) => {
  const request = event.data;
  switch (request.type) {
    case "create":
      index = createVectorIndex(request.options);
      return;
    case "upsert": {
      // A row the index cannot take (it could not grow) is refused, as on the server's thread.
      const refused = request.rows.filter((row) => {
        try {
          return !index!.upsert(row);
        } catch {
          return true;
        }
      }).map((row) => row.id);
      self.postMessage(
        { type: "written", refused, memoryBytes: index!.memoryBytes } satisfies IndexReply,
      );
      return;
    }
    case "remove":
      for (const id of request.ids) index!.remove(id);
      return;
    case "meta":
      index!.updateMeta(request.id, request.meta);
      return;
    case "search": {
      let reply: IndexReply;
      try {
        const hits = index!.search(request.query, request.k, request.filter);
        reply = { type: "hits", id: request.id, hits, memoryBytes: index!.memoryBytes };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        reply = { type: "failed", id: request.id, message };
      }
      self.postMessage(reply);
      return;
    }
  }
};
