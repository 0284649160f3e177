/**
 * The LLM gateway against the bare official SDK calls, both talking to the
 * fake LLM server in a separate process over loopback (spec/llm.md §11).
 *
 * @module
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { Ollama } from "ollama/browser";
import { z } from "zod";
import { createEventBus } from "../src/bus.ts";
import { systemClock } from "../src/clock.ts";
import { createIdFactory } from "../src/ids.ts";
import { LLM_CONFIG_SHAPE } from "../src/llm/config.ts";
import { createLlmGateway, type KernelLlm } from "../src/llm/gateway.ts";
import { parseJsonToolCalls } from "../src/llm/json_tools.ts";
import type { LedgerEntry } from "../src/llm/ledger.ts";
import type { ChatRequest } from "../src/llm/types.ts";
import { systemRandom } from "../src/random.ts";
import { openStore, type Store } from "../src/store/store.ts";
import { createMemoryLogger } from "../src/testing/memory_log.ts";
import { makeTestDir, REPO_DIR } from "../src/testing/paths.ts";
import type { Scene } from "../tests/fakes/llm/mod.ts";
import { fmt, mean, percentile, progress, ratio, type Row, startDenoChild } from "./report.ts";

/** Options for {@link runLlmBench}. */
export interface LlmBenchOptions {
  /** Calls per service and side for the overhead figures. */
  calls: number;
  /** Runs per service and side of the 5,000-chunk stream. @default 7 */
  streamRuns?: number;
}

type Service = "anthropic" | "openai" | "ollama";
const SERVICES: readonly Service[] = ["anthropic", "openai", "ollama"];
const MODELS: Record<Service, string> = {
  anthropic: "claude-bench",
  openai: "gpt-bench",
  ollama: "llama3.1:8b",
};
const KEY = { anthropic: "sk-ant-bench-0000000000000000", openai: "sk-bench-00000000000000000" };

/** Starts the fake LLM server in its own process. */
export async function startFake(): Promise<{ url: string; child: Deno.ChildProcess }> {
  const { child, firstLine } = await startDenoChild(
    ["--no-prompt", "--allow-net=127.0.0.1", "tests/fakes/llm/mod.ts"],
    REPO_DIR,
  );
  const url = /FAKE_LLM_URL=(\S+)/.exec(firstLine)?.[1];
  if (!url) throw new Error(`The fake printed no URL: ${firstLine}`);
  return { url, child };
}

/** Replaces the fake server's scenes with `list`. */
export async function scenes(url: string, list: Scene[]): Promise<void> {
  await fetch(`${url}/__fake/reset`, { method: "POST" }).then((response) =>
    response.body?.cancel()
  );
  const response = await fetch(`${url}/__fake/scenes`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(list),
  });
  await response.body?.cancel();
}

/** A bare streaming call with the official SDK, as an application would make it. */
function bareCall(service: Service, url: string): () => AsyncIterable<unknown> {
  const messages = [{ role: "user" as const, content: "Say something" }];
  if (service === "anthropic") {
    const client = new Anthropic({ apiKey: KEY.anthropic, baseURL: url, maxRetries: 0 });
    return async function* () {
      const stream = await client.messages.create({
        model: MODELS.anthropic,
        max_tokens: 256,
        messages,
        stream: true,
      });
      for await (const event of stream) {
        if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
          yield event.delta.text;
        }
      }
    };
  }
  if (service === "openai") {
    const client = new OpenAI({ apiKey: KEY.openai, baseURL: `${url}/v1`, maxRetries: 0 });
    return async function* () {
      const stream = await client.chat.completions.create({
        model: MODELS.openai,
        max_tokens: 256,
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta.content;
        if (text) yield text;
      }
    };
  }
  const client = new Ollama({ host: url });
  return async function* () {
    const stream = await client.chat({
      model: MODELS.ollama,
      messages,
      stream: true,
      options: { num_predict: 256 },
    });
    for await (const part of stream) if (part.message.content) yield part.message.content;
  };
}

function gatewayCall(llm: KernelLlm): () => AsyncIterable<unknown> {
  const request: ChatRequest = {
    module: "bench",
    purpose: "reply",
    role: "reply",
    messages: [{ role: "user", content: "Say something" }],
    maxTokens: 256,
  };
  return async function* () {
    for await (const event of llm.chat(request)) {
      if (event.type === "text") yield event.delta;
      if (event.type === "error") throw new Error(event.error.message);
    }
  };
}

/** Runs a call to its end; returns total and first-chunk milliseconds and the chunk count. */
async function timeCall(call: () => AsyncIterable<unknown>) {
  const start = performance.now();
  let first = NaN;
  let chunks = 0;
  for await (const _ of call()) {
    if (chunks++ === 0) first = performance.now() - start;
  }
  return { total: performance.now() - start, first, chunks };
}

function gatewayFor(
  store: Store,
  url: string,
  chain: { reply: Service[]; ollamaHost?: string },
): KernelLlm {
  const { log } = createMemoryLogger({ level: "error" });
  const config = z.strictObject(LLM_CONFIG_SHAPE).parse({
    autodetectOllama: false,
    roles: {
      reply: chain.reply.map((service) => ({ provider: service, model: MODELS[service] })),
      background: [{ provider: "ollama", model: MODELS.ollama }],
    },
  });
  const env: Record<string, string> = {
    ANTHROPIC_API_KEY: KEY.anthropic,
    ANTHROPIC_BASE_URL: url,
    OPENAI_API_KEY: KEY.openai,
    OPENAI_BASE_URL: `${url}/v1`,
    OLLAMA_HOST: chain.ollamaHost ?? url,
  };
  return createLlmGateway({
    config,
    prices: {},
    env: (name) => env[name],
    store,
    clock: systemClock,
    random: systemRandom,
    ids: createIdFactory({ clock: systemClock, random: systemRandom }),
    log,
    bus: createEventBus({ clock: systemClock, log }),
    probeIntervalMs: 3_600_000,
  });
}

function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * Gateway overhead, time-to-first-token overhead, streaming throughput,
 * failover latency, ledger writes and JSON tool-mode parsing.
 */
export async function runLlmBench(
  options: LlmBenchOptions,
): Promise<{ rows: Row[]; raw: unknown }> {
  progress("starting the fake LLM server");
  const fake = await startFake();
  const dataDir = await makeTestDir("synth-llm-bench-");
  const { log } = createMemoryLogger({ level: "error" });
  const store = openStore({
    dataDir,
    busyTimeoutMs: 5_000,
    clock: systemClock,
    log,
    migrate: true,
  });
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  try {
    const twenty = Array.from({ length: 20 }, (_, i) => `tok${i} `);
    for (const service of SERVICES) {
      const llm = gatewayFor(store, fake.url, { reply: [service] });
      await llm.init({ background: false });
      await scenes(fake.url, [{ reply: { text: twenty }, times: 1_000_000 }]);
      const bare = bareCall(service, fake.url);
      const ours = gatewayCall(llm);
      for (let i = 0; i < 30; i++) { // warm-up
        await timeCall(bare);
        await timeCall(ours);
      }
      progress(`${service}: ${options.calls} calls each, bare SDK and gateway, interleaved`);
      const bareTimes: number[] = [];
      const ourTimes: number[] = [];
      const bareFirst: number[] = [];
      const ourFirst: number[] = [];
      for (let i = 0; i < options.calls; i++) {
        const a = await timeCall(bare);
        const b = await timeCall(ours);
        bareTimes.push(a.total);
        ourTimes.push(b.total);
        bareFirst.push(a.first);
        ourFirst.push(b.first);
      }
      const [bt, ot, bf, of] = [bareTimes, ourTimes, bareFirst, ourFirst].map(sorted);
      const p50 = percentile(ot!, 0.5) - percentile(bt!, 0.5);
      const p95 = percentile(ot!, 0.95) - percentile(bt!, 0.95);
      const ttft = percentile(of!, 0.95) - percentile(bf!, 0.95);
      const ttft50 = percentile(of!, 0.5) - percentile(bf!, 0.5);
      rows.push({
        measure: `${service}: call p50 (20 chunks), ms`,
        ours: fmt(percentile(ot!, 0.5), 2),
        baseline: fmt(percentile(bt!, 0.5), 2),
        ratio: ratio(percentile(ot!, 0.5), percentile(bt!, 0.5)),
        target: "≤ +2 ms",
        pass: p50 <= 2,
      });
      rows.push({
        measure: `${service}: call p95, ms`,
        ours: fmt(percentile(ot!, 0.95), 2),
        baseline: fmt(percentile(bt!, 0.95), 2),
        ratio: ratio(percentile(ot!, 0.95), percentile(bt!, 0.95)),
        target: "≤ +5 ms",
        pass: p95 <= 5,
      });
      rows.push({
        measure: `${service}: first token p50, ms`,
        ours: fmt(percentile(of!, 0.5), 2),
        baseline: fmt(percentile(bf!, 0.5), 2),
        ratio: ratio(percentile(of!, 0.5), percentile(bf!, 0.5)),
        target: "",
        pass: null,
      });
      rows.push({
        // Issue #4 acceptance 4: the gateway's own share of the time to first token.
        measure: `${service}: first token p50 added (gateway − bare), ms`,
        ours: fmt(ttft50, 3),
        baseline: "",
        ratio: "",
        target: "< 2 ms",
        pass: ttft50 < 2,
      });
      rows.push({
        measure: `${service}: first token p95, ms`,
        ours: fmt(percentile(of!, 0.95), 2),
        baseline: fmt(percentile(bf!, 0.95), 2),
        ratio: ratio(percentile(of!, 0.95), percentile(bf!, 0.95)),
        target: "≤ +5 ms",
        pass: ttft <= 5,
      });

      const runs = options.streamRuns ?? 7;
      progress(`${service}: a reply of 5,000 chunks, ${runs} runs each, interleaved`);
      await scenes(fake.url, [{
        reply: { text: Array.from({ length: 5_000 }, (_, i) => `c${i} `) },
        times: 1_000,
      }]);
      await timeCall(ours); // warm-up
      await timeCall(bare);
      const ourRates: number[] = [];
      const bareRates: number[] = [];
      const addedPerToken: number[] = [];
      for (let run = 0; run < runs; run++) {
        const streamOurs = await timeCall(ours);
        const streamBare = await timeCall(bare);
        ourRates.push(streamOurs.chunks / (streamOurs.total / 1000));
        bareRates.push(streamBare.chunks / (streamBare.total / 1000));
        // Paired runs: what the gateway adds per streamed token, in µs.
        addedPerToken.push(
          (streamOurs.total / streamOurs.chunks - streamBare.total / streamBare.chunks) * 1000,
        );
      }
      const ourRate = percentile(sorted(ourRates), 0.5);
      const bareRate = percentile(sorted(bareRates), 0.5);
      const perToken = percentile(sorted(addedPerToken), 0.5);
      rows.push({
        measure: `${service}: streaming p50 of ${runs} runs, events/s`,
        ours: fmt(ourRate),
        baseline: fmt(bareRate),
        ratio: ratio(ourRate, bareRate),
        target: "≥ 20,000",
        pass: ourRate >= 20_000,
      });
      rows.push({
        // Issue #4 acceptance 4: the gateway's own cost per streamed token.
        measure: `${service}: per streamed token added p50 (gateway − bare), µs`,
        ours: fmt(perToken, 2),
        baseline: "",
        ratio: "",
        target: "< 2,000 µs",
        pass: perToken < 2_000,
      });
      raw[service] = {
        bareTimes,
        ourTimes,
        bareFirst,
        ourFirst,
        ourRate,
        bareRate,
        ourRates,
        bareRates,
        ttftAddedP50Ms: ttft50,
        perTokenAddedP50Us: perToken,
        addedPerTokenUs: addedPerToken,
      };
      llm.close();
    }

    progress("failover: the first entry refuses connections");
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    await scenes(fake.url, [{ reply: { text: twenty }, times: 1_000_000 }]);
    const failover: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 20; i++) {
      // A new gateway each time, so the breaker never skips the refusing entry.
      const chained = gatewayFor(store, fake.url, {
        reply: ["ollama", "openai"],
        ollamaHost: `127.0.0.1:${closedPort}`,
      });
      await chained.init({ background: false });
      const one = gatewayFor(store, fake.url, { reply: ["openai"] });
      await one.init({ background: false });
      failover.push((await timeCall(gatewayCall(chained))).first);
      direct.push((await timeCall(gatewayCall(one))).first);
    }
    const failoverP95 = percentile(sorted(failover), 0.95);
    rows.push({
      measure: "failover: first token from the second entry p95, ms",
      ours: fmt(failoverP95, 2),
      baseline: fmt(percentile(sorted(direct), 0.95), 2),
      ratio: ratio(failoverP95, percentile(sorted(direct), 0.95)),
      target: "≤ 100 ms",
      pass: failoverP95 <= 100,
    });

    progress("ledger writes");
    const llm = gatewayFor(store, fake.url, { reply: ["openai"] });
    const writes: number[] = [];
    const ids = createIdFactory({ clock: systemClock, random: systemRandom });
    for (let i = 0; i < 2_000; i++) {
      const id = ids.next("llm");
      const row: LedgerEntry = {
        id,
        at: Date.now(),
        module: "bench",
        purpose: "reply",
        role: "reply",
        provider: "openai",
        model: "gpt-bench",
        request_uid: id,
        attempts: 1,
        failover_index: 0,
        turn_id: null,
        job_id: null,
        user_id: null,
        thread_id: null,
        tokens_in: 100,
        tokens_out: 20,
        cached_input_tokens: 0,
        tokens_estimated: 0,
        latency_ms: 5,
        first_token_ms: 1,
        cost_usd: 0.0001,
        status: "ok",
        error_code: null,
        http_status: null,
        stop_reason: "stop",
        tool_calls: 0,
      };
      const start = performance.now();
      await llm.ledger.record(row);
      writes.push(performance.now() - start);
    }
    const writeP95 = percentile(sorted(writes.slice(200)), 0.95);
    rows.push({
      measure: "ledger write p95, ms",
      ours: fmt(writeP95, 3),
      baseline: "",
      ratio: "",
      target: "≤ 1 ms",
      pass: writeP95 <= 1,
    });

    progress("JSON tool-mode parsing");
    const reply = "Here is the call:\n```json\n" + JSON.stringify({
      tool_calls: [{
        name: "file_write",
        arguments: { path: "notes/plan.md", content: "- item\n".repeat(260) },
      }],
    }) + "\n```";
    const offered = new Set(["file_write"]);
    const parses: number[] = [];
    let n = 0;
    for (let i = 0; i < 5_000; i++) {
      const start = performance.now();
      parseJsonToolCalls(reply, offered, () => `call_${++n}`);
      parses.push(performance.now() - start);
    }
    const parseP95 = percentile(sorted(parses.slice(500)), 0.95);
    rows.push({
      measure: `JSON tool-mode parse of ${fmt(reply.length)} chars p95, ms`,
      ours: fmt(parseP95, 3),
      baseline: "",
      ratio: "",
      target: "≤ 0.5 ms",
      pass: parseP95 <= 0.5,
    });
    raw.failover = { failover, direct, mean: mean(failover) };
    raw.ledgerWriteP95 = writeP95;
    raw.parseP95 = parseP95;
  } finally {
    fake.child.kill("SIGTERM");
    await fake.child.status;
    await store.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  return { rows, raw };
}
