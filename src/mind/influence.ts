/**
 * The influence record (spec/mind.md §14): everything that shaped a reply,
 * stored per turn and shown by "Why this reply".
 *
 * @module
 */
import type { AffectSnapshot, AppliedImpulse } from "./affect.ts";
import type { Intent } from "./appraisal.ts";
import type { SectionRecord } from "./prompt.ts";
import type { Policy } from "./types.ts";

/** A turn's influence record. */
export interface InfluenceRecord {
  turnId: string;
  threadId: string;
  seq: number;
  /** Plugins whose hook failed or timed out in this turn. */
  degraded: string[];
  sections: SectionRecord[];
  memories: Array<{
    memoryId: string;
    kind: string;
    score: number;
    sectionId: string;
    source: "recall" | "prefetch";
    components: { vector?: number; bm25?: number; recency?: number };
  }>;
  stateBefore: AffectSnapshot;
  stateAfter: AffectSnapshot;
  impulses: AppliedImpulse[];
  replyPolicy: { tone: string; caveat: boolean; clarifyingQuestion: boolean };
  forecast: {
    status: string;
    setId?: string;
    alignment?: number;
    surprise?: number;
    items?: Array<{ text: string; p: number; intent: Intent; sim: number }>;
  };
  assurance: {
    policy: Policy | null;
    uPost: number | null;
    signals: Record<string, number | null>;
    concernOpened?: string;
    concernsResolved: string[];
  };
  calibration: {
    state: string;
    ema: number | null;
    reward: number | null;
    outputs: Record<string, number>;
  };
  generation: {
    model: string;
    temperature: number | null;
    /** Why the temperature is absent, when it is. */
    temperatureNote?: string;
    maxTokens: number;
    components: { base: number; affect: number; calibration: number; clamped: boolean };
  };
}

/** `turnId` → `turn_id`, without a regular expression (it runs for every key of every state). */
function snakeKey(key: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code < 65 || code > 90) continue; // not A–Z
    out += `${key.slice(from, i)}_${String.fromCharCode(code + 32)}`;
    from = i + 1;
  }
  return from === 0 ? key : out + key.slice(from);
}

/** A value with camelCase keys rewritten to snake_case, recursively (the wire format). */
export function toSnakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSnakeCase);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Float32Array) return Array.from(value);
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (Object.hasOwn(value, key)) {
      out[snakeKey(key)] = toSnakeCase((value as Record<string, unknown>)[key]);
    }
  }
  return out;
}
