import assert from "node:assert/strict";
import { applyMergePatch, composeMergePatches, mergePatch } from "./merge_patch.ts";

Deno.test("a merge patch holds only what changed, and applying it gives the new value", () => {
  const before = { a: 1, b: { c: 2, d: [1, 2] }, e: "x", gone: true };
  const after = { a: 1, b: { c: 3, d: [1, 2] }, e: "x", added: { f: null } };
  const patch = mergePatch(before, after);
  assert.deepEqual(patch, { gone: null, b: { c: 3 }, added: { f: null } });
  assert.deepEqual(applyMergePatch(before, patch), {
    a: 1,
    b: { c: 3, d: [1, 2] },
    e: "x",
    added: {},
  });
  assert.equal(mergePatch(after, structuredClone(after)), undefined);
  assert.deepEqual(mergePatch({ list: [1, 2] }, { list: [1, 3] }), { list: [1, 3] });
});

Deno.test("RFC 7396 appendix A examples apply", () => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, result] of cases) {
    assert.deepEqual(applyMergePatch(target, patch), result);
  }
});

Deno.test("two composed patches do what applying one after the other does", () => {
  const target = { a: 1, b: { c: 2, d: 3 }, e: [1] };
  const first = { a: 2, b: { c: null }, f: "new" };
  const second = { b: { d: 4, c: 5 }, f: null, e: [2] };
  assert.deepEqual(
    applyMergePatch(target, composeMergePatches(first, second)),
    applyMergePatch(applyMergePatch(target, first), second),
  );
});
