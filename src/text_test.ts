import assert from "node:assert/strict";
import { contentHash, contentTokens, normalizeText, tokenize, tokenJaccard } from "./text.ts";

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
