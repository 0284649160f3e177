import assert from "node:assert/strict";
import { defaultName } from "./service.ts";

Deno.test("a project's default name is the request's first 6 words, with an ellipsis when it goes on, at most 60 characters", () => {
  assert.equal(
    defaultName("Build a small CLI that greets people by name"),
    "Build a small CLI that greets…",
  );
  assert.equal(defaultName("  Plan a garden  "), "Plan a garden");
  assert.equal(defaultName("one two three four five six"), "one two three four five six");
  const long = defaultName(`${"a".repeat(70)} b`);
  assert.equal(long.length, 60);
  assert.ok(long.endsWith("…"));
  assert.equal(defaultName("   "), "Project");
});
