/**
 * Compares the turn latency of two checkouts of this repository, for changes
 * too small for `deno task bench` to tell from the machine's drift. Both
 * checkouts' servers run at once against one fake LLM, each with the same
 * memories, and take turns in alternating order, 30 ms apart as in the mind suite; the measure is
 * the paired difference B − A of each round.
 *
 * Each comparison runs twice, with the servers started in both orders: in
 * A/A runs on the 2-core machine of docs/benchmarks.md, the server started
 * second answered 0.2–1.7 ms faster (mean) through the whole run, so either
 * order alone credits one side with that. The estimate is the mean of the two
 * runs' differences; half their gap is the start-order effect of this run.
 *
 * Usage: `deno run -A bench/ab.ts <checkout A> <checkout B> [--memories 10000] [--rounds 200] [--warmup 30]`
 * (-A: each checkout's server, test helpers and data directory are its own).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { startFake } from "./llm_bench.ts";
import { pause, QUESTIONS } from "./mind_bench.ts";
import { fmt, mean, percentile, printGrid, progress } from "./report.ts";

const USAGE =
  "usage: deno run -A bench/ab.ts <checkout A> <checkout B> [--memories 10000] [--rounds 200] [--warmup 30]";

function fail(message: string): never {
  Deno.stderr.writeSync(new TextEncoder().encode(`${message}\n${USAGE}\n`));
  Deno.exit(64);
}

function count(name: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    fail(`--${name} must be an integer ≥ ${min}, got "${raw}"`);
  }
  return value;
}

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      memories: { type: "string", default: "10000" },
      rounds: { type: "string", default: "200" },
      warmup: { type: "string", default: "30" },
    },
  });
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
if (parsed.positionals.length !== 2) fail("name two checkouts to compare");
const checkouts = parsed.positionals.map((dir) => resolve(dir));
for (const dir of checkouts) {
  try {
    Deno.statSync(join(dir, "bench", "server.ts"));
  } catch {
    fail(`${dir} is not a checkout of this repository (no bench/server.ts)`);
  }
}
const memories = count("memories", parsed.values.memories, 0);
const rounds = count("rounds", parsed.values.rounds, 10);
const warmup = count("warmup", parsed.values.warmup, 0);

/** One checkout's server, seeded with `memories` memories of its benched user. */
async function startServer(dir: string, fakeUrl: string) {
  const { spawnBenchServer } = await import(`file://${dir}/bench/server.ts`);
  const { importCorpus } = await import(`file://${dir}/bench/memory_bench.ts`);
  const { makeTestDir } = await import(`file://${dir}/src/testing/mod.ts`);
  const dataDir: string = await makeTestDir("synth-ab-");
  const bench = await spawnBenchServer({
    dataDir,
    env: { OPENAI_API_KEY: "sk-bench-00000000000000000", OPENAI_BASE_URL: `${fakeUrl}/v1` },
    ...(memories > 0
      ? { seed: (userId: string, into: string) => importCorpus(into, memories, userId) }
      : {}),
  });
  // The vector index loads in the background; recall is full-text until then.
  for (;;) {
    const response = await fetch(`${bench.server.url}/health`, { headers: bench.headers });
    const health = await response.json();
    if (health.checks.vector_index?.status === "ok") break;
    await new Promise((done) => setTimeout(done, 50));
  }
  return {
    url: bench.server.url as string,
    headers: bench.headers as Record<string, string>,
    async stop() {
      await bench.server.stop("SIGTERM");
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

type Server = Awaited<ReturnType<typeof startServer>>;

/** One run: the servers started in `order`, then `rounds` measured rounds of a turn each. */
async function run(fakeUrl: string, order: "AB" | "BA") {
  const servers: Record<"A" | "B", Server | undefined> = { A: undefined, B: undefined };
  try {
    for (const side of order === "AB" ? ["A", "B"] as const : ["B", "A"] as const) {
      progress(`${order}: starting ${side} (${checkouts[side === "A" ? 0 : 1]})`);
      servers[side] = await startServer(checkouts[side === "A" ? 0 : 1]!, fakeUrl);
    }
    const threads: Record<"A" | "B", string | undefined> = { A: undefined, B: undefined };
    const turn = async (side: "A" | "B", question: string) => {
      const server = servers[side]!;
      const started = performance.now();
      const response = await fetch(`${server.url}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", ...server.headers },
        body: JSON.stringify({
          message: question,
          ...(threads[side] ? { thread_id: threads[side] } : {}),
        }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(`${side}'s turn failed: ${JSON.stringify(body)}`);
      threads[side] = body.thread_id;
      return performance.now() - started;
    };
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < warmup + rounds; i++) {
      // A new thread every 10 rounds keeps the prompt at a steady size, as in the mind suite.
      if (i % 10 === 0) threads.A = threads.B = undefined;
      const times: Record<string, number> = {};
      for (const side of i % 2 === 0 ? ["A", "B"] as const : ["B", "A"] as const) {
        times[side] = await turn(side, QUESTIONS[i % QUESTIONS.length]!);
        await pause();
      }
      if (i >= warmup) {
        a.push(times.A!);
        b.push(times.B!);
      }
      if ((i + 1) % 50 === 0) progress(`${order}: ${i + 1} of ${warmup + rounds} rounds`);
    }
    return { a, b, diff: b.map((time, i) => time - a[i]!) };
  } finally {
    for (const server of Object.values(servers)) await server?.stop();
  }
}

const sorted = (values: number[]) => Float64Array.from(values).sort();
const p50 = (values: number[]) => percentile(sorted(values), 0.5);
const fake = await startFake();
try {
  const results = { AB: await run(fake.url, "AB"), BA: await run(fake.url, "BA") };
  const [ab, ba] = [results.AB.diff, results.BA.diff];
  // B − A = change − effect when B started second, change + effect when A did.
  const effect = (mean(ba) - mean(ab)) / 2;
  printGrid(
    `Turn latency, ms: A ${checkouts[0]}, B ${checkouts[1]}; ${
      memories.toLocaleString("en-US")
    } memories, ${rounds} rounds per run after ${warmup}`,
    ["run", "A p50", "B p50", "B − A p50", "B − A mean"],
    [
      ...(["AB", "BA"] as const).map((order) => [
        `${order[0]} started first`,
        fmt(p50(results[order].a), 2),
        fmt(p50(results[order].b), 2),
        fmt(p50(results[order].diff), 2),
        fmt(mean(results[order].diff), 2),
      ]),
      ["both orders", "", "", fmt((p50(ab) + p50(ba)) / 2, 2), fmt((mean(ab) + mean(ba)) / 2, 2)],
      [
        `the server started second, ${effect >= 0 ? "faster" : "slower"} by`,
        "",
        "",
        "",
        fmt(Math.abs(effect), 2),
      ],
    ],
  );
} finally {
  fake.child.kill("SIGTERM");
  await fake.child.status;
}
