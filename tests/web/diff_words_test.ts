import assert from "node:assert/strict";
import { type DiffPart, diffWords, words } from "../../web/lib/diff_words.ts";

/** Mulberry32: a small seeded generator in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The words on one side of a diff. */
function side(parts: DiffPart[], keep: "-" | "+"): string[] {
  return parts.filter((part) => part.op === "=" || part.op === keep).flatMap((p) => words(p.text));
}

/** The length of a longest common subsequence (the reference the diff must reach). */
function lcs(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(row[j]!, row[j - 1]!);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

Deno.test("identical texts are one kept part; whitespace differences do not count", () => {
  assert.deepEqual(diffWords("a  b\nc", "a b c"), [{ op: "=", text: "a b c" }]);
  assert.deepEqual(diffWords("", ""), []);
});

Deno.test("an empty side is all additions or all removals", () => {
  assert.deepEqual(diffWords("", "new words"), [{ op: "+", text: "new words" }]);
  assert.deepEqual(diffWords("old words", "   "), [{ op: "-", text: "old words" }]);
});

Deno.test("a replaced word is a removal and an addition between kept words", () => {
  assert.deepEqual(diffWords("the quick fox jumps", "the slow fox jumps"), [
    { op: "=", text: "the" },
    { op: "-", text: "quick" },
    { op: "+", text: "slow" },
    { op: "=", text: "fox jumps" },
  ]);
});

Deno.test("insertions and deletions at both ends and in the middle", () => {
  assert.deepEqual(diffWords("b c d", "a b d e"), [
    { op: "+", text: "a" },
    { op: "=", text: "b" },
    { op: "-", text: "c" },
    { op: "=", text: "d" },
    { op: "+", text: "e" },
  ]);
});

Deno.test("Myers finds a shortest script: the kept words form a longest common subsequence", () => {
  // The classic example from Myers' paper: ABCABBA → CBABAC has D = 5.
  const parts = diffWords("A B C A B B A", "C B A B A C");
  const kept = parts.filter((part) => part.op === "=").flatMap((part) => words(part.text));
  assert.equal(kept.length, 4);
  const edits = parts.filter((part) => part.op !== "=").flatMap((part) => words(part.text));
  assert.equal(edits.length, 5);
});

Deno.test("on random texts each side is rebuilt exactly and the script is minimal", () => {
  const random = seeded(7);
  const vocabulary = ["I", "learn", "listen", "and", "keep", "my", "promises", "small", "."];
  const text = (length: number) =>
    Array.from({ length }, () => vocabulary[Math.floor(random() * vocabulary.length)]!);
  for (let round = 0; round < 300; round++) {
    const a = text(Math.floor(random() * 25));
    const b = text(Math.floor(random() * 25));
    const parts = diffWords(a.join(" "), b.join(" "));
    assert.deepEqual(side(parts, "-"), a, `old side of round ${round}`);
    assert.deepEqual(side(parts, "+"), b, `new side of round ${round}`);
    const kept = parts.filter((part) => part.op === "=").flatMap((part) => words(part.text));
    assert.equal(kept.length, lcs(a, b), `minimal in round ${round}`);
    for (let i = 1; i < parts.length; i++) {
      assert.notEqual(parts[i]!.op, parts[i - 1]!.op, "adjacent parts of one kind are merged");
    }
  }
});
