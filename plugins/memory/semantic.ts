import {
  type Clock,
  codePoints,
  contentHash,
  type Logger,
  type MemorySource,
  type MemoryTrust,
  normalizeText,
  type Store,
  tokenJaccard,
} from "@synth/kernel";
import type { MemoryConfig } from "./config.ts";
import { memoryError } from "./errors.ts";
import { looksLikeInjection } from "./injection.ts";
import { kindBits, MAX_TEXT_CHARS } from "./kinds.ts";
import type { VectorManager } from "./vectors.ts";
import type { MemoryWriter } from "./writer.ts";

/** Input of {@link SemanticMemory.add}. */
export interface AddSemanticInput {
  ownerUserId: string;
  text: string;
  importance: number;
  source: MemorySource;
  sourceRef?: string | null;
  trust?: MemoryTrust;
}

/** The outcome of adding a fact. */
export interface AddSemanticResult {
  id: number;
  uid: string;
  /** False when an equal or near-equal fact existed and was reinforced instead. */
  created: boolean;
}

/** Where extracted facts came from: only what a user typed, or a tool's result. */
export type FactOrigin =
  | { from: "user_message"; messageUid: string; text: string }
  | { from: "tool_result"; toolRunId: string; tool: string; text: string };

/** One fact proposed by the extractor. */
export interface ProposedFact {
  text: string;
  importance: number;
  about: "user" | "world";
}

/** What happened to each proposed fact. */
export interface IngestReport {
  added: string[];
  reinforced: string[];
  dropped: Array<{ text: string; reason: "length" | "injection" | "limit" }>;
}

/** Semantic memories: add-only facts with dedupe. */
export interface SemanticMemory {
  /**
   * Adds a fact, or reinforces an existing one when its normalised text is
   * equal or its nearest fact of the owner is at least `dedupeCosine` close
   * (token Jaccard ≥ 0.8 against the best full-text hits when no vector is
   * available). Never updates or deletes.
   *
   * @throws {AppError} `MEMORY_TEXT_TOO_LONG` over 8,000 characters, before
   * anything is embedded or reinforced.
   */
  add(input: AddSemanticInput): Promise<AddSemanticResult>;
  /**
   * Stores facts an extractor proposed from `origin`: 8–300 characters, at
   * most `maxFactsPerMessage`, none that reads like an instruction; trust
   * follows the origin (user: high, tools: low).
   */
  ingest(
    ownerUserId: string,
    origin: FactOrigin,
    facts: readonly ProposedFact[],
  ): Promise<IngestReport>;
  /**
   * Removes, from a user's message, the sentences that also appear
   * (normalised) in the recalled block shown in the same turn, so recalled
   * text is never extracted back as a new fact.
   */
  stripRecalled(userText: string, recalledBlock: string): string;
}

/** Options for {@link createSemanticMemory}. */
export interface SemanticMemoryOptions {
  store: Store;
  writer: MemoryWriter;
  vectors: VectorManager;
  config: MemoryConfig;
  clock: Clock;
  log: Logger;
  onWritten: (ids: number[], uids: string[]) => void;
}

const JACCARD_DUPLICATE = 0.8;

/** Creates the semantic store. */
export function createSemanticMemory(options: SemanticMemoryOptions): SemanticMemory {
  const { store, writer, vectors, config, clock, log } = options;
  const { db } = store;

  async function findDuplicate(ownerUserId: string, text: string): Promise<number | null> {
    const hash = contentHash(text);
    const same = await db.selectFrom("memories").select("id")
      .where("owner_user_id", "=", ownerUserId).where("kind", "=", "semantic")
      .where("content_hash", "=", hash).executeTakeFirst();
    if (same) return same.id;

    const now = clock.now();
    if (vectors.state === "ready") {
      try {
        const [vector] = await vectors.embedder.embed([text]);
        const hits = await vectors.search(vector!, 1, {
          owners: [{ owner: ownerUserId, kinds: kindBits(["semantic"]) }],
          now,
          includeFlagged: true,
        });
        const threshold = config.semantic.dedupeCosine[vectors.embedder.quality];
        const nearest = hits?.[0];
        if (nearest && nearest.cosine >= threshold) return nearest.id;
        // Items not embedded yet are invisible to the index; compare words too.
      } catch (error) {
        log.warn("embedding a fact for dedupe failed; comparing words instead", { error });
      }
    }
    const hits = await store.text.search(text, {
      limit: 20,
      filter: {
        owners: [{ owner: ownerUserId, kinds: ["semantic"] }],
        now,
        includeSuspicious: true,
      },
    });
    if (hits.length === 0) return null;
    const rows = await db.selectFrom("memories").select(["id", "text"])
      .where("id", "in", hits.map((hit) => hit.id)).execute();
    const close = rows.find((row) => tokenJaccard(row.text, text) >= JACCARD_DUPLICATE);
    return close?.id ?? null;
  }

  async function add(input: AddSemanticInput): Promise<AddSemanticResult> {
    // Checked before the duplicate search: a near-equal fact must not be reinforced by bad input.
    if (codePoints(input.text.trim()) > MAX_TEXT_CHARS) {
      throw memoryError("TEXT_TOO_LONG", { field: "text" });
    }
    const duplicate = await findDuplicate(input.ownerUserId, input.text);
    if (duplicate !== null) {
      const row = await db.updateTable("memories")
        .set((eb) => ({
          reinforced_count: eb("reinforced_count", "+", 1),
          last_reinforced_at: clock.now(),
        }))
        .where("id", "=", duplicate).returning("uid").executeTakeFirstOrThrow();
      return { id: duplicate, uid: row.uid, created: false };
    }
    const written = await store.transaction((trx) =>
      writer.insert(trx, {
        kind: "semantic",
        ownerUserId: input.ownerUserId,
        text: input.text,
        source: input.source,
        sourceRef: input.sourceRef ?? null,
        importance: input.importance,
        ...(input.trust ? { trust: input.trust } : {}),
      })
    );
    options.onWritten([written.id], [written.uid]);
    return { id: written.id, uid: written.uid, created: true };
  }

  return {
    add,

    async ingest(ownerUserId, origin, facts) {
      const report: IngestReport = { added: [], reinforced: [], dropped: [] };
      let taken = 0;
      for (const fact of facts) {
        const text = fact.text.trim();
        if (text.length < 8 || text.length > 300) {
          report.dropped.push({ text, reason: "length" });
          continue;
        }
        if (looksLikeInjection(text)) {
          report.dropped.push({ text, reason: "injection" });
          continue;
        }
        if (taken >= config.semantic.maxFactsPerMessage) {
          report.dropped.push({ text, reason: "limit" });
          continue;
        }
        taken++;
        const result = await add({
          ownerUserId,
          text,
          importance: Math.min(0.9, Math.max(0.2, fact.importance)),
          ...(origin.from === "user_message"
            ? { source: "user" as const, sourceRef: `message:${origin.messageUid}` }
            : {
              source: origin.tool === "http_fetch" || origin.tool === "web_search"
                ? "web" as const
                : "tool" as const,
              sourceRef: `tool_run:${origin.toolRunId}`,
            }),
        });
        (result.created ? report.added : report.reinforced).push(result.uid);
      }
      return report;
    },

    stripRecalled(userText, recalledBlock) {
      if (!recalledBlock) return userText;
      const recalled = normalizeText(recalledBlock);
      return userText
        .split(/(?<=[.!?])\s+|\n+/)
        .filter((sentence) => {
          const normal = normalizeText(sentence);
          return normal.length === 0 || !recalled.includes(normal);
        })
        .join(" ")
        .trim();
    },
  };
}
