/**
 * `deno task bench`: runs the benchmark suites, prints one table per suite
 * with our figures next to a baseline measured in the same run, marks each
 * target PASS/FAIL (targets in `docs/benchmarks.md`), and writes
 * `bench/results/<time>.json`. `--strict` exits 1 on a FAIL.
 *
 * Suites: `http` (the real server against a bare `Deno.serve`), `memory`
 * (the WASM vector index against a plain TypeScript scan, the lexical
 * embedder, inserts, start-up load, recall, online backup), `llm` (the
 * gateway against bare SDK calls to the fake LLM server in another process),
 * `mind` (turn latency over HTTP against the thinnest chat server: the same
 * request, one SDK call to the same fake), `ws` (fan-out
 * to 1,000 WebSocket clients against a bare broadcaster, RSS with sockets),
 * `tools` (sandboxed calls against a bare process and a bare Worker, attacks).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { REPO_DIR } from "../src/testing/mod.ts";
import { VERSION } from "../src/version.ts";
import { runHttpBench } from "./http_bench.ts";
import { runMemoryBench } from "./memory_bench.ts";
import { runLlmBench } from "./llm_bench.ts";
import { runMindBench } from "./mind_bench.ts";
import { runWsBench } from "./ws_bench.ts";
import { runToolsBench } from "./tools_bench.ts";
import { fmt, printGrid, printTable, type Row } from "./report.ts";

const USAGE =
  "usage: deno task bench [--suite http,memory,llm,mind,ws,tools] [--seconds 15] [--warmup 5] " +
  "[--connections 64] [--idle 10] [--sizes 10000,100000] [--corpus 100000] [--llm-calls 300] " +
  "[--mind-sizes 0,10000,100000] [--mind-turns 100] [--mind-warmup 50] [--mind-cpu-prof DIR] [--ws-clients 1000] [--tool-calls 40] [--strict]";

function fail(message: string): never {
  Deno.stderr.writeSync(new TextEncoder().encode(`${message}\n${USAGE}\n`));
  Deno.exit(64);
}

let values;
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      suite: { type: "string", default: "http,memory,llm,mind,ws,tools" },
      seconds: { type: "string", default: "15" },
      warmup: { type: "string", default: "5" },
      connections: { type: "string", default: "64" },
      idle: { type: "string", default: "10" },
      sizes: { type: "string", default: "10000,100000" },
      corpus: { type: "string", default: "100000" },
      "llm-calls": { type: "string", default: "300" },
      "mind-sizes": { type: "string", default: "0,10000,100000" },
      "mind-turns": { type: "string", default: "100" },
      "mind-warmup": { type: "string", default: "50" },
      "mind-cpu-prof": { type: "string" },
      "ws-clients": { type: "string", default: "1000" },
      "tool-calls": { type: "string", default: "40" },
      strict: { type: "boolean", default: false },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
for (
  const name of [
    "seconds",
    "warmup",
    "connections",
    "idle",
    "corpus",
    "llm-calls",
    "mind-turns",
    "ws-clients",
    "tool-calls",
  ] as const
) {
  if (!/^\d+$/.test(values[name]) || Number(values[name]) <= 0) {
    fail(`--${name} must be a positive whole number`);
  }
}
if (!/^\d+$/.test(values["mind-warmup"])) fail("--mind-warmup must be a whole number");
const sizes = values.sizes.split(",").map(Number);
if (sizes.some((size) => !Number.isInteger(size) || size <= 0)) fail("--sizes takes whole numbers");
const suites = values.suite.split(",");
const mindSizes = values["mind-sizes"].split(",").map(Number);
if (mindSizes.some((size) => !Number.isInteger(size) || size < 0)) {
  fail("--mind-sizes takes whole numbers");
}
if (suites.some((suite) => !["http", "memory", "llm", "mind", "ws", "tools"].includes(suite))) {
  fail(`unknown suite in "${values.suite}"`);
}

// deno-lint-ignore no-console
console.log(
  `synth-mind ${VERSION} bench — deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
);
const results: Record<string, unknown> = {};
const allRows: Row[] = [];

if (suites.includes("http")) {
  const http = await runHttpBench({
    seconds: Number(values.seconds),
    warmupSeconds: Number(values.warmup),
    connections: Number(values.connections),
    idleSeconds: Number(values.idle),
  });
  printTable(`HTTP (load client: ${http.client})`, "Deno.serve", http.rows);
  if (http.client === "fetch") {
    // deno-lint-ignore no-console
    console.log(
      "note: no wrk on PATH, so the load comes from fetch loops in this process, which share the CPU " +
        "with the server; latency then measures the client too. Install wrk for figures comparable with the targets.",
    );
  }
  results.http = { rows: http.rows, ...http.raw as object };
  allRows.push(...http.rows);
}

if (suites.includes("memory")) {
  const memory = await runMemoryBench({ sizes, corpus: Number(values.corpus) });
  printTable("Memory (baseline: plain TypeScript scan, 4 accumulators)", "plain TS", memory.rows);
  results.memory = { rows: memory.rows, ...memory.raw as object };
  allRows.push(...memory.rows);
}

if (suites.includes("llm")) {
  const llm = await runLlmBench({ calls: Number(values["llm-calls"]) });
  printTable("LLM gateway (baseline: the bare SDK call, same fake server)", "bare SDK", llm.rows);
  results.llm = { rows: llm.rows, ...llm.raw as object };
  allRows.push(...llm.rows);
}

if (suites.includes("mind")) {
  const mind = await runMindBench({
    sizes: mindSizes,
    turns: Number(values["mind-turns"]),
    warmupTurns: Number(values["mind-warmup"]),
    ...(values["mind-cpu-prof"] ? { cpuProfileDir: values["mind-cpu-prof"] } : {}),
  });
  printTable(
    "Mind turn pipeline (baseline: the thinnest chat server — same request, one SDK call, same fake)",
    "thin server",
    mind.rows,
  );
  const names = mind.stages[0]?.means.map(([name]) => name) ?? [];
  const meanOf = (means: Array<[string, number]>, name: string) =>
    means.find(([stage]) => stage === name)?.[1] ?? NaN;
  printGrid(
    "Where a measured turn's time goes: stage means from the turn records, ms (the model call is in reply)",
    ["stage", ...mind.stages.map(({ size }) => `${size.toLocaleString("en-US")} memories`)],
    [
      ...names.map((
        name,
      ) => [name, ...mind.stages.map(({ means }) => fmt(meanOf(means, name), 2))]),
      [
        "sum",
        ...mind.stages.map(({ means }) => fmt(means.reduce((sum, [, ms]) => sum + ms, 0), 2)),
      ],
    ],
  );
  results.mind = { rows: mind.rows, ...mind.raw as object };
  allRows.push(...mind.rows);
}

if (suites.includes("ws")) {
  const ws = await runWsBench({ clients: Number(values["ws-clients"]), tokens: 200, deltas: 100 });
  printTable("WebSocket fan-out (baseline: a bare Deno.serve broadcaster)", "bare WS", ws.rows);
  results.ws = { rows: ws.rows, ...ws.raw as object };
  allRows.push(...ws.rows);
}

if (suites.includes("tools")) {
  const tools = await runToolsBench({ calls: Number(values["tool-calls"]) });
  printTable(
    "Tools in the sandbox (baselines: a bare deno process; a bare Worker for the pool)",
    "bare",
    tools.rows,
  );
  results.tools = { rows: tools.rows, ...tools.raw as object };
  allRows.push(...tools.rows);
}

const date = new Date().toISOString();
await Deno.mkdir(`${REPO_DIR}/bench/results`, { recursive: true });
const file = `${REPO_DIR}/bench/results/${date.slice(0, 19).replaceAll(":", "-")}.json`;
await Deno.writeTextFile(
  file,
  JSON.stringify(
    { date, version: VERSION, deno: Deno.version.deno, options: values, results },
    null,
    2,
  ) + "\n",
);
// deno-lint-ignore no-console
console.log(`\nresults written to ${file}`);
if (values.strict && allRows.some((row) => row.pass === false)) Deno.exit(1);
