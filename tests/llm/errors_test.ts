/**
 * What users see when no model is reachable, and keys never leaking
 * (spec/llm.md §10 items 1, 14, 21).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createTestHost, makeTestDir, spawnServer } from "@synth/testing";
import { memoryPlugin } from "../../plugins/memory/mod.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { ask, drain, gateway, llmHost, TEST_KEYS } from "./helpers.ts";

const generate = (prompt: string) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ prompt }),
});

Deno.test("without a provider the server starts, readiness names the variables and generate is 503 LLM_NOT_CONFIGURED", async () => {
  await using server = await spawnServer();
  const ready = await fetch(`${server.url}/health/ready`);
  assert.equal(ready.status, 503);
  const body = await ready.json();
  assert.equal(body.checks.llm.status, "fail");
  assert.match(body.checks.llm.reason, /ANTHROPIC_API_KEY, OPENAI_API_KEY .* OLLAMA_HOST/);
  assert.equal((await fetch(`${server.url}/health/live`)).status, 200);
  const response = await fetch(`${server.url}/api/generate`, generate("hello"));
  assert.equal(response.status, 503);
  const error = (await response.json()).error;
  assert.equal(error.code, "LLM_NOT_CONFIGURED");
  assert.match(error.message, /Set ANTHROPIC_API_KEY, OPENAI_API_KEY/);
});

Deno.test("without a provider a chat stream is one LLM_NOT_CONFIGURED error and nothing is stored", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  const events = await drain(gateway(host).chat(ask("hello")));
  assert.deepEqual(events.map((event) => event.type), ["error"]);
  assert.ok(events[0]?.type === "error");
  assert.equal(events[0].error.code, "LLM_NOT_CONFIGURED");
  assert.equal((await gateway(host).ledger.list({ limit: 10 })).items.length, 0);
  const messages = await host.kernel.store.db.selectFrom("memory_messages").selectAll().execute();
  assert.deepEqual(messages, []);
});

Deno.test("a 401 marks the provider auth_failed, readiness says invalid API key, and the key leaks nowhere", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ fault: { status: 401, message: `invalid x-api-key ${TEST_KEYS.openai}` } }],
  });
  await using host = await llmHost(fake, { chain: ["openai"] });
  const notices: unknown[] = [];
  host.kernel.bus.subscribe("notice", (event) => {
    notices.push(event.data);
  });
  const response = await host.request("/api/generate", generate("hello"));
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "30");
  const bodyText = await response.text();
  const error = JSON.parse(bodyText).error;
  assert.equal(error.code, "LLM_UNAVAILABLE");
  assert.match(error.message, /openai: invalid API key \(401\)/);

  const ready = await (await host.request("/health/ready")).json();
  assert.equal(ready.checks.llm.status, "fail");
  assert.match(ready.checks.llm.reason, /openai: invalid API key \(401\)/);
  const entry = gateway(host).status().entries.find((item) => item.role === "reply");
  assert.equal(entry?.state, "auth_failed");
  assert.deepEqual(notices, [{
    level: "warn",
    code: "LLM_UNAVAILABLE",
    message: "No language model provider is available (openai: invalid API key (401))",
  }]);

  // A second request makes no call: the provider stays failed until restart.
  const chats = () => fake.requests().filter((request) => request.path === "/v1/chat/completions");
  await host.request("/api/generate", generate("again"));
  assert.equal(chats().length, 1);

  // Anything logged with the key or a bearer token is redacted.
  host.kernel.log.warn("diagnostic", {
    header: `Authorization: Bearer ${TEST_KEYS.openai}`,
    url: `https://example.com/v1?api_key=${TEST_KEYS.openai}`,
  });
  const ledger = await (await host.request("/api/ledger")).text();
  const logs = JSON.stringify(host.logs);
  for (const [where, text] of [["error body", bodyText], ["logs", logs], ["ledger", ledger]]) {
    assert.ok(!text!.includes(TEST_KEYS.openai), `the key appears in the ${where}`);
    assert.ok(!text!.includes(TEST_KEYS.openai.slice(3, 20)), `part of the key is in the ${where}`);
  }
  assert.match(logs, /"header":"Authorization: \[redacted\]/);
  assert.equal(chats()[0]!.headers.authorization, `Bearer ${TEST_KEYS.openai}`, "the key was sent");
});

Deno.test("a config file containing an API key stops start-up with LLM_SECRET_IN_CONFIG (exit 78)", async () => {
  const dir = await makeTestDir("synth-secret-");
  try {
    const secret = "sk-live-0123456789abcdefABCDEF";
    const file = join(dir, "synth.config.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        llm: {
          providers: { main: { type: "openai", baseUrl: `https://llm.example.com/${secret}` } },
        },
      }),
    );
    const server = await spawnServer({ env: { SYNTH_CONFIG: file }, waitForListening: false });
    const status = await server.status;
    await server.stop();
    assert.equal(status.code, 78);
    const stderr = server.stderr.join("\n");
    assert.match(
      stderr,
      /the config value at llm\.providers\.main\.baseUrl looks like an API key\. Put keys in the environment/,
    );
    assert.ok(!stderr.includes(secret), "the message does not repeat the key");
    assert.ok(!server.stdout.join("\n").includes(secret));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an Ollama model that is not pulled fails readiness with the pull command", async () => {
  await using fake = await startFakeLlm({ ollamaModels: ["other:7b"] });
  await using host = await llmHost(fake, { chain: ["ollama"] });
  const ready = await (await host.request("/health/ready")).json();
  assert.equal(ready.checks.llm.status, "fail");
  assert.equal(
    ready.checks.llm.reason,
    "ollama: model llama3.1:8b not pulled: run `ollama pull llama3.1:8b`",
  );
  const events = await drain(gateway(host).chat(ask("hi")));
  const last = events.at(-1);
  assert.ok(last?.type === "error");
  assert.equal(last.error.code, "LLM_UNAVAILABLE");
  assert.match(last.error.message, /ollama pull llama3\.1:8b/);
});

Deno.test("a failing provider fails readiness with its reason; a recovered one passes at the next probe", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { kind: "models" }, fault: { status: 503 } }],
  });
  await using host = await llmHost(fake, { chain: ["openai"] });
  const before = await (await host.request("/health/ready")).json();
  assert.equal(before.checks.llm.status, "fail");
  assert.equal(before.checks.llm.reason, "openai: HTTP 503");
  await host.clock.tick(30_000); // health.llmProbeIntervalSeconds
  await gateway(host).probe();
  const after = await (await host.request("/health/ready")).json();
  assert.equal(after.checks.llm.status, "ok");
  assert.equal(after.checks.llm.reason, "openai/gpt-test ok");
});

Deno.test("a conversation not starting with a user message is LLM_BAD_REQUEST, not retried or failed over", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, { chain: ["anthropic", "openai"] });
  const events = await drain(
    gateway(host).chat(ask("", {
      messages: [{ role: "assistant", content: "Hello" }],
    })),
  );
  const last = events.at(-1);
  assert.ok(last?.type === "error");
  assert.equal(last.error.code, "LLM_BAD_REQUEST");
  assert.equal(fake.requests().filter((request) => request.method === "POST").length, 0);
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.attempts, 1);
  assert.equal(gateway(host).status().entries[0]!.state !== "breaker_open", true);
});

Deno.test("an already aborted embedding request sends nothing and is recorded as aborted", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, {
    chain: ["openai"],
    llm: {
      roles: { embedding: [{ provider: "openai", model: "text-embedding-3-small", dims: 8 }] },
    },
  });
  await assert.rejects(
    () => gateway(host).embed(["a"], { signal: AbortSignal.abort() }),
    (error: Error & { code?: string }) => error.code === "LLM_ABORTED",
  );
  assert.equal(fake.requests().filter((request) => request.path === "/v1/embeddings").length, 0);
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.status, "aborted");
});
