/**
 * Every provider through its official SDK, streamed (`chat`) and collected
 * (`complete`), with and without tools (issue #4 acceptance 1). `complete`
 * collects the stream (spec/llm.md §3), so the wire request streams in both.
 */
import assert from "node:assert/strict";
import type { ChatEvent, Completion, ToolSpec } from "@synth/kernel";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { ask, chatRequests, drain, gateway, llmHost, MODELS } from "./helpers.ts";

const WEATHER: ToolSpec = {
  name: "weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

/** What each service calls a finished reply and a reply ending in tool calls. */
const PROVIDER_STOP = {
  anthropic: { end: "end_turn", tools: "tool_use" },
  openai: { end: "stop", tools: "tool_calls" },
  ollama: { end: "stop", tools: "stop" },
} as const;
const CALL_ID = { anthropic: /^toolu_\d+$/, openai: /^call_\d+$/, ollama: /^call_\d+$/ } as const;

/** The completion a stream of events amounts to (the same shape `complete` returns). */
function collected(events: readonly ChatEvent[]): Omit<Completion, "usage"> & {
  usage: { inputTokens: number; outputTokens: number; estimated: boolean };
} {
  const start = events.find((event) => event.type === "start");
  const usage = events.find((event) => event.type === "usage");
  const stop = events.at(-1);
  assert.ok(start?.type === "start" && usage?.type === "usage", JSON.stringify(events));
  assert.ok(stop?.type === "stop", `the stream ended with ${JSON.stringify(stop)}`);
  assert.deepEqual(
    events.map((event) => event.type).filter((type) => type !== "text" && type !== "tool_call"),
    ["start", "usage", "stop"],
    "one start, one usage, one stop, in that order",
  );
  return {
    text: events.map((event) => event.type === "text" ? event.delta : "").join(""),
    toolCalls: events.flatMap((event) => event.type === "tool_call" ? [event.call] : []),
    usage: {
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      estimated: usage.estimated,
    },
    stop: { reason: stop.reason, providerReason: stop.providerReason },
    provider: start.provider,
    model: start.model,
  };
}

for (const service of ["anthropic", "openai", "ollama"] as const) {
  for (const mode of ["chat", "complete"] as const) {
    for (const withTools of [true, false]) {
      Deno.test(`${service} × ${mode} × ${withTools ? "tools" : "no tools"}: the reply, its calls, usage and stop reason`, async () => {
        await using fake = await startFakeLlm({
          scenes: [{
            reply: withTools
              ? {
                text: ["Let me ", "check."],
                toolCalls: [{ name: "weather", args: { city: "Oslo" } }],
                usage: { input: 31, output: 9 },
              }
              : { text: ["Hello ", "there, ", "friend."], usage: { input: 21, output: 4 } },
          }],
        });
        await using host = await llmHost(fake, { chain: [service] });
        const request = ask("Weather in Oslo?", withTools ? { tools: [WEATHER] } : {});
        const result = mode === "chat"
          ? collected(await drain(gateway(host).chat(request)))
          : await gateway(host).complete(request);

        assert.equal(result.provider, service);
        assert.equal(result.model, MODELS[service]);
        assert.deepEqual(
          result.usage,
          withTools
            ? { inputTokens: 31, outputTokens: 9, estimated: false }
            : { inputTokens: 21, outputTokens: 4, estimated: false },
        );
        if (withTools) {
          assert.equal(result.text, "Let me check.");
          assert.equal(result.toolCalls.length, 1);
          const [call] = result.toolCalls;
          assert.match(call!.id, CALL_ID[service]);
          assert.equal(call!.name, "weather");
          assert.deepEqual(call!.args, { city: "Oslo" });
          assert.equal(call!.parseError, undefined);
          assert.deepEqual(result.stop, {
            reason: "tool_calls",
            providerReason: PROVIDER_STOP[service].tools,
          });
        } else {
          assert.equal(result.text, "Hello there, friend.");
          assert.deepEqual(result.toolCalls, []);
          assert.deepEqual(result.stop, {
            reason: "end",
            providerReason: PROVIDER_STOP[service].end,
          });
        }

        const [sent] = chatRequests(fake);
        const body = sent!.body as Record<string, unknown>;
        assert.equal(body.stream, true);
        assert.equal(body.model, MODELS[service]);
        assert.equal(Array.isArray(body.tools), withTools, "tools offered only when asked");
        const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
        assert.equal(row!.status, "ok");
        assert.equal(row!.tool_calls, withTools ? 1 : 0);
        assert.equal(row!.stop_reason, result.stop.providerReason);
      });
    }
  }
}
