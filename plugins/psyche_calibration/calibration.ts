/**
 * Reward calibration (spec/mind.md §10): evidence of overload and boredom
 * per user turn, an EMA of difficulty, a flow band, and outputs that change
 * the next turn's temperature, length and check-in questions.
 *
 * @module
 */
import type { Impulse, Profile } from "@synth/kernel";

/** The flow state. */
export type FlowState = "bored" | "flow" | "overloaded";

/** What calibration keeps. */
export interface CalibrationState {
  ema: number;
  state: FlowState;
  reward: number;
  outputs: { temperatureOffset: number; verbosity: number; questionRate: number };
  updatedAt: number;
}

/** Per-thread windows for the evidence. */
export interface ThreadWindow {
  /** Sentiment s of the user's recent messages, newest last (≤ 6). */
  sentiments: number[];
  /** Reply → user latencies in ms, newest last (≤ 10). */
  latencies: number[];
}

/** One user turn's evidence inputs. */
export interface TurnEvidence {
  clarificationRequest: boolean;
  correction: boolean;
  feedback: "good" | "bad" | null;
  s: number;
  latencyMs: number | null;
  tokens: number;
  lengthRatio: number | null;
  text: string;
  /** q·surprise, when a forecast was resolved. */
  weightedSurprise: number | null;
}

/** The initial state (difficulty at the band's centre, outputs at rest). */
export function initialState(profile: Profile, now: number): CalibrationState {
  const [lo, hi] = profile.calibration.band;
  return {
    ema: (lo + hi) / 2,
    state: "flow",
    reward: 1,
    outputs: {
      temperatureOffset: 0,
      verbosity: 0,
      questionRate: profile.calibration.questionRate.base,
    },
    updatedAt: now,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const mean = (values: readonly number[]) =>
  values.reduce((sum, value) => sum + value, 0) / values.length;

/** Overload and boredom evidence of a turn, each with its reasons. */
export function evidence(
  turn: TurnEvidence,
  window: ThreadWindow,
  profile: Profile,
): { overload: Array<[number, string]>; boredom: Array<[number, string]> } {
  const overload: Array<[number, string]> = [];
  const boredom: Array<[number, string]> = [];
  if (turn.clarificationRequest) overload.push([1, "clarification request"]);
  if (turn.correction || turn.feedback === "bad") overload.push([0.6, "correction"]);
  const sentiments = [...window.sentiments, turn.s];
  if (sentiments.length >= 6) {
    const last = mean(sentiments.slice(-3));
    const previous = mean(sentiments.slice(-6, -3));
    if (last - previous < -0.3) overload.push([0.5, "sentiment falling"]);
  }
  if (turn.latencyMs !== null && window.latencies.length >= 3) {
    if (turn.latencyMs > 2 * median(window.latencies) && turn.latencyMs > 60_000) {
      overload.push([0.3, "slow answer"]);
    }
  }
  if (turn.weightedSurprise !== null && turn.weightedSurprise >= 0.7) {
    overload.push([0.3, "surprising message"]);
  }
  if (turn.lengthRatio !== null && turn.lengthRatio < 0.4) boredom.push([0.5, "short message"]);
  if (new RegExp(profile.calibration.ackPattern, "i").test(turn.text.trim())) {
    boredom.push([0.4, "acknowledgement"]);
  }
  if (turn.latencyMs !== null && turn.latencyMs < 15_000 && turn.tokens < 5) {
    boredom.push([0.3, "fast and short"]);
  }
  if (turn.weightedSurprise !== null && turn.weightedSurprise < 0.2) {
    boredom.push([0.3, "predictable message"]);
  }
  return { overload, boredom };
}

/** Noisy-OR of evidence weights. */
export function noisyOr(items: ReadonlyArray<[number, string]>): number {
  return 1 - items.reduce((product, [weight]) => product * (1 - weight), 1);
}

const clamp = (value: number, [lo, hi]: readonly [number, number]) =>
  Math.min(hi, Math.max(lo, value));

/** The next state after one turn's evidence (outputs apply to the next turn). */
export function update(
  previous: CalibrationState,
  observed: { overload: number; boredom: number },
  profile: Profile,
  now: number,
): CalibrationState {
  const settings = profile.calibration;
  const [lo, hi] = settings.band;
  const mid = (lo + hi) / 2;
  const d = 0.5 + 0.5 * (observed.overload - observed.boredom);
  const ema = (1 - settings.alpha) * previous.ema + settings.alpha * d;
  const state: FlowState = ema < lo ? "bored" : ema > hi ? "overloaded" : "flow";
  const half = hi - mid;
  const distance = Math.abs(ema - mid);
  const reward = state === "flow" ? 1 - distance / half : -Math.min(1, (distance - half) / half);
  const outputs = { ...previous.outputs };
  if (state === "flow") {
    outputs.temperatureOffset *= 1 - settings.relax;
    outputs.verbosity *= 1 - settings.relax;
    outputs.questionRate += (settings.questionRate.base - outputs.questionRate) * settings.relax;
  } else {
    const dev = state === "overloaded" ? ema - hi : ema - lo;
    outputs.temperatureOffset -= settings.temperature.gain * dev;
    outputs.verbosity -= settings.verbosity.gain * dev;
    outputs.questionRate += settings.questionRate.gain * dev;
  }
  outputs.temperatureOffset = clamp(outputs.temperatureOffset, settings.temperature.bounds);
  outputs.verbosity = clamp(outputs.verbosity, [-1, 1]);
  outputs.questionRate = clamp(outputs.questionRate, settings.questionRate.bounds);
  return { ema, state, reward, outputs, updatedAt: now };
}

/** The affect impulse of a flow-state transition (§5), or null. */
export function transitionImpulse(
  from: FlowState,
  to: FlowState,
  profile: Profile,
): Impulse | null {
  if (from === to) return null;
  const g = profile.affect.gains.flow;
  const reason = `calibration ${from} → ${to}`;
  if (to === "overloaded") {
    return { label: "calibration.transition", dp: -0.5 * g, da: g, dd: -g, reason };
  }
  if (to === "bored") return { label: "calibration.transition", da: -g, reason };
  return { label: "calibration.transition", dp: 0.5 * g, reason };
}
