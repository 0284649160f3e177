/**
 * Each provider through its official SDK against the fake's wire protocol
 * (spec/llm.md §10 items 2–6).
 */
import assert from "node:assert/strict";
import type { ChatMessage, ToolSpec } from "@synth/kernel";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { ask, drain, gateway, llmHost, MODELS, textOf } from "./helpers.ts";

const WEATHER: ToolSpec = {
  name: "weather",
  description: "The weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string" }, days: { type: "number" } },
    required: ["city"],
  },
};

Deno.test("Ollama: tokens arrive in order; the request streams, sets options.temperature and sends turns", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: ["The ", "sky ", "is ", "blue", "."] } }],
  });
  await using host = await llmHost(fake, { chain: ["ollama"] });
  const events = await drain(
    gateway(host).chat(ask("What colour is the sky?", {
      system: "Be brief.",
      temperature: 0.7,
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "What colour is the sky?" },
      ],
    })),
  );
  assert.deepEqual(
    events.filter((event) => event.type === "text").map((event) =>
      event.type === "text" && event.delta
    ),
    ["The ", "sky ", "is ", "blue", "."],
  );
  assert.deepEqual(events.map((event) => event.type), [
    "start",
    "text",
    "text",
    "text",
    "text",
    "text",
    "usage",
    "stop",
  ]);
  const body = fake.requests().find((request) => request.path === "/api/chat")!.body as Record<
    string,
    unknown
  >;
  assert.equal(body.stream, true);
  assert.equal(body.temperature, undefined, "never at the top level");
  assert.equal((body.options as Record<string, unknown>).temperature, 0.7);
  assert.equal((body.options as Record<string, unknown>).num_predict, 1024);
  assert.deepEqual(body.messages, [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello!" },
    { role: "user", content: "What colour is the sky?" },
  ]);
});

Deno.test("Anthropic: text deltas then one parsed tool call; temperature 1.4 is sent as 1.0; pings ignored", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      reply: {
        text: ["Let me ", "check."],
        toolCalls: [{ name: "weather", args: { city: "Paris", days: 3 } }],
      },
    }],
  });
  await using host = await llmHost(fake, { chain: ["anthropic"] });
  const events = await drain(
    gateway(host).chat(ask("Weather in Paris?", {
      temperature: 1.4,
      tools: [WEATHER],
    })),
  );
  assert.deepEqual(events.map((event) => event.type), [
    "start",
    "text",
    "text",
    "tool_call",
    "usage",
    "stop",
  ]);
  assert.equal(textOf(events), "Let me check.");
  const call = events.find((event) => event.type === "tool_call");
  assert.ok(call?.type === "tool_call");
  assert.equal(call.call.name, "weather");
  assert.deepEqual(call.call.args, { city: "Paris", days: 3 });
  assert.match(call.call.id, /^toolu_/);
  assert.deepEqual(events.at(-1), {
    type: "stop",
    reason: "tool_calls",
    providerReason: "tool_use",
  });
  const body = fake.requests().find((request) => request.path === "/v1/messages")!.body as Record<
    string,
    unknown
  >;
  assert.equal(body.temperature, 1);
  assert.equal(body.stream, true);
  assert.deepEqual(body.tools, [{
    name: "weather",
    description: "The weather in a city",
    input_schema: WEATHER.parameters,
  }]);
});

Deno.test("OpenAI: tool-call arguments split across 5 chunks are joined; usage from the last chunk; [DONE] ends it", async () => {
  const args = { city: "Reykjavík", days: 5, units: "metric", note: "a longer argument value" };
  await using fake = await startFakeLlm({
    scenes: [{
      reply: { toolCalls: [{ name: "weather", args }], usage: { input: 42, output: 17 } },
    }],
  });
  await using host = await llmHost(fake, { chain: ["openai"] });
  const events = await drain(gateway(host).chat(ask("Weather?", { tools: [WEATHER] })));
  const calls = events.filter((event) => event.type === "tool_call");
  assert.equal(calls.length, 1);
  assert.ok(calls[0]?.type === "tool_call");
  assert.deepEqual(calls[0].call.args, args);
  assert.equal(calls[0].call.parseError, undefined);
  assert.deepEqual(events.find((event) => event.type === "usage"), {
    type: "usage",
    inputTokens: 42,
    outputTokens: 17,
    estimated: false,
    costUsd: null,
  });
  assert.deepEqual(events.at(-1), {
    type: "stop",
    reason: "tool_calls",
    providerReason: "tool_calls",
  });
  const body = fake.requests().find((request) => request.path === "/v1/chat/completions")!
    .body as Record<string, unknown>;
  assert.deepEqual(body.stream_options, { include_usage: true });
});

Deno.test("an OpenAI-compatible endpoint without usage gives an estimated usage event and ledger row", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: "x".repeat(40), usage: "omit" } }],
  });
  await using host = await llmHost(fake, { chain: ["openai"] });
  const prompt = "y".repeat(80);
  const events = await drain(gateway(host).chat(ask(prompt)));
  assert.deepEqual(events.find((event) => event.type === "usage"), {
    type: "usage",
    inputTokens: 20,
    outputTokens: 10,
    estimated: true,
    costUsd: null,
  });
  const { items } = await gateway(host).ledger.list({ limit: 10 });
  assert.equal(items.length, 1);
  assert.equal(items[0]!.tokens_estimated, 1);
  assert.equal(items[0]!.tokens_in, 20);
  assert.equal(items[0]!.tokens_out, 10);
});

/** A three-turn conversation with one tool round. */
const CONVERSATION: ChatMessage[] = [
  { role: "user", content: "Weather in Oslo?" },
  {
    role: "assistant",
    content: "Checking.",
    toolCalls: [{ id: "call_1", name: "weather", args: { city: "Oslo" } }],
  },
  { role: "tool", toolCallId: "call_1", name: "weather", content: "-3 °C, snow" },
  { role: "assistant", content: "It is -3 °C with snow." },
  { role: "user", content: "And tomorrow?" },
];

Deno.test("a conversation with a tool round reaches each service in its own shape, the result linked to its call", async () => {
  await using fake = await startFakeLlm();
  for (const service of ["anthropic", "openai", "ollama"] as const) {
    await using host = await llmHost(fake, { chain: [service] });
    const events = await drain(
      gateway(host).chat(ask("", {
        messages: CONVERSATION,
        tools: [WEATHER],
        system: "You are helpful.",
      })),
    );
    assert.equal(events.at(-1)?.type, "stop", `${service} accepted the conversation`);
  }
  const bodies = fake.requests().filter((request) => request.method === "POST")
    .map((request) => request.body as { messages: unknown; system?: unknown });
  assert.deepEqual(bodies[0]!.messages, [
    { role: "user", content: [{ type: "text", text: "Weather in Oslo?" }] },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "call_1", name: "weather", input: { city: "Oslo" } },
      ],
    },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "call_1", content: "-3 °C, snow" }],
    },
    { role: "assistant", content: [{ type: "text", text: "It is -3 °C with snow." }] },
    { role: "user", content: [{ type: "text", text: "And tomorrow?" }] },
  ]);
  assert.equal(bodies[0]!.system, "You are helpful.");
  assert.deepEqual(bodies[1]!.messages, [
    { role: "system", content: "You are helpful." },
    { role: "user", content: "Weather in Oslo?" },
    {
      role: "assistant",
      content: "Checking.",
      tool_calls: [{
        id: "call_1",
        type: "function",
        function: { name: "weather", arguments: '{"city":"Oslo"}' },
      }],
    },
    { role: "tool", tool_call_id: "call_1", content: "-3 °C, snow" },
    { role: "assistant", content: "It is -3 °C with snow." },
    { role: "user", content: "And tomorrow?" },
  ]);
  assert.deepEqual(bodies[2]!.messages, [
    { role: "system", content: "You are helpful." },
    { role: "user", content: "Weather in Oslo?" },
    {
      role: "assistant",
      content: "Checking.",
      tool_calls: [{ function: { name: "weather", arguments: { city: "Oslo" } } }],
    },
    { role: "tool", tool_name: "weather", content: "-3 °C, snow" },
    { role: "assistant", content: "It is -3 °C with snow." },
    { role: "user", content: "And tomorrow?" },
  ]);
});

Deno.test("the reply and background chains use their own models", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, {
    chain: ["openai"],
    llm: {
      roles: {
        reply: [{ provider: "openai", model: "gpt-big" }],
        background: [{ provider: "openai", model: "gpt-small" }],
      },
    },
  });
  const reply = await gateway(host).complete(ask("a"));
  const background = await gateway(host).complete(ask("b", { role: "background" }));
  assert.equal(reply.model, "gpt-big");
  assert.equal(background.model, "gpt-small");
  const sent = fake.requests().filter((request) => request.method === "POST").map((request) =>
    (request.body as { model: string; max_tokens?: number }).max_tokens
  );
  assert.deepEqual(sent, [1024, 512], "the roles' default max tokens");
  assert.equal(MODELS.openai, "gpt-test");
});

Deno.test("Anthropic with toolChoice none still sends the tools, so a history with tool blocks is valid", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, { chain: ["anthropic"] });
  const events = await drain(
    gateway(host).chat(ask("", {
      messages: CONVERSATION,
      tools: [WEATHER],
      toolChoice: "none",
    })),
  );
  assert.equal(events.at(-1)?.type, "stop");
  const body = fake.requests().find((request) => request.path === "/v1/messages")!.body as Record<
    string,
    unknown
  >;
  assert.deepEqual(body.tool_choice, { type: "none" });
  assert.equal((body.tools as unknown[]).length, 1);
});
