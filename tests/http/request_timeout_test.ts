/**
 * `server.requestTimeoutMs` (spec/server.md §1): a request not answered in
 * time is 504 `TIMEOUT` and its work goes on; the blocking chat keeps its
 * own, longer limit. The wait runs out on the kernel's fake clock while
 * the fake model holds its answer.
 */
import assert from "node:assert/strict";
import { createTestHost } from "@synth/testing";
import { nextTask } from "../../src/clock.ts";
import { UNTIMED_REQUESTS } from "../../src/kernel.ts";
import { definePlugin } from "../../src/plugin/define.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { eventually } from "../llm/helpers.ts";
import { chat, mindHost } from "../mind/helpers.ts";

const generate = (prompt: string) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ prompt }),
});

Deno.test("a request not answered within server.requestTimeoutMs is 504 TIMEOUT with a request id; its work goes on and is recorded", async () => {
  await using fake = await startFakeLlm();
  const model = Promise.withResolvers<void>();
  fake.script({
    generate: [{ reply: { text: "Late answer." }, timing: { heldUntil: model.promise } }],
  });
  await using host = await mindHost(fake, { config: { server: { requestTimeoutMs: 5_000 } } });
  // Watches (does not replace) the ledger, to see the generation finish after the 504.
  const ledger = host.kernel.llm.ledger;
  const record = ledger.record.bind(ledger);
  const recorded = Promise.withResolvers<string>();
  ledger.record = (row) => {
    record(row);
    recorded.resolve(row.status);
  };
  const answer = host.request("/api/generate", {
    ...generate("Take your time"),
    headers: { "content-type": "application/json", "x-request-id": "slow-1" },
  });
  await fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "generate");
  let answered = false;
  void answer.then(() => answered = true);
  await host.clock.tick(4_999);
  await nextTask();
  assert.equal(answered, false, "not answered 1 ms before the limit");
  await host.clock.tick(1);
  const response = await answer;
  assert.equal(response.status, 504);
  assert.deepEqual(await response.json(), {
    success: false,
    error: {
      code: "TIMEOUT",
      message: "The request took longer than the server allows",
      request_id: "slow-1",
    },
  });
  assert.equal(response.headers.get("x-request-id"), "slow-1");
  const logged = host.logs.find((record) => record.msg === "request timed out");
  assert.equal(logged?.level, "warn");
  assert.equal(logged?.code, "TIMEOUT");
  // The generation was not cut off: it finishes after the 504 and the ledger records it.
  model.resolve();
  assert.equal(await eventually(recorded.promise, "the late generation was recorded"), "ok");
  const rows = await (await host.request("/api/ledger?module=generate")).json();
  assert.equal(rows.items.length, 1);
  // The server still answers, and a quick request is untouched by the limit.
  fake.script({ generate: [{ reply: { text: "Quick." } }] });
  const quick = await host.request("/api/generate", generate("Now quickly"));
  assert.equal(quick.status, 200);
  assert.equal((await quick.json()).response, "Quick.");
});

Deno.test("the blocking POST /api/chat is not cut at server.requestTimeoutMs: it waits chat.blockingTimeoutMs", async () => {
  await using fake = await startFakeLlm();
  const model = Promise.withResolvers<void>();
  fake.script({
    reply: [{ reply: { text: "Worth the wait." }, timing: { heldUntil: model.promise } }],
  });
  await using host = await mindHost(fake, {
    config: { server: { requestTimeoutMs: 1_000 }, chat: { blockingTimeoutMs: 60_000 } },
  });
  const answer = chat(host, "Think it over");
  await fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "reply");
  // Well past the request limit while the model holds its answer: a 504 would be answered now.
  await host.clock.tick(5_000);
  model.resolve();
  const reply = await answer;
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body.response, "Worth the wait.");
});

/** A plugin whose routes answer when the test says so. */
function slowPlugin(gate: Promise<void>, done: string[]) {
  return definePlugin({
    manifest: { id: "slow", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.http.post("/work", async (c) => {
        await gate;
        done.push("work");
        return c.json({ ok: true });
      });
      // A stream that starts at once and ends when the gate opens.
      ctx.http.get("/stream", (c) =>
        c.body(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode("first\n"));
              await gate;
              controller.enqueue(new TextEncoder().encode("last\n"));
              controller.close();
            },
          }),
        ));
    },
  });
}

Deno.test("a handler cut off by server.requestTimeoutMs still finishes its work, and shutdown waits for it; a stream that has started is not cut", async () => {
  const gate = Promise.withResolvers<void>();
  const done: string[] = [];
  await using host = await createTestHost({
    plugins: [slowPlugin(gate.promise, done)],
    config: { server: { requestTimeoutMs: 30_000 } },
  });
  const work = host.request("/api/slow/work", { method: "POST" });
  const stream = await host.request("/api/slow/stream");
  assert.equal(stream.status, 200);
  await host.clock.tick(30_000);
  const cut = await eventually(work, "the 504");
  assert.equal(cut.status, 504);
  assert.equal((await cut.json()).error.code, "TIMEOUT");
  assert.deepEqual(done, [], "the handler is still waiting");
  // Shutdown waits for it (serveKernel awaits this within its grace time).
  let settled = false;
  const settling = host.kernel.requestTimer.settled().then(() => settled = true);
  await nextTask();
  assert.equal(settled, false, "a handler answered 504 is still counted as running");
  gate.resolve();
  assert.equal(await stream.text(), "first\nlast\n");
  await settling;
  // The dropped handler ran to its end after the 504.
  assert.deepEqual(done, ["work"]);
});

Deno.test("the OpenAPI document marks exactly the untimed requests: no 504 TIMEOUT on them, one on every other /api operation", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const document = await (await host.request("/openapi.json")).json();
  const untimed: string[] = [];
  for (const [path, item] of Object.entries(document.paths as Record<string, object>)) {
    if (!path.startsWith("/api/")) continue;
    for (const [method, operation] of Object.entries(item)) {
      const timeout = (operation as { responses: Record<string, { description: string }> })
        .responses["504"];
      if (!timeout?.description.includes("server.requestTimeoutMs")) {
        untimed.push(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  assert.deepEqual(untimed.sort(), [...UNTIMED_REQUESTS].sort());
});
