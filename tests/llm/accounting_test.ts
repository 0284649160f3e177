/**
 * The ledger, prices, the budget guard and purpose routing
 * (spec/llm.md §10 items 17–19).
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { ask, chatRequests, drain, gateway, llmHost, textOf } from "./helpers.ts";

Deno.test("every call writes a ledger row with cost from the price table; the summary equals the rows", async () => {
  await using fake = await startFakeLlm({
    scenes: [
      { reply: { text: "one", usage: { input: 1_000, output: 500 } } },
      { reply: { text: "two", usage: { input: 2_000, output: 100 } } },
      { reply: { text: "three", usage: { input: 300, output: 30 } } },
    ],
  });
  await using host = await llmHost(fake, {
    chain: ["openai"],
    config: { mind: { prices: { "gpt-test": { in: 2, out: 8 } } } },
    llm: {
      roles: {
        reply: [{ provider: "openai", model: "gpt-test" }],
        background: [{ provider: "openai", model: "gpt-unpriced" }],
      },
    },
  });
  const llm = gateway(host);
  await llm.complete(ask("a", { context: { turnId: "turn_1", threadId: "thr_1", userId: "u1" } }));
  await llm.complete(ask("b", { module: "memory", purpose: "extract", role: "background" }));
  await llm.complete(ask("c", { module: "memory", purpose: "extract" }));

  const response = await host.request("/api/ledger");
  assert.equal(response.status, 200);
  const { items } = await response.json();
  assert.equal(items.length, 3);
  const first = items.at(-1);
  assert.equal(first.module, "test");
  assert.equal(first.purpose, "reply");
  assert.equal(first.role, "reply");
  assert.equal(first.provider, "openai");
  assert.equal(first.model, "gpt-test");
  assert.equal(first.tokens_in, 1_000);
  assert.equal(first.tokens_out, 500);
  assert.equal(first.tokens_estimated, false);
  assert.equal(first.status, "ok");
  assert.equal(first.stop_reason, "stop");
  assert.equal(first.turn_id, "turn_1");
  assert.equal(first.thread_id, "thr_1");
  assert.equal(first.user_id, "u1");
  assert.equal(first.attempts, 1);
  assert.equal(typeof first.latency_ms, "number");
  assert.equal(typeof first.first_token_ms, "number");
  assert.ok(Math.abs(first.cost_usd - (1_000 * 2 + 500 * 8) / 1e6) < 1e-12);
  const unpriced = items.find((item: { model: string }) => item.model === "gpt-unpriced");
  assert.equal(unpriced.cost_usd, null, "an unknown price is unknown, not zero");
  assert.equal(
    host.logs.filter((record) => record.code === "LLM_PRICE_UNKNOWN").length,
    1,
  );

  const summary = await (await host.request("/api/ledger/summary?group_by=module")).json();
  const sum = (key: string) =>
    items.reduce((total: number, item: Record<string, number>) => total + item[key]!, 0);
  assert.equal(summary.total.calls, 3);
  assert.equal(summary.total.tokens_in, sum("tokens_in"));
  assert.equal(summary.total.tokens_out, sum("tokens_out"));
  assert.ok(
    Math.abs(
      summary.total.cost_usd -
        items.reduce((t: number, i: { cost_usd: number | null }) => t + (i.cost_usd ?? 0), 0),
    ) < 1e-12,
  );
  assert.equal(summary.total.cost_unknown_calls, 1);
  assert.deepEqual(
    summary.groups.map((group: { key: string; calls: number }) => [group.key, group.calls]).sort(),
    [["memory", 2], ["test", 1]],
  );
  const byModel = await (await host.request("/api/ledger/summary?group_by=model")).json();
  const unpricedGroup = byModel.groups.find((group: { key: string }) =>
    group.key === "gpt-unpriced"
  );
  assert.equal(unpricedGroup.cost_usd, null, "no known cost: null, not a free 0");
  assert.equal(unpricedGroup.cost_unknown_calls, 1);
  const memory = await (await host.request("/api/ledger?module=memory&limit=1")).json();
  assert.equal(memory.items.length, 1);
  assert.match(memory.next_cursor, /^llm_/);
  const page2 = await (await host.request(`/api/ledger?module=memory&cursor=${memory.next_cursor}`))
    .json();
  assert.equal(page2.items.length, 1);
  assert.equal(page2.next_cursor, null);
  assert.deepEqual(await llm.usage("memory", 0), {
    calls: 2,
    tokensIn: 2_300,
    tokensOut: 130,
    costUsd: (300 * 2 + 30 * 8) / 1e6,
  });
  // Another signed-in user sees the spending, not whose turn, thread or job made it; u1 sees theirs.
  for (const [userId, named] of [["u2", false], ["u1", true]] as const) {
    const seen = await (await host.as({ userId, role: "viewer" }).request("/api/ledger")).json();
    const row = seen.items.find((item: { purpose: string }) => item.purpose === "reply");
    assert.equal(row.tokens_in, 1_000);
    assert.deepEqual(
      [row.user_id, row.thread_id, row.turn_id],
      named ? ["u1", "thr_1", "turn_1"] : [null, null, null],
    );
  }
});

Deno.test("bad ledger queries are 400 naming the field", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake);
  const reversed = "since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z";
  for (
    const [path, field] of [
      ["?limit=0", "limit"],
      ["?since=yesterday", "since"],
      ["?cursor=x", "cursor"],
      [`?${reversed}`, "until"],
      [`/summary?${reversed}`, "until"],
      // Text that Number() would take for 16, and a parameter given twice.
      ["?limit=0x10", "limit"],
      ["?limit=5&limit=6", "limit"],
    ]
  ) {
    const response = await host.request(`/api/ledger${path}`);
    assert.equal(response.status, 400, path);
    assert.equal((await response.json()).error.field, field);
  }
  const summary = await host.request("/api/ledger/summary?group_by=colour");
  assert.equal(summary.status, 400);
  assert.equal((await summary.json()).error.field, "group_by");
});

Deno.test("a denying budget guard: BUDGET_EXHAUSTED, no request to the provider, no ledger row", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake);
  const llm = gateway(host);
  const checks: unknown[] = [];
  llm.setBudgetGuard({
    check(request) {
      checks.push(request);
      return request.module === "gdil" ? { allowed: false, window: "the day" } : { allowed: true };
    },
  });
  const events = await drain(llm.chat(ask("x".repeat(400), {
    module: "gdil",
    purpose: "plan",
    maxTokens: 100,
    context: { jobId: "job_1" },
  })));
  assert.equal(events.length, 1);
  assert.ok(events[0]?.type === "error");
  assert.equal(events[0].error.code, "BUDGET_EXHAUSTED");
  assert.match(events[0].error.message, /gdil budget for the day/);
  assert.equal(chatRequests(fake).length, 0);
  assert.equal((await llm.ledger.list({ limit: 10 })).items.length, 0);
  assert.deepEqual(checks, [{
    module: "gdil",
    purpose: "plan",
    estimateTokens: 200,
    jobId: "job_1",
  }]);
  await llm.complete(ask("allowed"));
  assert.equal(chatRequests(fake).length, 1);
});

Deno.test("with testHeaders a purpose script answers the reply and forecast calls of one turn", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: "Here is a fix.",
    forecast: [{ reply: { text: "You will ask about tests." } }],
  });
  await using host = await llmHost(fake, { chain: ["anthropic"] });
  const llm = gateway(host);
  const forecast = llm.complete(
    ask("x", { module: "psyche_dreaming", purpose: "forecast", role: "background" }),
  );
  const reply = await drain(llm.chat(ask("My build fails", { module: "mind", purpose: "reply" })));
  assert.equal(textOf(reply), "Here is a fix.");
  assert.equal((await forecast).text, "You will ask about tests.");
  const headers = chatRequests(fake).map((request) => [
    request.headers["x-synth-module"],
    request.headers["x-synth-purpose"],
  ]).sort();
  assert.deepEqual(headers, [["mind", "reply"], ["psyche_dreaming", "forecast"]]);
});

Deno.test("without testHeaders no x-synth headers reach the provider", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake, { llm: { testHeaders: false } });
  await gateway(host).complete(ask("hi"));
  const [request] = chatRequests(fake);
  assert.equal(request!.headers["x-synth-module"], undefined);
  assert.equal(request!.headers["x-synth-purpose"], undefined);
});

Deno.test("POST /api/generate: caps max_tokens, validates the body, records module generate", async () => {
  await using fake = await startFakeLlm();
  await using host = await llmHost(fake);
  const post = (body: unknown) =>
    host.request("/api/generate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const ok = await post({ prompt: "Write a haiku" });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { success: true, response: "fake:gpt-test:Write a haiku" });
  const sent = chatRequests(fake)[0]!.body as { max_tokens: number; temperature: number };
  assert.equal(sent.max_tokens, 150);
  assert.equal(sent.temperature, 0.85);
  for (
    const [body, field] of [
      [{ prompt: "" }, "prompt"],
      [{ prompt: "x".repeat(8_001) }, "prompt"],
      [{ prompt: "x", max_tokens: 151 }, "max_tokens"],
      [{ prompt: "x", temperature: 2.5 }, "temperature"],
    ] as const
  ) {
    const response = await post(body);
    assert.equal(response.status, 400);
    assert.equal((await response.json()).error.field, field);
  }
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.module, "generate");
});
