/**
 * Aborting a request closes the provider connection at once, for every
 * SDK (spec/llm.md §5 "Abort", §10 item 13). The spec bounds the close at
 * 200 ms; the test awaits the fake's close event and checks a generous
 * 1,000 ms bound so a loaded machine does not fail it. `deno task bench`
 * is where speed is measured.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { ask, chatRequests, eventually, gateway, llmHost } from "./helpers.ts";

const GENEROUS_MS = 1_000;

for (const service of ["anthropic", "openai", "ollama"] as const) {
  Deno.test(`${service}: an abort after the first token closes the fake's connection soon after; the row says aborted`, async () => {
    await using fake = await startFakeLlm({
      scenes: [{
        reply: { text: Array.from({ length: 500 }, (_, i) => `w${i} `) },
        timing: { chunkDelayMs: 10 },
      }],
    });
    await using host = await llmHost(fake, { chain: [service, "openai"] });
    const controller = new AbortController();
    const closed = fake.nextAbort();
    let abortedAt = 0;
    const events = [];
    for await (const event of gateway(host).chat(ask("long", { signal: controller.signal }))) {
      events.push(event);
      if (event.type === "text" && abortedAt === 0) {
        abortedAt = performance.now();
        controller.abort();
      }
    }
    await eventually(closed, "the fake saw its connection closed");
    const elapsed = performance.now() - abortedAt;
    assert.ok(elapsed < GENEROUS_MS, `closed ${elapsed.toFixed(1)} ms after the abort`);
    assert.equal(fake.aborted, 1);
    const last = events.at(-1);
    assert.ok(last?.type === "error");
    assert.deepEqual([last.error.code, last.error.partial], ["LLM_ABORTED", true]);
    assert.equal(chatRequests(fake).length, 1, "no retry and no failover after an abort");
    const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
    assert.equal(row!.status, "aborted");
  });

  Deno.test(`${service}: an abort before the first token closes the waiting connection; nothing is retried`, async () => {
    await using fake = await startFakeLlm({
      scenes: [{ reply: { text: "late" }, timing: { firstTokenDelayMs: 3_600_000 } }],
    });
    await using host = await llmHost(fake, { chain: [service, "openai"] });
    const controller = new AbortController();
    const closed = fake.nextAbort();
    const stream = gateway(host).chat(ask("wait", { signal: controller.signal }));
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    await fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "reply");
    controller.abort();
    const event = await eventually(first, "the stream answered the abort");
    assert.ok(!event.done && event.value.type === "error", JSON.stringify(event));
    assert.deepEqual([event.value.error.code, event.value.error.partial], ["LLM_ABORTED", false]);
    assert.equal((await iterator.next()).done, true);
    await eventually(closed, "the fake saw the waiting connection closed");
    assert.equal(chatRequests(fake).length, 1, "no retry and no failover after an abort");
    const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
    assert.equal(row!.status, "aborted");
  });
}
