/**
 * The sandbox (spec/tools.md §3): a child process under prlimit with exactly
 * the grants, and inside it a Worker with the same permissions. Code runs
 * and returns; every ungranted capability is refused; a busy loop is killed
 * at the timeout; heap and buffer bombs end as out-of-memory without
 * harming the host; the environment is cleared.
 */
import assert from "node:assert/strict";
import { makeTestDir } from "@synth/testing";
import { childCommand, runSandboxed, type SandboxRuntime } from "../../src/sandbox/host.ts";
import { encodeFrame, FrameError, parseFrameJson, readFrames } from "../../src/sandbox/frames.ts";

/** prlimit (util-linux) caps the child's memory; without it the out-of-memory test is skipped. */
const prlimit = await new Deno.Command("/usr/bin/prlimit", { args: ["--version"] }).output()
  .then((result) => (result.success ? "/usr/bin/prlimit" : null), () => null);
if (prlimit === null) {
  // deno-lint-ignore no-console
  console.log("/usr/bin/prlimit is missing: the sandbox runs without a memory cap here");
}

async function workspace(): Promise<SandboxRuntime & { dir: string }> {
  const dir = await makeTestDir("synth-sandbox-");
  return { dir, cwd: dir, prlimitPath: prlimit };
}

const run = (code: string, grants = {}, timeoutMs = 10_000, runtime?: SandboxRuntime) =>
  runSandboxed({ mode: "code", code }, grants, { timeoutMs }, runtime!);

Deno.test("code runs in the sandbox and returns its value; arguments arrive", async () => {
  const runtime = await workspace();
  try {
    const outcome = await runSandboxed(
      {
        mode: "code",
        code: "return { sum: args.a + args.b, deno: typeof Deno.version.deno };",
        args: { a: 2, b: 3 },
      },
      {},
      { timeoutMs: 10_000 },
      runtime,
    );
    assert.deepEqual(outcome, { ok: true, data: { sum: 5, deno: "string" } });
    const thrown = await run("throw new TypeError('bad input');", {}, 10_000, runtime);
    assert.deepEqual(thrown, { ok: false, error: { name: "TypeError", message: "bad input" } });
  } finally {
    await Deno.remove(runtime.dir, { recursive: true });
  }
});

Deno.test("every capability that is not granted is refused: files, network, environment, subprocesses, FFI, system, imports", async () => {
  const runtime = await workspace();
  try {
    const probes: Record<string, string> = {
      read: `Deno.readTextFileSync("/etc/hostname")`,
      readApp: `Deno.readTextFileSync(${
        JSON.stringify(new URL("../../deno.json", import.meta.url).pathname)
      })`,
      write: `Deno.writeTextFileSync("escape.txt", "x")`,
      net: `await fetch("http://127.0.0.1:9/")`,
      listen: `Deno.listen({ port: 0 })`,
      env: `Deno.env.get("HOME")`,
      run: `new Deno.Command("/bin/true").outputSync()`,
      ffi: `Deno.dlopen("libc.so.6", {})`,
      sys: `Deno.hostname()`,
      nodeFs: `(await import("node:fs")).readFileSync("/etc/hostname")`,
      importText: `await import("/etc/hostname", { with: { type: "text" } })`,
      remote: `await import("https://esm.sh/lodash")`,
    };
    for (const [name, probe] of Object.entries(probes)) {
      const outcome = await run(`${probe};\nreturn "escaped";`, {}, 10_000, runtime);
      assert.equal(outcome.ok, false, `${name} was allowed: ${JSON.stringify(outcome)}`);
    }
    const entries = [];
    for await (const entry of Deno.readDir(runtime.dir)) entries.push(entry.name);
    assert.deepEqual(entries, [], "nothing was written");
  } finally {
    await Deno.remove(runtime.dir, { recursive: true });
  }
});

Deno.test("granted paths work and nothing beyond them; the environment holds only granted variables", async () => {
  const runtime = await workspace();
  try {
    await Deno.writeTextFile(`${runtime.dir}/input.txt`, "hello from the workspace");
    const grants = { read: [runtime.dir], write: [runtime.dir], env: ["GREETING"] };
    const outcome = await runSandboxed(
      {
        mode: "code",
        code: `Deno.writeTextFileSync(${JSON.stringify(`${runtime.dir}/out.txt`)}, "written");
          return { text: Deno.readTextFileSync(${
          JSON.stringify(`${runtime.dir}/input.txt`)
        }), greeting: Deno.env.get("GREETING") };`,
      },
      grants,
      { timeoutMs: 10_000 },
      { ...runtime, env: { GREETING: "hi" } },
    );
    assert.deepEqual(outcome, {
      ok: true,
      data: { text: "hello from the workspace", greeting: "hi" },
    });
    assert.equal(await Deno.readTextFile(`${runtime.dir}/out.txt`), "written");
    const outside = await runSandboxed(
      { mode: "code", code: `return Deno.readTextFileSync("/etc/hostname");` },
      grants,
      { timeoutMs: 10_000 },
      runtime,
    );
    assert.equal(outside.ok, false);
    const home = await runSandboxed(
      { mode: "code", code: `return Deno.env.get("HOME") ?? null;` },
      { env: ["HOME"] },
      { timeoutMs: 10_000 },
      runtime,
    );
    assert.deepEqual(home, { ok: true, data: null }, "the host's environment is not inherited");
  } finally {
    await Deno.remove(runtime.dir, { recursive: true });
  }
});

Deno.test("a busy loop is killed at the timeout (TOOLS_TIMEOUT) and the host stays responsive", async () => {
  const runtime = await workspace();
  try {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    await assert.rejects(
      run("while (true) {}", {}, 1_500, runtime),
      (error: { code?: string }) => error.code === "TOOLS_TIMEOUT",
    );
    clearInterval(ticker);
    assert.ok(ticks > 5, "the host's timers kept firing");
  } finally {
    await Deno.remove(runtime.dir, { recursive: true });
  }
});

Deno.test("a heap bomb and a buffer bomb end as TOOLS_SANDBOX_OOM; the host is unharmed", {
  ignore: prlimit === null,
}, async () => {
  const runtime = await workspace();
  try {
    await assert.rejects(
      run("const keep = []; for (;;) keep.push(new Array(1e6).fill(1));", {}, 30_000, runtime),
      (error: { code?: string }) => error.code === "TOOLS_SANDBOX_OOM",
    );
    await assert.rejects(
      run(
        "const keep = []; for (;;) keep.push(new Float64Array(8 * 1024 * 1024).fill(1));",
        {},
        30_000,
        runtime,
      ),
      (error: { code?: string }) => error.code === "TOOLS_SANDBOX_OOM",
    );
    assert.deepEqual(await run("return 1;", {}, 10_000, runtime), { ok: true, data: 1 });
  } finally {
    await Deno.remove(runtime.dir, { recursive: true });
  }
});

Deno.test("the child's command line: prlimit caps, no remote code, only the runtime folder and the grants", () => {
  const { command, args } = childCommand(
    { read: ["/work/ws"], net: ["example.com:443"] },
    { timeoutMs: 2_500, memoryBytes: 1_073_741_824 },
    { cwd: "/work/ws", prlimitPath: "/usr/bin/prlimit", denoPath: "/usr/bin/deno" },
  );
  assert.equal(command, "/usr/bin/prlimit");
  assert.deepEqual(args.slice(0, 4), ["--data=1073741824", "--cpu=8", "--", "/usr/bin/deno"]);
  for (
    const flag of [
      "--no-prompt",
      "--no-remote",
      "--no-npm",
      "--no-config",
      "--unstable-worker-options",
    ]
  ) {
    assert.ok(args.includes(flag), flag);
  }
  assert.ok(args.some((arg) => /^--allow-read=.*src\/sandbox\/,\/work\/ws$/.test(arg)));
  assert.ok(args.includes("--allow-net=example.com:443"));
  assert.ok(
    !args.some((arg) => arg.startsWith("--allow-write") || arg === "-A" || arg === "--allow-all"),
  );
});

Deno.test("frames: length-prefixed JSON; prototype keys, bad JSON and oversize frames are refused", async () => {
  const stream = (bytes: Uint8Array) => new Blob([new Uint8Array(bytes)]).stream();
  const two = new Uint8Array([...encodeFrame({ a: 1 }), ...encodeFrame({ b: [2] })]);
  const read = [];
  for await (const frame of readFrames(stream(two))) read.push(frame);
  assert.deepEqual(read, [{ a: 1 }, { b: [2] }]);
  assert.throws(() => parseFrameJson('{"__proto__": {"polluted": true}}'), FrameError);
  assert.throws(() => parseFrameJson('{"a": {"constructor": {"prototype": 1}}}'), FrameError);
  const bad = new Uint8Array([0, 0, 0, 3, 123, 123, 123]);
  await assert.rejects(async () => {
    for await (const _ of readFrames(stream(bad))) { /* drain */ }
  }, FrameError);
  const huge = new Uint8Array([0x7f, 0, 0, 0]);
  await assert.rejects(async () => {
    for await (const _ of readFrames(stream(huge))) { /* drain */ }
  }, /over the limit/);
});

Deno.test("the child's runtime folder loads only its own files (relative imports, nothing remote or from npm)", async () => {
  const info = await new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      "--no-config",
      new URL("../../src/sandbox/runner.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(info.success, new TextDecoder().decode(info.stderr));
  const graph = JSON.parse(new TextDecoder().decode(info.stdout));
  const modules = graph.modules.map((module: { specifier: string }) => module.specifier);
  const folder = new URL("../../src/sandbox/", import.meta.url).href;
  assert.ok(modules.length >= 2);
  for (const specifier of modules) assert.ok(specifier.startsWith(folder), specifier);
});

Deno.test("code cannot forge its result: a message posted by the code itself is ignored", async () => {
  const runtime = await workspace();
  try {
    const outcome = await run(
      `self.postMessage({ ok: true, data: "forged" });
       Object.getPrototypeOf(self).postMessage?.call(self, { ok: true, data: "forged too" });
       return "real";`,
      {},
      10_000,
      runtime,
    );
    assert.deepEqual(outcome, { ok: true, data: "real" });
  } finally {
    await Deno.remove(runtime.dir, { recursive: true });
  }
});

Deno.test("deny-net is checked against the address connected to: an allowed name resolving to loopback is refused", async () => {
  const runtime = await workspace();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("reached"),
  );
  try {
    const code = `return await (await fetch("http://localhost:${server.addr.port}/")).text();`;
    const open = await run(code, { net: ["localhost"] }, 10_000, runtime);
    assert.deepEqual(open, { ok: true, data: "reached" }, "the control reaches the server");
    const denied = await run(
      code,
      { net: ["localhost"], denyNet: ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16"] },
      10_000,
      runtime,
    );
    assert.equal(denied.ok, false);
    assert.match(
      (denied as { error: { message: string } }).error.message,
      /fetch failed|NotCapable/, // the only difference from the control is the denied range
    );
  } finally {
    await Deno.remove(runtime.dir, { recursive: true });
  }
});

Deno.test("out of memory is decided by how the child died or by the dispatch code's own check, never by text the code wrote", async () => {
  const runtime = await workspace();
  try {
    const message = await run(
      `throw new Error("Array buffer allocation failed");`,
      {},
      10_000,
      runtime,
    );
    assert.deepEqual(message, {
      ok: false,
      error: { name: "Error", message: "Array buffer allocation failed" },
    });
    await assert.rejects(
      run(
        `await Deno.stderr.write(new TextEncoder().encode("FATAL ERROR: JavaScript heap out of memory\\n"));
         Deno.exit(1);`,
        {},
        10_000,
        runtime,
      ),
      (error: { code?: string }) => error.code === "TOOLS_SANDBOX_CRASHED",
    );
    // An engine allocation failure is out of memory even when the size is simply too large.
    await assert.rejects(
      run("new ArrayBuffer(2 ** 45);", {}, 10_000, runtime),
      (error: { code?: string }) => error.code === "TOOLS_SANDBOX_OOM",
    );
  } finally {
    await Deno.remove(runtime.dir, { recursive: true });
  }
});
