/**
 * The sandbox in a compiled binary without `denoPath` (spec/tools.md §3.2,
 * ops.md §5; issue #8 acceptance 13). There the host re-executes its own
 * program as `<binary> __sandbox`: no permission flags, the heap limit
 * through `DENO_V8_FLAGS`, and the runner revokes every kind the call is not
 * granted before any Worker exists.
 *
 * `deno compile` cannot fetch its runtime on these machines, so the program
 * is started the way a compiled binary starts it — `src/main.ts __sandbox`
 * under the `server` permission set the binary bakes in, and no loading
 * outside the module graph (`--no-remote --no-npm`, as a compiled binary) —
 * through `tools.sandbox.selfCommand`. The real binary runs the same checks
 * in CI's compile job (`tests/ops/compile_test.ts`, `SYNTH_TEST_COMPILE=1`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestHost, invokeTool, makeTestDir, toolsConfig } from "@synth/testing";
import { httpFetchTool as httpFetchPlugin } from "../../plugins/tool_http_fetch/mod.ts";
import { shellRunTool as shellRunPlugin } from "../../plugins/tool_shell_run/mod.ts";
import { checkCompiledSandbox, withWorkspace } from "./compiled_checks.ts";
import {
  childCommand,
  isCompiledBinary,
  materializeRunner,
  SandboxProcess,
  selfExecCommand,
} from "../../src/sandbox/host.ts";

const httpFetchTool = httpFetchPlugin.tool;
const shellRunTool = shellRunPlugin.tool;

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/**
 * `src/main.ts __sandbox` with the permissions a compiled server binary has
 * baked in: the `server` set of deno.json (read of the app and /usr/bin,
 * write of ./data, running prlimit only, …), no loading outside the module
 * graph.
 */
const SELF = [
  Deno.execPath(),
  "run",
  "--quiet",
  "--no-prompt",
  `--config=${fileURLToPath(new URL("../../deno.json", import.meta.url))}`,
  "-P=server",
  // A compiled binary loads nothing outside its embedded module graph.
  "--no-remote",
  "--no-npm",
  MAIN,
  "__sandbox",
];

const config = toolsConfig({ sandbox: { selfCommand: SELF, pool: { size: 0 } } });

Deno.test("compiled mode is detected from the main module, and the self-exec command follows denoPath and selfCommand", () => {
  assert.equal(isCompiledBinary("file:///tmp/deno-compile-synth-mind/src/main.ts"), true);
  assert.equal(
    isCompiledBinary(
      "file:///C:/Users/a/AppData/Local/Temp/deno-compile-synth-mind.exe/src/main.ts",
    ),
    true,
  );
  assert.equal(isCompiledBinary("file:///work/main/src/main.ts"), false);
  assert.equal(isCompiledBinary(), false, "this test runs under deno run");
  const none = { denoPath: null, selfCommand: null };
  assert.deepEqual(selfExecCommand(none, true), [Deno.execPath(), "__sandbox"]);
  assert.equal(selfExecCommand(none, false), null);
  assert.equal(selfExecCommand({ denoPath: "/usr/bin/deno", selfCommand: null }, true), null);
  assert.deepEqual(selfExecCommand({ denoPath: null, selfCommand: ["/opt/x", "__sandbox"] }), [
    "/opt/x",
    "__sandbox",
  ]);
});

Deno.test("a self-exec child gets no permission flags, only the command and __sandbox, under prlimit", () => {
  const { command, args } = childCommand(
    { read: ["/ws"], net: ["example.com"] },
    { timeoutMs: 2_000, memoryBytes: 1_000, heapMiB: 48 },
    { cwd: "/ws", prlimitPath: "/usr/bin/prlimit", selfExec: ["/opt/synth-mind", "__sandbox"] },
  );
  assert.equal(command, "/usr/bin/prlimit");
  assert.deepEqual(args, ["--data=1000", "--cpu=7", "--", "/opt/synth-mind", "__sandbox"]);
});

Deno.test("compiled mode: calculator, file_read and code_execute work; reads, env, spawn, loops and remote code are contained", async () => {
  await checkCompiledSandbox(config);
});

Deno.test("compiled mode: the runner process itself drops every kind the call is not granted", async () => {
  await withWorkspace(async (workspace, emptyDir) => {
    const held = async (grants: Record<string, string[]>) => {
      const child = new SandboxProcess(grants, { timeoutMs: 10_000 }, {
        cwd: emptyDir,
        prlimitPath: null,
        selfExec: SELF,
      });
      try {
        return (await child.ready).held;
      } finally {
        await child.shutdown();
      }
    };
    // Started with read, write, net, env, run and sys: none is left for a grantless call.
    assert.deepEqual(await held({}), []);
    assert.deepEqual(await held({ read: [workspace], write: [workspace] }), ["read", "write"]);
  });
});

Deno.test("compiled mode: tools granted the network or a program are refused with a clear message (no --deny-net, and the binary may run only prlimit)", async () => {
  await withWorkspace(async (workspace, emptyDir) => {
    const fetched = await invokeTool(httpFetchTool, { url: "https://example.com/" }, {
      config,
      workspace: null,
      emptyDir,
    });
    assert.equal(!fetched.ok && fetched.error.code, "TOOLS_SANDBOX_UNSUPPORTED");
    assert.match(!fetched.ok ? fetched.error.message : "", /granted net.*tools\.sandbox\.denoPath/);
    const shell = await invokeTool(shellRunTool, { command: "pwd" }, {
      config,
      workspace,
      emptyDir,
    });
    assert.equal(!shell.ok && shell.error.code, "TOOLS_SANDBOX_UNSUPPORTED");
    assert.match(!shell.ok ? shell.error.message : "", /granted run/);
  });
});

Deno.test("compiled mode: a grantless plugin runs in the self-exec sandbox; one granted read is refused with PLUGIN_COMPILED_SCOPE_UNSUPPORTED", async () => {
  await using host = await createTestHost({
    config: {
      tools: { sandbox: { selfCommand: SELF } },
      plugins: [
        { id: "dice", from: "./examples/plugins/dice/mod.ts", config: { maxSides: 100 } },
        {
          id: "reader",
          from: "./examples/plugins/dice/mod.ts",
          permissions: { read: ["./examples"] },
        },
      ],
    },
  });
  const plugins = (await (await host.request("/api/plugins")).json()).items as Array<
    { id: string; state: string; last_error: { code: string; message: string } | null }
  >;
  const reader = plugins.find((item) => item.id === "reader")!;
  assert.equal(reader.state, "refused");
  assert.equal(reader.last_error?.code, "PLUGIN_COMPILED_SCOPE_UNSUPPORTED");
  assert.match(reader.last_error?.message ?? "", /granted read.*tools\.sandbox\.denoPath/);
  assert.equal(plugins.find((item) => item.id === "dice")!.state, "running");
  const rolled = await host.kernel.tools.call("dice__roll", { sides: 6, count: 3 }, {
    requestedBy: "local",
    module: "api",
  });
  assert.ok(rolled.result.ok, JSON.stringify(rolled.result));
});

Deno.test("compiled with denoPath: the runner is copied out of the binary and children run that copy, reading nothing else of the app", async () => {
  const dir = await makeTestDir("synth-runner-copy-");
  try {
    const copy = materializeRunner(join(dir, "runtime"));
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(copy))).map((entry) => entry.name).sort(),
      ["frames.ts", "runner.ts"],
    );
    const runtime = { cwd: dir, prlimitPath: null, denoPath: Deno.execPath(), runnerDir: copy };
    const { args } = childCommand({}, { timeoutMs: 5_000 }, runtime);
    assert.ok(args.includes(`--allow-read=${copy}`), args.join(" "));
    assert.equal(args.at(-1), join(copy, "runner.ts"));
    const child = new SandboxProcess({}, { timeoutMs: 10_000 }, runtime);
    try {
      assert.deepEqual(
        await child.call({ codeType: "body", code: "return 6 * 7;", timeoutMs: 10_000 }),
        { ok: true, data: 42 },
      );
    } finally {
      await child.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
