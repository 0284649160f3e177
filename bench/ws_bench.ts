/**
 * WebSocket fan-out (spec/server.md §14 items 2–3): 1,000 clients in two
 * processes of 500 against the real server; a turn streams 200
 * `chat.token`s at 50/s (a fast model's pace), then 100 `state.delta`s go out at 10/s (each from a real
 * state change: feedback on one of 100 earlier replies). Latency is receive
 * time − `ts`. The baseline is a bare `Deno.serve` WebSocket broadcaster
 * sending the same messages to the same clients. Also the server's RSS at
 * idle and with the 1,000 sockets open.
 *
 * @module
 */
import { REPO_DIR } from "../src/testing/mod.ts";
import { spawnBenchServer } from "./server.ts";
import { scenes, startFake } from "./llm_bench.ts";
import { residentBytes } from "./load.ts";
import { fmt, percentile, progress, ratio, type Row, startDenoChild } from "./report.ts";

/** Options for {@link runWsBench}. */
export interface WsBenchOptions {
  /** Clients in all (split over two processes). */
  clients: number;
  /** `chat.token`s in the streamed turn. */
  tokens: number;
  /** `state.delta`s sent at 10/s. */
  deltas: number;
}

interface ClientReport {
  latencies: number[];
  counts: Record<string, number>;
  lost: number;
  disconnects: number;
}

interface Run {
  latencies: Float64Array;
  lost: number;
  disconnects: number;
  /** Messages per type over all clients. */
  counts: Record<string, number>;
}

const MIB = 1024 * 1024;
const KEY = "sk-bench-00000000000000000";
/** A fast model's pace: 50 tokens a second. */
const TOKEN_INTERVAL_MS = 20;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client process: resolves once its sockets are welcomed. */
async function startClients(url: string, count: number, key: string | undefined) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-env=BENCH_API_KEY",
      "bench/ws_clients.ts",
      url,
      String(count),
    ],
    // Not on the command line, where other users' `ps` would show it.
    env: key ? { BENCH_API_KEY: key } : {},
    cwd: REPO_DIR,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const nextLine = async () => {
    while (!buffer.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("a WebSocket client process exited early");
      buffer += value;
    }
    const at = buffer.indexOf("\n");
    const line = buffer.slice(0, at);
    buffer = buffer.slice(at + 1);
    return line;
  };
  const ready = await nextLine();
  if (ready !== "READY") throw new Error(`a client process said ${ready}`);
  const writer = child.stdin.getWriter();
  return {
    async report(): Promise<ClientReport> {
      await writer.write(new TextEncoder().encode("report\n"));
      const report = JSON.parse(await nextLine()) as ClientReport;
      await writer.close().catch(() => {});
      await child.status;
      return report;
    },
  };
}

/** Connects the clients (signed in with `key` when given), runs `drive`, then gathers what they saw. */
async function fanOut(
  url: string,
  clients: number,
  drive: () => Promise<void>,
  options: { rss?: () => Promise<void>; key?: string } = {},
): Promise<Run> {
  const half = Math.ceil(clients / 2);
  const processes = await Promise.all([
    startClients(url, half, options.key),
    startClients(url, clients - half, options.key),
  ]);
  const rss = options.rss;
  await rss?.();
  await drive();
  await pause(1_000); // the last messages in flight
  const reports = await Promise.all(processes.map((process) => process.report()));
  const counts: Record<string, number> = {};
  for (const report of reports) {
    for (const [type, n] of Object.entries(report.counts)) counts[type] = (counts[type] ?? 0) + n;
  }
  return {
    latencies: Float64Array.from(reports.flatMap((report) => report.latencies)).sort(),
    lost: reports.reduce((sum, report) => sum + report.lost, 0),
    disconnects: reports.reduce((sum, report) => sum + report.disconnects, 0),
    counts,
  };
}

/** Fan-out latency and loss against the bare broadcaster; RSS with the sockets. */
export async function runWsBench(options: WsBenchOptions): Promise<{ rows: Row[]; raw: unknown }> {
  progress("ws: starting the fake LLM server");
  const fake = await startFake();
  const words = Array.from({ length: options.tokens }, (_, i) => `w${i} `);
  let ours: Run;
  let base: Run;
  const rss = { idle: NaN, sockets: NaN };
  try {
    await using bench = await spawnBenchServer({
      env: {
        OPENAI_API_KEY: KEY,
        OPENAI_BASE_URL: `${fake.url}/v1`,
        SYNTH_LLM_TEST_HEADERS: "true", // the fake picks the reply scene by purpose
        // Every socket is the bench user's, signed in with the API key.
        SYNTH_WS_MAX_CONNECTIONS_PER_USER: String(options.clients),
      },
    });
    const server = bench.server;
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...bench.headers },
        body: JSON.stringify(body),
      });
      const json = await response.json();
      if (!response.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
      return json;
    };
    progress(`ws: ${options.deltas} replies to give feedback on later`);
    const threads: string[] = [];
    for (let i = 0; i < options.deltas; i++) {
      threads.push((await post("/api/chat", { message: `Question ${i}` })).thread_id);
    }
    await pause(2_000); // background forecasts settle
    rss.idle = await residentBytes(server.process.pid);
    progress(
      `ws: ${options.clients} clients; a ${options.tokens}-token turn, ${options.deltas} deltas at 10/s`,
    );
    ours = await fanOut(server.url, options.clients, async () => {
      await scenes(fake.url, [{
        match: { purpose: "reply" },
        reply: { text: words },
        timing: { chunkDelayMs: TOKEN_INTERVAL_MS },
      }]);
      await post("/api/chat", { message: "Tell me a long story" });
      await pause(1_000);
      for (const threadId of threads) {
        const started = performance.now();
        await post(`/api/threads/${threadId}/feedback`, { value: "good" });
        await pause(Math.max(0, 100 - (performance.now() - started)));
      }
    }, {
      key: bench.key,
      rss: async () => {
        await pause(2_000);
        rss.sockets = await residentBytes(server.process.pid);
      },
    });
    await server.stop("SIGTERM");
  } finally {
    fake.child.kill("SIGTERM");
    await fake.child.status;
  }

  progress("ws: the same against a bare Deno.serve broadcaster");
  const { child, firstLine } = await startDenoChild(
    ["--no-prompt", "--allow-net=127.0.0.1", "bench/ws_baseline_server.ts"],
    REPO_DIR,
  );
  try {
    const url = JSON.parse(firstLine).url as string;
    const poke = (path: string) =>
      fetch(`${url}${path}`, { method: "POST" }).then((response) => response.body?.cancel());
    base = await fanOut(url, options.clients, async () => {
      await poke(`/tokens?n=${options.tokens}&interval=${TOKEN_INTERVAL_MS}`);
      await pause(1_000);
      for (let i = 0; i < options.deltas; i++) {
        await poke("/delta");
        await pause(100);
      }
    });
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }

  const at = (run: Run, fraction: number) => percentile(run.latencies, fraction);
  const perClient = (run: Run, type: string) => (run.counts[type] ?? 0) / options.clients;
  const rows: Row[] = [
    {
      measure: `fan-out to ${options.clients} clients: latency p50, ms`,
      ours: fmt(at(ours, 0.5), 1),
      baseline: fmt(at(base, 0.5), 1),
      ratio: ratio(at(ours, 0.5), at(base, 0.5)),
      target: "",
      pass: null,
    },
    {
      measure: "fan-out latency p99, ms",
      ours: fmt(at(ours, 0.99), 1),
      baseline: fmt(at(base, 0.99), 1),
      ratio: ratio(at(ours, 0.99), at(base, 0.99)),
      target: "≤ 100",
      pass: at(ours, 0.99) <= 100,
    },
    {
      measure: "fan-out latency max, ms",
      ours: fmt(ours.latencies.at(-1) ?? NaN, 1),
      baseline: fmt(base.latencies.at(-1) ?? NaN, 1),
      ratio: "",
      target: "",
      pass: null,
    },
    {
      measure: "chat.token / state.delta per client",
      ours: `${fmt(perClient(ours, "chat.token"))} / ${fmt(perClient(ours, "state.delta"))}`,
      baseline: `${fmt(perClient(base, "chat.token"))} / ${fmt(perClient(base, "state.delta"))}`,
      ratio: "",
      target: `${options.tokens} / ≥ ${options.deltas}`,
      pass: perClient(ours, "chat.token") === options.tokens &&
        perClient(ours, "state.delta") >= options.deltas,
    },
    {
      measure: "lost messages / disconnects",
      ours: `${ours.lost} / ${ours.disconnects}`,
      baseline: `${base.lost} / ${base.disconnects}`,
      ratio: "",
      target: "0 / 0",
      pass: ours.lost === 0 && ours.disconnects === 0,
    },
    {
      measure: `server RSS before the sockets (after ${options.deltas} turns), MiB`,
      ours: fmt(rss.idle / MIB, 1),
      baseline: "",
      ratio: "",
      target: "",
      pass: null,
    },
    {
      measure: `server RSS with ${options.clients} idle sockets, MiB (growth)`,
      ours: `${fmt(rss.sockets / MIB, 1)} (+${fmt((rss.sockets - rss.idle) / MIB, 1)})`,
      baseline: "",
      ratio: "",
      target: "growth ≤ 100",
      pass: rss.sockets - rss.idle <= 100 * MIB,
    },
  ];
  return {
    rows,
    raw: {
      ours: { counts: ours.counts, lost: ours.lost, disconnects: ours.disconnects },
      baseline: { counts: base.counts, lost: base.lost, disconnects: base.disconnects },
      rss_bytes: rss,
    },
  };
}
