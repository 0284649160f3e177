import type { MemoryKind, MemoryTrust } from "@synth/kernel";
import type { MemoryConfig } from "./config.ts";

const DAY_MS = 86_400_000;

/** Reciprocal rank fusion over the legs an item appeared in (ranks from 1). */
export function rrf(ranks: ReadonlyArray<number | null>, k: number): number {
  return ranks.reduce<number>((sum, rank) => sum + (rank === null ? 0 : 1 / (k + rank)), 0);
}

/** `2^(−age / halfLife)`: 1 now, ½ after one half-life. */
export function recency(ageMs: number, halfLifeDays: number): number {
  return Math.pow(2, -Math.max(0, ageMs) / (halfLifeDays * DAY_MS));
}

/** What {@link fuseScore} needs of one candidate. */
export interface FusionInput {
  kind: MemoryKind;
  trust: MemoryTrust;
  importance: number;
  createdAt: number;
  ftsRank: number | null;
  vectorRank: number | null;
}

/** The parts of a candidate's score, for the influence record. */
export interface FusionScore {
  rrf: number;
  recency: number;
  importance: number;
  trustWeight: number;
  final: number;
  /** `final` scaled into [0, 1] by the best possible value. */
  score: number;
}

/**
 * `final = rrf × (1 + w_r·recency + w_i·importance) × trustWeight`, and
 * `score = final / best`, where best is first in both legs with recency and
 * importance 1 at high trust.
 */
export function fuseScore(
  input: FusionInput,
  now: number,
  config: MemoryConfig["recall"],
): FusionScore {
  const fused = rrf([input.ftsRank, input.vectorRank], config.rrfK);
  const fresh = recency(now - input.createdAt, config.halfLifeDays[input.kind]);
  const trustWeight = config.trustWeight[input.trust];
  const boost = 1 + config.weights.recency * fresh + config.weights.importance * input.importance;
  const final = fused * boost * trustWeight;
  const best = (2 / (config.rrfK + 1)) * (1 + config.weights.recency + config.weights.importance) *
    config.trustWeight.high;
  return {
    rrf: fused,
    recency: fresh,
    importance: input.importance,
    trustWeight,
    final,
    score: best > 0 ? Math.min(1, final / best) : 0,
  };
}
