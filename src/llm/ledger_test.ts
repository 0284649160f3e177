import assert from "node:assert/strict";
import { createTestHost } from "../testing/test_host.ts";
import { callCost, createLedger, type LedgerEntry } from "./ledger.ts";

const DAY = 86_400_000;

function row(id: string, at: number, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    id,
    at,
    module: "mind",
    purpose: "reply",
    role: "reply",
    provider: "openai",
    model: "gpt-test",
    request_uid: id,
    attempts: 1,
    failover_index: 0,
    turn_id: null,
    job_id: null,
    user_id: null,
    thread_id: null,
    tokens_in: 100,
    tokens_out: 10,
    cached_input_tokens: 0,
    tokens_estimated: 0,
    latency_ms: 5,
    first_token_ms: 2,
    cost_usd: 0.001,
    status: "ok",
    error_code: null,
    http_status: null,
    stop_reason: "stop",
    tool_calls: 0,
    ...extra,
  };
}

Deno.test("cost counts cached input at its own price; no price is null", () => {
  assert.equal(
    callCost({ in: 3, out: 15, cachedIn: 0.3 }, { input: 1_000, output: 100, cached: 400 }),
    (600 * 3 + 400 * 0.3 + 100 * 15) / 1e6,
  );
  assert.equal(
    callCost({ in: 2, out: 8 }, { input: 1_000, output: 0, cached: 1_000 }),
    2_000 / 1e6,
  );
  assert.equal(callCost(undefined, { input: 1, output: 1, cached: 0 }), null);
});

Deno.test("rows past the retention fold into daily totals; the summary still counts them once", async () => {
  await using host = await createTestHost({ config: { llm: { ledger: { retentionDays: 90 } } } });
  const { ledger } = host.kernel.llm;
  const now = host.clock.now();
  const old = now - 100 * DAY;
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAA1", old));
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAA2", old + 1_000, { cost_usd: null }));
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAA3", now - DAY));
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAA4", now - 800 * DAY));
  const before = await ledger.summary({
    since: now - 1_000 * DAY,
    until: now + 1,
    groupBy: "module",
  });
  assert.equal(before.total.calls, 4);

  const report = await ledger.compact();
  assert.deepEqual(report, { folded: 3, dropped: 1 });
  const rows = await ledger.list({ limit: 10 });
  assert.deepEqual(rows.items.map((item) => item.id), ["llm_01AAAAAAAAAAAAAAAAAAAAAAA3"]);
  const daily = await host.kernel.store.db.selectFrom("mind_ledger_daily").selectAll().execute();
  assert.equal(daily.length, 1);
  assert.equal(daily[0]!.calls, 2);
  assert.equal(daily[0]!.tokens_in, 200);
  assert.equal(daily[0]!.cost_usd, null, "one unknown cost makes the day's cost unknown");

  const after = await ledger.summary({
    since: now - 1_000 * DAY,
    until: now + 1,
    groupBy: "module",
  });
  assert.equal(after.total.calls, 3, "the row older than 730 days is gone");
  assert.equal(after.total.tokens_in, 300);
  assert.equal(after.total.cost_unknown_calls, 2);
  assert.deepEqual(after.groups.map((group) => group.key), ["mind"]);
  assert.deepEqual(await ledger.compact(), { folded: 0, dropped: 0 }, "idempotent");
});

Deno.test("usage sums one module since a time", async () => {
  await using host = await createTestHost();
  const { ledger } = host.kernel.llm;
  const now = host.clock.now();
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAB1", now - 2 * 3_600_000));
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAB2", now - 60_000));
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAB3", now - 60_000, { module: "gdil" }));
  assert.deepEqual(await ledger.usage("mind", now - 3_600_000), {
    calls: 1,
    tokensIn: 100,
    tokensOut: 10,
    costUsd: 0.001,
  });
  assert.deepEqual(await ledger.usage("nobody", 0), {
    calls: 0,
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
  });
});

Deno.test("a noted row is written in a later task, all in one go; every read writes it first", async () => {
  await using host = await createTestHost();
  const { ledger } = host.kernel.llm;
  const { db } = host.kernel.store;
  const count = async () =>
    Number(
      (await db.selectFrom("mind_ledger").select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()).n,
    );
  const now = host.clock.now();
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAC1", now, { job_id: "job_1" }));
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAC2", now, { job_id: "job_1" }));
  // Not written yet: the caller (a reply's stream) did not wait for the write.
  assert.equal(await count(), 0);
  // A read through the ledger writes the noted rows first.
  assert.equal(await ledger.jobTokens("job_1"), 220);
  assert.equal(await count(), 2);
  // Left alone, a noted row is written in the next task.
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAC3", now));
  await new Promise((resolve) => setTimeout(resolve, 0));
  await ledger.flush();
  assert.equal(await count(), 3);
  assert.deepEqual((await ledger.list({ limit: 10 })).items.map((item) => item.id), [
    "llm_01AAAAAAAAAAAAAAAAAAAAAAC3",
    "llm_01AAAAAAAAAAAAAAAAAAAAAAC2",
    "llm_01AAAAAAAAAAAAAAAAAAAAAAC1",
  ]);
});

Deno.test("rows that cannot be written are reported, and the ledger goes on, whatever its listeners throw", async () => {
  await using host = await createTestHost();
  const failures: number[] = [];
  const recorded: string[] = [];
  const ledger = createLedger({
    store: host.kernel.store,
    clock: host.clock,
    retentionDays: 90,
    onRecord: (entry) => {
      recorded.push(entry.id);
      throw new Error("a broken metric");
    },
    onWriteError: (_error, rows) => failures.push(rows),
  });
  const now = host.clock.now();
  // The same id twice: the INSERT fails on its primary key.
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAD1", now));
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAD1", now));
  await ledger.flush();
  assert.deepEqual(failures, [2]);
  assert.deepEqual(recorded, []);
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAD2", now));
  await ledger.flush();
  assert.deepEqual(recorded, ["llm_01AAAAAAAAAAAAAAAAAAAAAAD2"]);
  // A throwing `onRecord` (a broken metric) does not stop the rows after it.
  ledger.record(row("llm_01AAAAAAAAAAAAAAAAAAAAAAD3", now));
  assert.equal((await ledger.list({ limit: 10 })).items.length, 2);
  assert.deepEqual(failures, [2]);
});
