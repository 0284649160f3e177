import { cutText, type MemoryKind, type MemorySource, type MemoryTrust } from "@synth/kernel";

/** Every kind, with the small integer the vector index filters on. */
export const KIND_CODES: Readonly<Record<MemoryKind, number>> = {
  message: 0,
  episode: 1,
  semantic: 2,
  self: 3,
};

/** All kinds, in code order. */
export const MEMORY_KINDS: readonly MemoryKind[] = ["message", "episode", "semantic", "self"];

/** The vector-index bit mask of a list of kinds. */
export function kindBits(kinds: readonly MemoryKind[]): number {
  return kinds.reduce((bits, kind) => bits | (1 << KIND_CODES[kind]), 0);
}

/** Trust follows the source and never rises: users are believed, tools, the web and peers less. */
export const TRUST_OF_SOURCE: Readonly<Record<MemorySource, MemoryTrust>> = {
  user: "high",
  system: "high",
  agent: "medium",
  tool: "low",
  web: "low",
  peer: "low",
};

/** The lower of two trust levels. */
export function lowerTrust(a: MemoryTrust, b: MemoryTrust): MemoryTrust {
  const order: MemoryTrust[] = ["low", "medium", "high"];
  return order[Math.min(order.indexOf(a), order.indexOf(b))]!;
}

/** Longest text of a fact, event or self memory, in characters (code points, as zod counts). */
export const MAX_TEXT_CHARS = 8_000;

/** Longest conversation message in characters (what the chat API accepts, spec/mind.md §3.2). */
export const MAX_MESSAGE_CHARS = 32_000;

/**
 * A message as stored: its first {@link MAX_TEXT_CHARS} UTF-16 units as the
 * memory's text (what search and the embedder see; never half an emoji) and,
 * when it is longer, the whole of it (`memory_messages.full_text`).
 */
export function storedMessage(text: string): { text: string; full: string | null } {
  const trimmed = text.trim();
  return trimmed.length > MAX_TEXT_CHARS
    ? { text: cutText(trimmed, MAX_TEXT_CHARS), full: trimmed }
    : { text: trimmed, full: null };
}

/** The `memory_messages` columns (alias `mm`) a message carries beside its memory row. */
export const MESSAGE_COLUMNS = [
  "mm.seq",
  "mm.role",
  "mm.turn_id",
  "mm.author_id",
  "mm.tool_calls",
  "mm.tool_call_id",
  "mm.token_count",
  "mm.full_text",
] as const;

/** Sources whose text is scanned for injected instructions. */
export const UNTRUSTED_SOURCES: ReadonlySet<MemorySource> = new Set(["tool", "web", "peer"]);

/** Default importance of a kind when the writer gives none. */
export const DEFAULT_IMPORTANCE: Readonly<Record<MemoryKind, number>> = {
  message: 0.3,
  episode: 0.5,
  semantic: 0.8,
  self: 0.6,
};

/** Characters to tokens, the estimate used wherever no provider count exists. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
