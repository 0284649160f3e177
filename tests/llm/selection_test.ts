/**
 * Provider selection from the environment and the start-up autodetection of
 * a local Ollama (spec/llm.md §2.1, §2.2).
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { FakeClock } from "@synth/testing";
import { ollamaAnswers } from "../../src/llm/autodetect.ts";
import { LLM_CONFIG_SHAPE, type LlmConfig } from "../../src/llm/config.ts";
import {
  OLLAMA_DEFAULT_URL,
  ollamaUrl,
  resolveChains,
  resolveProviders,
} from "../../src/llm/providers.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";

const config = (input: Record<string, unknown> = {}): LlmConfig =>
  z.strictObject(LLM_CONFIG_SHAPE).parse(input);
const envOf = (values: Record<string, string>) => (name: string) => values[name];

Deno.test("providers from the environment come in the order anthropic, openai, ollama", () => {
  const providers = resolveProviders(
    config(),
    envOf({
      OLLAMA_HOST: "gpu-box:11434",
      OPENAI_API_KEY: "sk-openai-key-0123456789abcdef",
      ANTHROPIC_API_KEY: "sk-ant-key-0123456789abcdef",
      ANTHROPIC_BASE_URL: "https://proxy.example/anthropic",
    }),
    false,
  );
  assert.deepEqual(providers, [
    {
      id: "anthropic",
      type: "anthropic",
      apiKey: "sk-ant-key-0123456789abcdef",
      baseUrl: "https://proxy.example/anthropic",
    },
    { id: "openai", type: "openai", apiKey: "sk-openai-key-0123456789abcdef" },
    { id: "ollama", type: "ollama", baseUrl: "http://gpu-box:11434" },
  ]);
  const chains = resolveChains(
    config(),
    envOf({
      OLLAMA_HOST: "gpu-box:11434",
      OPENAI_API_KEY: "sk-openai-key-0123456789abcdef",
      ANTHROPIC_API_KEY: "sk-ant-key-0123456789abcdef",
    }),
    false,
  );
  assert.deepEqual(chains.reply.map((entry) => entry.provider.id), [
    "anthropic",
    "openai",
    "ollama",
  ]);
  assert.deepEqual(chains.background.map((entry) => entry.provider.id), [
    "anthropic",
    "openai",
    "ollama",
  ]);
});

Deno.test("OLLAMA_HOST is read as the Ollama client reads it", () => {
  const cases: Array<[string, string]> = [
    ["127.0.0.1:11500", "http://127.0.0.1:11500"],
    ["gpu-box", "http://gpu-box:11434"],
    [":11500", "http://127.0.0.1:11500"],
    ["http://gpu-box:8080/", "http://gpu-box:8080"],
    ["https://ollama.example.com", "https://ollama.example.com"],
    [" gpu-box:11434 ", "http://gpu-box:11434"],
  ];
  for (const [host, url] of cases) {
    assert.equal(ollamaUrl(host), url, `OLLAMA_HOST=${JSON.stringify(host)}`);
    assert.deepEqual(resolveProviders(config(), envOf({ OLLAMA_HOST: host }), false), [
      { id: "ollama", type: "ollama", baseUrl: url },
    ]);
  }
});

Deno.test("OPENAI_BASE_URL alone is a keyless OpenAI-compatible provider with max_tokens", () => {
  const chains = resolveChains(
    config(),
    envOf({ OPENAI_BASE_URL: "http://127.0.0.1:8000/v1" }),
    false,
  );
  assert.deepEqual(chains.providers, [
    { id: "openai", type: "openai", baseUrl: "http://127.0.0.1:8000/v1" },
  ]);
  assert.equal(chains.reply[0]!.capabilities.maxTokensParam, "max_tokens");
  const official = resolveChains(
    config(),
    envOf({ OPENAI_API_KEY: "sk-x-0123456789abcdef" }),
    false,
  );
  assert.equal(official.reply[0]!.capabilities.maxTokensParam, "max_completion_tokens");
});

Deno.test("a detected local Ollama is used only when nothing else is configured; OLLAMA_HOST wins over it", () => {
  assert.deepEqual(resolveProviders(config(), envOf({}), true), [
    { id: "ollama", type: "ollama", baseUrl: OLLAMA_DEFAULT_URL },
  ]);
  assert.deepEqual(resolveProviders(config(), envOf({}), false), []);
  assert.deepEqual(
    resolveProviders(config(), envOf({ OLLAMA_HOST: "gpu-box:11500" }), true),
    [{ id: "ollama", type: "ollama", baseUrl: "http://gpu-box:11500" }],
  );
  assert.deepEqual(
    resolveProviders(config(), envOf({ ANTHROPIC_API_KEY: "sk-ant-key-0123456789abcdef" }), true)
      .map((provider) => provider.id),
    ["anthropic"],
  );
});

Deno.test("llm.providers replaces the environment's choice; keys still come from the environment", () => {
  const providers = resolveProviders(
    config({
      providers: {
        local: { type: "ollama", hostEnv: "MY_OLLAMA" },
        cloud: { type: "openai", apiKeyEnv: "MY_KEY", baseUrl: "https://llm.example/v1" },
      },
    }),
    envOf({ MY_OLLAMA: "box:1234", MY_KEY: "sk-mine-0123456789abcdef", OPENAI_API_KEY: "ignored" }),
    true,
  );
  assert.deepEqual(providers, [
    { id: "local", type: "ollama", baseUrl: "http://box:1234" },
    {
      id: "cloud",
      type: "openai",
      apiKey: "sk-mine-0123456789abcdef",
      baseUrl: "https://llm.example/v1",
    },
  ]);
});

Deno.test("autodetection: an Ollama answering /api/version is found; a closed port or an error status is not", async () => {
  await using fake = await startFakeLlm();
  const clock = new FakeClock();
  assert.equal(await ollamaAnswers(fake.url, { clock, timeoutMs: 1_000 }), true);
  assert.ok(
    fake.requests().some((request) => request.method === "GET" && request.path === "/api/version"),
  );
  assert.equal(await ollamaAnswers(`${fake.url}/elsewhere`, { clock, timeoutMs: 1_000 }), false);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  assert.equal(await ollamaAnswers(`http://127.0.0.1:${port}`, { clock, timeoutMs: 1_000 }), false);
});

Deno.test("autodetection gives up after its timeout on the kernel clock", async () => {
  const { promise: release, resolve } = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await release; // accepts, never answers in time
    return new Response("{}");
  });
  try {
    const clock = new FakeClock();
    const answer = ollamaAnswers(`http://127.0.0.1:${server.addr.port}`, {
      clock,
      timeoutMs: 1_000,
    });
    await clock.untilTimer((ms) => ms === 1_000);
    await clock.tick(999);
    let settled = false;
    void answer.then(() => (settled = true));
    await Promise.resolve();
    assert.equal(settled, false, "still waiting at 999 ms");
    await clock.tick(1);
    assert.equal(await answer, false);
  } finally {
    resolve();
    await server.shutdown();
  }
});
