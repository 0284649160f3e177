/**
 * Request mapping as the fake sees it on the wire (spec/llm.md §4.1: stop
 * sequences, tool choice, stop reasons) and the limits of §5 and §6:
 * the idle timeout after output, `totalMs`, and 413 as
 * `LLM_CONTEXT_TOO_LONG` end to end.
 */
import assert from "node:assert/strict";
import type { ChatEvent, ChatRequest, ToolSpec } from "@synth/kernel";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost, replyRequests } from "../mind/helpers.ts";
import { ask, chatRequests, drain, eventually, gateway, llmHost, settle } from "./helpers.ts";

const WEATHER: ToolSpec = {
  name: "weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } } },
};
const TIME: ToolSpec = {
  name: "time",
  description: "The time in a city",
  parameters: { type: "object", properties: { city: { type: "string" } } },
};

type Service = "anthropic" | "openai" | "ollama";

/** The body the fake received for one request. */
async function sentBody(
  service: Service,
  extra: Partial<ChatRequest>,
): Promise<Record<string, unknown>> {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, { chain: [service] });
  const events = await drain(gateway(host).chat(ask("hi", extra)));
  assert.equal(events.at(-1)?.type, "stop", JSON.stringify(events.at(-1)));
  return chatRequests(fake)[0]!.body as Record<string, unknown>;
}

Deno.test("stop sequences reach each service in its own field (OpenAI: at most 4)", async () => {
  const stop = ["END", "###", "\n\nUser:", "STOP", "fifth"];
  const anthropic = await sentBody("anthropic", { stop });
  assert.deepEqual(anthropic.stop_sequences, stop);
  assert.equal(anthropic.stop, undefined);
  const openai = await sentBody("openai", { stop });
  assert.deepEqual(openai.stop, stop.slice(0, 4));
  const ollama = await sentBody("ollama", { stop });
  assert.deepEqual((ollama.options as Record<string, unknown>).stop, stop);
  assert.equal(ollama.stop, undefined, "never at the top level");
  for (const service of ["anthropic", "openai", "ollama"] as const) {
    const body = await sentBody(service, {});
    assert.equal(
      body.stop_sequences ?? body.stop,
      undefined,
      `${service}: no stop when none asked`,
    );
  }
});

Deno.test("toolChoice reaches each service in its own shape", async () => {
  const tools = [WEATHER, TIME];
  const cases: Array<[ChatRequest["toolChoice"], Record<Service, unknown>]> = [
    ["auto", { anthropic: { type: "auto" }, openai: "auto", ollama: undefined }],
    ["none", { anthropic: { type: "none" }, openai: "none", ollama: undefined }],
    [{ name: "time" }, {
      anthropic: { type: "tool", name: "time" },
      openai: { type: "function", function: { name: "time" } },
      ollama: undefined,
    }],
  ];
  for (const [toolChoice, expected] of cases) {
    for (const service of ["anthropic", "openai", "ollama"] as const) {
      const body = await sentBody(service, { tools, ...(toolChoice ? { toolChoice } : {}) });
      assert.deepEqual(
        body.tool_choice,
        expected[service],
        `${service} ${JSON.stringify(toolChoice)}`,
      );
      // Ollama has no tool_choice: "none" means the tools are left out.
      const offered = (body.tools as unknown[] | undefined)?.length ?? 0;
      assert.equal(offered, service === "ollama" && toolChoice === "none" ? 0 : 2, service);
    }
  }
});

Deno.test("provider stop reasons map to ours: stop sequence and length", async () => {
  const cases: Array<[Service, string, string]> = [
    ["anthropic", "stop_sequence", "stop_sequence"],
    ["anthropic", "max_tokens", "max_tokens"],
    ["anthropic", "refusal", "refusal"],
    ["openai", "length", "max_tokens"],
    ["openai", "content_filter", "content_filter"],
    ["ollama", "length", "max_tokens"],
    ["ollama", "unload", "other"],
  ];
  for (const [service, providerReason, reason] of cases) {
    await using fake = await startFakeLlm({
      scenes: [{ reply: { text: "Partial answer", stopReason: providerReason } }],
    });
    await using host = await llmHost(fake, { chain: [service] });
    const events = await drain(gateway(host).chat(ask("hi")));
    assert.deepEqual(events.at(-1), { type: "stop", reason, providerReason }, service);
  }
});

/** Reads a stream up to its first text event; the rest is read by the caller. */
async function untilText(
  stream: AsyncIterable<ChatEvent>,
): Promise<{ text: string; rest: AsyncIterator<ChatEvent> }> {
  const iterator = stream[Symbol.asyncIterator]();
  for (;;) {
    const next = await iterator.next();
    assert.ok(!next.done, "the stream ended before any text");
    if (next.value.type === "text") return { text: next.value.delta, rest: iterator };
  }
}

/** The remaining events of a stream. */
async function remaining(iterator: AsyncIterator<ChatEvent>): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    events.push(next.value);
  }
  return events;
}

Deno.test("a stream silent for idleMs after output ends with LLM_STREAM_INTERRUPTED, partial, and the connection closed", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      reply: { text: ["first ", "never sent"] },
      timing: { chunkDelayMs: 3_600_000 }, // the second chunk would come an hour later
    }],
  });
  await using host = await llmHost(fake, {
    chain: ["ollama", "openai"],
    llm: { timeouts: { reply: { idleMs: 5_000 } } },
  });
  const closed = fake.nextAbort();
  // The idle timer is armed before the text event is handed out.
  const { text, rest } = await untilText(gateway(host).chat(ask("hi")));
  assert.equal(text, "first ");
  let ended = false;
  const tail = remaining(rest).finally(() => (ended = true));
  await host.clock.tick(4_999);
  await Promise.resolve();
  assert.equal(ended, false, "still streaming just before the limit");
  await host.clock.tick(1);
  const events = await eventually(tail, "the stream ended");
  const last = events.at(-1);
  assert.ok(last?.type === "error", JSON.stringify(last));
  assert.deepEqual([last.error.code, last.error.partial], ["LLM_STREAM_INTERRUPTED", true]);
  await eventually(closed, "the fake saw the connection closed");
  assert.equal(chatRequests(fake, "openai").length, 0, "no failover after output");
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.error_code, "LLM_STREAM_INTERRUPTED");
});

Deno.test("totalMs bounds all attempts: before output LLM_TIMEOUT names the limit; after output it is partial", async () => {
  await using fake = await startFakeLlm({
    scenes: [
      { fault: { hangMs: 3_600_000 } },
      { reply: { text: ["begun ", "never sent"] }, timing: { chunkDelayMs: 3_600_000 } },
    ],
  });
  await using host = await llmHost(fake, {
    chain: ["ollama"],
    llm: {
      timeouts: {
        reply: { connectMs: 60_000, firstTokenMs: 60_000, idleMs: 60_000, totalMs: 10_000 },
      },
    },
  });
  const silent = drain(gateway(host).chat(ask("first")));
  await fake.untilRequests(1, (request) => request.path === "/api/chat");
  await host.clock.untilTimer((ms) => ms === 10_000);
  await host.clock.tick(10_000);
  const before = (await eventually(silent, "the silent request ended")).at(-1);
  assert.ok(before?.type === "error");
  assert.equal(before.error.code, "LLM_TIMEOUT");
  assert.equal(before.error.partial, false);
  assert.equal(
    before.error.message,
    "The language model did not finish within 10000 ms (llm.timeouts.reply.totalMs)",
  );

  const { text, rest } = await untilText(gateway(host).chat(ask("second")));
  assert.equal(text, "begun ");
  const tail = remaining(rest);
  await host.clock.tick(10_000);
  const after = (await eventually(tail, "the slow request ended")).at(-1);
  assert.ok(after?.type === "error", JSON.stringify(after));
  assert.deepEqual([after.error.code, after.error.partial], ["LLM_TIMEOUT", true]);
  const rows = (await gateway(host).ledger.list({ limit: 2 })).items;
  assert.deepEqual(rows.map((row) => row.error_code), ["LLM_TIMEOUT", "LLM_TIMEOUT"]);
});

for (const service of ["anthropic", "openai", "ollama"] as const) {
  Deno.test(`${service}: 413 is LLM_CONTEXT_TOO_LONG through POST /api/chat, not retried or failed over, no reply stored`, async () => {
    await using fake = await startFakeLlm();
    fake.script({
      reply: [{
        match: { service },
        fault: { status: 413, message: "prompt is too long: 250000 tokens > 200000 maximum" },
      }],
    });
    const other = service === "openai" ? "anthropic" : "openai";
    await using host = await mindHost(fake, { chain: [service, other] });
    const response = await settle(host, chat(host, "a very long question"));
    assert.equal(response.status, 413);
    const error = response.body.error as { code: string; message: string; details: never };
    assert.equal(error.code, "LLM_CONTEXT_TOO_LONG");
    assert.ok(!error.message.includes("250000"), "no provider body in the message");
    assert.equal(replyRequests(fake).length, 1, "one attempt, no failover");
    const { thread_id: threadId } = error.details as { thread_id: string };
    const messages = await host.kernel.mind.conversations!.threadWindow(threadId, {
      maxTokens: 100_000,
    });
    assert.deepEqual(messages.map((message) => message.role), ["user"]);
  });
}
