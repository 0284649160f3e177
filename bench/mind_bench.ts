/**
 * The turn pipeline's own overhead (issue 5): `POST /api/chat` against the
 * real server with a zero-latency fake LLM in another process, at 0, 10k and
 * 100k memories. The overhead is measured against the thinnest chat server
 * (`chat_baseline_server.ts`: the same request over HTTP, one SDK call to the
 * same fake, the reply as JSON), so the HTTP round trip and the model call,
 * which any chat server pays, are not counted as the pipeline's. The bare SDK
 * call from the bench process is shown too: the turn over it also counts the
 * HTTP round trip.
 *
 * @module
 */
import OpenAI from "openai";
import { makeTestDir, REPO_DIR } from "../src/testing/mod.ts";
import { SERVER_V8_FLAGS } from "../scripts/compile.ts";
import { startFake } from "./llm_bench.ts";
import { importCorpus } from "./memory_bench.ts";
import { fmt, percentile, progress, ratio, type Row, startDenoChild } from "./report.ts";
import { spawnBenchServer } from "./server.ts";

/** Options for {@link runMindBench}. */
export interface MindBenchOptions {
  /** Memory counts to measure at. */
  sizes: number[];
  /** Measured turns per size. */
  turns: number;
  /**
   * Turns (each with its bare call) run before measuring, reported on their own row. V8 optimises
   * the functions a turn runs once per turn only after tens of turns.
   */
  warmupTurns: number;
  /** When set, the server writes a V8 CPU profile per size into this directory (`--cpu-prof`). */
  cpuProfileDir?: string;
}

const sorted = (values: number[]) => Float64Array.from(values).sort();
/**
 * The pause after each turn, as between a person's messages: the turn's background forecast
 * finishes in it. The bare calls pause as long, so that both sides start from the same idle
 * machine (a call after a pause is ~1 ms slower here than one made straight after another).
 */
const PAUSE_MS = 30;
/** Waits {@link PAUSE_MS}. */
export const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
/** Rounds of a turn followed at once by `GET /health/live`, and the same request after a pause. */
const AFTER_TURN_ROUNDS = 50;
/** What the benched user asks, in turn. */
export const QUESTIONS = [
  "How should I plan the database migration for the orders service?",
  "What is the safest way to roll back a failed deployment?",
  "Can you explain how the cache invalidation works in our API?",
  "Which tests should run before we merge to the main branch?",
  "How do I rotate the credentials for the payment provider?",
];

/** Starts the baseline chat server against the fake at `fakeUrl`. */
async function startChatBaseline(
  fakeUrl: string,
): Promise<{ url: string; child: Deno.ChildProcess }> {
  const { child, firstLine } = await startDenoChild(
    [
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-env",
      // The server's V8 flags, so that only the code differs.
      `--v8-flags=${SERVER_V8_FLAGS}`,
      "bench/chat_baseline_server.ts",
      `${fakeUrl}/v1`,
    ],
    REPO_DIR,
  );
  const { url } = JSON.parse(firstLine) as { url: string };
  return { url, child };
}

/** The mean time of each stage of the measured turns at one memory count, from their records. */
export interface StageMeans {
  size: number;
  /** Stage name and mean milliseconds, in the pipeline's order. */
  means: Array<[string, number]>;
}

/**
 * What the measured turns' own records say: each stage's mean time (`GET /api/turns/{id}`, timed by
 * the server's clock in whole milliseconds: a mean over many turns still tells) and the mean number
 * of semantic memories (the corpus is all semantic) that recall put in a turn's prompt (its influence
 * record).
 */
async function turnRecords(
  url: string,
  headers: Record<string, string>,
  turnIds: readonly string[],
): Promise<{ means: Array<[string, number]>; semanticRecalled: number }> {
  const read = async <T>(path: string) => {
    const response = await fetch(`${url}${path}`, { headers });
    const body = await response.json();
    if (!response.ok) throw new Error(`reading ${path} failed: ${JSON.stringify(body)}`);
    return body as T;
  };
  const sums = new Map<string, number>();
  let semantic = 0;
  for (const turnId of turnIds) {
    const turn = await read<{ stages?: Array<{ name: string; duration_ms: number }> }>(
      `/api/turns/${turnId}`,
    );
    for (const stage of turn.stages ?? []) {
      sums.set(stage.name, (sums.get(stage.name) ?? 0) + stage.duration_ms);
    }
    const influence = await read<{ memories: Array<{ kind: string }> }>(
      `/api/turns/${turnId}/influence`,
    );
    semantic += influence.memories.filter((memory) => memory.kind === "semantic").length;
  }
  return {
    means: [...sums].map(([name, sum]) => [name, sum / turnIds.length]),
    semanticRecalled: semantic / turnIds.length,
  };
}

/** Turn latency and the pipeline's overhead over the thinnest chat server. */
export async function runMindBench(
  options: MindBenchOptions,
): Promise<{ rows: Row[]; stages: StageMeans[]; raw: unknown }> {
  progress("mind: starting the fake LLM server");
  const fake = await startFake();
  let baseline: Awaited<ReturnType<typeof startChatBaseline>> | undefined;
  const rows: Row[] = [];
  const stages: StageMeans[] = [];
  const raw: Record<string, unknown> = {};
  try {
    baseline = await startChatBaseline(fake.url);
    const client = new OpenAI({
      apiKey: "sk-bench-00000000000000000",
      baseURL: `${fake.url}/v1`,
      maxRetries: 0,
    });
    /** One bare streaming call with the official SDK, as an application would make it. */
    const bareCall = async (i: number) => {
      const start = performance.now();
      const stream = await client.chat.completions.create({
        model: "gpt-bench",
        max_tokens: 256,
        messages: [{ role: "user", content: QUESTIONS[i % QUESTIONS.length]! }],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const _ of stream) { /* drain */ }
      return performance.now() - start;
    };
    for (const size of options.sizes) {
      const dataDir = await makeTestDir("synth-bench-mind-");
      try {
        await using bench = await spawnBenchServer({
          dataDir,
          // The corpus is the benched user's: a user recalls only their own memories.
          ...(size > 0
            ? {
              seed: async (userId: string, dir: string) => {
                progress(`mind: importing ${size.toLocaleString("en-US")} memories`);
                await importCorpus(dir, size, userId);
              },
            }
            : {}),
          env: { OPENAI_API_KEY: "sk-bench-00000000000000000", OPENAI_BASE_URL: `${fake.url}/v1` },
          denoArgs: options.cpuProfileDir
            ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`]
            : [],
        });
        const server = bench.server;
        progress(`mind: ${options.turns} turns at ${size.toLocaleString("en-US")} memories`);
        // The vector index loads in the background; recall is full-text until then.
        for (;;) {
          const health = await (await fetch(`${server.url}/health`, { headers: bench.headers }))
            .json();
          if (health.checks.vector_index?.status === "ok") break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // Both servers get the key; the thin one ignores it.
        const post = async (url: string, message: string, threadId?: string) => {
          const response = await fetch(`${url}/api/chat`, {
            method: "POST",
            headers: { "content-type": "application/json", ...bench.headers },
            body: JSON.stringify({ message, ...(threadId ? { thread_id: threadId } : {}) }),
          });
          const body = await response.json();
          if (!response.ok) throw new Error(`turn failed: ${JSON.stringify(body)}`);
          return body as { thread_id: string; turn_id: string };
        };
        let threadId: string | undefined;
        const warmup = options.warmupTurns;
        // The three alternate, each after the same pause: all see the machine in the same state,
        // even when its speed drifts during the run. Warm-up rounds are kept apart.
        const times: number[] = [];
        const base: number[] = [];
        const bare: number[] = [];
        const warm = { times: [] as number[], base: [] as number[], bare: [] as number[] };
        const measuredTurns: string[] = [];
        for (let i = 0; i < options.turns + warmup; i++) {
          const into = i >= warmup ? { times, base, bare } : warm;
          const question = QUESTIONS[i % QUESTIONS.length]!;
          into.bare.push(await bareCall(i));
          await pause();
          let start = performance.now();
          await post(baseline.url, question);
          into.base.push(performance.now() - start);
          await pause();
          // A new thread every 10 turns keeps the history (and so the prompt) at a steady size.
          if (i % 10 === 0) threadId = undefined;
          start = performance.now();
          const body = await post(server.url, question, threadId);
          into.times.push(performance.now() - start);
          if (i >= warmup) measuredTurns.push(body.turn_id);
          threadId = body.thread_id;
          await pause();
        }
        // A request that arrives while the server does a turn's work after its reply (stage times,
        // jobs, the log's checkpoint), against the same request to the idle server.
        const health = async () => {
          const start = performance.now();
          const response = await fetch(`${server.url}/health/live`);
          await response.body?.cancel();
          if (!response.ok) throw new Error(`/health/live answered ${response.status}`);
          return performance.now() - start;
        };
        const afterTurn: number[] = [];
        const idle: number[] = [];
        for (let i = 0; i < AFTER_TURN_ROUNDS; i++) {
          const body = await post(server.url, QUESTIONS[i % QUESTIONS.length]!, threadId);
          afterTurn.push(await health());
          threadId = i % 10 === 9 ? undefined : body.thread_id;
          await pause();
          idle.push(await health());
          await pause();
        }
        const label = size.toLocaleString("en-US");
        const target = size === 10_000;
        const p = (values: number[], fraction: number) => percentile(sorted(values), fraction);
        if (warmup > 0) {
          const [turn, thinnest] = [p(warm.times, 0.5), p(warm.base, 0.5)];
          rows.push({
            measure: `${label} memories: first ${warmup} turns (warm-up) p50 / overhead p50, ms`,
            ours: `${fmt(turn, 2)} / ${fmt(turn - thinnest, 2)}`,
            baseline: fmt(thinnest, 2),
            ratio: "",
            target: "",
            pass: null,
          });
        }
        // Overhead = the turn's percentile − the baseline's median: a spike of the baseline's own
        // never makes the turn's tail look smaller.
        const [thinnest, sdk] = [p(base, 0.5), p(bare, 0.5)];
        for (const [name, fraction, limit] of [["p50", 0.5, 10], ["p99", 0.99, 50]] as const) {
          const turn = p(times, fraction);
          rows.push({
            measure:
              `${label} memories: turn ${name} / overhead ${name} (− the baseline's p50), ms`,
            ours: `${fmt(turn, 2)} / ${fmt(turn - thinnest, 2)}`,
            baseline: fmt(thinnest, 2),
            ratio: "",
            target: target ? `overhead ≤ ${limit}` : "",
            pass: target ? turn - thinnest <= limit : null,
          });
          rows.push({
            measure:
              `${label} memories: turn ${name} − the bare SDK call's p50 (HTTP included), ms`,
            ours: fmt(turn - sdk, 2),
            baseline: `${fmt(sdk, 2)} (SDK)`,
            ratio: "",
            target: "",
            pass: null,
          });
        }
        {
          const [busy, quiet] = [p(afterTurn, 0.5), p(idle, 0.5)];
          rows.push({
            measure: `${label} memories: GET /health/live right after a turn p50 / p90, ms`,
            ours: `${fmt(busy, 2)} / ${fmt(p(afterTurn, 0.9), 2)}`,
            baseline: `${fmt(quiet, 2)} / ${fmt(p(idle, 0.9), 2)} (idle)`,
            ratio: ratio(busy, quiet),
            target: "",
            pass: null,
          });
        }
        const { means, semanticRecalled } = await turnRecords(
          server.url,
          bench.headers,
          measuredTurns,
        );
        // A corpus the benched user cannot see would leave recall nothing to rank.
        if (size > 0 && semanticRecalled === 0) {
          throw new Error(`no measured turn recalled a memory of the ${label} corpus`);
        }
        rows.push({
          measure: `${label} memories: semantic memories recalled into a turn's prompt, mean`,
          ours: fmt(semanticRecalled, 2),
          baseline: "",
          ratio: "",
          target: "",
          pass: null,
        });
        stages.push({ size, means });
        raw[`memories_${size}`] = {
          times,
          base,
          bare,
          warm,
          stages: Object.fromEntries(means),
          semantic_recalled: semanticRecalled,
          health_after_turn: afterTurn,
          health_idle: idle,
        };
        // A graceful stop, so that V8 writes the CPU profile.
        if (options.cpuProfileDir) await server.stop("SIGTERM");
      } finally {
        await Deno.remove(dataDir, { recursive: true });
      }
    }
  } finally {
    for (const started of [baseline, fake]) {
      if (!started) continue;
      started.child.kill("SIGTERM");
      await started.child.status;
    }
  }
  return { rows, stages, raw };
}
