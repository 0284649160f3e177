/**
 * Tool runs and approvals page (spec/server.md §2, `Page<T>`): small pages reach every item once,
 * in the order of one large page, across items created in the same millisecond (the test clock
 * stands still, so the order within it is the id's); a cursor the server did not give is 400.
 */
import assert from "node:assert/strict";
import { createTestHost, type TestHost } from "@synth/testing";
import { calculatorTool } from "../../plugins/tool_calculator/mod.ts";
import { jsonParseTool } from "../../plugins/tool_json_parse/mod.ts";

/** json_parse is safe, so it waits for approval only because config says so. */
const CONFIG = { tools: { approval: { require: ["json_parse"] } } };

// deno-lint-ignore no-explicit-any
async function get(host: TestHost, path: string): Promise<{ status: number; body: any }> {
  const response = await host.request(path);
  return { status: response.status, body: await response.json() };
}

/** Every id of `path`'s list, following next_cursor with pages of `limit`. */
async function allPages(host: TestHost, path: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 20; pages++) {
    const join = path.includes("?") ? "&" : "?";
    const page = await get(
      host,
      `${path}${join}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.ok(page.body.items.length <= limit);
    ids.push(...page.body.items.map((item: { id: string }) => item.id));
    cursor = page.body.next_cursor;
    if (cursor === null) return ids;
  }
  throw new Error("the pages did not end");
}

Deno.test("tool runs and approvals page newest first, ties by id, each item once", async () => {
  await using host = await createTestHost({
    plugins: [calculatorTool, jsonParseTool],
    config: CONFIG,
  });
  const tools = host.kernel.tools;
  const waiting = [];
  for (let i = 0; i < 5; i++) {
    const started = await tools.startRun("json_parse", { data: `[${i}]`, path: "[0]" }, {
      requestedBy: "local",
      module: "api",
    });
    started.result.catch(() => {});
    waiting.push(started.run.id);
  }
  for (let i = 0; i < 2; i++) {
    const started = await tools.startRun("calculator", { expression: `${i} + 1` }, {
      requestedBy: "local",
      module: "api",
      approverId: "local",
    });
    await started.result;
  }

  const runs = (await get(host, "/api/runs?limit=100")).body;
  assert.equal(runs.items.length, 7);
  assert.equal(runs.next_cursor, null);
  const times = new Set(runs.items.map((run: { created_at: string }) => run.created_at));
  assert.equal(times.size, 1, "every run was created in the same millisecond");
  const order = runs.items.map((run: { id: string }) => run.id);
  assert.deepEqual(order, [...order].sort().reverse(), "ties are ordered by id, newest first");
  assert.deepEqual(await allPages(host, "/api/runs", 2), order);
  const exact = (await get(host, "/api/runs?limit=7")).body;
  assert.equal(exact.items.length, 7);
  assert.equal(exact.next_cursor, null, "a page that holds the last run has no cursor");
  const calculatorRuns = await allPages(host, "/api/runs?tool=calculator", 1);
  assert.equal(calculatorRuns.length, 2, "the filter holds across pages");

  const approvals = (await get(host, "/api/approvals?status=pending")).body.items;
  assert.equal(approvals.length, 5);
  const approvalOrder = approvals.map((approval: { id: string }) => approval.id);
  assert.deepEqual(await allPages(host, "/api/approvals?status=pending", 2), approvalOrder);

  for (const path of ["/api/runs", "/api/approvals"]) {
    const foreign = await get(host, `${path}?cursor=page-2`);
    assert.equal(foreign.status, 400, path);
    assert.equal(foreign.body.error.field, "cursor", path);
  }
  for (const id of waiting) await tools.cancel(id, "local");
});
