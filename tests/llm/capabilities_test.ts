/**
 * Learned capabilities and JSON tool mode (spec/llm.md §10 items 15–16).
 */
import assert from "node:assert/strict";
import type { ToolSpec } from "@synth/kernel";
import { makeTestDir } from "@synth/testing";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { ask, chatRequests, drain, gateway, llmHost, MODELS, textOf } from "./helpers.ts";

const CALC: ToolSpec = {
  name: "calculator",
  description: "Evaluates arithmetic",
  parameters: { type: "object", properties: { expression: { type: "string" } } },
};

Deno.test("a 400 naming temperature is retried once without it, learned, and remembered after restart", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      fault: {
        status: 400,
        message: "Unsupported value: 'temperature' does not support 0.5 with this model.",
      },
    }],
  });
  const dataDir = await makeTestDir("synth-learn-");
  try {
    {
      await using host = await llmHost(fake, { chain: ["openai"], dataDir });
      const completion = await gateway(host).complete(ask("hi", { temperature: 0.5 }));
      assert.match(completion.text, /^fake:/);
      await gateway(host).complete(ask("again", { temperature: 0.5 }));
      const sent = chatRequests(fake).map((request) =>
        (request.body as { temperature?: number }).temperature
      );
      assert.deepEqual(sent, [0.5, undefined, undefined]);
      const learned = host.logs.filter((record) => record.code === "LLM_CAPABILITY_LEARNED");
      assert.equal(learned.length, 1, "logged once");
      const [row] = (await gateway(host).ledger.list({ limit: 1, module: "test" })).items;
      assert.equal(row!.status, "ok");
    }
    fake.reset();
    await using restarted = await llmHost(fake, { chain: ["openai"], dataDir });
    await gateway(restarted).complete(ask("after restart", { temperature: 0.5 }));
    assert.equal(
      (chatRequests(fake)[0]!.body as { temperature?: number }).temperature,
      undefined,
      "the learned capability survives a restart",
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a 400 naming max_tokens switches to the other token parameter", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      fault: {
        status: 400,
        message:
          "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      },
    }],
  });
  await using host = await llmHost(fake, { chain: ["openai"] });
  await gateway(host).complete(ask("hi", { maxTokens: 64 }));
  const bodies = chatRequests(fake).map((request) =>
    request.body as { max_tokens?: number; max_completion_tokens?: number }
  );
  assert.deepEqual(bodies.map((body) => [body.max_tokens, body.max_completion_tokens]), [
    [64, undefined],
    [undefined, 64],
  ]);
});

Deno.test("Ollama's 'does not support tools' switches that model to JSON tool mode", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      match: { service: "ollama" },
      fault: {
        status: 400,
        message: `registry.ollama.ai/library/${MODELS.ollama} does not support tools`,
      },
    }, {
      match: { service: "ollama" },
      reply: { text: '{"tool_calls":[{"name":"calculator","arguments":{"expression":"6*7"}}]}' },
    }],
  });
  await using host = await llmHost(fake, { chain: ["ollama"] });
  const events = await drain(gateway(host).chat(ask("what is 6*7?", { tools: [CALC] })));
  const call = events.find((event) => event.type === "tool_call");
  assert.ok(call?.type === "tool_call");
  assert.equal(call.call.name, "calculator");
  assert.deepEqual(call.call.args, { expression: "6*7" });
  assert.match(call.call.id, /^call_\d+$/);
  const [first, second] = chatRequests(fake).map((request) =>
    request.body as { tools?: unknown; messages: Array<{ role: string; content: string }> }
  );
  assert.ok(first!.tools, "native tools were offered first");
  assert.equal(second!.tools, undefined, "JSON mode offers no native tools");
  assert.match(second!.messages[0]!.content, /To call tools, answer with only this JSON/);
  assert.match(second!.messages[0]!.content, /calculator: Evaluates arithmetic/);
});

Deno.test("JSON tool mode: a fenced call becomes a tool_call, prose streams, an unknown tool is text", async () => {
  const fenced =
    'Sure.\n```json\n{"tool_calls":[{"name":"calculator","arguments":{"expression":"1+1",}}]}\n```';
  await using fake = await startFakeLlm({
    scenes: [
      { reply: { text: ["```json\n", fenced.slice(6 + 8)] } },
      { reply: { text: ["The answer ", "is two."] } },
      { reply: { text: '{"tool_calls":[{"name":"launch_rockets","arguments":{}}]}' } },
      { reply: { text: '{"tool": "calculator", "args": "{\\"expression\\": \\"2*3\\"}"}' } },
    ],
  });
  await using host = await llmHost(fake, {
    chain: ["ollama"],
    llm: { roles: { reply: [{ provider: "ollama", model: MODELS.ollama, tools: "json" }] } },
  });
  const llm = gateway(host);
  const tools = [CALC];

  const first = await drain(llm.chat(ask("1+1?", { tools })));
  assert.deepEqual(first.map((event) => event.type), ["start", "tool_call", "usage", "stop"]);
  const call = first[1];
  assert.ok(call?.type === "tool_call");
  assert.deepEqual(call.call.args, { expression: "1+1" }, "the trailing comma was repaired");
  assert.deepEqual(first.at(-1), { type: "stop", reason: "tool_calls", providerReason: "stop" });

  const prose = await drain(llm.chat(ask("explain", { tools })));
  assert.deepEqual(prose.filter((event) => event.type === "text").length, 2, "prose streams");
  assert.equal(textOf(prose), "The answer is two.");

  const unknown = await drain(llm.chat(ask("launch", { tools })));
  assert.equal(unknown.filter((event) => event.type === "tool_call").length, 0);
  assert.match(textOf(unknown), /launch_rockets/);
  assert.equal(unknown.at(-1)?.type, "stop");

  const alternative = await drain(llm.chat(ask("2*3?", { tools })));
  const altCall = alternative.find((event) => event.type === "tool_call");
  assert.ok(altCall?.type === "tool_call");
  assert.deepEqual(altCall.call.args, { expression: "2*3" }, "{tool, args} with string arguments");
  assert.equal(
    chatRequests(fake).every((request) => !(request.body as { tools?: unknown }).tools),
    true,
  );
});
