/**
 * The influence record (spec/mind.md §14): everything that shaped a reply,
 * stored per turn and shown by "Why this reply".
 *
 * @module
 */
import { isoTime } from "../clock.ts";
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

/**
 * `turnId` → `turn_id`, without a regular expression (it runs for every key of every state). A key
 * that is no camelCase name — one with `_` or `-`, or not starting a–z, as an id keying a map
 * (`thr_01J…`) — is kept as it is.
 */
function snakeKey(key: string): string {
  const first = key.charCodeAt(0);
  if (first < 97 || first > 122) return key; // not a–z
  let out = "";
  let from = 0;
  for (let i = 1; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code === 95 || code === 45) return key; // `_` or `-`: snake_case already, or an id
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

/** The largest epoch-ms time a `Date` holds (±100,000,000 days). */
const MAX_TIME_MS = 8.64e15;

/**
 * A record in the API's conventions (spec/server.md §2): snake_case keys, and RFC 3339 times where
 * a key names a time (`at`, `…_at`) and holds epoch ms. For records kept as the code wrote them (a
 * module's rows, an influence record, a stored affect state).
 */
export function toApiShape(value: unknown): unknown {
  const times = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(times);
    if (item === null || typeof item !== "object") return item;
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(item)) {
      out[key] = (key === "at" || key.endsWith("_at")) && typeof field === "number" &&
          Math.abs(field) <= MAX_TIME_MS
        ? isoTime(field)
        : times(field);
    }
    return out;
  };
  return times(toSnakeCase(value));
}
