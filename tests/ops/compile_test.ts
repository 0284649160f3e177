/**
 * `deno task compile` (spec/ops.md §5): the single binary's command line,
 * the explanation when Deno's runtime cannot be downloaded (our build
 * machines), and — only with SYNTH_TEST_COMPILE=1, since it downloads
 * `denort` — a real compile whose binary serves and passes its own
 * healthcheck from another directory.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { makeTestDir, REPO_DIR, toolsConfig } from "@synth/testing";
import { checkCompiledSandbox } from "../tools/compiled_checks.ts";
import denoJson from "../../deno.json" with { type: "json" };
import {
  COMPILE_TARGETS,
  compileArgs,
  compileIncludes,
  isRuntimeDownloadFailure,
  offlineExplanation,
  SERVER_V8_FLAGS,
} from "../../scripts/compile.ts";

/** What `deno compile` printed on a machine without access to dl.deno.land (Deno 2.9.6). */
const OFFLINE_STDERR =
  `error: Writing deno compile executable to temporary file 'dist/synth-mind.tmp-1'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known
`;

Deno.test("the compile task builds the web and wasm assets first and never passes -A or --env-file", () => {
  const task = denoJson.tasks.compile;
  assert.ok(task.description.length > 20);
  assert.deepEqual(task.dependencies, ["build:web", "build:wasm"]);
  assert.doesNotMatch(task.command, /(^|\s)(-A|--allow-all)(\s|$)/);
  const args = compileArgs({});
  assert.equal(args[0], "compile");
  assert.ok(args.includes("-P=server"), "the server permission set is baked in");
  assert.ok(!args.some((arg) => arg.startsWith("--env-file")), "Deno would embed the .env file");
  assert.ok(!args.some((arg) => arg === "-A" || arg === "--allow-all"));
  assert.deepEqual(args.slice(-3), ["--output", "dist/synth-mind", "src/main.ts"]);
  // The binary runs with the start task's V8 flags.
  assert.ok(args.includes(`--v8-flags=${SERVER_V8_FLAGS}`));
  assert.ok(denoJson.tasks.start.command.includes(` --v8-flags=${SERVER_V8_FLAGS} `));
});

Deno.test("the binary embeds the dashboard, profiles, sandbox sources and every worker module", () => {
  const includes = compileIncludes();
  for (const path of ["web/dist", "profiles", "src/sandbox", "src/store/backup_worker.ts"]) {
    assert.ok(includes.includes(path), `--include ${path}`);
  }
  for (const entry of Deno.readDirSync(join(REPO_DIR, "plugins"))) {
    if (
      entry.name.startsWith("tool_") &&
      existsSync(join(REPO_DIR, "plugins", entry.name, "worker.ts"))
    ) {
      assert.ok(includes.includes(`plugins/${entry.name}/worker.ts`), `${entry.name}'s worker`);
    }
  }
  for (const path of includes.filter((path) => path !== "web/dist")) {
    assert.ok(existsSync(join(REPO_DIR, path)), `${path} exists`);
  }
  const args = compileArgs({ target: "aarch64-unknown-linux-gnu", output: "out/x" });
  assert.deepEqual(args.slice(args.indexOf("--target"), args.indexOf("--target") + 2), [
    "--target",
    "aarch64-unknown-linux-gnu",
  ]);
  assert.deepEqual(COMPILE_TARGETS, [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
});

Deno.test("offline, the compile task explains that compiling downloads Deno's runtime and runs in CI", () => {
  assert.ok(isRuntimeDownloadFailure(OFFLINE_STDERR));
  assert.ok(!isRuntimeDownloadFailure("error: Type checking failed.\n"));
  const text = offlineExplanation("x86_64-unknown-linux-gnu");
  assert.match(text, /could not download Deno's runtime \(denort\)/);
  assert.match(text, /\.github\/workflows\/release\.yml/);
  assert.match(text, /deno task start/);
});

Deno.test({
  name:
    "the compiled binary prints its version, serves from another directory and passes its healthcheck",
  ignore: Deno.env.get("SYNTH_TEST_COMPILE") !== "1",
  async fn() {
    const dir = await makeTestDir("synth-compile-");
    try {
      const binary = join(dir, "synth-mind");
      const compile = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--allow-read=.",
          "--allow-run",
          "scripts/compile.ts",
          "--output",
          binary,
        ],
        cwd: REPO_DIR,
      }).output();
      assert.equal(compile.code, 0, new TextDecoder().decode(compile.stderr));
      const version = await new Deno.Command(binary, { args: ["--version"] }).output();
      assert.equal(
        new TextDecoder().decode(version.stdout),
        `synth-mind ${denoJson.version} (deno ${Deno.version.deno})\n`,
      );
      const elsewhere = join(dir, "run");
      await Deno.mkdir(elsewhere);
      const env = { PORT: "18099", SYNTH_AUTH_ENABLED: "false", NO_COLOR: "1" };
      const server = new Deno.Command(binary, {
        args: ["serve"],
        cwd: elsewhere,
        env,
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        let code = 1;
        for (let i = 0; i < 30 && code !== 0; i++) {
          ({ code } = await new Deno.Command(binary, { args: ["healthcheck"], cwd: elsewhere, env })
            .output());
          if (code !== 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
        assert.equal(code, 0);
      } finally {
        server.kill("SIGTERM");
        await server.status;
      }
      // The tool sandbox (spec/tools.md §12 item 13): the binary as its own sandbox child …
      await checkCompiledSandbox(
        toolsConfig({ sandbox: { selfCommand: [binary, "__sandbox"], pool: { size: 0 } } }),
      );
      // … and the server's sandbox check, without and with a deno for the sandbox.
      for (const extra of [{}, { SYNTH_TOOLS_SANDBOX_DENO_PATH: Deno.execPath() }]) {
        const data = join(dir, `data-${Object.keys(extra).length}`);
        const serving = new Deno.Command(binary, {
          args: ["serve"],
          cwd: elsewhere,
          env: { ...env, ...extra, PORT: "18098", SYNTH_DATA_DIR: data },
          stdout: "null",
          stderr: "null",
        }).spawn();
        try {
          let sandbox = "";
          for (let i = 0; i < 60 && sandbox !== "ok"; i++) {
            const health = await fetch("http://127.0.0.1:18098/health").then((r) => r.json())
              .catch(() => null);
            sandbox = health?.checks?.sandbox?.status ?? "";
            if (sandbox !== "ok") await new Promise((resolve) => setTimeout(resolve, 1_000));
          }
          assert.equal(sandbox, "ok", JSON.stringify(extra));
        } finally {
          serving.kill("SIGTERM");
          await serving.status;
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
