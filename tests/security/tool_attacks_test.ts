/**
 * The tool attack corpus (spec/tools.md §11) against a real server process
 * on loopback and the real sandbox: each attack is contained with its
 * expected code, `/health/live` keeps answering during and after it (a
 * poller calls it every 50 ms), and a `calculator` call succeeds after each
 * case. The earlier project's escapes (original_core.md §2: `sort -o`,
 * `diff --from-file`, SSRF) are rows here.
 */
import assert from "node:assert/strict";
import { type SpawnedServer, spawnServer } from "@synth/testing";
import { join } from "node:path";

const prlimit = await new Deno.Command("/usr/bin/prlimit", { args: ["--version"] }).output()
  .then((result) => result.success, () => false);

/** `/health/live` every 50 ms while attacks run: every answer must be a 200. */
function healthPoller(url: string) {
  let stopped = false;
  const latencies: number[] = [];
  const failures: string[] = [];
  const done = (async () => {
    while (!stopped) {
      const started = performance.now();
      try {
        const response = await fetch(`${url}/health/live`);
        await response.body?.cancel();
        if (response.status !== 200) failures.push(`status ${response.status}`);
      } catch (error) {
        failures.push(String(error));
      }
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    latencies,
    failures,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

interface ToolAnswer {
  success: boolean;
  response: string;
  data: { ok: boolean; data?: Record<string, unknown>; error?: { code: string } } | null;
}

async function tool(server: SpawnedServer, line: string): Promise<ToolAnswer> {
  const response = await fetch(`${server.url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: line }),
  });
  assert.equal(response.status, 200, line);
  return await response.json();
}

/** The run failed with `code`. */
async function refused(server: SpawnedServer, line: string, code: string | RegExp) {
  const answer = await tool(server, line);
  assert.equal(answer.success, false, `${line} was not refused: ${answer.response}`);
  const actual = answer.data?.error?.code ?? answer.response;
  if (typeof code === "string") assert.equal(actual, code, `${line}: ${answer.response}`);
  else assert.match(actual, code, `${line}: ${answer.response}`);
}

/** `code_execute` ran and reported a permission error (NotCapable) from the code. */
async function notCapable(server: SpawnedServer, code: string) {
  const answer = await tool(server, `/tool code_execute ${JSON.stringify({ code })}`);
  assert.equal(answer.success, true, `${code}: ${answer.response}`);
  const error = answer.data?.data?.error as { name: string; message: string } | undefined;
  assert.ok(error, `${code} ran without an error: ${answer.response}`);
  assert.match(
    `${error.name}: ${error.message}`,
    /NotCapable|Requires .* access|not allowed|--no-(remote|npm)|Module not found|Import/i,
    code,
  );
}

/** The child processes of `pid` (pid and command line), from `ps`. */
async function childrenOf(pid: number): Promise<Array<{ pid: number; args: string }>> {
  const ps = await new Deno.Command("ps", {
    args: ["--ppid", String(pid), "-o", "pid=,args="],
    stdout: "piped",
    stderr: "piped",
  }).output();
  // ps exits 1 when nothing matches.
  const text = new TextDecoder().decode(ps.stdout);
  assert.ok(ps.success || text.trim() === "", new TextDecoder().decode(ps.stderr));
  return text.split("\n").filter((line) => line.trim()).map((line) => {
    const [, child, args] = /^\s*(\d+)\s+(.*)$/.exec(line)!;
    return { pid: Number(child), args: args! };
  });
}

async function calculatorWorks(server: SpawnedServer) {
  const answer = await tool(server, "/tool calculator 6*7");
  assert.equal(answer.success, true, answer.response);
  assert.equal(answer.data?.data?.result, 42);
}

async function runUnder(server: SpawnedServer, cases: Array<[string, () => Promise<void>]>) {
  const poller = healthPoller(server.url);
  try {
    for (const [name, attack] of cases) {
      await attack().catch((error) => {
        throw new Error(`${name}: ${error.message}`, { cause: error });
      });
      await calculatorWorks(server);
    }
  } finally {
    await poller.stop();
  }
  assert.deepEqual(poller.failures, [], "/health/live answered every poll");
  assert.ok(poller.latencies.length > 0);
  // deno-lint-ignore no-console
  console.log(
    `/health/live during the attacks: ${poller.latencies.length} polls, max ${
      Math.max(...poller.latencies).toFixed(1)
    } ms`,
  );
}

Deno.test("the attack corpus is contained by the real sandbox while the server keeps answering", async () => {
  await using server = await spawnServer({
    env: { SYNTH_AUTH_ENABLED: "false", SYNTH_RATE_LIMIT_ENABLED: "false" },
  });
  const workspace = join(server.dataDir, "workspaces", "local");
  await Deno.mkdir(workspace, { recursive: true });
  await Deno.writeTextFile(join(workspace, "f"), "b\na\n");
  const marker = join(server.dataDir, "escaped.txt");

  await runUnder(server, [
    ["1 read outside", async () => {
      await refused(server, "/tool file_read ../../etc/passwd", "TOOLS_PATH_OUTSIDE_WORKSPACE");
      await refused(server, "/tool file_read /etc/passwd", "TOOLS_PATH_OUTSIDE_WORKSPACE");
      await notCapable(server, `await Deno.readTextFile("/etc/passwd");`);
      await notCapable(server, `await import("file:///etc/passwd", { with: { type: "text" } });`);
    }],
    ["2 write outside", async () => {
      await refused(
        server,
        "/tool file_write(path='../x', content='x')",
        "TOOLS_PATH_OUTSIDE_WORKSPACE",
      );
      await notCapable(server, `await Deno.writeTextFile(${JSON.stringify(marker)}, "x");`);
      for (
        const command of [
          `sort -o ${marker} f`,
          `sort --out=${marker} f`,
          `uniq f ${marker}`,
          "diff --from-file=/etc/passwd f",
          "date -f /etc/shadow",
          "wc --files0-from=/etc/passwd",
          "sort --compress-program=sh f",
          "tail -f f",
        ]
      ) {
        await refused(server, `/tool shell_run ${command}`, /^TOOLS_(SHELL|PATH)_/);
      }
      await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "no file was created");
    }],
    ["3 environment", async () => {
      await notCapable(server, `Deno.env.toObject();`);
      await notCapable(server, `await Deno.readTextFile("/proc/self/environ");`);
    }],
    ["4 private network", async () => {
      const port = new URL(server.url).port;
      const expected: Array<[string, string]> = [
        [`http://127.0.0.1:${port}/`, "TOOLS_NET_BLOCKED_ADDRESS"],
        ["http://169.254.169.254/", "TOOLS_NET_BLOCKED_ADDRESS"],
        ["http://[::1]/", "TOOLS_NET_BLOCKED_ADDRESS"],
        ["http://2130706433/", "TOOLS_NET_BLOCKED_ADDRESS"],
        ["http://0x7f.1/", "TOOLS_NET_BLOCKED_ADDRESS"],
        [`http://localhost:${port}/`, "TOOLS_NET_BLOCKED_NAME"],
      ];
      for (const [url, code] of expected) await refused(server, `/tool http_fetch ${url}`, code);
    }],
    ["5 spawn", () => notCapable(server, `new Deno.Command("/bin/sh").outputSync();`)],
    ["6 infinite loop", async () => {
      const before = await childrenOf(server.process.pid);
      await refused(
        server,
        `/tool code_execute ${JSON.stringify({ code: "while (true) {}" })}`,
        "TOOLS_TIMEOUT",
      );
      // The killed child is gone by the time the result arrives; only warm pool processes
      // that were there before may remain.
      const after = await childrenOf(server.process.pid);
      const left = after.filter((child) => !before.some((known) => known.pid === child.pid));
      assert.deepEqual(left, [], "no process of the call is left");
    }],
    ["7 heap bomb", async () => {
      if (!prlimit) return;
      await refused(
        server,
        `/tool code_execute ${
          JSON.stringify({ code: "const a = []; for (;;) a.push(new Array(1e6).fill(1));" })
        }`,
        "TOOLS_SANDBOX_OOM",
      );
    }],
    ["8 typed-array bomb", async () => {
      if (!prlimit) return; // without prlimit nothing caps buffers (platform_facts §3b)
      await refused(
        server,
        `/tool code_execute ${
          JSON.stringify({
            code:
              "const a = []; for (let i = 0; i < 64; i++) a.push(new Float64Array(8 * 1024 * 1024).fill(1));",
          })
        }`,
        "TOOLS_SANDBOX_OOM",
      );
    }],
    ["10 symlink traversal", async () => {
      const ln = async (target: string, link: string) => {
        const made = await new Deno.Command("ln", { args: ["-s", target, join(workspace, link)] })
          .output();
        assert.ok(made.success);
      };
      await ln("/etc", "link");
      await ln("/etc/hostname", "hostfile");
      await refused(server, "/tool file_read link/hostname", "TOOLS_SYMLINK_REFUSED");
      await refused(server, "/tool file_read hostfile", "TOOLS_SYMLINK_REFUSED");
      await refused(
        server,
        "/tool file_write(path='link/x', content='x')",
        "TOOLS_SYMLINK_REFUSED",
      );
      await refused(server, '/tool file_list {"path":"link"}', "TOOLS_SYMLINK_REFUSED");
      await refused(server, "/tool shell_run head hostfile", "TOOLS_SYMLINK_REFUSED");
      await notCapable(server, `await Deno.symlink("/etc", "mine");`);
    }],
    ["11 huge output", async () => {
      const answer = await tool(
        server,
        `/tool code_execute ${
          JSON.stringify({
            code:
              "const line = 'x'.repeat(1000); for (let i = 0; i < 100_000; i++) console.log(line);",
          })
        }`,
      );
      if (answer.success) {
        assert.ok(String(answer.data?.data?.stdout).length <= 10_000, "stdout cut at the limit");
        assert.equal(answer.data?.data?.truncated, true);
      } else {
        assert.match(answer.data?.error?.code ?? "", /^TOOLS_(TIMEOUT|OUTPUT_TOO_LARGE)$/);
      }
    }],
    ["12 remote code", async () => {
      await notCapable(server, `await import("https://esm.sh/x");`);
      await notCapable(server, `await import("npm:left-pad");`);
    }],
  ]);
});
