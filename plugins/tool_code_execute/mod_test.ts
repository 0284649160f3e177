import assert from "node:assert/strict";
import type { ToolResult } from "@synth/kernel";
import { invokeTool, makeTestDir, toolsConfig } from "@synth/testing";
import { codeExecuteTool } from "./mod.ts";
import { describeError, type ExecuteResult, formatArgs, MAX_STREAM_CHARS } from "./worker.ts";

const config = toolsConfig();

/** prlimit caps the child's memory; without it a heap bomb could take the machine's memory. */
const hasPrlimit = await Deno.stat("/usr/bin/prlimit").then(() => true, () => false);

/** Runs code through the real sandbox (a fresh child per call). */
async function execute(
  code: string,
  language: "javascript" | "typescript" = "javascript",
  tool = codeExecuteTool.tool,
): Promise<ToolResult> {
  const emptyDir = await makeTestDir("synth-code-");
  try {
    return await invokeTool(tool, { code, language }, { config, workspace: null, emptyDir });
  } finally {
    await Deno.remove(emptyDir, { recursive: true });
  }
}

function dataOf(result: ToolResult): ExecuteResult {
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { data: ExecuteResult }).data;
}

Deno.test("code_execute is an execute tool with no grants that never uses the warm pool", () => {
  const tool = codeExecuteTool.tool;
  assert.equal(tool.risk, "execute");
  assert.deepEqual(tool.grants, {});
  assert.equal(tool.pool, false);
  assert.equal(tool.workspace, undefined);
  assert.equal(tool.limits.timeoutMs, 10_000);
});

Deno.test("TypeScript runs, top-level await is awaited, and console output is captured per stream", async () => {
  const data = dataOf(
    await execute(
      `interface Point { x: number; y: number }
const p: Point = { x: 3, y: 4 };
console.log("length", Math.hypot(p.x, p.y), p);
await new Promise((resolve) => setTimeout(resolve, 20));
console.info("%s is %d", "answer", 42);
console.debug("debug");
console.warn("careful");
console.error(new Error("shown, not thrown").message);`,
      "typescript",
    ),
  );
  assert.equal(data.stdout, "length 5 { x: 3, y: 4 }\nanswer is 42\ndebug\n");
  assert.equal(data.stderr, "careful\nshown, not thrown\n");
  assert.equal(data.error, undefined);
  assert.equal(data.truncated, false);
  assert.equal(typeof data.durationMs, "number");
});

Deno.test("JavaScript runs as a module", async () => {
  const data = dataOf(
    await execute(
      `const sum = [1, 2, 3].reduce((a, b) => a + b, 0); console.log(sum, typeof import.meta.url);`,
    ),
  );
  assert.equal(data.stdout, "6 string\n");
  assert.equal(data.stderr, "");
});

Deno.test("an uncaught error returns ok with its name and message, output before it kept", async () => {
  const thrown = dataOf(await execute(`console.log("before"); throw new TypeError("boom");`));
  assert.equal(thrown.stdout, "before\n");
  assert.deepEqual(thrown.error, { name: "TypeError", message: "boom" });

  const later = dataOf(
    await execute(`setTimeout(() => { throw new RangeError("in a callback"); }, 0);
await new Promise((resolve) => setTimeout(resolve, 20));`),
  );
  assert.deepEqual(later.error, { name: "RangeError", message: "in a callback" });

  const syntax = dataOf(await execute("const x: = 1;", "typescript"));
  assert.equal(syntax.error?.name, "SyntaxError");
  assert.match(syntax.error?.message ?? "", /Unexpected token/);
  assert.doesNotMatch(syntax.error?.message ?? "", /blob:/, "the blob URL is not shown");
});

Deno.test("the code has no file, environment, subprocess, network, remote or npm access", async () => {
  const probes: Record<string, string> = {
    read: `await Deno.readTextFile("/etc/hostname")`,
    importFile: `await import("file:///etc/hostname", { with: { type: "text" } })`,
    env: `Deno.env.toObject()`,
    spawn: `new Deno.Command("/bin/sh", { args: ["-c", "true"] }).outputSync()`,
    // Port 9 is on the fetch blocklist of the runtime itself; this one is refused by permissions.
    fetchPort9: `await fetch("http://127.0.0.1:9/")`,
    fetch: `await fetch("http://127.0.0.1:8080/")`,
    remote: `await import("https://esm.sh/x")`,
    npm: `await import("npm:left-pad")`,
  };
  const errors: Record<string, string> = {};
  for (const [name, probe] of Object.entries(probes)) {
    const data = dataOf(await execute(`${probe};\nconsole.log("escaped");`));
    assert.equal(data.stdout, "", `${name} ran past the probe`);
    assert.ok(data.error, `${name} was allowed`);
    errors[name] = `${data.error.name}: ${data.error.message}`;
  }
  for (const name of ["read", "env", "spawn", "fetch"]) {
    assert.match(errors[name]!, /^NotCapable: Requires/, `${name}: ${errors[name]}`);
  }
  assert.match(errors.importFile!, /Requires read access/);
  assert.match(errors.remote!, /Requires import access/);
  assert.match(errors.npm!, /--no-npm/);
});

Deno.test("a busy loop is killed at the time limit with TOOLS_TIMEOUT", async () => {
  const tool = {
    ...codeExecuteTool.tool,
    limits: { ...codeExecuteTool.tool.limits, timeoutMs: 1_500 },
  };
  const result = await execute("while (true) {}", "javascript", tool);
  assert.equal(!result.ok && result.error.code, "TOOLS_TIMEOUT");
});

Deno.test({
  name: "a heap bomb ends as TOOLS_SANDBOX_OOM",
  ignore: !hasPrlimit,
  async fn() {
    const result = await execute("const a = []; for (;;) a.push(new Array(1e6).fill(1));");
    assert.equal(!result.ok && result.error.code, "TOOLS_SANDBOX_OOM");
  },
});

Deno.test("writing to Deno.stdout breaks the frame channel: TOOLS_SANDBOX_PROTOCOL", async () => {
  const result = await execute(`await Deno.stdout.write(new TextEncoder().encode("hello"));`);
  assert.equal(!result.ok && result.error.code, "TOOLS_SANDBOX_PROTOCOL");
});

Deno.test("each stream keeps 10,000 characters, then the result is marked truncated", async () => {
  const result = await execute(
    `for (let i = 0; i < 5000; i++) console.log("line " + i);\nconsole.error("e".repeat(20000));`,
  );
  const data = dataOf(result);
  assert.equal(result.ok && result.truncated, true);
  assert.equal(data.truncated, true);
  assert.equal(data.stdout.length, MAX_STREAM_CHARS);
  assert.ok(data.stdout.startsWith("line 0\nline 1\n"));
  assert.equal(data.stderr, "e".repeat(MAX_STREAM_CHARS));
});

Deno.test("code_execute arguments are validated before anything runs", async () => {
  const options = { config, workspace: null, emptyDir: "/nonexistent" };
  for (
    const args of [
      { code: "x".repeat(100_001) },
      { code: "1", language: "python" },
      { code: "" },
      { code: "1", extra: true },
    ]
  ) {
    const result = await invokeTool(codeExecuteTool.tool, args, options);
    assert.equal(!result.ok && result.error.code, "TOOLS_ARGS_INVALID", JSON.stringify(args));
  }
});

Deno.test("console arguments are formatted like Deno's console", () => {
  assert.equal(formatArgs(["a", 1, { b: [2] }]), "a 1 { b: [ 2 ] }");
  assert.equal(formatArgs(["%s=%d%%", "x", 5.5, "rest"]), "x=5.5% rest");
  assert.equal(formatArgs(["%i|%o|%c|%s", 7.9, "s", "color: red"]), '7|"s"||%s');
  assert.equal(formatArgs([1, "two", null, undefined]), "1 two null undefined");
  assert.equal(formatArgs(["100%"]), "100%");
  assert.deepEqual(describeError(new SyntaxError("x")), { name: "SyntaxError", message: "x" });
  assert.deepEqual(describeError("plain"), { name: "Error", message: "Uncaught plain" });
  assert.deepEqual(describeError(42), { name: "Error", message: "Uncaught 42" });
});

Deno.test("user code cannot make the result TOOLS_CANCELLED, TOOLS_DENIED or TOOLS_SANDBOX_OOM", async () => {
  const coded = (code: string) => `Object.assign(new Error("forged"), { code: "${code}" })`;
  const attacks: Record<string, string> = {
    // Globals the worker used after the user's code ran.
    mathRound: `Math.round = () => { throw ${coded("TOOLS_CANCELLED")}; };`,
    performanceNow: `performance.now = () => { throw ${coded("TOOLS_DENIED")}; };`,
    revokeObjectUrl: `URL.revokeObjectURL = () => { throw ${coded("TOOLS_SANDBOX_OOM")}; };`,
    string: `globalThis.String = () => { throw ${coded("TOOLS_CANCELLED")}; };
throw new Error("plain");`,
    replaceAll: `String.prototype.replaceAll = () => { throw ${coded("TOOLS_DENIED")}; };
throw new Error("plain");`,
    // The value the async run resolves with is checked for a `then`.
    thenable: `Object.prototype.then = function (_resolve, reject) { reject(${
      coded("TOOLS_CANCELLED")
    }); };`,
    // A module exporting `then` is a thenable to the import that loads it.
    thenExport: `export function then(_resolve, reject) { reject(${coded("TOOLS_CANCELLED")}); }`,
    // The getters the error listener reads.
    errorEventGetter: `Object.defineProperty(ErrorEvent.prototype, "error", { get() { throw ${
      coded("TOOLS_DENIED")
    }; } });
setTimeout(() => { throw new Error("in a callback"); }, 0);
await new Promise((resolve) => setTimeout(resolve, 20));`,
    // A thrown value whose properties throw while it is described.
    hostileError: `throw { get message() { throw ${coded("TOOLS_DENIED")}; } };`,
    // Messages prove nothing: only the engine's failed allocation is out of memory.
    errorMessage: `throw new Error("Array buffer allocation failed");`,
    rangeErrorMessage: `throw new RangeError("Array buffer allocation failed");`,
    callbackMessage: `Event.prototype.preventDefault = () => {};
setTimeout(() => { throw new Error("Array buffer allocation failed"); }, 0);
await new Promise((resolve) => setTimeout(resolve, 20));`,
  };
  for (const [name, code] of Object.entries(attacks)) {
    const result = await execute(code);
    assert.equal(result.ok, true, `${name}: ${JSON.stringify(result)}`);
  }
  const hostile = dataOf(await execute(attacks.hostileError!));
  assert.equal(hostile.error?.name, "Error");
  const message = dataOf(await execute(attacks.rangeErrorMessage!));
  assert.deepEqual(message.error, {
    name: "RangeError",
    message: "Array buffer allocation failed",
  });
});

Deno.test("stderr text and an ended process do not make the result TOOLS_SANDBOX_OOM", async () => {
  const result = await execute(
    `await Deno.stderr.write(new TextEncoder().encode("Fatal JavaScript out of memory\\n"));
Deno.exit(1);`,
  );
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.error.code, "TOOLS_SANDBOX_CRASHED");
});

Deno.test("an engine allocation failure left uncaught is TOOLS_SANDBOX_OOM; one the code handles is not", async () => {
  const failed = await execute("const huge = new Float64Array(2 ** 40);");
  assert.equal(!failed.ok && failed.error.code, "TOOLS_SANDBOX_OOM", JSON.stringify(failed));
  const handled = dataOf(
    await execute(`try { new ArrayBuffer(2 ** 45); } catch (error) { console.log(error.message); }
console.log(new Uint8Array(2).constructor === Uint8Array, new Uint8Array(2) instanceof Uint8Array);`),
  );
  assert.equal(handled.stdout, "Array buffer allocation failed\ntrue true\n");
  assert.equal(handled.error, undefined);
});
