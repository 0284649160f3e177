/**
 * The verbalised-confidence stream filter (spec/mind.md §7.2): removes
 * `<confidence>X</confidence>` from a streamed reply, records X (the last
 * complete tag wins), and never lets a tag reach the user, storage or an
 * export — not even split across chunks.
 *
 * @module
 */

const OPEN = "<confidence>";
const CLOSE = "</confidence>";
const COMPLETE = /<confidence>\s*([0-9]*\.?[0-9]+)\s*<\/confidence>/gi;
/** Held text longer than this is not a tag: it is released as text. */
export const MAX_HELD_CHARS = 40;

/** Whether `text` could still grow into a complete tag. */
function couldBeTag(text: string): boolean {
  const lower = text.toLowerCase();
  if (OPEN.startsWith(lower)) return true;
  if (!lower.startsWith(OPEN)) return false;
  const rest = lower.slice(OPEN.length);
  const close = rest.indexOf("<");
  if (close < 0) return /^[\s0-9.]*$/.test(rest);
  return /^[\s0-9.]*$/.test(rest.slice(0, close)) && CLOSE.startsWith(rest.slice(close));
}

/** A stateful filter for one reply. */
export class ConfidenceFilter {
  #held = "";
  #value: number | null = null;

  /** The last complete tag's value, in [0, 1], or null. */
  get value(): number | null {
    return this.#value;
  }

  /** Takes a chunk; returns the text that may be shown now. */
  push(delta: string): string {
    let buffer = this.#held + delta;
    buffer = buffer.replace(COMPLETE, (_match, value: string) => {
      const parsed = Number(value);
      if (Number.isFinite(parsed)) this.#value = Math.min(1, Math.max(0, parsed));
      return "";
    });
    let hold = buffer.length;
    for (let i = buffer.lastIndexOf("<"); i >= 0; i = buffer.lastIndexOf("<", i - 1)) {
      if (couldBeTag(buffer.slice(i))) hold = i;
      if (i === 0) break;
    }
    if (buffer.length - hold > MAX_HELD_CHARS) hold = buffer.length;
    this.#held = buffer.slice(hold);
    return buffer.slice(0, hold);
  }

  /** Ends the stream: an unfinished tag is released as ordinary text. */
  end(): string {
    const rest = this.#held;
    this.#held = "";
    return rest;
  }
}

/** Removes every complete tag from a finished text (exports, stored messages). */
export function stripConfidenceTags(text: string): string {
  return text.replace(COMPLETE, "");
}
