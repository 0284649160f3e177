/**
 * Retries, failover, breakers, timeouts, cuts and aborts on the fake clock
 * (spec/llm.md §10 items 7–13).
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import {
  ask,
  chatRequests,
  closedPort,
  drain,
  eventually,
  gateway,
  llmHost,
  NO_BACKOFF,
  settle,
  textOf,
} from "./helpers.ts";

Deno.test("429 with retry-after: 1 is retried after a second and succeeds; the ledger says 2 attempts", async () => {
  await using fake = await startFakeLlm({ scenes: [{ fault: { status: 429, retryAfter: "1" } }] });
  await using host = await llmHost(fake, { chain: ["openai"] });
  const started = host.clock.now();
  const reply = gateway(host).complete(ask("hello"));
  await host.clock.untilTimer((ms) => ms === 1_000);
  assert.equal(chatRequests(fake).length, 1, "no second attempt before the wait");
  await host.clock.tick(999);
  assert.equal(chatRequests(fake).length, 1, "still waiting at 999 ms");
  await host.clock.tick(1);
  const completion = await settle(host, reply);
  assert.match(completion.text, /^fake:gpt-test:hello/);
  assert.equal(chatRequests(fake).length, 2);
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.attempts, 2);
  assert.equal(row!.status, "ok");
  assert.equal(
    row!.http_status,
    null,
    "the 429 of the first attempt does not describe the success",
  );
  assert.ok(row!.latency_ms >= 1_000, `latency ${row!.latency_ms} covers the wait`);
  assert.ok(host.clock.now() - started >= 1_000);
});

Deno.test("500, 500, then success is three attempts at one provider", async () => {
  await using fake = await startFakeLlm({ scenes: [{ fault: { status: 500 }, times: 2 }] });
  await using host = await llmHost(fake, { chain: ["openai", "anthropic"], llm: NO_BACKOFF });
  const events = await settle(host, drain(gateway(host).chat(ask("hi"))));
  assert.equal(chatRequests(fake, "openai").length, 3);
  assert.equal(chatRequests(fake, "anthropic").length, 0);
  const starts = events.filter((event) => event.type === "start");
  assert.deepEqual(starts, [{
    type: "start",
    provider: "openai",
    model: "gpt-test",
    attempt: 3,
    failoverIndex: 0,
  }]);
});

Deno.test("three 500s fail over: the consumer sees one start, from the next entry", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { service: "openai" }, fault: { status: 500 }, times: 3 }],
  });
  await using host = await llmHost(fake, { chain: ["openai", "anthropic"], llm: NO_BACKOFF });
  const events = await settle(host, drain(gateway(host).chat(ask("hi"))));
  assert.equal(chatRequests(fake, "openai").length, 3);
  assert.equal(chatRequests(fake, "anthropic").length, 1);
  const starts = events.filter((event) => event.type === "start");
  assert.equal(starts.length, 1);
  assert.deepEqual(starts[0], {
    type: "start",
    provider: "anthropic",
    model: "claude-test",
    attempt: 4,
    failoverIndex: 1,
  });
  assert.equal(events.filter((event) => event.type === "error").length, 0);
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.provider, "anthropic");
  assert.equal(row!.failover_index, 1);
  assert.equal(row!.attempts, 4);
});

Deno.test("retry-after: 120 fails over at once and marks the provider throttled", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { service: "openai" }, fault: { status: 429, retryAfter: "120" } }],
  });
  await using host = await llmHost(fake, { chain: ["openai", "anthropic"] });
  const timeBefore = host.clock.now();
  const completion = await gateway(host).complete(ask("hi"));
  assert.equal(host.clock.now(), timeBefore, "no time passed");
  assert.equal(completion.provider, "anthropic");
  const openai = gateway(host).status().entries.find((entry) =>
    entry.role === "reply" && entry.provider === "openai"
  );
  assert.equal(openai?.state, "throttled");
  // While throttled, openai is skipped without a request.
  await gateway(host).complete(ask("again"));
  assert.equal(chatRequests(fake, "openai").length, 1);
});

Deno.test("connection refused fails over at once; five failures open the breaker; after 30 s one probe goes through", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, {
    chain: ["ollama", "openai"],
    env: { OLLAMA_HOST: `127.0.0.1:${closedPort()}` },
  });
  const llm = gateway(host);
  const rows = async () => (await llm.ledger.list({ limit: 1 })).items[0]!;
  for (let i = 1; i <= 5; i++) {
    const completion = await llm.complete(ask(`request ${i}`));
    assert.equal(completion.provider, "openai");
    assert.equal((await rows()).attempts, 2, `request ${i} tried ollama once, then openai`);
  }
  const ollama = () =>
    llm.status().entries.find((entry) => entry.role === "reply" && entry.provider === "ollama");
  assert.equal(ollama()?.state, "breaker_open");
  assert.match(ollama()?.reason ?? "", /connection refused at 127\.0\.0\.1:\d+/);

  await llm.complete(ask("request 6"));
  assert.equal((await rows()).attempts, 1, "the open breaker skips ollama without a connection");

  await host.clock.tick(29_999);
  await llm.complete(ask("request 7"));
  assert.equal((await rows()).attempts, 1, "still open just before 30 s");

  await host.clock.tick(1);
  await llm.complete(ask("request 8"));
  assert.equal((await rows()).attempts, 2, "half-open lets one request through");
  await llm.complete(ask("request 9"));
  assert.equal((await rows()).attempts, 1, "the failed probe re-opened it");
});

Deno.test("a first token slower than firstTokenMs times out, is retried, then fails over", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { service: "openai" }, fault: { hangMs: 600_000 }, times: 3 }],
  });
  await using host = await llmHost(fake, {
    chain: ["openai", "anthropic"],
    llm: { ...NO_BACKOFF, timeouts: { reply: { connectMs: 30_000, firstTokenMs: 30_000 } } },
  });
  const reply = drain(gateway(host).chat(ask("hi")));
  for (let attempt = 1; attempt <= 3; attempt++) {
    // The timer starts before the request leaves: wait until the fake holds it.
    await fake.untilRequests(attempt, (request) => request.service === "openai");
    await host.clock.untilTimer((ms) => ms === 30_000);
    await host.clock.tick(30_000);
  }
  const events = await settle(host, reply);
  assert.equal(chatRequests(fake, "openai").length, 3);
  const start = events.find((event) => event.type === "start");
  assert.equal(start?.type === "start" && start.provider, "anthropic");
  assert.equal(events.at(-1)?.type, "stop");
});

Deno.test("only timeouts: LLM_TIMEOUT names the limit", async () => {
  await using fake = await startFakeLlm({ scenes: [{ fault: { hangMs: 600_000 } }] });
  await using host = await llmHost(fake, {
    chain: ["openai"],
    llm: {
      retry: { maxRetries: 0 },
      timeouts: { reply: { connectMs: 60_000, firstTokenMs: 30_000 } },
    },
  });
  const reply = drain(gateway(host).chat(ask("hi")));
  await host.clock.untilTimer((ms) => ms === 30_000);
  await host.clock.tick(30_000);
  const events = await reply;
  const last = events.at(-1);
  assert.ok(last?.type === "error");
  assert.equal(last.error.code, "LLM_TIMEOUT");
  assert.equal(
    last.error.message,
    "The language model did not answer in time (openai: no first token within 30000 ms)",
  );
});

Deno.test("a stream cut after 3 chunks ends with LLM_STREAM_INTERRUPTED, partial, not retried, text kept", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      reply: { text: ["one ", "two ", "three ", "four ", "five"] },
      fault: { cutAfterChunks: 3 },
    }],
  });
  await using host = await llmHost(fake, { chain: ["openai", "anthropic"], llm: NO_BACKOFF });
  const events = await drain(gateway(host).chat(ask("count")));
  assert.deepEqual(events.map((event) => event.type), [
    "start",
    "text",
    "text",
    "text",
    "usage",
    "error",
  ]);
  assert.equal(textOf(events), "one two three ");
  const last = events.at(-1);
  assert.ok(last?.type === "error");
  assert.equal(last.error.code, "LLM_STREAM_INTERRUPTED");
  assert.equal(last.error.partial, true);
  assert.equal(chatRequests(fake).length, 1, "no retry and no failover after output");
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.status, "error");
  assert.equal(row!.error_code, "LLM_STREAM_INTERRUPTED");
});

for (const service of ["anthropic", "openai", "ollama"] as const) {
  Deno.test(`${service}: a malformed chunk ends the stream with an error; the server keeps serving`, async () => {
    await using fake = await startFakeLlm({
      scenes: [{ reply: { text: ["good ", "then bad"] }, fault: { malformed: "json" } }],
    });
    await using host = await llmHost(fake, { chain: [service] });
    const broken = await host.request("/api/generate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "hello" }),
    });
    assert.equal(broken.status, 502);
    const body = await broken.json();
    assert.equal(body.error.code, "LLM_STREAM_INTERRUPTED");
    const next = await host.request("/api/generate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "hello again" }),
    });
    assert.equal(next.status, 200);
    assert.match((await next.json()).response, /^fake:.*hello again/);
  });
}

Deno.test("aborting a request closes the provider connection; the ledger row says aborted", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      reply: { text: Array.from({ length: 50 }, (_, i) => `w${i} `) },
      timing: { chunkDelayMs: 20 },
    }],
  });
  await using host = await llmHost(fake, { chain: ["openai"] });
  const controller = new AbortController();
  const closed = fake.nextAbort();
  const events = [];
  for await (const event of gateway(host).chat(ask("long", { signal: controller.signal }))) {
    events.push(event);
    if (event.type === "text") controller.abort();
  }
  const last = events.at(-1);
  assert.ok(last?.type === "error");
  assert.equal(last.error.code, "LLM_ABORTED");
  assert.equal(last.error.partial, true);
  await eventually(closed, "the fake saw its connection closed");
  assert.equal(fake.aborted, 1);
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.status, "aborted");
});

Deno.test("a consumer that stops reading aborts the provider request", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      reply: { text: Array.from({ length: 50 }, (_, i) => `w${i} `) },
      timing: { chunkDelayMs: 20 },
    }],
  });
  await using host = await llmHost(fake, { chain: ["anthropic"] });
  const closed = fake.nextAbort();
  for await (const event of gateway(host).chat(ask("long"))) {
    if (event.type === "text") break;
  }
  await eventually(closed, "the fake saw its connection closed");
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.status, "aborted");
});

Deno.test("a 503 with a long retry-after fails over at once and marks the provider throttled", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ match: { service: "openai" }, fault: { status: 503, retryAfter: "300" } }],
  });
  await using host = await llmHost(fake, { chain: ["openai", "anthropic"] });
  const completion = await gateway(host).complete(ask("hi"));
  assert.equal(completion.provider, "anthropic");
  assert.equal(chatRequests(fake, "openai").length, 1, "no retry of a long wait");
  const openai = gateway(host).status().entries.find((entry) => entry.provider === "openai");
  assert.equal(openai?.state, "throttled");
});

Deno.test("a half-open probe that is aborted gives its slot back to the next request", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, {
    chain: ["ollama", "openai"],
    env: { OLLAMA_HOST: `127.0.0.1:${closedPort()}` },
  });
  const llm = gateway(host);
  const lastRow = async () => (await llm.ledger.list({ limit: 1 })).items[0]!;
  for (let i = 0; i < 5; i++) await llm.complete(ask(`open ${i}`));
  await host.clock.tick(30_000);
  const events = await drain(llm.chat(ask("aborted", { signal: AbortSignal.abort() })));
  assert.equal(events.at(-1)?.type, "error");
  await llm.complete(ask("probe"));
  assert.equal((await lastRow()).attempts, 2, "the next request still probes ollama");
});

Deno.test("tool arguments streaming longer than the first-token and idle limits keep the attempt alive", async () => {
  const args = { path: "notes/a-long-file-name.md", content: "x".repeat(200) };
  await using fake = await startFakeLlm({
    scenes: [{ reply: { toolCalls: [{ name: "write", args }] }, timing: { chunkDelayMs: 5 } }],
  });
  await using host = await llmHost(fake, {
    chain: ["openai"],
    llm: { timeouts: { reply: { connectMs: 1_000, firstTokenMs: 3_000, idleMs: 5_000 } } },
  });
  const tools = [{ name: "write", description: "Writes a file", parameters: { type: "object" } }];
  const idleArmed = () => host.clock.nextTimer((ms) => ms === 5_000);
  let armed = idleArmed();
  const reply = drain(gateway(host).chat(ask("write it", { tools })));
  // Each argument fragment re-arms the idle timer; 4 s pass between fragments.
  for (let fragment = 0; fragment < 5; fragment++) {
    await eventually(armed, `fragment ${fragment} re-armed the idle timer`);
    armed = idleArmed();
    await host.clock.tick(4_000);
  }
  const events = await settle(host, reply);
  const call = events.find((event) => event.type === "tool_call");
  assert.ok(call?.type === "tool_call", JSON.stringify(events.at(-1)));
  assert.deepEqual(call.call.args, args);
  assert.ok(host.clock.now() - Date.UTC(2026, 0, 1) >= 20_000, "longer than every limit");
});

for (const service of ["openai", "anthropic", "ollama"] as const) {
  Deno.test(`${service}: frames without text (empty chunks) restart the idle limit, so a reply spaced out within it completes`, async () => {
    // Content frame n (from 2) leaves 4 s of the host's clock after the one before it.
    const contentGate = (count: number) =>
      count === 1
        ? Promise.resolve()
        : new Promise<void>((resolve) => host.clock.setTimeout(resolve, 4_000));
    await using fake = await startFakeLlm({
      scenes: [{ reply: { text: ["hello", "", "", " world"] }, timing: { contentGate } }],
    });
    await using host = await llmHost(fake, {
      chain: [service],
      llm: { timeouts: { reply: { connectMs: 1_000, firstTokenMs: 3_000, idleMs: 5_000 } } },
    });
    const idleArmed = () => host.clock.nextTimer((ms) => ms === 5_000);
    const frameHeld = () => host.clock.nextTimer((ms) => ms === 4_000);
    let armed = idleArmed();
    let held = frameHeld();
    const reply = drain(gateway(host).chat(ask("spaced")));
    // "hello", then two empty chunks, 4 s apart: 12 s without text, each gap within 5 s.
    for (const frame of ["hello", "an empty chunk", "another empty chunk"]) {
      await eventually(armed, `${frame} re-armed the idle timer`);
      armed = idleArmed();
      await eventually(held, "the next content frame waits");
      held = frameHeld();
      await host.clock.tick(4_000);
    }
    const events = await settle(host, reply);
    assert.equal(events.at(-1)?.type, "stop", JSON.stringify(events.at(-1)));
    assert.equal(textOf(events), "hello world");
  });
}

Deno.test("a consumer that stops reading leaves no attempt timer behind", async () => {
  await using fake = await startFakeLlm({
    scenes: [{
      reply: { text: Array.from({ length: 50 }, (_, i) => `w${i} `) },
      timing: { chunkDelayMs: 20 },
    }],
  });
  await using host = await llmHost(fake, { chain: ["openai"] });
  await gateway(host).probe();
  const before = host.clock.pendingTimers;
  for await (const event of gateway(host).chat(ask("long"))) {
    if (event.type === "text") break;
  }
  assert.equal(host.clock.pendingTimers, before);
});

Deno.test("chunks that come within the same millisecond arm the idle limit once; a later one moves it on", async () => {
  const words = Array.from({ length: 20 }, (_, i) => `w${i} `);
  await using fake = await startFakeLlm({ scenes: [{ reply: { text: words } }] });
  await using host = await llmHost(fake, {
    chain: ["openai"],
    llm: { timeouts: { reply: { connectMs: 1_000, firstTokenMs: 3_000, idleMs: 5_000 } } },
  });
  const setTimeout = host.clock.setTimeout.bind(host.clock);
  let idleArms = 0;
  host.clock.setTimeout = (fn, ms) => {
    if (ms === 5_000) idleArms++;
    return setTimeout(fn, ms);
  };
  // The fake clock stands still: every chunk comes in the millisecond of the first.
  const events = await drain(gateway(host).chat(ask("count")));
  assert.equal(textOf(events), words.join(""));
  assert.equal(idleArms, 1);
});
