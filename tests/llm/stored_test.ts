/**
 * What a turn stores when its reply fails, through `POST /api/chat` (issue
 * #4 acceptance 2, spec/llm.md §6 and §10 items 1, 11–13; mind.md §3.1):
 * a reply cut after output keeps its partial text, flagged `interrupted`;
 * a failure before any output stores no assistant text at all.
 */
import assert from "node:assert/strict";
import { createTestHost, type TestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import { type Scene, startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost, newThread, replyRequests } from "../mind/helpers.ts";
import { eventually, gateway, NO_BACKOFF, settle } from "./helpers.ts";

/** The thread's stored messages as `[role, text]`. */
async function stored(host: TestHost, threadId: string): Promise<Array<[string, string]>> {
  const messages = await host.kernel.mind.conversations!.threadWindow(threadId, {
    maxTokens: 100_000,
  });
  return messages.map((message) => [message.role, message.text]);
}

/** The ids a failed `POST /api/chat` reports. */
function failedTurn(body: Record<string, unknown>): {
  code: string;
  threadId: string;
  turnId: string;
  partial: unknown;
} {
  const error = body.error as { code: string; details: Record<string, unknown> };
  return {
    code: error.code,
    threadId: error.details.thread_id as string,
    turnId: error.details.turn_id as string,
    partial: error.details.partial,
  };
}

/** The reply row of the ledger (not the turn's background calls). */
async function replyRow(host: TestHost) {
  const { items } = await gateway(host).ledger.list({ limit: 50 });
  return items.find((row) => row.purpose === "reply")!;
}

const INTERRUPTIONS: Array<{ name: string; scene: Scene; services: Array<Service> }> = [
  {
    name: "a stream cut after two chunks",
    scene: { reply: { text: ["one ", "two ", "three ", "four"] }, fault: { cutAfterChunks: 2 } },
    services: ["anthropic", "openai", "ollama"],
  },
  {
    name: "a chunk that is not JSON",
    scene: { reply: { text: ["one ", "two ", "three"] }, fault: { malformed: "json" } },
    services: ["anthropic", "openai", "ollama"],
  },
  {
    name: "a chunk with broken framing",
    scene: { reply: { text: ["one ", "two ", "three"] }, fault: { malformed: "framing" } },
    services: ["anthropic", "openai", "ollama"],
  },
  {
    name: "the provider's in-stream error event",
    scene: { reply: { text: ["one ", "two ", "three"] }, fault: { midStreamError: "overloaded" } },
    services: ["anthropic", "openai", "ollama"],
  },
];
type Service = "anthropic" | "openai" | "ollama";

for (const { name, scene, services } of INTERRUPTIONS) {
  for (const service of services) {
    Deno.test(`${service}: after ${name}, the turn keeps the partial reply flagged interrupted and nothing else`, async () => {
      await using fake = await startFakeLlm();
      fake.script({ reply: [scene] });
      await using host = await mindHost(fake, { chain: [service], llm: NO_BACKOFF });
      const response = await settle(host, chat(host, "count please"));
      assert.equal(response.status, 502);
      const failed = failedTurn(response.body);
      assert.equal(failed.code, "LLM_STREAM_INTERRUPTED");
      const expected = typeof failed.partial === "string" ? failed.partial.trim() : "";
      assert.ok(expected.startsWith("one"), `partial ${JSON.stringify(failed.partial)}`);
      assert.ok(!expected.includes("three"), "nothing after the fault");
      assert.deepEqual(await stored(host, failed.threadId), [
        ["user", "count please"],
        ["assistant", expected],
      ]);
      const turn = await host.kernel.mind.turn(failed.turnId);
      assert.equal(turn!.status, "failed");
      assert.equal(turn!.flags.interrupted, true);
      assert.equal(turn!.error?.code, "LLM_STREAM_INTERRUPTED");
      assert.notEqual(turn!.replyMessageId, null);
      assert.equal(replyRequests(fake).length, 1, "not retried after output");
      assert.equal((await replyRow(host)).error_code, "LLM_STREAM_INTERRUPTED");
    });
  }
}

Deno.test("a 529 before any output is retried and the whole reply is stored, not flagged", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reply: [{ fault: { status: 529 } }, { reply: { text: "All good here." } }] });
  await using host = await mindHost(fake, { chain: ["anthropic"], llm: NO_BACKOFF });
  const response = await settle(host, chat(host, "hello"));
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const threadId = response.body.thread_id as string;
  const messages = await stored(host, threadId);
  assert.deepEqual(messages.map(([role]) => role), ["user", "assistant"]);
  assert.match(messages[1]![1], /^All good here\./);
  const turn = await host.kernel.mind.turn(response.body.turn_id as string);
  assert.equal(turn!.status, "completed");
  assert.notEqual(turn!.flags.interrupted, true);
  const row = await replyRow(host);
  assert.equal(row.attempts, 2);
  assert.equal(row.status, "ok");
  assert.equal(row.http_status, null);
});

Deno.test("529 on every attempt: 503 LLM_UNAVAILABLE and only the user message is stored", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reply: [{ fault: { status: 529 }, times: 3 }] });
  await using host = await mindHost(fake, { chain: ["anthropic"], llm: NO_BACKOFF });
  const response = await settle(host, chat(host, "hello"));
  assert.equal(response.status, 503);
  const failed = failedTurn(response.body);
  assert.equal(failed.code, "LLM_UNAVAILABLE");
  assert.deepEqual(await stored(host, failed.threadId), [["user", "hello"]]);
  const turn = await host.kernel.mind.turn(failed.turnId);
  assert.equal(turn!.status, "failed");
  assert.equal(turn!.replyMessageId, null);
  assert.notEqual(turn!.flags.interrupted, true);
  assert.equal(replyRequests(fake).length, 3);
});

Deno.test("with no provider, POST /api/chat is 503 LLM_NOT_CONFIGURED and only the user message is stored", async () => {
  await using host = await createTestHost({ plugins: [...BUILTIN_PLUGINS] });
  const response = await chat(host, "hello");
  assert.equal(response.status, 503);
  const failed = failedTurn(response.body);
  assert.equal(failed.code, "LLM_NOT_CONFIGURED");
  assert.match(
    (response.body.error as { message: string }).message,
    /Set ANTHROPIC_API_KEY, OPENAI_API_KEY \(optionally OPENAI_BASE_URL\) or OLLAMA_HOST/,
  );
  assert.deepEqual(await stored(host, failed.threadId), [["user", "hello"]]);
  const turn = await host.kernel.mind.turn(failed.turnId);
  assert.equal(turn!.replyMessageId, null);
  assert.equal((await gateway(host).ledger.list({ limit: 10 })).items.length, 0);
});

for (const service of ["anthropic", "openai", "ollama"] as const) {
  Deno.test(`${service}: cancelling a running turn aborts the provider call and keeps the partial text flagged`, async () => {
    await using fake = await startFakeLlm();
    fake.script({
      reply: [{
        reply: { text: Array.from({ length: 500 }, (_, i) => `w${i} `) },
        timing: { chunkDelayMs: 10 },
      }],
    });
    await using host = await mindHost(fake, { chain: [service] });
    const thread = { id: await newThread(host) };
    const accepted = await host.request(`/api/threads/${thread.id}/turns`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "talk for a long time" }),
    });
    assert.equal(accepted.status, 202);
    const turnId = (await accepted.json()).turn_id as string;
    const handle = host.kernel.mind.live(turnId)!;
    let streamed = "";
    for await (const event of handle.events) {
      if (event.type === "chat.token") {
        streamed += event.delta;
        if (streamed.length >= 6) break;
      }
    }
    const closed = fake.nextAbort();
    const cancel = await host.request(`/api/turns/${turnId}/cancel`, { method: "POST" });
    assert.equal(cancel.status, 202);
    const outcome = await eventually(handle.done, "the cancelled turn ended");
    await eventually(closed, "the fake saw the provider connection closed");
    assert.equal(outcome.status, "cancelled");
    const turn = await host.kernel.mind.turn(turnId);
    assert.equal(turn!.status, "cancelled");
    assert.equal(turn!.flags.interrupted, true);
    const messages = await stored(host, thread.id);
    assert.deepEqual(messages.map(([role]) => role), ["user", "assistant"]);
    const kept = messages[1]![1];
    assert.ok(kept.startsWith(streamed.trim()), `kept ${JSON.stringify(kept)}`);
    assert.ok(!kept.includes("w499"), "not the whole reply");
    const row = await replyRow(host);
    assert.equal(row.status, "aborted");
    assert.equal(row.error_code, "LLM_ABORTED");
  });
}
