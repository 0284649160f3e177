/**
 * The tool host's bookkeeping (spec/tools.md §8): a cancel and a decision
 * racing for one approval — exactly one wins and every record says which;
 * runs and approvals leave no listeners behind on the server's long-lived
 * signals.
 */
import assert from "node:assert/strict";
import { createTestHost, type TestHost } from "@synth/testing";
import { calculatorTool } from "../../plugins/tool_calculator/mod.ts";
import { jsonParseTool } from "../../plugins/tool_json_parse/mod.ts";
import { timerTool } from "../../plugins/tool_timer/mod.ts";
import type { ApprovalView } from "../../src/tools/service.ts";

const PLUGINS = [calculatorTool, jsonParseTool];
/** json_parse is safe, so it needs approval only because config says so. */
const CONFIG = { tools: { approval: { require: ["json_parse"] } } };
const ARGS = { data: '{"a": [1]}', path: "a[0]" };

function approvalRequested(host: TestHost): Promise<ApprovalView> {
  const { promise, resolve } = Promise.withResolvers<ApprovalView>();
  const stop = host.kernel.bus.subscribe("tool.approval_request", (event) => {
    stop();
    resolve(event.data as ApprovalView);
  });
  return promise;
}

function closedEvents(host: TestHost): ApprovalView[] {
  const closed: ApprovalView[] = [];
  host.kernel.bus.subscribe("tool.approval_closed", (event) => {
    closed.push(event.data as ApprovalView);
  });
  return closed;
}

for (const first of ["cancel", "decide"] as const) {
  Deno.test(`a cancel and a decision racing for one approval (${first} called first): exactly one wins and the records say which`, async () => {
    await using host = await createTestHost({ plugins: PLUGINS, config: CONFIG });
    const tools = host.kernel.tools;
    const closed = closedEvents(host);
    const requested = approvalRequested(host);
    const started = await tools.startRun("json_parse", ARGS, { requestedBy: "u", module: "api" });
    const approval = await requested;
    const cancel = () => tools.cancel(started.run.id, "canceller");
    const decide = () =>
      tools.decide(approval.id, "approve", { userId: "approver", role: "admin" });
    const [cancelled, decided] = first === "cancel"
      ? await Promise.allSettled([cancel(), decide()])
      : (await Promise.allSettled([decide(), cancel()])).toReversed();
    const winners = [cancelled!, decided!].filter((outcome) => outcome.status === "fulfilled");
    assert.equal(winners.length, 1, "exactly one answer wins");

    const result = await started.result;
    const run = await tools.getRun(started.run.id);
    const stored = (await tools.listApprovals(undefined, 10, undefined, null)).find((row) =>
      row.id === approval.id
    )!;
    assert.equal(closed.filter((row) => row.id === approval.id).length, 1, "one approval_closed");
    assert.equal(closed[0]!.status, stored.status);
    if (cancelled!.status === "fulfilled") {
      assert.equal(first, "cancel", "the answer called first wins");
      assert.equal(!result.ok && result.error.code, "TOOLS_CANCELLED");
      assert.equal(run.status, "cancelled");
      assert.equal(run.approver_id, null);
      assert.equal(stored.status, "denied");
      assert.equal(stored.decided_by, "canceller");
      assert.equal(stored.note, "cancelled");
      const lost = (decided as PromiseRejectedResult).reason;
      assert.equal(lost.code, "APPROVAL_CLOSED");
      assert.equal(lost.status, 409);
    } else {
      assert.equal(first, "decide", "the answer called first wins");
      assert.deepEqual(result, {
        ok: true,
        data: { path: "a[0]", value: 1, type: "number", truncated: false },
        truncated: false,
      });
      assert.equal(run.status, "succeeded");
      assert.equal(run.approver_id, "approver");
      assert.equal(stored.status, "approved");
      assert.equal(stored.decided_by, "approver");
      const lost = (cancelled as PromiseRejectedResult).reason;
      assert.equal(lost.code, "TOOLS_RUN_FINISHED");
      assert.equal(lost.status, 409);
    }
  });
}

Deno.test("cancelling a run that waits for approval closes the approval for the record and says so", async () => {
  await using host = await createTestHost({ plugins: PLUGINS, config: CONFIG });
  const tools = host.kernel.tools;
  const closed = closedEvents(host);
  const requested = approvalRequested(host);
  const started = await tools.startRun("json_parse", ARGS, { requestedBy: "u", module: "api" });
  const approval = await requested;
  await tools.cancel(started.run.id, "canceller");
  const result = await started.result;
  assert.equal(!result.ok && result.error.code, "TOOLS_CANCELLED");
  assert.deepEqual(
    closed.map((row) => [row.id, row.status, row.decided_by]),
    [[approval.id, "denied", "canceller"]],
  );
  assert.equal(tools.pendingApprovals(), 0);
  await assert.rejects(
    tools.decide(approval.id, "approve", { userId: "late", role: "admin" }),
    (error: { code?: string }) => error.code === "APPROVAL_CLOSED",
  );
  await assert.rejects(
    tools.cancel(started.run.id, "again"),
    (error: { code?: string }) => error.code === "TOOLS_RUN_FINISHED",
  );
});

Deno.test("a tool disabled while its call waits for approval does not run when the call is approved", async () => {
  await using host = await createTestHost({ plugins: PLUGINS, config: CONFIG });
  const tools = host.kernel.tools;
  const requested = approvalRequested(host);
  const started = await tools.startRun("json_parse", ARGS, { requestedBy: "u", module: "api" });
  const approval = await requested;
  await tools.patch("json_parse", { enabled: false }, "admin");
  await tools.decide(approval.id, "approve", { userId: "approver", role: "admin" });
  const result = await started.result;
  assert.equal(!result.ok && result.error.code, "TOOLS_DISABLED");
  assert.match(!result.ok ? result.error.message : "", /disabled while its call waited/);
  const run = await tools.getRun(started.run.id);
  assert.equal(run.status, "failed");
  assert.equal(run.approver_id, "approver");
});

Deno.test("runs and approvals remove every listener they put on long-lived signals", async () => {
  await using host = await createTestHost({ plugins: PLUGINS, config: CONFIG });
  const tools = host.kernel.tools;
  // A turn's signal outlives each of its tool calls, as the server's stop signal outlives all.
  const turn = new AbortController();
  const request = { requestedBy: "u", module: "mind", signal: turn.signal };
  const live = new Map<EventTarget, Set<unknown>>();
  const prototype = EventTarget.prototype;
  const { addEventListener: add, removeEventListener: remove } = prototype;
  prototype.addEventListener = function (this: EventTarget, type, listener, options) {
    if (type === "abort" && this instanceof AbortSignal && listener) {
      const set = live.get(this) ?? new Set();
      set.add(listener);
      live.set(this, set);
    }
    return add.call(this, type, listener, options);
  };
  prototype.removeEventListener = function (this: EventTarget, type, listener, options) {
    if (type === "abort") live.get(this)?.delete(listener);
    return remove.call(this, type, listener, options);
  };
  try {
    const runs = 6;
    for (let index = 0; index < runs; index++) {
      const plain = await tools.call("calculator", { expression: `${index} + 1` }, request);
      assert.equal(plain.result.ok, true, JSON.stringify(plain.result));
      const requested = approvalRequested(host);
      const started = await tools.startRun("json_parse", ARGS, request);
      const approval = await requested;
      // The user whose run waits decides it.
      await tools.decide(approval.id, index % 2 ? "approve" : "deny", {
        userId: "u",
        role: "operator",
      });
      await started.result;
    }
    assert.ok(live.size > 0, "the runs did listen to signals");
    const left = [...live.values()].map((set) => set.size);
    assert.deepEqual(left.filter((size) => size > 0), [], "no listener is left on any signal");
  } finally {
    prototype.addEventListener = add;
    prototype.removeEventListener = remove;
  }
});

Deno.test("a sandbox whose prlimit cannot be started leaves the server starting: the sandbox check says why, and a call fails", async () => {
  // The pool's warm processes start through prlimit at start-up; this one may not be run.
  await using host = await createTestHost({
    plugins: PLUGINS,
    config: { tools: { sandbox: { prlimitPath: "/nonexistent/prlimit", pool: { size: 1 } } } },
  });
  assert.ok(
    host.logs.some((record) => record.msg.startsWith("the tool sandbox's warm processes")),
    "the warning is logged",
  );
  const check = await host.kernel.sandbox.probeNow();
  // Under the test set the path may be run, and is missing; under `server` it may not be run.
  assert.notEqual(check.status, "ok");
  assert.match(check.reason ?? "", /prlimit is missing|may not start the sandbox/);
  const ended = Promise.withResolvers<Record<string, unknown>>();
  host.kernel.bus.subscribe("tool.run", (event) => {
    const run = event.data as unknown as Record<string, unknown>;
    if (run.status !== "running" && run.status !== "pending_approval") ended.resolve(run);
  });
  const run = await host.request("/api/tools/calculator/runs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ args: { expression: "6 * 7" } }),
  });
  assert.equal(run.status, 202);
  await run.body?.cancel();
  const finished = await ended.promise;
  assert.equal(finished.status, "failed", JSON.stringify(finished));
});

Deno.test("tool names in the config that no plugin provides are named in a warning at start", async () => {
  await using host = await createTestHost({
    plugins: PLUGINS,
    config: { tools: { enabled: ["calculator", "calculater"], approval: { require: ["bogus"] } } },
  });
  const warnings = host.logs.filter((record) => record.msg.includes("names tools no plugin"));
  assert.deepEqual(warnings.map((record) => [record.msg.split(" ")[0], record.unknown]), [
    ["tools.enabled", ["calculater"]],
    ["tools.approval.require", ["bogus"]],
  ]);
});

Deno.test("a run waiting in line for the sandbox is cancelled at once, and the answer shows it cancelled", async () => {
  await using host = await createTestHost({
    plugins: [timerTool],
    config: { tools: { enabled: ["timer"], sandbox: { maxConcurrent: 1 } } },
  });
  const tools = host.kernel.tools;
  const who = { requestedBy: "u", module: "api" };
  const first = await tools.startRun("timer", { seconds: 30 }, who);
  const second = await tools.startRun("timer", { seconds: 30 }, who);
  const cancelled = await tools.cancel(second.run.id, "u");
  assert.equal(cancelled.status, "cancelled", "not left waiting for a free slot");
  const result = await second.result;
  assert.equal(!result.ok && result.error.code, "TOOLS_CANCELLED");
  assert.equal((await tools.cancel(first.run.id, "u")).status, "cancelled");
});
