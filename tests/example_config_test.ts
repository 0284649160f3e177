import assert from "node:assert/strict";
import { buildConfigSchema, loadConfig } from "../src/config/mod.ts";
import { BUILTIN_PLUGINS } from "../src/builtin_plugins.ts";
import { REPO_DIR } from "@synth/testing";

Deno.test("examples/synth.config.jsonc is a valid config for the server as shipped", () => {
  const schema = buildConfigSchema(
    BUILTIN_PLUGINS.map((plugin) => ({
      id: plugin.manifest.id,
      schema: plugin.manifest.configSchema,
    })),
  );
  const { config, origin } = loadConfig({
    schema,
    flags: { "--config": `${REPO_DIR}/examples/synth.config.jsonc` },
  });
  assert.equal(origin.file, `${REPO_DIR}/examples/synth.config.jsonc`);
  assert.equal(config.server.port, 8080);
  assert.equal(config.health.readyRequires, null);
});
