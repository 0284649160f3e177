/**
 * Reply intents (spec/projects.md §4): a pure, rule-based reading of what
 * the user meant by a reply in an active phase. Phrases match whole tokens,
 * never substrings, so "now", "know" and "note" never read as "no" (the
 * original's defect, ../reference/original_gdil.md §3.3).
 *
 * @module
 */
import type { ActivePhase, Intent } from "./types.ts";

/** The phrase sets of §4; config (`intent.*`) may extend them. */
export const PHRASES = {
  ACCEPT: [
    "yes",
    "yep",
    "yeah",
    "y",
    "ok",
    "okay",
    "sure",
    "go",
    "go ahead",
    "let's go",
    "sounds good",
    "looks good",
    "lgtm",
    "accept",
    "approve",
    "proceed",
    "start",
    "do it",
    "perfect",
    "great",
  ],
  HESITATE: ["no", "nope", "wait", "hold on", "not yet", "hmm"],
  DECLINE: ["cancel", "abort", "forget it", "never mind", "drop it", "scrap it"],
  STOP: [
    "stop",
    "enough",
    "that's enough",
    "finish",
    "wrap up",
    "we're done",
    "i'm done",
    "done for now",
    "end the project",
    "cancel",
    "abort",
  ],
  PAUSE: ["pause", "hold off", "on hold", "put it on hold"],
  SKIP: ["skip", "start", "go", "begin", "defaults", "use defaults", "as is", "looks good"],
  CONTINUE: ["continue", "next", "go on", "carry on", "keep going", "proceed", "ok", "yes"],
  FILLER: [
    "please",
    "now",
    "then",
    "it",
    "this",
    "that",
    "the",
    "plan",
    "project",
    "here",
    "for",
    "today",
    "thanks",
    "thank",
    "you",
    "we",
    "can",
    "i",
    "think",
    "let's",
    "just",
    "and",
    "so",
  ],
  NEGATOR: ["don't", "dont", "do not", "not", "never", "no need to"],
} as const satisfies Record<string, readonly string[]>;

/** The name of a phrase set. */
export type SetName = keyof typeof PHRASES;

/**
 * The iteration's cue words: the phrases that would halt the loop. Negated
 * ("don't stop", "no need to pause") they read as `continue`; a negated
 * CONTINUE phrase ("don't continue") is `feedback`, never `continue`.
 */
const CUE_SETS: readonly SetName[] = ["STOP", "PAUSE"];

/** How far before a phrase a NEGATOR cancels it, in tokens. */
const NEGATION_WINDOW = 2;

/** Options for {@link classify}. */
export interface ClassifyOptions {
  /** The project was created from a template (enables `skip` in initialization). */
  isTemplateStart: boolean;
  /** Extra phrases per set, from config; added to the built-in ones. */
  extra?: Partial<Record<SetName, string[]>> | undefined;
}

/**
 * Splits text into tokens: NFKC, lower case, runs of letters, digits and
 * apostrophes. Typographic apostrophes (’ ʼ) count as `'`, and apostrophes
 * at a token's edges are dropped, so "don’t" and "'yes'" read as typed.
 */
export function tokenize(text: string): string[] {
  const normalized = text.normalize("NFKC").toLowerCase().replace(/[\u2019\u02bc]/g, "'");
  const tokens: string[] = [];
  for (const match of normalized.matchAll(/[\p{L}\p{N}']+/gu)) {
    const token = match[0].replace(/^'+|'+$/g, "");
    if (token !== "") tokens.push(token);
  }
  return tokens;
}

type PhraseSets = Record<SetName, string[][]>;

function compile(extra: Partial<Record<SetName, string[]>> | undefined): PhraseSets {
  const sets = {} as PhraseSets;
  for (const name of Object.keys(PHRASES) as SetName[]) {
    const phrases = [...PHRASES[name], ...(extra?.[name] ?? [])];
    sets[name] = phrases.map(tokenize).filter((tokens) => tokens.length > 0);
  }
  return sets;
}

const DEFAULT_SETS: PhraseSets = compile(undefined);

/** One place where a phrase occurs: tokens `start` to `end` (exclusive). */
interface Occurrence {
  start: number;
  end: number;
}

function occurrences(tokens: readonly string[], phrases: readonly string[][]): Occurrence[] {
  const found: Occurrence[] = [];
  for (const phrase of phrases) {
    for (let start = 0; start + phrase.length <= tokens.length; start++) {
      if (phrase.every((token, offset) => tokens[start + offset] === token)) {
        found.push({ start, end: start + phrase.length });
      }
    }
  }
  return found;
}

/** Reads one message against the phrase sets. */
class Reading {
  readonly #tokens: readonly string[];
  readonly #sets: PhraseSets;
  /** `negatorEnds[i]`: a NEGATOR occurrence ends just after token `i`. */
  readonly #negatorEnds: boolean[];

  constructor(tokens: readonly string[], sets: PhraseSets) {
    this.#tokens = tokens;
    this.#sets = sets;
    this.#negatorEnds = tokens.map(() => false);
    for (const { end } of occurrences(tokens, sets.NEGATOR)) this.#negatorEnds[end - 1] = true;
  }

  get isEmpty(): boolean {
    return this.#tokens.length === 0;
  }

  /** Whether a NEGATOR ends within the tokens just before `start`. */
  #negated(start: number): boolean {
    for (let i = Math.max(0, start - NEGATION_WINDOW); i < start; i++) {
      if (this.#negatorEnds[i]) return true;
    }
    return false;
  }

  /** Marks the tokens of the set's occurrences, negated or counting. */
  #cover(name: SetName, negated: boolean, covered: boolean[]): number {
    let count = 0;
    for (const occurrence of occurrences(this.#tokens, this.#sets[name])) {
      if (this.#negated(occurrence.start) !== negated) continue;
      count++;
      for (let i = occurrence.start; i < occurrence.end; i++) covered[i] = true;
    }
    return count;
  }

  #filler(): boolean[] {
    const covered = this.#tokens.map(() => false);
    this.#cover("FILLER", false, covered);
    this.#cover("FILLER", true, covered);
    return covered;
  }

  /**
   * Whether the message consists of the set: every token is in a counting
   * (not negated) phrase of it or is FILLER, and at least one phrase counts.
   */
  consistsOf(name: SetName): boolean {
    const covered = this.#filler();
    return this.#cover(name, false, covered) > 0 && covered.every(Boolean);
  }

  /** Whether the message holds only NEGATORs, FILLER and negated cue words. */
  onlyNegatedCues(): boolean {
    const covered = this.#filler();
    this.#cover("NEGATOR", false, covered);
    this.#cover("NEGATOR", true, covered);
    for (const name of CUE_SETS) this.#cover(name, true, covered);
    return covered.every(Boolean);
  }
}

/**
 * Classifies a reply typed in an active phase (spec/projects.md §4); the
 * first matching rule wins.
 *
 * - planning: ACCEPT → `accept`, HESITATE → `hesitate`, DECLINE → `decline`,
 *   else `adjust`;
 * - iteration: empty → `continue`, STOP → `stop`, PAUSE → `pause`,
 *   CONTINUE or only NEGATORs, FILLER and negated cue words → `continue`,
 *   else `feedback`;
 * - initialization: SKIP (template start) → `skip`, HESITATE → `hesitate`,
 *   else `answers`.
 *
 * A message without tokens in planning or initialization is `hesitate`: the
 * reply asks what to change rather than re-planning from nothing.
 *
 * @example
 * ```ts
 * import { classify } from "./intent.ts";
 * classify("planning", "yes go now", { isTemplateStart: false }); // "accept"
 * classify("iteration", "don't stop", { isTemplateStart: false }); // "continue"
 * ```
 */
export function classify(phase: ActivePhase, text: string, options: ClassifyOptions): Intent {
  const sets = options.extra === undefined ? DEFAULT_SETS : compile(options.extra);
  const reading = new Reading(tokenize(text), sets);
  switch (phase) {
    case "planning":
      if (reading.isEmpty) return "hesitate";
      if (reading.consistsOf("ACCEPT")) return "accept";
      if (reading.consistsOf("HESITATE")) return "hesitate";
      if (reading.consistsOf("DECLINE")) return "decline";
      return "adjust";
    case "iteration":
      if (reading.isEmpty) return "continue";
      if (reading.consistsOf("STOP")) return "stop";
      if (reading.consistsOf("PAUSE")) return "pause";
      if (reading.consistsOf("CONTINUE") || reading.onlyNegatedCues()) return "continue";
      return "feedback";
    case "initialization":
      if (reading.isEmpty) return "hesitate";
      if (options.isTemplateStart && reading.consistsOf("SKIP")) return "skip";
      if (reading.consistsOf("HESITATE")) return "hesitate";
      return "answers";
  }
}
