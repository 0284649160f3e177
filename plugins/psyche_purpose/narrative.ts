/**
 * The narrative's text rules (spec/mind.md §9): the rewrite sanitiser, the
 * provenance gate, the word-level diff between versions, and growth.
 *
 * @module
 */
import { sentences, wordTokens } from "@synth/kernel";

const PREAMBLE = /^(here('s| is)|sure|okay|updated narrative|narrative:)/i;
const FORBIDDEN = /ignore (all|previous)|system prompt|you must|as an ai language model/i;
const SENTENCE_END = /[.!?]["'”’)\]]*(?= |$)/g;
const FIRST_PERSON = new Set(["i", "i'm", "i've", "i'll", "i'd", "me", "my", "mine", "myself"]);

/**
 * Cleans a rewrite: trim; strip fences and outer quotes; drop leading
 * preamble lines; refuse headings, bullets, injection phrases or a text
 * without a first-person word; collapse whitespace; cut at the last
 * sentence end within `maxWords` (refuse a text with none there); refuse
 * fewer than `minWords`.
 */
export function sanitiseNarrative(
  raw: string,
  limits: { maxWords: number; minWords: number },
): { ok: true; text: string; words: number } | { ok: false; reason: string } {
  // Wrappers come in any order ("Here it is:", a fence, quotes): peel until nothing changes.
  let text = raw.trim();
  for (let pass = 0; pass < 4; pass++) {
    const before = text;
    const peeled = text.split("\n");
    while (
      peeled.length > 0 &&
      (peeled[0]!.trim() === "" || PREAMBLE.test(peeled[0]!.trim()) ||
        /^```/.test(peeled[0]!.trim()))
    ) peeled.shift();
    while (
      peeled.length > 0 && (peeled.at(-1)!.trim() === "" || /^```\s*$/.test(peeled.at(-1)!.trim()))
    ) {
      peeled.pop();
    }
    text = peeled.join("\n").trim();
    const quotes = /^(["'“”‘’])([\s\S]*)(["'“”‘’])$/.exec(text);
    if (quotes) text = quotes[2]!.trim();
    if (text === before) break;
  }
  const lines = text.split("\n");
  for (const line of lines) {
    const trimmed = line.trim();
    if (/^(#{1,6}\s|[-*•]\s|\d+[.)]\s)/.test(trimmed)) {
      return { ok: false, reason: "it contains a heading or a list" };
    }
    if (FORBIDDEN.test(trimmed)) {
      return { ok: false, reason: "it contains an instruction-like phrase" };
    }
  }
  text = lines.join(" ").replace(/\s+/g, " ").trim();
  if (!wordTokens(text).some((word) => FIRST_PERSON.has(word))) {
    return { ok: false, reason: "it is not written in the first person" };
  }
  const words = text.split(" ");
  if (words.length > limits.maxWords) {
    const cut = words.slice(0, limits.maxWords).join(" ");
    // A sentence ends at . ! or ? (closing quotes or brackets may follow) before a space or the
    // cut's end. Without one nothing of the text can stay whole.
    const last = [...cut.matchAll(SENTENCE_END)].at(-1);
    if (!last) {
      return { ok: false, reason: `no sentence ends within its first ${limits.maxWords} words` };
    }
    text = cut.slice(0, last.index + last[0].length);
  }
  const count = text.split(" ").filter(Boolean).length;
  if (count < limits.minWords) {
    return { ok: false, reason: `only ${count} words remain (at least ${limits.minWords})` };
  }
  return { ok: true, text, words: count };
}

/** Token Jaccard similarity of two texts. */
export function jaccard(a: string, b: string): number {
  const left = new Set(wordTokens(a));
  const right = new Set(wordTokens(b));
  if (left.size === 0 && right.size === 0) return 1;
  let shared = 0;
  for (const word of left) if (right.has(word)) shared++;
  return shared / (left.size + right.size - shared);
}

/** The statements of a narrative: its sentences. */
export function statements(text: string): string[] {
  return sentences(text);
}

/** Word-level LCS diff of two texts. */
export function wordDiff(
  before: string,
  after: string,
): Array<{ op: "=" | "+" | "-"; text: string }> {
  const a = before.split(/\s+/).filter(Boolean);
  const b = after.split(/\s+/).filter(Boolean);
  const table = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i]![j] = a[i] === b[j]
        ? table[i + 1]![j + 1]! + 1
        : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const out: Array<{ op: "=" | "+" | "-"; text: string }> = [];
  const push = (op: "=" | "+" | "-", word: string) => {
    const last = out.at(-1);
    if (last && last.op === op) last.text += ` ${word}`;
    else out.push({ op, text: word });
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      push("=", a[i]!);
      i++;
      j++;
    } else if (table[i + 1]![j]! >= table[i]![j + 1]!) push("-", a[i++]!);
    else push("+", b[j++]!);
  }
  while (i < a.length) push("-", a[i++]!);
  while (j < b.length) push("+", b[j++]!);
  return out;
}

/** Growth G: the mean of whichever components exist (§9). */
export function growth(components: {
  helpfulness: number | null;
  alignment: number | null;
  brier: number | null;
}): number | null {
  const values = [
    components.helpfulness,
    components.alignment,
    components.brier === null ? null : 1 - components.brier,
  ].filter((value): value is number => value !== null);
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : null;
}
