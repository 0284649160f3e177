import assert from "node:assert/strict";
import { BoundedMap } from "./bounded_map.ts";

Deno.test("a bounded map drops its oldest entries beyond max; a re-set key becomes the newest", () => {
  const map = new BoundedMap<string, number>(2);
  map.set("a", 1).set("b", 2).set("a", 3).set("c", 4);
  assert.deepEqual([...map.entries()], [["a", 3], ["c", 4]]);
  assert.throws(() => new BoundedMap(0), RangeError);
});
