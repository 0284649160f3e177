/**
 * Text normalisation shared by the lexical embedder, the full-text query
 * builder, deduplication and content hashes, so they all see the same
 * tokens.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Common English words that carry no topic (≈ 60, built in). */
export const STOPWORDS: ReadonlySet<string> = new Set([
  "a",
  "about",
  "after",
  "all",
  "also",
  "an",
  "and",
  "any",
  "are",
  "as",
  "at",
  "be",
  "been",
  "but",
  "by",
  "can",
  "could",
  "did",
  "do",
  "does",
  "for",
  "from",
  "had",
  "has",
  "have",
  "he",
  "her",
  "his",
  "how",
  "i",
  "if",
  "in",
  "into",
  "is",
  "it",
  "its",
  "just",
  "me",
  "my",
  "no",
  "not",
  "of",
  "on",
  "or",
  "our",
  "she",
  "so",
  "than",
  "that",
  "the",
  "their",
  "them",
  "then",
  "there",
  "they",
  "this",
  "to",
  "was",
  "we",
  "were",
  "what",
  "when",
  "which",
  "who",
  "will",
  "with",
  "would",
  "you",
  "your",
]);

/**
 * The first `max` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair
 * (an emoji): what is left is still well-formed Unicode.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** `text`, or its first `max − 1` units and "…" when longer than `max` (see {@link cutText}). */
export function clipText(text: string, max: number): string {
  return text.length > max ? `${cutText(text, max - 1)}…` : text;
}

/** How many characters a reader counts in `text`: code points, so an emoji is one. */
export function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** Whether a text has nothing to read: only spaces and invisible format characters (U+200B). */
export function isBlank(text: string): boolean {
  return /^[\s\p{Cf}]*$/u.test(text);
}

/** NFKC, lower case, every character that is not a letter or a digit made a space. */
export function normalizeText(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** The tokens of a text after {@link normalizeText}. */
export function tokenize(text: string): string[] {
  const normal = normalizeText(text);
  return normal === "" ? [] : normal.split(" ");
}

/** Tokens without stopwords. */
export function contentTokens(text: string): string[] {
  return tokenize(text).filter((token) => !STOPWORDS.has(token));
}

/** SHA-256 hex of the normalised text: equal for texts that differ only in case or punctuation. */
export function contentHash(text: string): string {
  return createHash("sha256").update(normalizeText(text)).digest("hex");
}

/** Jaccard similarity of two texts' content-token sets, in [0, 1]. */
export function tokenJaccard(a: string, b: string): number {
  const left = new Set(contentTokens(a));
  const right = new Set(contentTokens(b));
  if (left.size === 0 && right.size === 0) return 1;
  let shared = 0;
  for (const token of left) if (right.has(token)) shared++;
  return shared / (left.size + right.size - shared);
}
