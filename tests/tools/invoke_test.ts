/**
 * One tool call through `invokeTool` (spec/tools.md §1, §3): what a worker
 * may report and what only the host decides, and arguments a sandbox frame
 * would refuse.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { invokeTool, makeTestDir, toolsConfig } from "@synth/testing";
import { jsonParseTool } from "../../plugins/tool_json_parse/mod.ts";
import { forbiddenKeyPath } from "../../src/tools/invoke.ts";
import type { ToolDefinition } from "../../src/tools/types.ts";

const config = toolsConfig();

/** A tool whose worker throws `{ code: args.code }`, or returns the keys of `args.value`. */
async function withWorkerTool(
  fn: (tool: ToolDefinition, emptyDir: string) => Promise<void>,
): Promise<void> {
  const dir = await makeTestDir("synth-invoke-");
  try {
    const worker = join(dir, "worker.ts");
    await Deno.writeTextFile(
      worker,
      `export function run(args) {
  if (args.code) throw Object.assign(new Error("the worker says " + args.code), { code: args.code });
  return Object.keys(args.value ?? {});
}`,
    );
    await fn({
      name: "probe",
      description: "A test tool",
      args: z.strictObject({ code: z.string().optional(), value: z.unknown().optional() }),
      risk: "safe",
      limits: { timeoutMs: 10_000, maxOutputChars: 1_000 },
      grants: {},
      worker: pathToFileURL(worker) as URL,
    }, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a worker's own codes stand; codes only the host decides become TOOLS_FAILED", async () => {
  await withWorkerTool(async (tool, emptyDir) => {
    const options = { config, workspace: null, emptyDir };
    const own = await invokeTool(tool, { code: "TOOLS_JSON_INVALID" }, options);
    assert.deepEqual(own, {
      ok: false,
      error: { code: "TOOLS_JSON_INVALID", message: "the worker says TOOLS_JSON_INVALID" },
    });
    for (
      const code of ["TOOLS_CANCELLED", "TOOLS_DENIED", "TOOLS_SANDBOX_OOM", "TOOLS_ARGS_INVALID"]
    ) {
      const result = await invokeTool(tool, { code }, options);
      assert.equal(!result.ok && result.error.code, "TOOLS_FAILED", code);
      assert.match(!result.ok ? result.error.message : "", new RegExp(`the worker says ${code}`));
    }
    // A host half that lists the codes its worker may report (code_execute lists none).
    const strict = {
      ...tool,
      run: (args: unknown, ctx: { sandbox: (a: unknown, g: object, o: object) => unknown }) =>
        ctx.sandbox(args, {}, { workerCodes: [] }),
    } as ToolDefinition;
    const refused = await invokeTool(strict, { code: "TOOLS_JSON_INVALID" }, options);
    assert.equal(!refused.ok && refused.error.code, "TOOLS_FAILED");
  });
});

Deno.test("worker arguments holding __proto__, constructor or prototype are TOOLS_ARGS_INVALID, naming the path, before anything starts", async () => {
  await withWorkerTool(async (tool, emptyDir) => {
    const options = { config, workspace: null, emptyDir };
    const fine = await invokeTool(tool, { value: { a: 1, b: [{ c: 2 }] } }, options);
    assert.deepEqual(fine, { ok: true, data: ["a", "b"], truncated: false });
    const cases: Array<[unknown, string]> = [
      [{ value: { a: { constructor: 1 } } }, "value.a.constructor"],
      [JSON.parse('{"value": {"__proto__": {"polluted": true}}}'), "value.__proto__"],
      [{ value: [[{ prototype: 1 }]] }, "value[0][0].prototype"],
    ];
    for (const [args, field] of cases) {
      const result = await invokeTool(tool, args, options);
      assert.equal(!result.ok && result.error.code, "TOOLS_ARGS_INVALID", JSON.stringify(result));
      assert.ok(!result.ok && result.error.message.includes(`: ${field}: the key`), field);
    }
  });
});

Deno.test("json_parse still takes a value holding constructor and __proto__ keys: it sends text", async () => {
  const emptyDir = await makeTestDir("synth-invoke-");
  try {
    const options = { config, workspace: null, emptyDir };
    const result = await invokeTool(jsonParseTool.tool, {
      data: JSON.parse('{"constructor": {"prototype": 1}, "__proto__": {"x": 2}}'),
      path: "constructor.prototype",
    }, options);
    assert.deepEqual(result, {
      ok: true,
      data: { path: "constructor.prototype", value: 1, type: "number", truncated: false },
      truncated: false,
    });
  } finally {
    await Deno.remove(emptyDir, { recursive: true });
  }
});

Deno.test("forbiddenKeyPath finds the first refused key at any depth", () => {
  assert.equal(forbiddenKeyPath({ a: [1, { b: 2 }], c: "constructor" }), null);
  assert.equal(forbiddenKeyPath({ a: [1, { prototype: 2 }] }), "a[1].prototype");
  assert.equal(forbiddenKeyPath([{ constructor: 1 }]), "[0].constructor");
  assert.equal(forbiddenKeyPath(JSON.parse('{"__proto__": 1}')), "__proto__");
  assert.equal(forbiddenKeyPath("__proto__"), null);
  let deep: unknown = { prototype: 1 };
  for (let level = 0; level < 20_000; level++) deep = [deep];
  assert.match(forbiddenKeyPath(deep) ?? "", /^(\[0\]){20000}\.prototype$/);
});
