/**
 * The turn pipeline's own overhead (issue 5): `POST /api/chat` against the
 * real server with a zero-latency fake LLM in another process, at 0, 10k and
 * 100k memories, next to the bare SDK call to the same fake.
 *
 * @module
 */
import OpenAI from "openai";
import { makeTestDir, spawnServer } from "../src/testing/mod.ts";
import { startFake } from "./llm_bench.ts";
import { importCorpus } from "./memory_bench.ts";
import { fmt, percentile, progress, type Row } from "./report.ts";

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
const pause = () => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
const QUESTIONS = [
  "How should I plan the database migration for the orders service?",
  "What is the safest way to roll back a failed deployment?",
  "Can you explain how the cache invalidation works in our API?",
  "Which tests should run before we merge to the main branch?",
  "How do I rotate the credentials for the payment provider?",
];

/** Turn latency and the pipeline's overhead over the bare LLM call. */
export async function runMindBench(
  options: MindBenchOptions,
): Promise<{ rows: Row[]; raw: unknown }> {
  progress("mind: starting the fake LLM server");
  const fake = await startFake();
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  try {
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
        if (size > 0) {
          progress(`mind: importing ${size.toLocaleString("en-US")} memories`);
          await importCorpus(dataDir, size, "local");
        }
        progress(`mind: ${options.turns} turns at ${size.toLocaleString("en-US")} memories`);
        await using server = await spawnServer({
          dataDir,
          env: { OPENAI_API_KEY: "sk-bench-00000000000000000", OPENAI_BASE_URL: `${fake.url}/v1` },
          denoArgs: options.cpuProfileDir
            ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`]
            : [],
        });
        // The vector index loads in the background; recall is full-text until then.
        for (;;) {
          const health = await (await fetch(`${server.url}/health`)).json();
          if (health.checks.vector_index?.status === "ok") break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const post = async (message: string, threadId?: string) => {
          const response = await fetch(`${server.url}/api/chat`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ message, ...(threadId ? { thread_id: threadId } : {}) }),
          });
          const body = await response.json();
          if (!response.ok) throw new Error(`turn failed: ${JSON.stringify(body)}`);
          return body as { thread_id: string };
        };
        let threadId: string | undefined;
        const warmup = options.warmupTurns;
        const times: number[] = [];
        // The bare calls alternate with the turns: both see the machine in the same state, even
        // when its speed drifts during the run.
        const bare: number[] = [];
        const warmTimes: number[] = [];
        const warmBare: number[] = [];
        for (let i = 0; i < options.turns + warmup; i++) {
          const bareMs = await bareCall(i);
          (i >= warmup ? bare : warmBare).push(bareMs);
          await pause();
          // A new thread every 10 turns keeps the history (and so the prompt) at a steady size.
          if (i % 10 === 0) threadId = undefined;
          const start = performance.now();
          const body = await post(QUESTIONS[i % QUESTIONS.length]!, threadId);
          const ms = performance.now() - start;
          threadId = body.thread_id;
          (i >= warmup ? times : warmTimes).push(ms);
          await pause();
        }
        const p50 = percentile(sorted(times), 0.5);
        const p99 = percentile(sorted(times), 0.99);
        const bareP50 = percentile(sorted(bare), 0.5);
        const bareP99 = percentile(sorted(bare), 0.99);
        const label = size.toLocaleString("en-US");
        const target = size === 10_000;
        if (warmup > 0) {
          const warmP50 = percentile(sorted(warmTimes), 0.5);
          const warmBareP50 = percentile(sorted(warmBare), 0.5);
          rows.push({
            measure: `${label} memories: first ${warmup} turns (warm-up) p50 / overhead p50, ms`,
            ours: `${fmt(warmP50, 2)} / ${fmt(warmP50 - warmBareP50, 2)}`,
            baseline: fmt(warmBareP50, 2),
            ratio: "",
            target: "",
            pass: null,
          });
        }
        rows.push({
          measure: `${label} memories: turn p50 / overhead p50, ms`,
          ours: `${fmt(p50, 2)} / ${fmt(p50 - bareP50, 2)}`,
          baseline: fmt(bareP50, 2),
          ratio: "",
          target: target ? "overhead ≤ 10" : "",
          pass: target ? p50 - bareP50 <= 10 : null,
        });
        rows.push({
          measure: `${label} memories: turn p99 / overhead p99, ms`,
          ours: `${fmt(p99, 2)} / ${fmt(p99 - bareP99, 2)}`,
          baseline: fmt(bareP99, 2),
          ratio: "",
          target: target ? "overhead ≤ 50" : "",
          pass: target ? p99 - bareP99 <= 50 : null,
        });
        raw[`memories_${size}`] = { times, bare, warmTimes, warmBare };
        // A graceful stop, so that V8 writes the CPU profile.
        if (options.cpuProfileDir) await server.stop("SIGTERM");
      } finally {
        await Deno.remove(dataDir, { recursive: true });
      }
    }
  } finally {
    fake.child.kill("SIGTERM");
    await fake.child.status;
  }
  return { rows, raw };
}
