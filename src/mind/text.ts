/**
 * Text helpers of the mind: normalisation, tokens, sentences and phrase
 * counts (spec/mind.md §4, §7.1).
 *
 * @module
 */

/** NFKC with curly quotes and dashes mapped to ASCII. */
export function normaliseText(text: string): string {
  return text.normalize("NFKC")
    .replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .replace(/[\u2013\u2014]/g, "-");
}

/** Removes fenced code blocks (``` … ```), closed or running to the end. */
export function stripFencedCode(text: string): string {
  return text.replace(/```[\s\S]*?(```|$)/g, " ");
}

const TOKEN_REGEXP = /[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*%?/gu;

/**
 * Lowercase letter/digit runs keeping inner apostrophes and a trailing `%`
 * (so "i'm", "100%" are one token each); fenced code is not text.
 */
export function tokens(text: string): string[] {
  return (normaliseText(stripFencedCode(text)).toLowerCase().match(TOKEN_REGEXP) ?? []);
}

/** Counts the matches of phrases (token sequences) in a token list. */
export function countPhrases(words: readonly string[], phrases: readonly string[]): number {
  let total = 0;
  for (const phrase of phrases) {
    const parts = tokens(phrase);
    if (parts.length === 0) continue;
    for (let i = 0; i + parts.length <= words.length; i++) {
      let match = true;
      for (let j = 0; j < parts.length; j++) {
        if (words[i + j] !== parts[j]) {
          match = false;
          break;
        }
      }
      if (match) total++;
    }
  }
  return total;
}

/** Sentences of a text (split after `.`, `!`, `?` or at line breaks), trimmed, non-empty. */
export function sentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+|\n+/).map((part) => part.trim()).filter((part) => part !== "");
}

/** Median of numbers (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Clamps a number into [lo, hi]. */
export function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}

/** Cosine similarity of two vectors (0 when either is zero). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
