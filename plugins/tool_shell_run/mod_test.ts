import assert from "node:assert/strict";
import { join } from "node:path";
import { invokeTool, makeTestDir, toolsConfig } from "@synth/testing";
import type { ToolResult, WorkerContext } from "@synth/kernel";
import { shellRunTool } from "./mod.ts";
import { run as runWorker } from "./worker.ts";

const config = toolsConfig({});
/**
 * A sandbox that cannot start: a call refused with its own code under this
 * config was refused on the host, before any sandbox or binary ran.
 */
const noSandbox = toolsConfig({
  sandbox: { denoPath: "/nonexistent/deno" },
});

interface ShellData {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
}

interface Fixture {
  root: string;
  workspace: string;
  emptyDir: string;
}

/** `root/ws` (the workspace, real path) with a few files, and `root/empty`. */
async function withWorkspace(fn: (fixture: Fixture) => Promise<void>): Promise<void> {
  const root = await makeTestDir("shell-run-");
  try {
    await Deno.mkdir(join(root, "ws", "sub"), { recursive: true });
    await Deno.mkdir(join(root, "empty"));
    const workspace = await Deno.realPath(join(root, "ws"));
    await Deno.writeTextFile(join(workspace, "f"), "banana\napple\napple\ncherry\n");
    await Deno.writeTextFile(join(workspace, "a"), "one\ntwo\n");
    await Deno.writeTextFile(join(workspace, "b"), "one\nthree\n");
    await Deno.writeTextFile(join(workspace, "sub", "n.txt"), "10\n9\n100\n");
    await fn({ root: await Deno.realPath(root), workspace, emptyDir: join(root, "empty") });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function shell(fixture: Fixture, command: string, cfg = config): Promise<ToolResult> {
  return invokeTool(shellRunTool.tool, { command }, {
    config: cfg,
    workspace: fixture.workspace,
    emptyDir: fixture.emptyDir,
  });
}

async function ran(fixture: Fixture, command: string): Promise<ShellData> {
  const result = await shell(fixture, command);
  assert.ok(result.ok, `${command}: ${JSON.stringify(result)}`);
  const data = result.data as ShellData;
  assert.equal(data.command, command);
  assert.ok(!data.stdout.includes(fixture.workspace), `${command} leaked the host path`);
  assert.ok(!data.stderr.includes(fixture.workspace), `${command} leaked the host path`);
  return data;
}

function refused(result: ToolResult, code: string, ...parts: string[]): void {
  assert.ok(!result.ok, `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.error.code, code, result.error.message);
  for (const part of parts) {
    assert.ok(result.error.message.includes(part), `"${result.error.message}" should name ${part}`);
  }
}

/** Every name under `dir`, recursively, sorted. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const name = `${prefix}${entry.name}`;
    names.push(name);
    if (entry.isDirectory) names.push(...await tree(join(dir, entry.name), `${name}/`));
  }
  return names.sort();
}

/** `ln -s target link` (Deno.symlink needs unscoped permissions the test set lacks). */
async function symlink(target: string, link: string): Promise<void> {
  const { code } = await new Deno.Command("/usr/bin/prlimit", {
    args: ["/bin/ln", "-s", target, link],
    stdout: "null",
    stderr: "null",
  }).output();
  assert.equal(code, 0, `ln -s ${target} ${link}`);
}

Deno.test("shell_run runs each allowed binary with an allowed option", async (t) => {
  await withWorkspace(async (fixture) => {
    await t.step("ls -la lists the workspace", async () => {
      const data = await ran(fixture, "ls -la");
      assert.equal(data.exitCode, 0);
      for (const name of ["a", "b", "f", "sub"]) {
        assert.match(data.stdout, new RegExp(` ${name}\n`));
      }
    });
    await t.step("pwd shows the workspace as .", async () => {
      assert.deepEqual(await ran(fixture, "pwd"), {
        command: "pwd",
        exitCode: 0,
        stdout: ".\n",
        stderr: "",
        truncated: false,
      });
    });
    await t.step("whoami names a user", async () => {
      const data = await ran(fixture, "whoami");
      assert.equal(data.exitCode, 0, data.stderr);
      assert.match(data.stdout, /^\S+\n$/);
    });
    await t.step("date -u +%Y prints the year", async () => {
      const data = await ran(fixture, "date -u +%Y");
      assert.equal(data.exitCode, 0, data.stderr);
      assert.match(data.stdout, /^\d{4}\n$/);
    });
    await t.step("echo -n hi", async () => {
      const data = await ran(fixture, "echo -n hi");
      assert.equal(data.stdout, "hi");
    });
    await t.step("head -n 1 f", async () => {
      assert.equal((await ran(fixture, "head -n 1 f")).stdout, "banana\n");
    });
    await t.step("tail -n +2 f", async () => {
      assert.equal((await ran(fixture, "tail -n +2 f")).stdout, "apple\napple\ncherry\n");
    });
    await t.step("wc -l f", async () => {
      assert.equal((await ran(fixture, "wc -l f")).stdout, "4 f\n");
    });
    await t.step("sort -r f", async () => {
      assert.equal((await ran(fixture, "sort -r f")).stdout, "cherry\nbanana\napple\napple\n");
    });
    await t.step("sort -rn with a combined flag, in a subfolder", async () => {
      assert.equal((await ran(fixture, "sort -rn sub/n.txt")).stdout, "100\n10\n9\n");
    });
    await t.step("uniq -c f", async () => {
      assert.equal(
        (await ran(fixture, "uniq -c f")).stdout,
        "      1 banana\n      2 apple\n      1 cherry\n",
      );
    });
    await t.step("diff -u a b", async () => {
      const data = await ran(fixture, "diff -u a b");
      assert.equal(data.exitCode, 1);
      assert.match(data.stdout, /^--- a\t/m);
      assert.match(data.stdout, /^\+\+\+ b\t/m);
      assert.match(data.stdout, /^-two$/m);
      assert.match(data.stdout, /^\+three$/m);
    });
    await t.step("which ls", async () => {
      const data = await ran(fixture, "which ls");
      assert.equal(data.exitCode, 0, data.stderr);
      assert.match(data.stdout, /^\/(usr\/)?bin\/ls\n$/);
    });
  });
});

Deno.test("shell_run passes ; | & $ and backticks to the program literally", async () => {
  await withWorkspace(async (fixture) => {
    const data = await ran(fixture, "echo \"a;b|c\" '$HOME' `x`");
    assert.equal(data.stdout, "a;b|c $HOME `x`\n");
    assert.deepEqual(await tree(fixture.workspace), ["a", "b", "f", "sub", "sub/n.txt"]);
  });
});

Deno.test("shell_run cuts each stream at 10,000 characters and marks it truncated", async () => {
  await withWorkspace(async (fixture) => {
    await Deno.writeTextFile(join(fixture.workspace, "big"), "é".repeat(30_000));
    const result = await shell(fixture, "head -c 50000 big");
    assert.ok(result.ok);
    assert.equal(result.truncated, true);
    const data = result.data as ShellData;
    assert.equal(data.stdout, "é".repeat(10_000));
    assert.equal(data.truncated, true);
  });
});

Deno.test("shell_run refuses each listed option by name before running", async () => {
  await withWorkspace(async (fixture) => {
    const before = await tree(fixture.root);
    const cases: Array<[string, string]> = [
      ["sort -o /tmp/x f", "-o"],
      [`sort -o ${fixture.root}/x f`, "-o"],
      ["sort -o ../x f", "-o"],
      ["sort --out=/tmp/x f", "--out"],
      ["sort --out=../x f", "--out"],
      ["sort --output=x f", "--output"],
      ["sort -T /tmp f", "-T"],
      ["sort --compress-program=sh f", "--compress-program"],
      ["sort --files0-from=f", "--files0-from"],
      ["sort --random-source=f f", "--random-source"],
      ["sort -rno x f", "-o"],
      ["diff --from-file=/etc/passwd f", "--from-file"],
      ["diff --to-file=f f", "--to-file"],
      ["diff -x f a b", "-x"],
      ["diff -X f a b", "-X"],
      ["date -f /etc/shadow", "-f"],
      ["date -s 2020-01-01", "-s"],
      ["date -r f", "-r"],
      ["wc --files0-from=/etc/passwd", "--files0-from"],
      ["tail -f f", "-f"],
      ["tail -F f", "-F"],
      ["tail --follow f", "--follow"],
      ["tail --pid=1 f", "--pid"],
      ["ls -", "-"],
      ["ls -lZ", "-Z"],
    ];
    for (const [command, option] of cases) {
      const binary = command.split(" ")[0]!;
      refused(
        await shell(fixture, command, noSandbox),
        "TOOLS_SHELL_OPTION_NOT_ALLOWED",
        `"${option}"`,
        ` ${binary}`,
      );
    }
    assert.deepEqual(await tree(fixture.root), before, "no file was created");
  });
});

Deno.test("shell_run refuses operands outside the table or the workspace before running", async () => {
  await withWorkspace(async (fixture) => {
    const before = await tree(fixture.root);
    const run = (command: string) => shell(fixture, command, noSandbox);
    refused(await run("uniq f /tmp/x"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "/tmp/x");
    refused(await run("uniq f ../x"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "../x");
    refused(await run("uniq f g"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "exactly 1");
    refused(await run("cat f"), "TOOLS_SHELL_UNKNOWN_BINARY", '"cat"', "ls");
    refused(await run("ls /etc"), "TOOLS_PATH_OUTSIDE_WORKSPACE", "/etc");
    refused(await run("head ../x"), "TOOLS_PATH_OUTSIDE_WORKSPACE", "../x");
    refused(await run("head sub/../../x"), "TOOLS_PATH_OUTSIDE_WORKSPACE");
    refused(await run("wc -l missing"), "TOOLS_FILE_NOT_FOUND", "missing");
    refused(await run("date 010100002020"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED");
    refused(await run("which sh"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", '"sh"');
    refused(await run("echo 'open"), "TOOLS_SHELL_SYNTAX");
    assert.deepEqual(await tree(fixture.root), before, "no file was created");
  });
});

Deno.test("shell_run refuses paths through symbolic links", async () => {
  await withWorkspace(async (fixture) => {
    const ws = fixture.workspace;
    await symlink("/etc/hostname", join(ws, "link"));
    await symlink("/etc", join(ws, "etc"));
    await Deno.mkdir(join(ws, "d1", "deep"), { recursive: true });
    await Deno.mkdir(join(ws, "d2"));
    await symlink("/etc/hostname", join(ws, "d1", "deep", "hostname"));
    const run = (command: string) => shell(fixture, command, noSandbox);
    refused(await run("head link"), "TOOLS_SYMLINK_REFUSED", '"link"');
    refused(await run("ls etc"), "TOOLS_SYMLINK_REFUSED", '"etc"');
    refused(await run("wc -l etc/hostname"), "TOOLS_SYMLINK_REFUSED");
    // diff follows links inside folder operands: with -r the whole tree is searched.
    refused(await run("diff -r d1 d2"), "TOOLS_SYMLINK_REFUSED", "deep/hostname");
    refused(await run("diff . d2"), "TOOLS_SYMLINK_REFUSED");
    // Without -r, diff compares only a folder's own entries.
    const data = await ran(fixture, "diff d1 d2");
    assert.match(data.stdout, /^Only in d1: deep$/m);
  });
});

Deno.test("the worker checks paths for symbolic links again before running", async () => {
  await withWorkspace(async (fixture) => {
    await symlink("/etc/hostname", join(fixture.workspace, "link"));
    const ctx: WorkerContext = {
      workspace: fixture.workspace,
      deadlineMs: 10_000,
      secrets: {},
      limits: { maxOutputChars: 10_000 },
    };
    await assert.rejects(
      runWorker({
        command: "head link",
        binary: "/usr/bin/head",
        args: ["link"],
        paths: ["link"],
        searchPath: "/usr/bin:/bin",
      }, ctx),
      (error: Error & { code?: string }) => error.code === "TOOLS_SYMLINK_REFUSED",
    );
  });
});

Deno.test("the refusal tests' sandbox cannot start, so their refusals came from the host", async () => {
  await withWorkspace(async (fixture) => {
    const result = await shell(fixture, "pwd", noSandbox);
    assert.ok(!result.ok);
    assert.match(result.error.code, /^TOOLS_SANDBOX_/);
  });
});

Deno.test("operator-added binaries run with their configured options", async () => {
  await withWorkspace(async (fixture) => {
    const withCut = toolsConfig({
      shell: {
        binaries: {
          cut: { valueOptions: { "-d": "text", "-f": "text" }, operands: { min: 1, max: 2 } },
        },
      },
    });
    await Deno.writeTextFile(join(fixture.workspace, "csv"), "x,1\ny,2\n");
    const result = await shell(fixture, "cut -d , -f 2 csv", withCut);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal((result.data as ShellData).stdout, "1\n2\n");
    refused(
      await shell(fixture, "cut -c 1 csv", withCut),
      "TOOLS_SHELL_OPTION_NOT_ALLOWED",
      '"-c"',
      "cut",
    );
    refused(await shell(fixture, "cut -d , csv"), "TOOLS_SHELL_UNKNOWN_BINARY", '"cut"');
  });
});

Deno.test("a program still running near the deadline is stopped by the worker", async () => {
  await withWorkspace(async (fixture) => {
    const withSleep = toolsConfig({
      shell: { binaries: { sleep: { operands: { kind: "text", min: 1, max: 1 } } } },
    });
    // A 2 s limit: the worker stops the program 1.5 s before it, then answers.
    const tool = { ...shellRunTool.tool, limits: { timeoutMs: 2_000, maxOutputChars: 10_000 } };
    const result = await invokeTool(tool, { command: "sleep 30" }, {
      config: withSleep,
      workspace: fixture.workspace,
      emptyDir: fixture.emptyDir,
    });
    refused(result, "TOOLS_TIMEOUT", "sleep did not finish in time");
  });
});
