import assert from "node:assert/strict";
import {
  clipText,
  codePoints,
  contentHash,
  contentTokens,
  cutText,
  isBlank,
  normalizeText,
  tokenize,
  tokenJaccard,
} from "./text.ts";

Deno.test("normalizeText() folds width, case and punctuation", () => {
  assert.equal(normalizeText("Ｈｅｌｌｏ,  WORLD!! ünïcode—ok"), "hello world ünïcode ok");
  assert.deepEqual(tokenize("  "), []);
  assert.deepEqual(contentTokens("The cat and the hat"), ["cat", "hat"]);
});

Deno.test("contentHash() is equal for texts that differ only in case and punctuation", () => {
  assert.equal(contentHash("My daughter is Mia."), contentHash("my daughter is mia"));
  assert.notEqual(contentHash("My daughter is Mia."), contentHash("My daughter is Lia."));
});

Deno.test("tokenJaccard() compares content words", () => {
  assert.equal(tokenJaccard("the red car", "a red car"), 1);
  assert.equal(tokenJaccard("red car", "blue boat"), 0);
  assert.ok(Math.abs(tokenJaccard("red car fast", "red car slow") - 0.5) < 1e-9);
});

Deno.test("codePoints() counts an emoji as one character, and a lone surrogate as one", () => {
  assert.equal(codePoints(""), 0);
  assert.equal(codePoints("abc"), 3);
  assert.equal(codePoints("a\u{1F600}b"), 3);
  assert.equal(codePoints("\u{1F600}".repeat(5)), 5);
  assert.equal(codePoints("\ud800x\udc00"), 3, "unpaired halves count one each");
  assert.equal(codePoints("x\ud83d"), 2, "a high surrogate at the end");
});

Deno.test("cutText() and clipText() never split an emoji's surrogate pair; isBlank() sees through invisible characters", () => {
  const emoji = "😀".repeat(40);
  for (const max of [59, 60, 1, 2]) {
    const cut = cutText(emoji, max);
    assert.ok(cut.isWellFormed(), `cut at ${max}`);
    assert.ok(cut.length === max || cut.length === max - 1, `cut at ${max}: ${cut.length}`);
  }
  assert.equal(cutText("short", 59), "short");
  assert.equal(clipText("short", 5), "short");
  assert.equal(clipText("abcdef", 5), "abcd…");
  assert.ok(clipText(emoji, 60).isWellFormed() && clipText(emoji, 60).endsWith("…"));
  assert.equal(isBlank(" \u200b\ufeff\u2060\t"), true);
  assert.equal(isBlank(" a "), false);
});
