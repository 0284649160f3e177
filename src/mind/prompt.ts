/**
 * Prompt assembly (spec/mind.md §3.4): fragments ordered by section and
 * priority, dropped lowest-priority first over the token budget, history as
 * a real message array trimmed oldest-first.
 *
 * @module
 */
import type { ChatMessage } from "../llm/types.ts";
import type { FragmentSection, HistoryMessage, PromptFragment } from "./types.ts";

const SECTION_ORDER: readonly FragmentSection[] = ["persona", "memory", "state", "instructions"];
/** Fragments of this priority are never dropped. */
export const KEEP_PRIORITY = 100;

/** `ceil(chars / 4)`. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** A fragment as the influence record shows it (no text). */
export interface SectionRecord {
  id: string;
  module: string;
  key: string;
  section: FragmentSection;
  priority: number;
  reason: string;
  chars: number;
  tokens: number;
  dropped?: "budget";
}

/** Orders fragments: section, then priority (high first), module, key. */
export function orderFragments(fragments: readonly PromptFragment[]): PromptFragment[] {
  return [...fragments].sort((a, b) =>
    SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section) ||
    b.priority - a.priority || a.module.localeCompare(b.module) || a.key.localeCompare(b.key)
  );
}

/**
 * The system prompt within `maxTokens`: the lowest-priority fragments are
 * dropped first (later in order among equals), each recorded.
 */
export function assembleSystem(
  fragments: readonly PromptFragment[],
  maxTokens: number,
): { system: string; sections: SectionRecord[] } {
  const ordered = orderFragments(fragments.filter((fragment) => fragment.text.trim() !== ""));
  const dropped = new Set<PromptFragment>();
  let total = ordered.reduce((sum, fragment) => sum + estimateTokens(fragment.text), 0);
  const candidates = ordered.filter((fragment) => fragment.priority < KEEP_PRIORITY)
    .map((fragment, index) => ({ fragment, index }))
    .sort((a, b) => a.fragment.priority - b.fragment.priority || b.index - a.index);
  for (const { fragment } of candidates) {
    if (total <= maxTokens) break;
    dropped.add(fragment);
    total -= estimateTokens(fragment.text);
  }
  const kept = ordered.filter((fragment) => !dropped.has(fragment));
  return {
    system: kept.map((fragment) => fragment.text.trim()).join("\n\n"),
    sections: ordered.map((fragment) => ({
      id: `${fragment.module}/${fragment.key}`,
      module: fragment.module,
      key: fragment.key,
      section: fragment.section,
      priority: fragment.priority,
      reason: fragment.reason,
      chars: fragment.text.length,
      tokens: estimateTokens(fragment.text),
      ...(dropped.has(fragment) ? { dropped: "budget" as const } : {}),
    })),
  };
}

/** The newest history that fits `maxTokens`, oldest first, as chat messages. */
export function historyMessages(
  history: readonly HistoryMessage[],
  maxTokens: number,
): ChatMessage[] {
  const kept: HistoryMessage[] = [];
  let total = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const message = history[i]!;
    const cost = estimateTokens(message.content) + 4;
    if (total + cost > maxTokens) break;
    total += cost;
    kept.unshift(message);
  }
  // A tool result without its call, or a history opening with the assistant, is cut.
  while (kept.length > 0 && kept[0]!.role !== "user") kept.shift();
  return kept.map((message): ChatMessage =>
    message.role === "user"
      ? { role: "user", content: message.content }
      : message.role === "assistant"
      ? {
        role: "assistant",
        content: message.content,
        ...(message.toolCalls?.length ? { toolCalls: message.toolCalls } : {}),
      }
      : {
        role: "tool",
        toolCallId: message.toolCallId ?? "",
        name: message.toolName ?? "",
        content: message.content,
      }
  );
}
