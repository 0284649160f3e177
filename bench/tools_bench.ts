/**
 * The `tools` suite (spec/tools.md §13): sandboxed call latency with a new
 * process per call and with the warm pool, calls per second of
 * `calculator` and `file_read`, `code_execute` of `1 + 1`, how soon a busy
 * loop's result arrives after a 1 s limit, and what four attacks at once do
 * to this process (event-loop lag, RSS). Baselines, measured in the same
 * run: a bare `deno run` of an empty script (the floor of a process per
 * call) and a bare blob Worker round trip (the floor of the warm pool).
 *
 * @module
 */
import { join } from "node:path";
import { calculatorTool } from "../plugins/tool_calculator/mod.ts";
import { codeExecuteTool } from "../plugins/tool_code_execute/mod.ts";
import { fileReadTool } from "../plugins/tool_file_read/mod.ts";
import {
  type InvokeOptions,
  invokeTool,
  makeTestDir,
  SandboxPool,
  toolsConfig,
} from "../src/testing/mod.ts";
import type { ToolDefinition } from "../src/tools/types.ts";
import { fmt, percentile, progress, ratio, type Row } from "./report.ts";
import { BUNDLE_ENV_NAMES, bundlePlugin } from "../src/plugin/external/bundle.ts";
import { launchPlugin } from "../src/plugin/external/host.ts";
import { checkEntry } from "../src/plugin/external/manifest.ts";
import { REPO_DIR } from "../src/testing/mod.ts";

/** Options of {@link runToolsBench}. */
export interface ToolsBenchOptions {
  /** Calls per latency figure. */
  calls: number;
}

const prlimitPath = await new Deno.Command("/usr/bin/prlimit", { args: ["--version"] }).output()
  .then((result) => (result.success ? "/usr/bin/prlimit" : null), () => null);

async function timed(count: number, call: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

/** Calls per second with `concurrency` callers for `count` calls. */
async function throughput(count: number, concurrency: number, call: () => Promise<unknown>) {
  let left = count;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) await call();
  }));
  return count / ((performance.now() - started) / 1000);
}

function row(
  measure: string,
  ours: number,
  base: number,
  target: string,
  pass: boolean | null,
  unit = "ms",
  digits = 1,
): Row {
  return {
    measure,
    ours: `${fmt(ours, digits)} ${unit}`,
    baseline: Number.isFinite(base) ? `${fmt(base, digits)} ${unit}` : "",
    ratio: ratio(ours, base),
    target,
    pass,
  };
}

async function ok(result: Promise<{ ok: boolean }>) {
  const outcome = await result;
  if (!outcome.ok) throw new Error(`a benchmark call failed: ${JSON.stringify(outcome)}`);
}

/** Runs the suite. */
export async function runToolsBench(
  options: ToolsBenchOptions,
): Promise<{ rows: Row[]; raw: unknown }> {
  const dir = await makeTestDir("synth-bench-tools-");
  const workspace = await Deno.realPath(dir);
  const emptyDir = join(dir, "empty");
  await Deno.mkdir(emptyDir);
  await Deno.writeTextFile(join(workspace, "notes.txt"), "a line of notes\n".repeat(100));
  const config = toolsConfig({ sandbox: { prlimitPath } });
  const pool = new SandboxPool({
    size: config.sandbox.pool.size,
    maxCallsPerProcess: config.sandbox.pool.maxCallsPerProcess,
    idleMs: config.sandbox.pool.idleMs,
    limits: { memoryBytes: config.sandbox.memoryLimitBytes, heapMiB: config.sandbox.heapMiB },
    runtime: { cwd: emptyDir, prlimitPath },
  });
  const base: InvokeOptions = { config, workspace: null, emptyDir };
  // deno-lint-ignore no-explicit-any
  const invoke = (tool: ToolDefinition<any>, args: unknown, extra: Partial<InvokeOptions> = {}) =>
    ok(invokeTool(tool, args, { ...base, ...extra }));
  const calc = calculatorTool.tool;
  const raw: Record<string, unknown> = {};
  try {
    progress("tools: bare process and bare Worker baselines");
    const hello = join(dir, "hello.ts");
    await Deno.writeTextFile(hello, "export {};\n");
    const bareProcess = await timed(options.calls, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", "--no-config", "--no-remote", `--allow-read=${hello}`, hello],
        clearEnv: true,
        stdout: "null",
        stderr: "null",
      }).output());
    const workerUrl = URL.createObjectURL(
      new Blob(["self.onmessage = (e) => self.postMessage(e.data);"], { type: "text/javascript" }),
    );
    const bareWorker = await timed(options.calls, async () => {
      const worker = new Worker(workerUrl, { type: "module" });
      await new Promise((resolve) => {
        worker.onmessage = resolve;
        worker.postMessage(1);
      });
      worker.terminate();
    });

    progress("tools: calculator with a new process per call");
    const cold = await timed(options.calls, () => invoke(calc, { expression: "2 + 2 * 3" }));
    progress("tools: calculator on the warm pool");
    pool.warm();
    await invoke(calc, { expression: "1" }, { pool });
    const warm = await timed(
      options.calls,
      () => invoke(calc, { expression: "2 + 2 * 3" }, { pool }),
    );
    progress("tools: calls per second");
    const calcRate = await throughput(
      options.calls * 2,
      4,
      () => invoke(calc, { expression: "2 + 2 * 3" }, { pool }),
    );
    const readRate = await throughput(
      options.calls,
      4,
      () => invoke(fileReadTool.tool, { path: "notes.txt" }, { workspace }),
    );
    progress("tools: code_execute of 1 + 1");
    const code = await timed(
      Math.max(5, Math.round(options.calls / 2)),
      () => invoke(codeExecuteTool.tool, { code: "console.log(1 + 1);" }),
    );
    progress("tools: a busy loop with a 1 s limit");
    const loopTool = {
      ...codeExecuteTool.tool,
      limits: { timeoutMs: 1_000, maxOutputChars: 25_000 },
    };
    const loopStarted = performance.now();
    const loop = await invokeTool(loopTool, { code: "while (true) {}" }, base);
    const loopMs = performance.now() - loopStarted;
    if (loop.ok || loop.error.code !== "TOOLS_TIMEOUT") {
      throw new Error(`the busy loop ended with ${JSON.stringify(loop)}`);
    }

    progress("tools: a third-party plugin's round trip (dice__roll, process running)");
    const entry = {
      id: "dice",
      from: "./examples/plugins/dice/mod.ts",
      permissions: {},
      config: {},
      enabled: true,
      trustFragments: false,
    };
    const env = Object.fromEntries(
      BUNDLE_ENV_NAMES.flatMap((name) => {
        const value = Deno.env.get(name);
        return value === undefined ? [] : [[name, value]];
      }),
    );
    const bundle = await bundlePlugin(entry, {
      dataDir: dir,
      baseDir: REPO_DIR,
      runtime: { cwd: REPO_DIR, prlimitPath, env },
    });
    const dice = await launchPlugin({
      entry,
      grants: checkEntry(entry, { baseDir: REPO_DIR, takenIds: new Set() }),
      code: bundle,
      baseDir: REPO_DIR,
      dataDir: dir,
      sandbox: {
        memoryLimitBytes: config.sandbox.memoryLimitBytes,
        heapMiB: config.sandbox.heapMiB,
        maxFrameBytes: config.sandbox.maxFrameBytes,
        prlimitPath,
        denoPath: null,
      },
    });
    const roundTrip = await timed(options.calls * 5, async () => {
      const callId = crypto.randomUUID();
      const answer = await dice.process.request(
        { type: "tool.call", callId, tool: "roll", args: { sides: 6 } },
        callId,
        { timeoutMs: 2_000 },
      );
      if (answer.ok !== true) throw new Error(`dice failed: ${JSON.stringify(answer)}`);
    });
    await dice.process.shutdown();

    progress("tools: four attacks at once (loop, heap, typed arrays, 100 MB of output)");
    const lags: number[] = [];
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      lags.push(Math.max(0, now - last - 10));
      last = now;
    }, 10);
    const rssBefore = Deno.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
    }, 20);
    const attackTool = {
      ...codeExecuteTool.tool,
      limits: { timeoutMs: 5_000, maxOutputChars: 25_000 },
    };
    const attacks = await Promise.all([
      "while (true) {}",
      "const a = []; for (;;) a.push(new Array(1e6).fill(1));",
      "const a = []; for (let i = 0; i < 64; i++) a.push(new Float64Array(8 * 1024 * 1024).fill(1));",
      "const line = 'x'.repeat(1000); for (let i = 0; i < 100_000; i++) console.log(line);",
    ].map((source) => invokeTool(attackTool, { code: source }, base)));
    clearInterval(ticker);
    clearInterval(sampler);
    const lagP99 = percentile(lags.sort((a, b) => a - b), 0.99);
    const rssGrowthMiB = (rssPeak - rssBefore) / 1024 / 1024;
    raw.attacks = attacks.map((result) => (result.ok ? "ok" : result.error.code));

    raw.ms = { bareProcess, bareWorker, cold, warm, code, loopMs, roundTrip };
    const p50 = (list: number[]) => percentile(list, 0.5);
    const p95 = (list: number[]) => percentile(list, 0.95);
    return {
      raw,
      rows: [
        row(
          "calculator, new process: p50",
          p50(cold),
          p50(bareProcess),
          "≤ 150 ms",
          p50(cold) <= 150,
        ),
        row(
          "calculator, new process: p95",
          p95(cold),
          p95(bareProcess),
          "≤ 250 ms",
          p95(cold) <= 250,
        ),
        row("calculator, warm pool: p50", p50(warm), p50(bareWorker), "≤ 30 ms", p50(warm) <= 30),
        row("calculator, warm pool: p95", p95(warm), p95(bareWorker), "≤ 80 ms", p95(warm) <= 80),
        row("calculator calls/s (pool, 4 callers)", calcRate, NaN, "", null, "/s", 0),
        row("file_read calls/s (new process, 4 callers)", readRate, NaN, "", null, "/s", 0),
        row(
          "code_execute of 1 + 1: p50",
          p50(code),
          p50(bareProcess),
          "≤ 180 ms",
          p50(code) <= 180,
        ),
        row(
          "plugin round trip (dice__roll, running): p50",
          p50(roundTrip),
          NaN,
          "≤ 5 ms",
          p50(roundTrip) <= 5,
          "ms",
          2,
        ),
        row(
          "while (true) {} with a 1 s limit: result after",
          loopMs,
          1_000,
          "≤ 1,300 ms",
          loopMs <= 1_300,
        ),
        row("event-loop lag p99 during 4 attacks", lagP99, NaN, "≤ 50 ms", lagP99 <= 50),
        row(
          "RSS growth during the attacks",
          rssGrowthMiB,
          NaN,
          "≤ 50 MB",
          rssGrowthMiB <= 50,
          "MiB",
        ),
      ],
    };
  } finally {
    await pool.close();
    await Deno.remove(dir, { recursive: true });
  }
}
