import { REPO_DIR } from "../src/testing/mod.ts";
import { type LoadOptions, type LoadResult, residentBytes, runLoad } from "./load.ts";
import { fmt, progress, ratio, type Row, startDenoChild } from "./report.ts";
import { spawnBenchServer } from "./server.ts";

/** Options for {@link runHttpBench}. */
export interface HttpBenchOptions extends LoadOptions {
  idleSeconds: number;
}

const MIB = 1024 * 1024;

async function startBaseline() {
  const { child, firstLine } = await startDenoChild(
    ["--no-prompt", "--allow-net=127.0.0.1", "bench/baseline_server.ts"],
    REPO_DIR,
  );
  return { child, url: JSON.parse(firstLine).url as string };
}

/**
 * The real server (start task) against a bare `Deno.serve` baseline:
 * idle memory, then `GET /health/live` and `GET /api/state` throughput and
 * latency.
 */
export async function runHttpBench(
  options: HttpBenchOptions,
): Promise<{ rows: Row[]; raw: unknown; client: string }> {
  progress("starting the server (start task) and the baseline");
  const { server, headers } = await spawnBenchServer();
  const baseline = await startBaseline();
  let rss: { server: number; baseline: number };
  let baseLoad: LoadResult;
  let liveLoad: LoadResult;
  let stateLoad: LoadResult;
  try {
    progress(`idling ${options.idleSeconds} s before reading memory`);
    await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000));
    rss = {
      server: await residentBytes(server.process.pid),
      baseline: await residentBytes(baseline.child.pid),
    };
    progress(`loading the baseline: ${options.connections} connections, ${options.seconds} s`);
    baseLoad = await runLoad(`${baseline.url}/`, options);
    progress(`loading GET /health/live: ${options.connections} connections, ${options.seconds} s`);
    liveLoad = await runLoad(`${server.url}/health/live`, options);
    progress(`loading GET /api/state: ${options.connections} connections, ${options.seconds} s`);
    // Signed in with the API key, as a client would call it.
    stateLoad = await runLoad(`${server.url}/api/state`, { ...options, headers });
  } finally {
    baseline.child.kill("SIGTERM");
    await baseline.child.status;
    await server.stop("SIGTERM");
  }
  const rows: Row[] = [
    {
      measure: "GET /health/live req/s",
      ours: fmt(liveLoad.rps),
      baseline: fmt(baseLoad.rps),
      ratio: ratio(liveLoad.rps, baseLoad.rps),
      target: "≥ 10,000",
      pass: liveLoad.rps >= 10_000,
    },
    {
      measure: "GET /health/live p50 ms",
      ours: fmt(liveLoad.p50Ms, 2),
      baseline: fmt(baseLoad.p50Ms, 2),
      ratio: ratio(liveLoad.p50Ms, baseLoad.p50Ms),
      target: "",
      pass: null,
    },
    {
      measure: "GET /health/live p99 ms",
      ours: fmt(liveLoad.p99Ms, 2),
      baseline: fmt(baseLoad.p99Ms, 2),
      ratio: ratio(liveLoad.p99Ms, baseLoad.p99Ms),
      target: "≤ 10",
      pass: liveLoad.p99Ms <= 10,
    },
    {
      measure: "errors",
      ours: String(liveLoad.errors),
      baseline: String(baseLoad.errors),
      ratio: "",
      target: "0",
      pass: liveLoad.errors === 0,
    },
    {
      measure: "GET /api/state req/s",
      ours: fmt(stateLoad.rps),
      baseline: fmt(baseLoad.rps),
      ratio: ratio(stateLoad.rps, baseLoad.rps),
      target: "≥ 2,000",
      pass: stateLoad.rps >= 2_000,
    },
    {
      measure: "GET /api/state p99 ms / errors",
      ours: `${fmt(stateLoad.p99Ms, 2)} / ${stateLoad.errors}`,
      baseline: fmt(baseLoad.p99Ms, 2),
      ratio: ratio(stateLoad.p99Ms, baseLoad.p99Ms),
      target: "≤ 50 / 0",
      pass: stateLoad.p99Ms <= 50 && stateLoad.errors === 0,
    },
    {
      measure: `RSS at idle (${options.idleSeconds} s) MiB`,
      ours: fmt(rss.server / MIB, 1),
      baseline: fmt(rss.baseline / MIB, 1),
      ratio: ratio(rss.server, rss.baseline),
      target: "≤ 120",
      pass: rss.server <= 120 * MIB,
    },
  ];
  return {
    rows,
    raw: { live: liveLoad, state: stateLoad, baseline: baseLoad, rss_bytes: rss },
    client: liveLoad.client,
  };
}
