/**
 * The checks of a sandbox started the way a compiled binary starts it
 * (spec/tools.md §12 item 13): `calculator`, `file_read` and
 * `code_execute` work; §11 rows 1 (reads outside), 3 (environment), 5
 * (spawning), 6 (an endless loop) and 12 (remote code) stay contained.
 * Shared by `compiled_test.ts` (simulated) and `tests/ops/compile_test.ts`
 * (the real binary, `SYNTH_TEST_COMPILE=1`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { invokeTool, makeTestDir } from "@synth/testing";
import type { ToolsConfig } from "@synth/kernel";
import { calculatorTool as calculatorPlugin } from "../../plugins/tool_calculator/mod.ts";
import { codeExecuteTool as codeExecutePlugin } from "../../plugins/tool_code_execute/mod.ts";
import { fileReadTool as fileReadPlugin } from "../../plugins/tool_file_read/mod.ts";

const calculatorTool = calculatorPlugin.tool;
const codeExecuteTool = codeExecutePlugin.tool;
const fileReadTool = fileReadPlugin.tool;

/** A fresh workspace and empty folder, removed afterwards. */
export async function withWorkspace(
  fn: (workspace: string, emptyDir: string) => Promise<void>,
): Promise<void> {
  const dir = await makeTestDir("synth-compiled-");
  try {
    const workspace = join(dir, "ws");
    const emptyDir = join(dir, "empty");
    await Deno.mkdir(workspace);
    await Deno.mkdir(emptyDir);
    await fn(await Deno.realPath(workspace), emptyDir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const code = (source: string) => ({ language: "javascript", code: source });

/** Runs the checks with this tools configuration (its sandbox settings decide how children start). */
export async function checkCompiledSandbox(config: ToolsConfig): Promise<void> {
  await withWorkspace(async (workspace, emptyDir) => {
    const plain = { config, workspace: null, emptyDir };
    const inWorkspace = { config, workspace, emptyDir };

    assert.deepEqual(await invokeTool(calculatorTool, { expression: "2 + 2 * 3" }, plain), {
      ok: true,
      data: { expression: "2 + 2 * 3", result: 8 },
      truncated: false,
    });
    await Deno.writeTextFile(join(workspace, "notes.txt"), "inside the workspace");
    const read = await invokeTool(fileReadTool, { path: "notes.txt" }, inWorkspace);
    assert.ok(read.ok, JSON.stringify(read));
    assert.equal((read.data as { content: string }).content, "inside the workspace");
    const ts = await invokeTool(
      codeExecuteTool,
      { language: "typescript", code: "const n: number = 6 * 7; console.log(n);" },
      plain,
    );
    assert.ok(ts.ok, JSON.stringify(ts));
    assert.equal((ts.data as { stdout: string }).stdout.trim(), "42");

    // Row 1: reads outside.
    const outside = await invokeTool(fileReadTool, { path: "../../etc/passwd" }, inWorkspace);
    assert.match(!outside.ok ? outside.error.code : "", /^TOOLS_PATH_/);
    const snoop = await invokeTool(
      codeExecuteTool,
      code("console.log(await Deno.readTextFile('/etc/passwd'));"),
      plain,
    );
    assert.match(JSON.stringify(snoop), /NotCapable/);
    // Row 3: the environment.
    const env = await invokeTool(codeExecuteTool, code("console.log(Deno.env.toObject());"), plain);
    assert.match(JSON.stringify(env), /NotCapable/);
    const environ = await invokeTool(
      codeExecuteTool,
      code("console.log(await Deno.readTextFile('/proc/self/environ'));"),
      plain,
    );
    assert.match(JSON.stringify(environ), /NotCapable/);
    // Row 5: spawning.
    const spawn = await invokeTool(
      codeExecuteTool,
      code("console.log(await new Deno.Command('/bin/sh', { args: ['-c', 'id'] }).output());"),
      plain,
    );
    assert.match(JSON.stringify(spawn), /NotCapable/);
    // Row 6: an endless loop ends at the timeout.
    const loop = await invokeTool(
      { ...codeExecuteTool, limits: { ...codeExecuteTool.limits, timeoutMs: 1_000 } },
      code("while (true) {}"),
      plain,
    );
    assert.equal(!loop.ok && loop.error.code, "TOOLS_TIMEOUT");
    // Row 12: remote code.
    for (const specifier of ["https://esm.sh/left-pad", "npm:left-pad"]) {
      const remote = await invokeTool(
        codeExecuteTool,
        code(`console.log(await import(${JSON.stringify(specifier)}));`),
        plain,
      );
      assert.ok(remote.ok, specifier);
      const error = (remote.data as { error?: { message: string } }).error;
      assert.match(error?.message ?? "", /import access|--no-npm|not found|npm/, specifier);
    }
  });
}
