import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { buildKernel } from "../../scripts/build_wasm.ts";

Deno.test("the committed kernel.wasm equals a fresh build byte for byte", async () => {
  const committed = await Deno.readFile(new URL("./kernel/kernel.wasm", import.meta.url));
  const fresh = await buildKernel();
  const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
  assert.equal(sha(fresh), sha(committed), "run deno task build:wasm and commit the result");
});
