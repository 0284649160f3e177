/**
 * `deno task bench`: starts the real server (the start task's command) and
 * a bare `Deno.serve` baseline, measures idle memory and `GET /health/live`
 * throughput and latency of both in the same run, prints a table with
 * ratios and PASS/FAIL against the targets in `docs/benchmarks.md`, and
 * writes `bench/results/<time>.json`. `--strict` exits 1 on a FAIL.
 *
 * Options: --seconds N (15), --warmup N (5), --connections N (64),
 * --idle N (10), --strict.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { REPO_DIR, spawnServer } from "../src/testing/mod.ts";
import { VERSION } from "../src/version.ts";
import { type LoadResult, residentBytes, runLoad } from "./load.ts";

const USAGE =
  "usage: deno task bench [--seconds 15] [--warmup 5] [--connections 64] [--idle 10] [--strict]";
let values;
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "15" },
      warmup: { type: "string", default: "5" },
      connections: { type: "string", default: "64" },
      idle: { type: "string", default: "10" },
      strict: { type: "boolean", default: false },
    },
  }));
} catch (error) {
  Deno.stderr.writeSync(new TextEncoder().encode(`${(error as Error).message}\n${USAGE}\n`));
  Deno.exit(64);
}
for (const name of ["seconds", "warmup", "connections", "idle"] as const) {
  if (!/^\d+$/.test(values[name]) || Number(values[name]) <= 0) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(`--${name} must be a positive whole number\n${USAGE}\n`),
    );
    Deno.exit(64);
  }
}
const loadOptions = {
  seconds: Number(values.seconds),
  warmupSeconds: Number(values.warmup),
  connections: Number(values.connections),
};
const MIB = 1024 * 1024;

// deno-lint-ignore no-console
const print = (line: string) => console.log(line);

function progress(step: string) {
  Deno.stderr.writeSync(new TextEncoder().encode(`… ${step}\n`));
}

async function startBaseline() {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-net=127.0.0.1", "bench/baseline_server.ts"],
    cwd: REPO_DIR,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (!buffer.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The baseline server exited before listening");
    buffer += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, url: JSON.parse(buffer.split("\n")[0]!).url as string };
}

progress("starting the server (start task) and the baseline");
const server = await spawnServer();
const baseline = await startBaseline();
let rss: { server: number; baseline: number };
let baseLoad: LoadResult;
let liveLoad: LoadResult;
try {
  progress(`idling ${values.idle} s before reading memory`);
  await new Promise((resolve) => setTimeout(resolve, Number(values.idle) * 1000));
  rss = {
    server: await residentBytes(server.process.pid),
    baseline: await residentBytes(baseline.child.pid),
  };
  progress(
    `loading the baseline: ${loadOptions.connections} connections, ${loadOptions.seconds} s`,
  );
  baseLoad = await runLoad(`${baseline.url}/`, loadOptions);
  progress(
    `loading GET /health/live: ${loadOptions.connections} connections, ${loadOptions.seconds} s`,
  );
  liveLoad = await runLoad(`${server.url}/health/live`, loadOptions);
} finally {
  baseline.child.kill("SIGTERM");
  await baseline.child.status;
  await server.stop("SIGTERM");
}

interface Row {
  measure: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
  pass: boolean | null;
}

const fmt = (value: number, digits = 0) => Number.isFinite(value) ? value.toFixed(digits) : "n/a";
const ratio = (ours: number, base: number) => (base > 0 ? `${(ours / base).toFixed(2)}×` : "n/a");

function loadRows(ours: LoadResult, base: LoadResult): Row[] {
  return [
    {
      measure: "GET /health/live req/s",
      ours: fmt(ours.rps),
      baseline: fmt(base.rps),
      ratio: ratio(ours.rps, base.rps),
      target: "≥ 10000",
      pass: ours.rps >= 10_000,
    },
    {
      measure: "GET /health/live p50 ms",
      ours: fmt(ours.p50Ms, 2),
      baseline: fmt(base.p50Ms, 2),
      ratio: ratio(ours.p50Ms, base.p50Ms),
      target: "",
      pass: null,
    },
    {
      measure: "GET /health/live p99 ms",
      ours: fmt(ours.p99Ms, 2),
      baseline: fmt(base.p99Ms, 2),
      ratio: ratio(ours.p99Ms, base.p99Ms),
      target: "≤ 10",
      pass: ours.p99Ms <= 10,
    },
    {
      measure: "errors",
      ours: String(ours.errors),
      baseline: String(base.errors),
      ratio: "",
      target: "0",
      pass: ours.errors === 0,
    },
  ];
}

const rows: Row[] = [
  ...loadRows(liveLoad, baseLoad),
  {
    measure: `RSS at idle (${values.idle} s) MiB`,
    ours: fmt(rss.server / MIB, 1),
    baseline: fmt(rss.baseline / MIB, 1),
    ratio: ratio(rss.server, rss.baseline),
    target: "≤ 120",
    pass: rss.server <= 120 * MIB,
  },
];

const header = ["measure", "synth-mind", "baseline", "ratio", "target", "result"];
const table = rows.map((row) => [
  row.measure,
  row.ours,
  row.baseline,
  row.ratio,
  row.target,
  row.pass === null ? "" : row.pass ? "PASS" : "FAIL",
]);
const widths = header.map((title, i) =>
  Math.max(title.length, ...table.map((cells) => cells[i]!.length))
);
const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ");
print(`synth-mind ${VERSION} bench — deno ${Deno.version.deno}, load client: ${liveLoad.client}`);
if (liveLoad.client === "fetch") {
  print(
    "note: no wrk on PATH, so the load comes from fetch loops in this process, which share the CPU " +
      "with the server; latency then measures the client too (compare with the baseline column). " +
      "Install wrk (apt-get install wrk) for figures comparable with the targets.",
  );
}
print(line(header));
print(line(widths.map((width) => "-".repeat(width))));
for (const cells of table) print(line(cells));

const result = {
  date: new Date().toISOString(),
  version: VERSION,
  deno: Deno.version.deno,
  options: { ...loadOptions, idleSeconds: Number(values.idle) },
  live: liveLoad,
  baseline: baseLoad,
  rss_bytes: rss,
  rows,
};
await Deno.mkdir(`${REPO_DIR}/bench/results`, { recursive: true });
const file = `${REPO_DIR}/bench/results/${result.date.slice(0, 19).replaceAll(":", "-")}.json`;
await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
print(`results written to ${file}`);

const failed = rows.some((row) => row.pass === false);
if (values.strict && failed) Deno.exit(1);
