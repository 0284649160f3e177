import {
  type Clock,
  type Database,
  listValues,
  type Logger,
  type MemoryFilter,
  type MemoryKind,
  type MemorySource,
  type MemoryTrust,
  prepare,
  prepareByCount,
  slotList,
  type Store,
  type VectorHit,
} from "@synth/kernel";
import type { Kysely } from "kysely";
import type { MemoryConfig } from "./config.ts";
import { lineTokens } from "./format.ts";
import { fuseScore, type FusionScore } from "./fusion.ts";
import { kindBits, MEMORY_KINDS } from "./kinds.ts";
import type { VectorManager } from "./vectors.ts";

/** The memories of a thread's messages from a seq on (the prompt's window, kept out of recall). */
const windowMemoryIds = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("memory_messages").select("memory_id")
    .where("thread_id", "=", slot("threadId")).where("seq", ">=", slot<number>("fromSeq"))
);

/** A recall request (spec/memory.md §5). */
export interface RecallQuery {
  text: string;
  ownerUserId: string;
  since?: number;
  until?: number;
  /** @default semantic, episode, self, message */
  kinds?: readonly MemoryKind[];
  /** Messages of this thread from `fromSeq` on are in the prompt already. */
  excludeThreadWindow?: { threadId: string; fromSeq: number };
  /** @default memory.recall.k */
  k?: number;
  /** Estimated tokens of the block; Infinity for the search API. @default memory.recall.tokenBudget */
  tokenBudget?: number;
  /** Drop items scoring below this. @default 0 */
  minScore?: number;
  /**
   * Record `last_recalled_at` and `recall_count` of the items now. A turn
   * passes false and records them in its own transaction ({@link markRecalled}).
   * @default true
   */
  recordStatistics?: boolean;
  signal?: AbortSignal;
}

const countRecalls = prepareByCount((db: Kysely<Database>, slot, count) =>
  db.updateTable("memories")
    .set((eb) => ({
      last_recalled_at: slot<number>("now"),
      recall_count: eb("recall_count", "+", 1),
    }))
    .where("uid", "in", slotList(slot, "uid", count))
);
/** The recall candidates' rows. */
const candidateRows = prepareByCount((db: Kysely<Database>, slot, count) =>
  db.selectFrom("memories").select([
    "id",
    "uid",
    "kind",
    "text",
    "source",
    "trust",
    "importance",
    "created_at",
    "thread_id",
  ]).where("id", "in", slotList<number>(slot, "id", count))
);

/** Counts a recall of the memories with these uids at `now`: one batched write. */
export async function markRecalled(
  db: Store["db"],
  uids: readonly string[],
  now: number,
): Promise<void> {
  if (uids.length === 0) return;
  await countRecalls(uids.length).execute(db, listValues("uid", uids, { now }));
}

/** A recalled memory. */
export interface RecallItem {
  id: number;
  uid: string;
  kind: MemoryKind;
  text: string;
  source: MemorySource;
  trust: MemoryTrust;
  importance: number;
  createdAt: number;
  threadId: string | null;
  /** In [0, 1]. */
  score: number;
}

/** Why a candidate was not included. */
export type DropReason = "budget" | "kind_cap" | "k" | "min_score";

/** Every candidate's scores, for the influence record. */
export interface CandidateScore extends FusionScore {
  uid: string;
  kind: MemoryKind;
  ftsRank: number | null;
  bm25: number | null;
  vectorRank: number | null;
  cosine: number | null;
  included: boolean;
  dropReason?: DropReason;
}

/** The result of a recall. */
export interface RecallResult {
  /** Included items, best first. */
  items: RecallItem[];
  scores: CandidateScore[];
  mode: "hybrid" | "fts_only" | "vector_only";
  embedder: { id: string; quality: "semantic" | "lexical" } | null;
  /**
   * Milliseconds per leg. `vectorMs` runs from asking the index to reading its hits: on a worker
   * thread that includes waiting for the full-text query, which runs meanwhile.
   */
  timings: { ftsMs: number; embedMs: number; vectorMs: number; fuseMs: number };
}

/** Options for {@link createRecall}. */
export interface RecallOptions {
  store: Store;
  vectors: VectorManager;
  config: MemoryConfig;
  clock: Clock;
  log: Logger;
}

const QUERY_CACHE_SIZE = 256;

/** Creates the hybrid recall: FTS5 BM25 and vector k-NN fused by RRF, recency, importance, trust. */
export function createRecall(
  options: RecallOptions,
): (query: RecallQuery) => Promise<RecallResult> {
  const { store, vectors, config, clock, log } = options;
  const recallConfig = config.recall;
  const queryVectors = new Map<string, Float32Array>();

  async function embedQuery(text: string): Promise<Float32Array> {
    const cached = queryVectors.get(text);
    if (cached) {
      queryVectors.delete(text);
      queryVectors.set(text, cached);
      return cached;
    }
    const [vector] = await vectors.embedder.embed([text]);
    queryVectors.set(text, vector!);
    if (queryVectors.size > QUERY_CACHE_SIZE) {
      queryVectors.delete(queryVectors.keys().next().value!);
    }
    return vector!;
  }

  async function windowIds(window: RecallQuery["excludeThreadWindow"]): Promise<Set<number>> {
    if (!window) return new Set();
    const rows = await windowMemoryIds.execute(store.db, window);
    return new Set(rows.map((row) => row.memory_id));
  }

  return async function recall(query) {
    const now = clock.now();
    const kinds = query.kinds ?? MEMORY_KINDS;
    const agentKinds = kinds.filter((kind) => kind === "self");
    const filter: MemoryFilter = {
      owners: [
        { owner: query.ownerUserId, kinds },
        ...(agentKinds.length > 0 ? [{ owner: null, kinds: agentKinds }] : []),
      ],
      now,
      includeSuspicious: recallConfig.includeSuspicious,
      ...(query.since !== undefined ? { createdFrom: query.since } : {}),
      ...(query.until !== undefined ? { createdBefore: query.until } : {}),
      ...(query.excludeThreadWindow ? { excludeThreadWindow: query.excludeThreadWindow } : {}),
    };
    const perLeg = recallConfig.candidatesPerLeg;
    const timings = { ftsMs: 0, embedMs: 0, vectorMs: 0, fuseMs: 0 };
    const hasWords = store.text.matchExpression(query.text) !== null;

    // The vector leg is asked first: on a worker thread its scan runs while the full-text query
    // runs here. It never rejects (a failure is recall by full text only).
    let started = performance.now();
    let vectorLeg: Promise<{ hits: VectorHit[] | null; ms: number } | null> | null = null;
    if (vectors.state === "ready") {
      let queryVector: Float32Array | null = null;
      try {
        queryVector = await embedQuery(query.text);
      } catch (error) {
        log.warn("embedding the recall query failed; recalling by full text only", { error });
      }
      timings.embedMs = performance.now() - started;
      if (queryVector) {
        const excludeIds = await windowIds(query.excludeThreadWindow);
        const asked = performance.now();
        vectorLeg = vectors.search(queryVector, perLeg, {
          owners: filter.owners.map(({ owner, kinds: ownerKinds }) => ({
            owner,
            kinds: kindBits(ownerKinds),
          })),
          now,
          includeFlagged: recallConfig.includeSuspicious,
          excludeIds,
          ...(query.since !== undefined ? { createdFrom: query.since } : {}),
          ...(query.until !== undefined ? { createdBefore: query.until } : {}),
        }).then((hits) => ({ hits, ms: performance.now() - asked }), (error) => {
          log.warn("the vector search failed; recalling by full text only", { error });
          return null;
        });
      }
    }

    started = performance.now();
    const ftsHits = hasWords ? await store.text.search(query.text, { limit: perLeg, filter }) : [];
    timings.ftsMs = performance.now() - started;

    let vectorHits: Array<{ id: number; cosine: number }> | null = null;
    const answered = await vectorLeg;
    // No hits at all (null, as after the index's thread failed) is recall by full text only.
    if (answered && answered.hits !== null) {
      const minCosine = recallConfig.minCosine[vectors.embedder.quality];
      vectorHits = answered.hits.filter((hit) => hit.cosine >= minCosine);
      timings.vectorMs = answered.ms;
    }
    const mode = vectorHits === null ? "fts_only" : hasWords ? "hybrid" : "vector_only";

    started = performance.now();
    const ftsRank = new Map(
      ftsHits.map((hit, index) => [hit.id, { rank: index + 1, bm25: hit.bm25 }]),
    );
    const vectorRank = new Map(
      (vectorHits ?? []).map((hit, index) => [hit.id, { rank: index + 1, cosine: hit.cosine }]),
    );
    const candidateIds = [...new Set([...ftsRank.keys(), ...vectorRank.keys()])];
    const rows = candidateIds.length === 0
      ? []
      : await candidateRows(candidateIds.length).execute(store.db, listValues("id", candidateIds));

    const ranked = rows.map((row) => {
      const fts = ftsRank.get(row.id);
      const vector = vectorRank.get(row.id);
      const fused = fuseScore(
        {
          kind: row.kind,
          trust: row.trust,
          importance: row.importance,
          createdAt: row.created_at,
          ftsRank: fts?.rank ?? null,
          vectorRank: vector?.rank ?? null,
        },
        now,
        recallConfig,
      );
      return { row, fts, vector, fused };
    }).sort((a, b) => b.fused.final - a.fused.final || b.row.created_at - a.row.created_at);

    const k = query.k ?? recallConfig.k;
    const budget = query.tokenBudget ?? recallConfig.tokenBudget;
    const minScore = query.minScore ?? 0;
    const items: RecallItem[] = [];
    const scores: CandidateScore[] = [];
    let tokens = 0;
    let messages = 0;
    for (const { row, fts, vector, fused } of ranked) {
      const item: RecallItem = {
        id: row.id,
        uid: row.uid,
        kind: row.kind,
        text: row.text,
        source: row.source,
        trust: row.trust,
        importance: row.importance,
        createdAt: row.created_at,
        threadId: row.thread_id,
        score: fused.score,
      };
      let dropReason: DropReason | undefined;
      // The line is formatted (to count its tokens) only when it could still be included.
      let cost = 0;
      if (fused.score < minScore) dropReason = "min_score";
      else if (items.length >= k) dropReason = "k";
      else if (row.kind === "message" && messages >= recallConfig.maxMessages) {
        dropReason = "kind_cap";
      } else if (tokens + (cost = lineTokens(item)) > budget) dropReason = "budget";
      if (!dropReason) {
        items.push(item);
        tokens += cost;
        if (row.kind === "message") messages++;
      }
      scores.push({
        uid: row.uid,
        kind: row.kind,
        ftsRank: fts?.rank ?? null,
        bm25: fts?.bm25 ?? null,
        vectorRank: vector?.rank ?? null,
        cosine: vector?.cosine ?? null,
        ...fused,
        included: !dropReason,
        ...(dropReason ? { dropReason } : {}),
      });
    }
    timings.fuseMs = performance.now() - started;

    if (query.recordStatistics ?? true) {
      // A failure costs only the statistics, never the recall.
      await markRecalled(store.db, items.map((item) => item.uid), now)
        .catch((error) => log.warn("recording recall statistics failed", { error }));
    }
    return {
      items,
      scores,
      mode,
      embedder: vectors.state === "ready"
        ? { id: vectors.embedder.id, quality: vectors.embedder.quality }
        : null,
      timings,
    };
  };
}
