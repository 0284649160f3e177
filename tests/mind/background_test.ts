/**
 * Budgets, the idle stop and tick back-off (spec/mind.md §17 items 32–33).
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "./helpers.ts";

const MINUTE = 60_000;

Deno.test("from idleStopMinutes after the last turn until 6 h no ledger row is written, and ticks back off to 900 s", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const first = await chat(host, "Plan the release");
  await chat(host, "What comes next?", first.body.thread_id as string);
  await chat(host, "And after that?", first.body.thread_id as string);
  await host.kernel.mind.scheduler.idle();
  // Minute by minute, letting each timer-driven tick and its jobs finish before time moves on.
  const advance = async (minutes: number) => {
    for (let minute = 0; minute < minutes; minute++) {
      await host.clock.tick(MINUTE);
      await host.kernel.mind.ticked();
      await host.kernel.mind.scheduler.idle();
    }
  };
  await advance(30);
  const before = (await host.kernel.llm.ledger.list({ limit: 500 })).items.length;
  await advance(6 * 60);
  const after = (await host.kernel.llm.ledger.list({ limit: 500 })).items.length;
  assert.equal(after, before, "no LLM call while idle");
  assert.equal(host.kernel.mind.tickIntervalMs, 900_000);
  const summary = await host.kernel.store.db.selectFrom("mind_jobs").selectAll()
    .where("kind", "=", "session_summary").executeTakeFirstOrThrow();
  assert.equal(
    summary.status,
    "done",
    "the session closed (20 min) and was summarised before the idle stop",
  );
  await chat(host, "I'm back", first.body.thread_id as string);
  assert.equal(host.kernel.mind.tickIntervalMs, 60_000, "activity resets the tick interval");
});

for (const [profile, runs] of [["idle_worker", true], ["idle_sleeper", false]] as const) {
  Deno.test(`${profile}: a session summary due while idle ${runs ? "runs" : "is skipped"}`, async () => {
    await using fake = await startFakeLlm();
    await using host = await mindHost(fake, {
      config: { mind: { profile, profilesDir: "tests/fixtures/profiles" } },
    });
    const first = await chat(host, "Plan the release");
    await chat(host, "What comes next?", first.body.thread_id as string);
    await chat(host, "And after that?", first.body.thread_id as string);
    await host.kernel.mind.scheduler.idle();
    await host.clock.tick(21 * MINUTE);
    await host.kernel.mind.tick();
    await host.kernel.mind.scheduler.idle();
    const summaries = (await host.kernel.llm.ledger.list({ limit: 100, module: "psyche_purpose" }))
      .items
      .filter((row) => row.purpose === "session_summary");
    assert.equal(summaries.length, runs ? 1 : 0);
    const job = await host.kernel.store.db.selectFrom("mind_jobs").selectAll()
      .where("kind", "=", "session_summary").executeTakeFirstOrThrow();
    assert.deepEqual([job.status, job.reason], runs ? ["done", null] : ["skipped", "idle"]);
  });
}

Deno.test("ledger window sums equal what the governor counts", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const first = await chat(host, "Plan the release");
  // The forecast runs before the next message, as between a person's messages (a message that
  // arrives first supersedes the forecast still waiting for it).
  await host.kernel.mind.scheduler.idle();
  await chat(host, "What next?", first.body.thread_id as string);
  await host.kernel.mind.scheduler.idle();
  const budgets = await (await host.request("/api/budgets")).json();
  const dreaming = budgets.items.find((item: { module: string }) =>
    item.module === "psyche_dreaming"
  );
  const rows = (await host.kernel.llm.ledger.list({ limit: 100, module: "psyche_dreaming" })).items;
  assert.ok(rows.length >= 2);
  assert.equal(
    dreaming.used_hour,
    rows.reduce((sum, row) => sum + row.tokens_in + row.tokens_out, 0),
  );
  assert.equal(dreaming.used_day, dreaming.used_hour);
  assert.equal(dreaming.per_hour, 30_000);
  assert.equal(dreaming.source, "profile");
});

Deno.test("PUT /api/budgets merges: omitted keys keep their limit, null lifts one; DELETE returns to the profile; unknown modules are 404", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const put = (module: string, body: unknown) =>
    host.request(`/api/budgets/${module}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const first = await (await put("psyche_dreaming", { per_turn: 500 })).json();
  assert.deepEqual(first, {
    module: "psyche_dreaming",
    source: "api",
    per_turn: 500,
    per_hour: 30_000,
    per_day: first.per_day,
  });
  assert.ok(first.per_day > 0, "the profile's daily limit is kept");
  const lifted = await (await put("psyche_dreaming", { per_hour: null })).json();
  assert.equal(lifted.per_turn, 500);
  assert.equal(lifted.per_hour, null);
  assert.equal(lifted.per_day, first.per_day);
  const none = await (await put("psyche_dreaming", { per_turn: null, per_day: null })).json();
  assert.deepEqual([none.source, none.per_turn, none.per_hour, none.per_day], [
    "api",
    null,
    null,
    null,
  ]);
  const reset = await (await host.request("/api/budgets/psyche_dreaming", { method: "DELETE" }))
    .json();
  assert.equal(reset.source, "profile");
  assert.equal(reset.per_hour, 30_000);

  const unknown = await put("psyche_nonexistent", { per_turn: 1 });
  assert.equal(unknown.status, 404);
  const error = (await unknown.json()).error;
  assert.equal(error.code, "BUDGET_MODULE_UNKNOWN");
  assert.equal(error.field, "module");
  assert.match(error.message, /psyche_dreaming/);
  const listed = await (await host.request("/api/budgets")).json();
  assert.ok(
    listed.items.every((item: { module: string }) => host.kernel.mind.governor.knows(item.module)),
  );
  assert.equal((await put("memory", { per_day: 1_000 })).status, 200, "a loaded plugin");
});

Deno.test("a refused budget says when to try again: the 429 carries Retry-After, the wait until the oldest spending leaves the window", async () => {
  await using fake = await startFakeLlm({
    scenes: Array.from({ length: 3 }, () => ({
      reply: { text: "ok", usage: { input: 100, output: 50 } },
    })),
  });
  await using host = await mindHost(fake);
  const budget = await host.request("/api/budgets/generate", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ per_hour: 300 }),
  });
  assert.equal(budget.status, 200);
  const generate = () =>
    host.request("/api/generate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "hi", max_tokens: 10 }),
    });
  for (const wait of [10 * 60_000, 5 * 60_000]) {
    const answered = await generate();
    assert.equal(answered.status, 200);
    await answered.body?.cancel();
    await host.clock.tick(wait);
  }
  // 300 tokens spent in the hour: the first call's 150 leave it just after 45 minutes from now.
  const refused = await generate();
  assert.equal(refused.status, 429);
  assert.equal((await refused.json()).error.code, "BUDGET_EXHAUSTED");
  assert.equal(refused.headers.get("retry-after"), String(45 * 60 + 1));
  await host.clock.tick(45 * 60_000);
  const early = await generate();
  assert.equal(early.status, 429, "the first call is still in the window");
  assert.equal(early.headers.get("retry-after"), "1");
  await early.body?.cancel();
  await host.clock.tick(1_000);
  const again = await generate();
  assert.equal(again.status, 200);
  await again.body?.cancel();
});

Deno.test("a call larger than the budget's whole limit is told that waiting will not help", async () => {
  await using fake = await startFakeLlm({ scenes: [] });
  await using host = await mindHost(fake);
  const budget = await host.request("/api/budgets/generate", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ per_hour: 50 }),
  });
  assert.equal(budget.status, 200);
  // Nothing was spent: the call's own estimate (its prompt and 100 reply tokens) is over 50.
  const asked = fake.requests().length;
  const refused = await host.request("/api/generate", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "hi", max_tokens: 100 }),
  });
  assert.equal(refused.status, 429);
  const { error } = await refused.json();
  assert.equal(error.code, "BUDGET_EXHAUSTED");
  assert.match(
    error.message,
    /^This call needs about \d+ tokens, more than the generate budget's whole per-hour limit of 50: waiting will not help; raise the limit \(PUT \/api\/budgets\/generate\)/,
  );
  assert.ok(refused.headers.get("retry-after"), "a 429 still says when the window turns over");
  assert.equal(fake.requests().length, asked, "no provider was asked");
});
