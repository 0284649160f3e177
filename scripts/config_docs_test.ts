import assert from "node:assert/strict";
import { currentConfigDocs } from "./config_docs.ts";

Deno.test("docs/configuration.md matches the config schema (run deno task docs:config)", async () => {
  const onDisk = await Deno.readTextFile(new URL("../docs/configuration.md", import.meta.url));
  assert.equal(onDisk, currentConfigDocs());
});

Deno.test("the configuration reference lists every kernel key with its variable", () => {
  const docs = currentConfigDocs();
  for (
    const line of [
      "| `server.port` | an integer from 0 to 65535 | `8080` | `SYNTH_SERVER_PORT`, `PORT`, flag `--port` |",
      '| `dataDir` | a non-empty string | `"./data"` | `SYNTH_DATA_DIR`, flag `--data-dir` |',
    ]
  ) {
    assert.ok(docs.includes(line), `missing: ${line}`);
  }
});
