import assert from "node:assert/strict";
import { PLUGIN_ERROR_CODES, PluginError } from "./errors.ts";
import { orderPlugins } from "./order.ts";

const ids = (nodes: { id: string }[]) => nodes.map((node) => node.id);

Deno.test("orderPlugins() puts every plugin after its dependencies", () => {
  const ordered = orderPlugins([
    { id: "gdil", dependsOn: ["memory", "mind"] },
    { id: "mind", dependsOn: ["memory"] },
    { id: "memory" },
  ]);
  assert.deepEqual(ids(ordered), ["memory", "mind", "gdil"]);
});

Deno.test("orderPlugins() places the first listed ready plugin next", () => {
  const ordered = orderPlugins([
    { id: "x", dependsOn: ["b"] },
    { id: "a" },
    { id: "b" },
  ]);
  assert.deepEqual(ids(ordered), ["a", "b", "x"]);
});

Deno.test("orderPlugins() keeps the list order between independent plugins", () => {
  const ordered = orderPlugins([
    { id: "tool_timer" },
    { id: "tool_calculator" },
    { id: "psyche_dreaming", dependsOn: ["tool_calculator"] },
    { id: "memory" },
  ]);
  assert.deepEqual(ids(ordered), ["tool_timer", "tool_calculator", "psyche_dreaming", "memory"]);
});

Deno.test("orderPlugins() fails with PLUGIN_DEPENDENCY_MISSING naming both plugins", () => {
  assert.throws(
    () => orderPlugins([{ id: "memory" }, { id: "gdil", dependsOn: ["memory", "mind"] }]),
    (error: unknown) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.code, PLUGIN_ERROR_CODES.DEPENDENCY_MISSING);
      assert.equal(error.plugin, "gdil");
      assert.match(
        error.message,
        /^\[plugin gdil\] Cannot load: it depends on "mind", which is not loaded; add "mind" to the plugin list or remove it from dependsOn$/,
      );
      return true;
    },
  );
});

Deno.test("orderPlugins() fails with PLUGIN_DEPENDENCY_CYCLE showing the cycle", () => {
  assert.throws(
    () =>
      orderPlugins([
        { id: "a", dependsOn: ["b"] },
        { id: "b", dependsOn: ["c"] },
        { id: "c", dependsOn: ["a"] },
        { id: "d" },
      ]),
    (error: unknown) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.code, PLUGIN_ERROR_CODES.DEPENDENCY_CYCLE);
      assert.match(error.message, /a → b → c → a/);
      return true;
    },
  );
});

Deno.test("orderPlugins() rejects a plugin that depends on itself", () => {
  assert.throws(
    () => orderPlugins([{ id: "a", dependsOn: ["a"] }]),
    (error: unknown) =>
      error instanceof PluginError && error.code === PLUGIN_ERROR_CODES.DEPENDENCY_CYCLE &&
      error.message.includes("a → a"),
  );
});

Deno.test("orderPlugins() rejects two plugins with one id", () => {
  assert.throws(
    () => orderPlugins([{ id: "memory" }, { id: "memory" }]),
    (error: unknown) =>
      error instanceof PluginError && error.code === PLUGIN_ERROR_CODES.DUPLICATE_ID,
  );
});
