import assert from "node:assert/strict";
import plugin, { REPO_ROOT } from "./lint_plugin.ts";

const lint = (filename: string, source: string) =>
  Deno.lint.runPlugin(plugin, filename, source).map((diagnostic) => diagnostic.id);

Deno.test("plugin-boundaries: a plugin may import the kernel, packages and its own folder", () => {
  assert.deepEqual(
    lint(
      REPO_ROOT + "plugins/memory/mod.ts",
      `import { definePlugin } from "@synth/kernel";
       import { z } from "zod";
       import { recall } from "./recall.ts";
       import { sql } from "./store/sql.ts";
       import assert from "node:assert/strict";`,
    ),
    [],
  );
});

Deno.test("plugin-boundaries: importing another plugin or kernel internals is reported", () => {
  assert.deepEqual(
    lint(
      REPO_ROOT + "plugins/gdil/mod.ts",
      `import { memoryPlugin } from "../memory/mod.ts";
       import type { Kernel } from "../../src/kernel.ts";
       export { x } from "../psyche_purpose/x.ts";
       export * from "${REPO_ROOT}src/mod.ts";
       const lazy = await import("../tool_timer/mod.ts");
       import { createTestHost } from "@synth/testing";`,
    ),
    Array(6).fill("synth/plugin-boundaries"),
  );
});

Deno.test("plugin-boundaries: tests may combine plugins and use the testing kit", () => {
  assert.deepEqual(
    lint(
      REPO_ROOT + "examples/hello/mod_test.ts",
      `import { createTestHost } from "@synth/testing";
       import { helloLoudPlugin } from "../hello_loud/mod.ts";`,
    ),
    [],
  );
  assert.deepEqual(
    lint(REPO_ROOT + "examples/hello/mod_test.ts", `import { x } from "../../src/kernel.ts";`),
    ["synth/plugin-boundaries"],
  );
});

Deno.test("plugin-no-process-access: Deno.env and Deno.serve are reported in plugin code", () => {
  assert.deepEqual(
    lint(
      REPO_ROOT + "plugins/tool_web_search/mod.ts",
      `const key = Deno.env.get("KEY"); Deno.serve(() => new Response());`,
    ),
    ["synth/plugin-no-process-access", "synth/plugin-no-process-access"],
  );
  assert.deepEqual(lint(REPO_ROOT + "src/main.ts", `Deno.env.get("PORT");`), []);
});

Deno.test("the rules judge paths from the repository root, not from any /plugins/ above it", () => {
  assert.deepEqual(
    lint("/home/ada/plugins/synth/src/main.ts", `import { x } from "../../other/mod.ts";`),
    [],
  );
  assert.deepEqual(
    lint(REPO_ROOT + "src/kernel.ts", `import { x } from "../plugins/memory/mod.ts";`),
    [],
  );
});

Deno.test("fakes-in-tests-only: only tests/ and bench/ import the fake LLM server", () => {
  const source = (from: string) =>
    `import { startFakeLlm } from "${from}";
     export * from "${from}";
     const lazy = await import("${from}");`;
  for (const path of ["src/llm/gateway.ts", "plugins/memory/recall_test.ts", "scripts/x.ts"]) {
    const relative = "../".repeat(path.split("/").length - 1) + "tests/fakes/llm/mod.ts";
    assert.deepEqual(
      lint(REPO_ROOT + path, source(relative)).filter((id) => id === "synth/fakes-in-tests-only"),
      Array(3).fill("synth/fakes-in-tests-only"),
      path,
    );
  }
  assert.deepEqual(
    lint(REPO_ROOT + "src/x.ts", `import "${REPO_ROOT}tests/fakes/llm/scenes.ts";`),
    ["synth/fakes-in-tests-only"],
  );
  assert.deepEqual(lint(REPO_ROOT + "tests/llm/x_test.ts", source("../fakes/llm/mod.ts")), []);
  assert.deepEqual(lint(REPO_ROOT + "bench/llm_bench.ts", source("../tests/fakes/llm/mod.ts")), []);
});
