import assert from "node:assert/strict";
import { MAX_TEXT_CHARS, storedMessage } from "./kinds.ts";

Deno.test("a long message's searched text stops before an emoji it would split, and keeps the whole", () => {
  const text = "a".repeat(MAX_TEXT_CHARS - 1) + "\u{1F600}" + " and more";
  const stored = storedMessage(text);
  assert.equal(stored.full, text);
  assert.equal(stored.text, "a".repeat(MAX_TEXT_CHARS - 1), "not half an emoji");
  assert.ok(stored.text.isWellFormed());
  assert.deepEqual(storedMessage("  short  "), { text: "short", full: null });
});
