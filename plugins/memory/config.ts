import { configMeta, durationMs } from "@synth/kernel";
import { z } from "zod";

const unit = (value: number, description: string) =>
  z.number().min(0).max(1).default(value).meta(configMeta({ description }));
const positive = (value: number, description: string) =>
  z.number().int().min(1).default(value).meta(configMeta({ description }));
const days = (value: number, description: string) =>
  z.number().min(0.001).default(value).meta(configMeta({ description }));

function retention(ttlDays: number | null, maxPerOwner: number) {
  return z.strictObject({
    ttlDays: z.number().min(0.001).nullable().default(ttlDays).meta(configMeta({
      description: "Items older than this are deleted by maintenance; null keeps them.",
    })),
    maxPerOwner: positive(maxPerOwner, "Above this, the owner's lowest-scored items are deleted."),
  }).prefault({});
}

/** The `memory` config section (spec/memory.md §9). */
export const memoryConfigSchema = z.strictObject({
  recall: z.strictObject({
    k: positive(8, "Most memories put into one prompt."),
    tokenBudget: positive(1_000, "Most estimated tokens of recalled text in one prompt."),
    candidatesPerLeg: positive(50, "Candidates taken from full-text and from vector search."),
    rrfK: positive(60, "The k of reciprocal rank fusion, 1/(k + rank)."),
    maxMessages: z.number().int().min(0).default(3).meta(configMeta({
      description: "Most conversation messages among the recalled items.",
    })),
    includeSuspicious: z.boolean().default(false).meta(configMeta({
      description: "Recall items flagged as possible prompt injection.",
    })),
    weights: z.strictObject({
      recency: unit(0.5, "Weight of recency in the final score."),
      importance: unit(0.5, "Weight of importance in the final score."),
    }).prefault({}),
    trustWeight: z.strictObject({
      high: unit(1, "Score factor of high-trust items."),
      medium: unit(0.9, "Score factor of medium-trust items."),
      low: unit(0.75, "Score factor of low-trust items."),
    }).prefault({}),
    halfLifeDays: z.strictObject({
      message: days(7, "Recency half-life of messages."),
      episode: days(14, "Recency half-life of events."),
      semantic: days(180, "Recency half-life of facts."),
      self: days(60, "Recency half-life of reflections and narrative."),
    }).prefault({}),
    minCosine: z.strictObject({
      semantic: unit(0.25, "Vector hits below this cosine are dropped (semantic embedder)."),
      lexical: unit(0.15, "Vector hits below this cosine are dropped (lexical embedder)."),
    }).prefault({}),
  }).prefault({}),
  semantic: z.strictObject({
    extract: z.boolean().default(true).meta(configMeta({
      description: "Extract facts from what users say, after each reply.",
    })),
    fromToolResults: z.boolean().default(true).meta(configMeta({
      description: "Also extract facts from fetched pages, searches and read files (low trust).",
    })),
    maxFactsPerMessage: positive(5, "Most facts taken from one message."),
    dedupeCosine: z.strictObject({
      semantic: unit(0.92, "A fact this close to an existing one only reinforces it (semantic)."),
      lexical: unit(0.9, "A fact this close to an existing one only reinforces it (lexical)."),
    }).prefault({}),
  }).prefault({}),
  retention: z.strictObject({
    message: retention(null, 50_000),
    episode: retention(90, 100_000),
    semantic: retention(null, 10_000),
    self: retention(null, 5_000),
  }).prefault({}),
  embedding: z.strictObject({
    onMismatch: z.enum(["refuse", "reembed"]).default("refuse").meta(configMeta({
      description:
        "When the embedding model differs from the stored vectors: refuse to start, or re-embed in the server.",
    })),
  }).prefault({}),
  embedQueue: z.strictObject({
    batchSize: positive(64, "Texts embedded per request."),
    flushMs: durationMs(200, { min: 1 }).meta(configMeta({
      description: "A partial batch is embedded after this wait.",
    })),
    maxAttempts: positive(8, "Failed embeddings are retried this often (backing off), then shown."),
  }).prefault({}),
  vector: z.strictObject({
    maxVectors: positive(
      1_000_000,
      "Most vectors in the index; beyond it items are full-text only.",
    ),
    minCandidates: positive(64, "Candidates re-ranked exactly, at least."),
    loadChunk: positive(2_000, "Vectors loaded from the database per step at start-up."),
    workerFrom: z.number().int().min(0).default(50_000).meta(configMeta({
      description:
        "An index loaded at start-up with at least this many vectors is searched on a worker thread while recall's full-text query runs (0: always).",
    })),
  }).prefault({}),
  forget: z.strictObject({
    matchMinScore: unit(0.25, "Forget by match takes items scoring at least this."),
  }).prefault({}),
  maintenanceIntervalMs: durationMs(600_000, { min: 1 }).meta(configMeta({
    description:
      "How often expired items are deleted, caps enforced and the full-text index merged when it has more than 4 segments.",
  })),
});

/** The resolved `memory` section. */
export type MemoryConfig = z.output<typeof memoryConfigSchema>;
