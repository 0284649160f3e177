/**
 * Affect (spec/mind.md §5): pleasure, arousal, dominance in [-1, 1],
 * decaying exactly toward the profile's baseline, moved only by impulses.
 *
 * @module
 */
import type { Profile } from "./profile.ts";
import { clamp } from "./text.ts";

/** The three dimensions. */
export type Dim = "p" | "a" | "d";
/** Each dimension. */
export const DIMS: readonly Dim[] = ["p", "a", "d"];

/** The stored state. */
export interface AffectState {
  p: number;
  a: number;
  d: number;
  updatedAt: number;
}

/** Mehrabian's octants, or neutral near the origin. */
export const MOODS = [
  "exuberant",
  "dependent",
  "relaxed",
  "docile",
  "bored",
  "disdainful",
  "anxious",
  "hostile",
  "neutral",
] as const;

/** One of {@link MOODS}. */
export type Mood = typeof MOODS[number];

/** The state as shown: values, baseline, mood and intensity. */
export interface AffectSnapshot extends AffectState {
  baseline: { p: number; a: number; d: number };
  mood: Mood;
  /** ‖(p, a, d)‖ / √3. */
  intensity: number;
}

/** A requested change of affect. */
export interface Impulse {
  /** e.g. `appraisal.sentiment`, `assurance.concern`. */
  label: string;
  dp?: number;
  da?: number;
  dd?: number;
  /** Cites the values that caused it. */
  reason: string;
}

/** An impulse as applied, with its source and the state around it. */
export interface AppliedImpulse {
  label: string;
  /** `kernel` or the plugin id. */
  source: string;
  reason: string;
  requested: { dp: number; da: number; dd: number };
  applied: { dp: number; da: number; dd: number };
  before: { p: number; a: number; d: number };
  after: { p: number; a: number; d: number };
}

/**
 * Exact lazy decay: x ← b + (x − b)·2^(−Δt/h) per dimension; monotonic, so
 * it never overshoots. A clock that went backwards decays nothing.
 */
export function decay(state: AffectState, profile: Profile, now: number): AffectState {
  const elapsedMinutes = Math.max(0, now - state.updatedAt) / 60_000;
  const { baseline, halfLifeMinutes } = profile.affect;
  const out = { ...state, updatedAt: Math.max(now, state.updatedAt) };
  for (const dim of DIMS) {
    const factor = 2 ** (-elapsedMinutes / halfLifeMinutes[dim]);
    out[dim] = baseline[dim] + (state[dim] - baseline[dim]) * factor;
  }
  return out;
}

const OCTANTS: Record<string, Mood> = {
  "+++": "exuberant",
  "++-": "dependent",
  "+-+": "relaxed",
  "+--": "docile",
  "---": "bored",
  "--+": "disdainful",
  "-+-": "anxious",
  "-++": "hostile",
};

/** The snapshot of a (decayed) state. */
export function snapshot(state: AffectState, profile: Profile): AffectSnapshot {
  const intensity = Math.hypot(state.p, state.a, state.d) / Math.sqrt(3);
  const sign = (value: number) => (value >= 0 ? "+" : "-");
  const mood: Mood = intensity < profile.affect.neutralRadius
    ? "neutral"
    : OCTANTS[sign(state.p) + sign(state.a) + sign(state.d)]!;
  return {
    p: state.p,
    a: state.a,
    d: state.d,
    updatedAt: state.updatedAt,
    baseline: { ...profile.affect.baseline },
    mood,
    intensity,
  };
}

/**
 * Applies impulses within one turn (or job): each δ is clamped to
 * ±impulseMax, then cut so the signed total per dimension stays within
 * ±turnCap, then applied with saturation toward the bound it approaches.
 */
export class ImpulseBudget {
  readonly #profile: Profile;
  readonly #total = { p: 0, a: 0, d: 0 };

  /** Starts a turn's (or job's) budget. */
  constructor(profile: Profile) {
    this.#profile = profile;
  }

  /** Applies one impulse to `state` (already decayed to now); returns the record. */
  apply(
    state: AffectState,
    impulse: Impulse,
    source: string,
  ): { state: AffectState; applied: AppliedImpulse } {
    const { impulseMax, turnCap } = this.#profile.affect;
    const requested = { dp: impulse.dp ?? 0, da: impulse.da ?? 0, dd: impulse.dd ?? 0 };
    const before = { p: state.p, a: state.a, d: state.d };
    const next = { ...state };
    const applied = { dp: 0, da: 0, dd: 0 };
    for (const dim of DIMS) {
      const key = `d${dim}` as const;
      let delta = clamp(requested[key], -impulseMax, impulseMax);
      const total = this.#total[dim];
      delta = clamp(total + delta, -turnCap, turnCap) - total;
      this.#total[dim] = total + delta;
      if (delta === 0) continue;
      const x = state[dim];
      const step = delta * Math.min(1, 1 - x * Math.sign(delta));
      next[dim] = clamp(x + step, -1, 1);
      applied[key] = next[dim] - x;
    }
    return {
      state: next,
      applied: {
        label: impulse.label,
        source,
        reason: impulse.reason,
        requested,
        applied,
        before,
        after: { p: next.p, a: next.a, d: next.d },
      },
    };
  }
}

/** The `affect/style` instructions whose band holds the current value, with reasons. */
export function styleInstructions(
  state: { p: number; a: number; d: number },
  profile: Profile,
): Array<{ instruction: string; reason: string }> {
  const out: Array<{ instruction: string; reason: string }> = [];
  for (const rule of profile.affect.style) {
    const value = state[rule.dim];
    if (rule.min !== undefined && value < rule.min) continue;
    if (rule.max !== undefined && value > rule.max) continue;
    const bounds = [
      rule.min !== undefined ? `≥ ${rule.min}` : "",
      rule.max !== undefined ? `≤ ${rule.max}` : "",
    ].filter(Boolean).join(", ");
    out.push({
      instruction: rule.instruction,
      reason: `${rule.dim}=${value.toFixed(2)} ${bounds}`,
    });
  }
  return out;
}

/** The appraisal impulses of §5's table (sentiment, feedback, correction). */
export function appraisalImpulses(
  appraisal: {
    sentiment: { s: number };
    feedback: "good" | "bad" | null;
    correction: boolean;
  },
  profile: Profile,
): Impulse[] {
  const g = profile.affect.gains;
  const out: Impulse[] = [];
  const s = appraisal.sentiment.s;
  if (Math.abs(s) >= 0.1) {
    out.push({
      label: "appraisal.sentiment",
      dp: g.sentiment * s,
      da: g.sentimentArousal * (Math.abs(s) - 0.5),
      reason: `sentiment s=${s.toFixed(2)}`,
    });
  }
  if (appraisal.feedback) {
    const sign = appraisal.feedback === "good" ? 1 : -1;
    out.push({
      label: "appraisal.feedback",
      dp: sign * g.feedback,
      dd: sign * 0.5 * g.feedback,
      reason: `feedback ${appraisal.feedback}`,
    });
  }
  if (appraisal.correction && appraisal.feedback !== "bad") {
    out.push({
      label: "appraisal.correction",
      dp: -0.5 * g.correction,
      da: 0.5 * g.correction,
      dd: -g.correction,
      reason: "the user corrected the reply",
    });
  }
  return out;
}
