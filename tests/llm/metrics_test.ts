/**
 * The gateway's retries and breakers as Prometheus series
 * (spec/llm.md §7.4: `synth_llm_retries_total{provider,reason}`,
 * `synth_llm_breaker_state{provider}`).
 */
import assert from "node:assert/strict";
import { createMemoryLogger, type TestHost } from "@synth/testing";
import { createEventBus } from "../../src/bus.ts";
import { createIdFactory } from "../../src/ids.ts";
import { createLlmGateway, type KernelLlm } from "../../src/llm/gateway.ts";
import { seededRandom } from "../../src/random.ts";
import { createMetrics, type Metrics } from "../../src/telemetry/metrics.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { NO_SOURCES } from "../telemetry/sources.ts";
import { ask, fakeEnv, llmHost, NO_BACKOFF, settle } from "./helpers.ts";

/**
 * A gateway on the host's store, clock and config, wired to a registry the
 * way the kernel wires its own: retries counted, breakers read at scrape.
 */
async function meteredGateway(
  host: TestHost,
  env: Record<string, string>,
): Promise<{ llm: KernelLlm; metrics: Metrics } & AsyncDisposable> {
  const { log } = createMemoryLogger({ level: "error" });
  const metrics = createMetrics({
    sources: { ...NO_SOURCES, breakers: () => llm.breakerStates() },
  });
  const llm: KernelLlm = createLlmGateway({
    config: host.config.llm,
    onRetry: (provider, reason) => metrics.llmRetry(provider, reason),
    prices: {},
    env: (name) => env[name],
    store: host.kernel.store,
    clock: host.clock,
    random: seededRandom(7),
    ids: createIdFactory({ clock: host.clock, random: seededRandom(7) }),
    log,
    bus: createEventBus({ clock: host.clock, log }),
    probeIntervalMs: 3_600_000,
  });
  await llm.init({ background: false });
  return {
    llm,
    metrics,
    [Symbol.asyncDispose]: () => {
      llm.close();
      metrics.close();
      return Promise.resolve();
    },
  };
}

Deno.test("retries are counted per provider and reason: 500, 529, 429 and a first-token timeout", async () => {
  await using fake = await startFakeLlm({
    scenes: [
      { fault: { status: 500 } },
      { fault: { status: 529 } },
      { fault: { status: 429 } },
      { fault: { hangMs: 600_000 } },
    ],
  });
  await using host = await llmHost(fake, {
    chain: ["openai"],
    llm: {
      ...NO_BACKOFF,
      retry: { ...NO_BACKOFF.retry, maxRetries: 4 },
      timeouts: { reply: { connectMs: 30_000, firstTokenMs: 30_000 } },
    },
  });
  await using metered = await meteredGateway(host, fakeEnv(fake, ["openai"]));
  const reply = metered.llm.complete(ask("hello"));
  await settle(host, fake.untilRequests(4));
  await host.clock.untilTimer((ms) => ms === 30_000);
  await host.clock.tick(30_000);
  const completion = await settle(host, reply);
  assert.match(completion.text, /^fake:gpt-test:hello/);
  const text = await metered.metrics.render();
  for (const reason of ["server_error", "overloaded", "rate_limited", "timeout"]) {
    assert.match(
      text,
      new RegExp(`synth_llm_retries_total\\{provider="openai",reason="${reason}"\\} 1\\n`),
      `one retry for ${reason}`,
    );
  }
  assert.equal(text.match(/^synth_llm_retries_total\{/gm)?.length, 4, "no other series");
});

Deno.test("a request that succeeds at once counts no retry", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, { chain: ["anthropic"] });
  await using metered = await meteredGateway(host, fakeEnv(fake, ["anthropic"]));
  await metered.llm.complete(ask("hello"));
  const text = await metered.metrics.render();
  assert.doesNotMatch(text, /^synth_llm_retries_total\{/m);
  assert.match(text, /synth_llm_breaker_state\{provider="anthropic"\} 0\n/);
});

Deno.test("the breaker gauge reads closed, open after five failures, half-open after 30 s, closed after a success", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { service: "ollama" }, fault: { status: 500 }, times: 5 }],
  });
  await using host = await llmHost(fake, {
    chain: ["ollama", "openai"],
    llm: { retry: { maxRetries: 0 } },
  });
  await using metered = await meteredGateway(host, fakeEnv(fake, ["ollama", "openai"]));
  const state = async (provider = "ollama") =>
    new RegExp(`synth_llm_breaker_state\\{provider="${provider}"\\} (\\d)\\n`)
      .exec(await metered.metrics.render())?.[1];
  assert.equal(await state(), "0");
  for (let i = 0; i < 5; i++) {
    assert.equal((await metered.llm.complete(ask(`failing ${i}`))).provider, "openai");
  }
  assert.equal(await state(), "2");
  assert.equal(await state("openai"), "0");
  await host.clock.tick(29_999);
  assert.equal(await state(), "2");
  await host.clock.tick(1);
  assert.equal(await state(), "1", "read at scrape: the open period ended without a request");
  assert.equal((await metered.llm.complete(ask("probe"))).provider, "ollama");
  assert.equal(await state(), "0", "the probe's success closed it");
});

Deno.test("the kernel's /metrics counts gateway retries and shows each breaker", async () => {
  await using fake = await startFakeLlm({ scenes: [{ fault: { status: 529 } }] });
  await using host = await llmHost(fake, { chain: ["anthropic"], llm: NO_BACKOFF });
  await settle(host, host.kernel.llm.complete(ask("hello")));
  const text = await host.kernel.metrics.render();
  assert.match(text, /synth_llm_retries_total\{provider="anthropic",reason="overloaded"\} 1\n/);
  assert.match(text, /synth_llm_breaker_state\{provider="anthropic"\} 0\n/);
});
