/**
 * Assurance's deterministic parts (spec/mind.md §7): pre-assessment
 * (ambiguity, lack of support, surprise → uPre), post-assessment signals
 * (hedges, absolutes, unsupported claims, verbal confidence, surprise →
 * uPost), and the calibration scores (ECE, Brier).
 *
 * @module
 */
import {
  clamp,
  countPhrases,
  type Impulse,
  type Profile,
  sentences,
  wordTokens,
} from "@synth/kernel";

const DEICTIC = new Set(["it", "this", "that", "these", "those"]);

/** Pre-assessment of a user message. */
export function preassess(input: {
  text: string;
  hadEarlierReply: boolean;
  referencesPast: boolean;
  /** The top fused recall score; 0 when nothing is recalled. */
  support: number;
  /** q·surprise of the resolved forecast; 0 without one. */
  weightedSurprise: number;
  profile: Profile;
}): { uPre: number; amb: number; ls: number; reasons: string[] } {
  const words = wordTokens(input.text);
  const short = words.length < 4 ? 1 : 0;
  const deictic = !input.hadEarlierReply && words.slice(0, 3).some((word) => DEICTIC.has(word))
    ? 1
    : 0;
  const vague = countPhrases(words, input.profile.assurance.lexicon.vague);
  const amb = clamp(0.4 * short + 0.4 * deictic + 0.2 * Math.min(1, vague / 2), 0, 1);
  const ls = (1 - input.support) * (input.referencesPast ? 1 : 0.4);
  const uPre = 1 - (1 - 0.8 * amb) * (1 - 0.5 * ls) * (1 - 0.5 * input.weightedSurprise);
  const reasons: string[] = [];
  if (short) reasons.push(`short message (${words.length} words)`);
  if (deictic) reasons.push("refers to something not yet said (it/this/that)");
  if (vague) reasons.push(`${vague} vague term(s)`);
  if (ls > 0.3) reasons.push(`little support from memory (${input.support.toFixed(2)})`);
  if (input.weightedSurprise >= 0.3) {
    reasons.push(`unexpected message (${input.weightedSurprise.toFixed(2)})`);
  }
  return { uPre, amb, ls, reasons };
}

/** The post-assessment signals; null when missing. */
export interface PostSignals {
  hedge: number | null;
  risk: number | null;
  unsupported: number | null;
  verbal: number | null;
  surprise: number | null;
}

/** Hedge and risk rates of a reply (fenced code excluded). */
export function lexicalSignals(
  text: string,
  profile: Profile,
): Pick<PostSignals, "hedge" | "risk"> & {
  tokens: number;
  hedges: number;
  absolutes: number;
} {
  const words = wordTokens(text);
  if (words.length === 0) return { hedge: null, risk: null, tokens: 0, hedges: 0, absolutes: 0 };
  const settings = profile.assurance;
  const hedges = countPhrases(words, settings.lexicon.hedges);
  const absolutes = countPhrases(words, settings.lexicon.absolutes);
  const per100 = (count: number) => (count / words.length) * 100;
  return {
    hedge: Math.min(1, per100(hedges) / settings.hedgeSaturationPer100),
    risk: Math.min(1, per100(absolutes) / settings.absoluteSaturationPer100),
    tokens: words.length,
    hedges,
    absolutes,
  };
}

/** Claims of a reply: up to 12 sentences of at least 6 tokens. */
export function claims(text: string): string[] {
  return sentences(text).filter((sentence) => wordTokens(sentence).length >= 6).slice(0, 12);
}

/** 1 − mean over claims of clamp((maxSim − 0.3)/0.5, 0, 1); null without claims or evidence. */
export function unsupported(maxSims: readonly number[]): number | null {
  if (maxSims.length === 0) return null;
  const supported = maxSims.map((sim) => clamp((sim - 0.3) / 0.5, 0, 1));
  return 1 - supported.reduce((sum, value) => sum + value, 0) / supported.length;
}

/** uPost = Σ w·x / Σ w over the present signals; null when none is present. */
export function combine(signals: PostSignals, profile: Profile): number | null {
  const weights = profile.assurance.weights;
  let total = 0;
  let weight = 0;
  for (const key of Object.keys(weights) as Array<keyof typeof weights>) {
    const value = signals[key];
    if (value === null || value === undefined) continue;
    total += weights[key] * value;
    weight += weights[key];
  }
  return weight > 0 ? total / weight : null;
}

/** `assurance.clarify`: e = (uPre − θc)/(1 − θc). */
export function clarifyImpulse(uPre: number, profile: Profile): Impulse {
  const theta = profile.assurance.clarifyThreshold;
  const e = (uPre - theta) / (1 - theta);
  return {
    label: "assurance.clarify",
    dd: -0.5 * profile.affect.gains.uncertainty * e,
    reason: `uPre=${uPre.toFixed(3)} ≥ ${theta}`,
  };
}

/** `assurance.concern`: e = (uPost − θ)/(1 − θ). */
export function concernImpulse(u: number, profile: Profile): Impulse {
  const theta = profile.assurance.concernThreshold;
  const e = (u - theta) / (1 - theta);
  const g = profile.affect.gains.uncertainty;
  return {
    label: "assurance.concern",
    dp: -0.3 * g * e,
    da: 0.5 * g * e,
    dd: -g * e,
    reason: `uPost=${u.toFixed(3)} ≥ ${theta}`,
  };
}

/** One of the 10 equal-width confidence bins: its samples, mean confidence and observed accuracy. */
export interface ReliabilityBin {
  n: number;
  /** Mean predicted confidence (null for an empty bin). */
  confidence: number | null;
  /** Share of the bin's samples whose outcome was 1 (null for an empty bin). */
  accuracy: number | null;
}

/**
 * ECE over 10 equal-width bins, the Brier score and the bins themselves
 * (the dashboard's reliability diagram), or nulls below the minimum.
 */
export function calibrationScores(
  samples: ReadonlyArray<{ confidence: number; outcome: number }>,
  minimum: number,
): { ece: number | null; brier: number | null; n: number; bins: ReliabilityBin[] | null } {
  const n = samples.length;
  if (n < minimum || n === 0) return { ece: null, brier: null, n, bins: null };
  const bins = Array.from({ length: 10 }, () => ({ count: 0, confidence: 0, correct: 0 }));
  let brier = 0;
  for (const sample of samples) {
    const index = Math.min(9, Math.floor(sample.confidence * 10));
    const bin = bins[index]!;
    bin.count++;
    bin.confidence += sample.confidence;
    bin.correct += sample.outcome;
    brier += (sample.confidence - sample.outcome) ** 2;
  }
  let ece = 0;
  for (const bin of bins) {
    if (bin.count === 0) continue;
    ece += (bin.count / n) * Math.abs(bin.correct / bin.count - bin.confidence / bin.count);
  }
  return {
    ece,
    brier: brier / n,
    n,
    bins: bins.map((bin) => ({
      n: bin.count,
      confidence: bin.count ? bin.confidence / bin.count : null,
      accuracy: bin.count ? bin.correct / bin.count : null,
    })),
  };
}
