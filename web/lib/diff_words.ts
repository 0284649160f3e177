/**
 * A word-level diff (spec/dashboard.md §5.3): Myers' O((N+M)·D) shortest
 * edit script over whitespace-separated words. Pure; the narrative card
 * renders its parts as `<ins>`/`<del>`.
 *
 * @module
 */

/** One run of the diff: words kept (`=`), added (`+`) or removed (`-`), joined by spaces. */
export interface DiffPart {
  op: "=" | "+" | "-";
  text: string;
}

/** The words of a text (runs of non-whitespace). */
export function words(text: string): string[] {
  return text.match(/\S+/g) ?? [];
}

/**
 * The shortest word-level edit script from `a` to `b`, with adjacent words
 * of one kind merged into one part. Removals come before additions where
 * both replace the same words.
 *
 * @example
 * ```ts ignore
 * diffWords("the quick fox", "the slow fox");
 * // [{op: "=", text: "the"}, {op: "-", text: "quick"}, {op: "+", text: "slow"}, {op: "=", text: "fox"}]
 * ```
 */
export function diffWords(a: string, b: string): DiffPart[] {
  const x = words(a);
  const y = words(b);
  const ops = editScript(x, y);
  const parts: DiffPart[] = [];
  let i = 0;
  let j = 0;
  for (const op of ops) {
    const word = op === "+" ? y[j++]! : x[i++]!;
    if (op === "=") j++;
    const last = parts.at(-1);
    if (last && last.op === op) last.text += ` ${word}`;
    else parts.push({ op, text: word });
  }
  return parts;
}

/** The edit script as one op per word: `=` (both advance), `-` (x advances), `+` (y advances). */
function editScript(x: readonly string[], y: readonly string[]): Array<DiffPart["op"]> {
  const n = x.length;
  const m = y.length;
  const max = n + m;
  const offset = max + 1;
  // v[k + offset] = the furthest x reached on diagonal k; one copy kept per D to walk back.
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = max === 0;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v[k - 1 + offset]! < v[k + 1 + offset]!);
      let i = down ? v[k + 1 + offset]! : v[k - 1 + offset]! + 1;
      let j = i - k;
      while (i < n && j < m && x[i] === y[j]) {
        i++;
        j++;
      }
      next[k + offset] = i;
      if (i >= n && j >= m) {
        found = true;
        break;
      }
    }
    v = next;
  }
  trace.push(v);
  // Walk back from (n, m) through the saved frontiers.
  const ops: Array<DiffPart["op"]> = [];
  let i = n;
  let j = m;
  for (let d = trace.length - 2; d >= 0 && (i > 0 || j > 0); d--) {
    const frontier = trace[d]!;
    const k = i - j;
    const down = k === -d || (k !== d && frontier[k - 1 + offset]! < frontier[k + 1 + offset]!);
    const prevK = down ? k + 1 : k - 1;
    const prevI = d === 0 ? 0 : frontier[prevK + offset]!;
    const prevJ = d === 0 ? 0 : prevI - prevK;
    while (i > prevI && j > prevJ) {
      ops.push("=");
      i--;
      j--;
    }
    if (d > 0) {
      if (down) {
        ops.push("+");
        j--;
      } else {
        ops.push("-");
        i--;
      }
    }
  }
  ops.reverse();
  return ops;
}
