/**
 * `completeJson`: one repair attempt, then `parse_failed` in the ledger.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { ask, chatRequests, gateway, llmHost } from "./helpers.ts";

const Forecast = z.strictObject({ text: z.string(), probability: z.number().min(0).max(1) });

Deno.test("completeJson accepts fenced JSON and validates it", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: '```json\n{"text": "asks about tests", "probability": 0.6}\n```' } }],
  });
  await using host = await llmHost(fake);
  const value = await gateway(host).completeJson(ask("forecast"), Forecast);
  assert.deepEqual(value, { text: "asks about tests", probability: 0.6 });
  const system = (chatRequests(fake)[0]!.body as { messages: Array<{ content: string }> })
    .messages[0]!.content;
  assert.match(system, /Answer with only one JSON value/);
});

Deno.test("an invalid answer gets one repair turn naming the problem", async () => {
  await using fake = await startFakeLlm({
    scenes: [
      { reply: { text: '{"text": "x", "probability": 7}' } },
      { reply: { text: '{"text": "x", "probability": 0.7}' } },
    ],
  });
  await using host = await llmHost(fake);
  const value = await gateway(host).completeJson(ask("forecast"), Forecast);
  assert.equal(value.probability, 0.7);
  const repair =
    (chatRequests(fake)[1]!.body as { messages: Array<{ role: string; content: string }> })
      .messages;
  assert.equal(repair.at(-2)!.role, "assistant");
  assert.match(repair.at(-1)!.content, /probability: Too big/);
});

Deno.test("a second invalid answer throws LLM_JSON_INVALID and marks the row parse_failed", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: "I think they will ask about tests." }, times: 2 }],
  });
  await using host = await llmHost(fake);
  await assert.rejects(
    () => gateway(host).completeJson(ask("forecast"), Forecast),
    (error: Error & { code?: string }) => error.code === "LLM_JSON_INVALID",
  );
  const rows = (await gateway(host).ledger.list({ limit: 5 })).items;
  assert.deepEqual(rows.map((item) => item.status), ["parse_failed", "ok"]);
});
