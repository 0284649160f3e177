/**
 * Appraisal (spec/mind.md §4): what a user message says about the
 * conversation, computed deterministically in the kernel.
 *
 * @module
 */
// @ts-types="@types/sentiment"
import Sentiment from "sentiment";
import type { Profile } from "./profile.ts";
import { median, normaliseText, sentences, stripFencedCode, tokens } from "./text.ts";

/** What the user is doing with a message. */
export type Intent = "question" | "request" | "clarify" | "correct" | "confirm" | "thank" | "other";

/** Every intent, in rule order. */
export const INTENTS: readonly Intent[] = [
  "question",
  "request",
  "clarify",
  "correct",
  "confirm",
  "thank",
  "other",
];

/** Explicit feedback on a reply. */
export type Feedback = "good" | "bad";

/** The appraisal of one user message. */
export interface Appraisal {
  sentiment: { score: number; comparative: number; s: number };
  feedback: Feedback | null;
  correction: boolean;
  confirmation: boolean;
  clarificationRequest: boolean;
  thanks: boolean;
  intent: Intent;
  tokens: number;
  referencesPast: boolean;
  /** tokens ÷ median of the user's last 10 messages in the thread; null with fewer than 3. */
  lengthRatio: number | null;
  /** receivedAt − completedAt of the thread's previous reply. */
  latencyMs: number | null;
}

/** What appraisal needs beyond the text. */
export interface AppraisalContext {
  feedback?: Feedback | null;
  /** Token counts of the user's previous messages in the thread, newest last. */
  previousUserTokens: readonly number[];
  /** When the thread's previous reply completed, if any. */
  previousReplyAt: number | null;
  receivedAt: number;
}

const INTERROGATIVES = new Set([
  "what",
  "why",
  "how",
  "when",
  "where",
  "who",
  "whom",
  "whose",
  "which",
  "is",
  "are",
  "am",
  "was",
  "were",
  "can",
  "could",
  "would",
  "should",
  "do",
  "does",
  "did",
  "will",
  "shall",
  "may",
  "have",
  "has",
]);

const REFERENCES_PAST =
  /\b(last time|as we (discussed|said|agreed)|as i (said|mentioned)|earlier you|you (said|told me|mentioned) (earlier|before)|we talked about|remember when|previously)\b/i;

/** Lines that are code or logs, not sentiment: > 30 % non-letters, or stack-trace lines. */
function isLogLike(line: string): boolean {
  const trimmed = line.trim();
  if (trimmed === "") return false;
  if (/^(at |Traceback)/.test(trimmed)) return true;
  const letters = trimmed.match(/[\p{L}\s]/gu)?.length ?? 0;
  return (trimmed.length - letters) / trimmed.length > 0.3;
}

/** The text sentiment is computed on: no fenced code, no log-like lines. */
export function sentimentText(text: string): string {
  return stripFencedCode(text).split("\n").filter((line) => !isLogLike(line)).join("\n");
}

/** An appraiser bound to a profile (compiled patterns, one analyser). */
export interface Appraiser {
  appraise(text: string, context: AppraisalContext): Appraisal;
}

/** Builds the appraiser of a profile. */
export function createAppraiser(profile: Profile): Appraiser {
  const { appraisal } = profile;
  const analyser = new Sentiment();
  const compile = (list: readonly string[]) => list.map((source) => new RegExp(source, "i"));
  const patterns = {
    correction: compile(appraisal.patterns.correction),
    confirmation: compile(appraisal.patterns.confirmation),
    clarification: compile(appraisal.patterns.clarification),
    thanks: compile(appraisal.patterns.thanks),
  };
  const requestVerbs = new Set(appraisal.requestVerbs.map((verb) => verb.toLowerCase()));
  const extras = { ...appraisal.sentimentOverrides };

  return {
    appraise(text, context) {
      const normalised = normaliseText(text);
      const result = analyser.analyze(sentimentText(normalised), { extras });
      const score = result.score;
      const first = (sentences(stripFencedCode(normalised))[0] ?? "").trim();
      const matches = (list: RegExp[]) => list.some((pattern) => pattern.test(first));
      const feedback = context.feedback ?? null;
      const correction = feedback === "bad" || matches(patterns.correction);
      const confirmation = feedback === "good" || matches(patterns.confirmation);
      const clarificationRequest = matches(patterns.clarification);
      const thanks = matches(patterns.thanks);
      const words = tokens(normalised);
      const firstWord = tokens(first)[0] ?? "";
      const intent: Intent = correction
        ? "correct"
        : confirmation
        ? "confirm"
        : clarificationRequest
        ? "clarify"
        : thanks
        ? "thank"
        : first.trimEnd().endsWith("?") || normalised.trimEnd().endsWith("?") ||
            INTERROGATIVES.has(firstWord)
        ? "question"
        : requestVerbs.has(firstWord)
        ? "request"
        : "other";
      const history = context.previousUserTokens.slice(-10);
      const typical = history.length >= 3 ? median(history) : 0;
      return {
        sentiment: {
          score,
          comparative: result.comparative,
          s: Math.tanh(score / appraisal.sentimentScale),
        },
        feedback,
        correction,
        confirmation,
        clarificationRequest,
        thanks,
        intent,
        tokens: words.length,
        referencesPast: REFERENCES_PAST.test(normalised),
        lengthRatio: history.length >= 3 && typical > 0 ? words.length / typical : null,
        latencyMs: context.previousReplyAt === null
          ? null
          : context.receivedAt - context.previousReplyAt,
      };
    },
  };
}
