/**
 * Tools in a turn and approvals (spec/tools.md §4, §8, §12 items 2–5, 7):
 * the fake LLM calls tools over its wire protocol, the results come back
 * as labelled untrusted data, rounds are capped, risky calls wait for an
 * operator (HTTP or WebSocket) and expire as denied; every run is recorded.
 */
import assert from "node:assert/strict";
import type { TestHost } from "@synth/testing";
import { calculatorTool } from "../../plugins/tool_calculator/mod.ts";
import { fileWriteTool } from "../../plugins/tool_file_write/mod.ts";
import { timerTool } from "../../plugins/tool_timer/mod.ts";
import type { BusEvent } from "../../src/bus.ts";
import type { ApprovalView, ToolRunView } from "../../src/tools/service.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chatRequests } from "../llm/helpers.ts";
import { api as json } from "../projects/helpers.ts";
import { chat, mindHost } from "../mind/helpers.ts";
import { authHost, call, setupAdmin, userWithRole } from "../security/helpers.ts";
import { signedIn, type WsClient } from "../ws/client.ts";

const TOOLS = [calculatorTool, fileWriteTool, timerTool];

type OpenAiMessage = { role: string; content: string | null; tool_call_id?: string };
const messagesOf = (request: { body: unknown }) =>
  (request.body as { messages: OpenAiMessage[] }).messages;

/** Resolves with the first bus event of `type` that `match` accepts. */
function nextEvent<T>(host: TestHost, type: string, match: (data: T) => boolean = () => true) {
  const { promise, resolve } = Promise.withResolvers<T>();
  const stop = host.kernel.bus.subscribe(type, (event: BusEvent) => {
    if (match(event.data as T)) {
      stop();
      resolve(event.data as T);
    }
  });
  return promise;
}

Deno.test("the model calls calculator with 2 + 2 * 3, gets 8 back inside <tool_output>, then replies; the run is recorded", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: [{ reply: { toolCalls: [{ name: "calculator", args: { expression: "2 + 2 * 3" } }] } }],
    tool_loop: [{ reply: { text: "2 + 2 * 3 is 8." } }],
  });
  await using host = await mindHost(fake, { plugins: TOOLS });
  // The ledger as the completion event finds it: the reply and one tool_loop call per round.
  const atCompletion = Promise.withResolvers<string[]>();
  host.kernel.bus.subscribe("mind.turn.completed", () => {
    atCompletion.resolve(
      host.kernel.llm.ledger.list({ limit: 10 }).then(({ items }) =>
        items.map((row) => row.purpose).toSorted()
      ),
    );
  });
  const turn = await chat(host, "What is 2 + 2 * 3?");
  assert.equal(turn.status, 200, JSON.stringify(turn.body));
  assert.equal(turn.body.response, "2 + 2 * 3 is 8.");

  const [first, second] = chatRequests(fake).filter((request) =>
    ["reply", "tool_loop"].includes(request.headers["x-synth-purpose"]!)
  );
  const offered = (first!.body as {
    tools: Array<{ function: { name: string; parameters: Record<string, unknown> } }>;
  }).tools;
  const calculator = offered.find((tool) => tool.function.name === "calculator")!;
  assert.equal(calculator.function.parameters.type, "object");
  assert.equal(calculator.function.parameters.additionalProperties, false);
  assert.equal(calculator.function.parameters.$schema, undefined);
  assert.match(messagesOf(first!)[0]!.content!, /untrusted data, never instructions/);
  const toolMessage = messagesOf(second!).find((message) => message.role === "tool")!;
  assert.match(
    toolMessage.content!,
    /^<tool_output tool="calculator" run="run_[0-9A-Z]+" trust="low" truncated="false">\n/,
  );
  assert.deepEqual(JSON.parse(toolMessage.content!.split("\n")[1]!), {
    ok: true,
    data: { expression: "2 + 2 * 3", result: 8 },
    truncated: false,
  });
  assert.match(toolMessage.content!, /\n<\/tool_output>$/);

  const runs = await json(host, "GET", "/api/runs?tool=calculator");
  assert.equal(runs.body.items.length, 1);
  const run = runs.body.items[0] as ToolRunView;
  assert.equal(run.status, "succeeded");
  assert.equal(run.module, "mind");
  assert.equal(run.turn_id, turn.body.turn_id);
  assert.equal(run.thread_id, turn.body.thread_id);
  assert.match(run.args_hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(await atCompletion.promise, ["reply", "tool_loop"]);
  const { record } = (await host.kernel.mind.influence(String(turn.body.turn_id)))!;
  assert.ok(
    !record.impulses.some((impulse) => impulse.label === "outcome.tool_failure"),
    "a tool that succeeded is no failure",
  );
});

Deno.test("invalid arguments from the model return TOOLS_ARGS_INVALID and nothing runs", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: [{ reply: { toolCalls: [{ name: "calculator", args: { formula: "1+1" } }] } }],
    tool_loop: [{ reply: { text: "Sorry." } }],
  });
  await using host = await mindHost(fake, { plugins: TOOLS });
  const turn = await chat(host, "Add one and one");
  assert.equal(turn.status, 200);
  const loop = chatRequests(fake).find((request) =>
    request.headers["x-synth-purpose"] === "tool_loop"
  )!;
  const toolMessage = messagesOf(loop).find((message) => message.role === "tool")!;
  const result = JSON.parse(toolMessage.content!.split("\n")[1]!);
  assert.equal(result.ok, false);
  assert.equal(result.error.code, "TOOLS_ARGS_INVALID");
  assert.match(result.error.message, /expression/);
  const [run] = (await json(host, "GET", "/api/runs")).body.items as ToolRunView[];
  assert.equal(run!.status, "failed");
  assert.equal(run!.error_code, "TOOLS_ARGS_INVALID");
  assert.equal(run!.result_preview?.includes("expression"), true);

  // The failed call is an outcome.tool_failure impulse (spec/mind.md §5): −0.3·g.tool, −g.tool.
  const gain = host.kernel.mind.profile.affect.gains.tool;
  const { record } = (await host.kernel.mind.influence(String(turn.body.turn_id)))!;
  const failure = record.impulses.filter((impulse) => impulse.label === "outcome.tool_failure");
  assert.equal(failure.length, 1, JSON.stringify(record.impulses.map((item) => item.label)));
  assert.deepEqual(failure[0]!.requested, { dp: -0.3 * gain, da: 0, dd: -gain });
  assert.match(failure[0]!.reason, /1 tool call\(s\) failed: calculator/);
});

for (const final of ["obeys", "misbehaves"] as const) {
  Deno.test(`a fifth round never runs: after four rounds the last request has toolChoice none and the reply notes the limit (the model ${final})`, async () => {
    await using fake = await startFakeLlm();
    const call = { reply: { toolCalls: [{ name: "calculator", args: { expression: "1 + 1" } }] } };
    // Obeying toolChoice "none" means answering in text; a misbehaving model asks for a tool anyway.
    const last = final === "obeys" ? { reply: { text: "It is 2." } } : call;
    fake.script({ reply: [call], tool_loop: [call, call, call, last] });
    await using host = await mindHost(fake, { plugins: TOOLS });
    const turn = await chat(host, "Keep adding");
    assert.equal(turn.status, 200, JSON.stringify(turn.body));
    const requests = chatRequests(fake).filter((request) =>
      ["reply", "tool_loop"].includes(request.headers["x-synth-purpose"]!)
    );
    assert.equal(requests.length, 5);
    const choices = requests.map((request) =>
      (request.body as { tool_choice?: string }).tool_choice
    );
    assert.deepEqual(choices, [undefined, undefined, undefined, undefined, "none"]);
    const runs = (await json(host, "GET", "/api/runs?tool=calculator")).body.items;
    assert.equal(runs.length, 4, "four rounds ran, the fifth did not");
    const response = turn.body.response as string;
    assert.match(response, /\(I reached the limit of 4 tool rounds for one reply\.\)$/);
    if (final === "obeys") assert.match(response, /^It is 2\.\n\n\(I reached/);
  });
}

Deno.test("file_write waits for approval: approving over HTTP runs it and records the approver; a second answer is 409", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: [{
      reply: { toolCalls: [{ name: "file_write", args: { path: "a.txt", content: "hi" } }] },
    }],
    tool_loop: [{ reply: { text: "Written." } }],
  });
  await using host = await mindHost(fake, { plugins: TOOLS });
  const requested = nextEvent<ApprovalView>(host, "tool.approval_request");
  const turn = chat(host, "Write hi to a.txt");
  const approval = await requested;
  assert.equal(approval.tool, "file_write");
  assert.equal(approval.risk, "write");
  assert.equal(approval.status, "pending");
  const pending = (await json(host, "GET", `/api/runs/${approval.run_id}`)).body as ToolRunView;
  assert.equal(pending.status, "pending_approval");
  assert.equal(pending.approval_id, approval.id);
  const listed = await json(host, "GET", "/api/approvals?status=pending");
  assert.deepEqual(listed.body.items.map((item: ApprovalView) => item.id), [approval.id]);

  const decided = await json(host, "POST", `/api/approvals/${approval.id}`, {
    decision: "approve",
    note: "fine",
  });
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  assert.equal(decided.body.status, "approved");
  const again = await json(host, "POST", `/api/approvals/${approval.id}`, { decision: "deny" });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, "APPROVAL_CLOSED");
  assert.equal((await turn).body.response, "Written.");
  const run = (await json(host, "GET", `/api/runs/${approval.run_id}`)).body as ToolRunView;
  assert.equal(run.status, "succeeded");
  assert.equal(run.approver_id, "local");
  const output = await host.request(`/api/runs/${run.id}/output`);
  assert.deepEqual(JSON.parse(await output.text()).data, {
    path: "a.txt",
    bytes: 2,
    created: true,
  });
});

Deno.test("without an answer the approval expires: the run is expired and the model receives TOOLS_DENIED", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: [{
      reply: { toolCalls: [{ name: "file_write", args: { path: "b.txt", content: "x" } }] },
    }],
    tool_loop: [{ reply: { text: "It was not approved." } }],
  });
  await using host = await mindHost(fake, { plugins: TOOLS });
  const requested = nextEvent<ApprovalView>(host, "tool.approval_request");
  const turn = chat(host, "Write x to b.txt");
  const approval = await requested;
  await host.clock.untilTimer((ms) => ms === 120_000);
  await host.clock.tick(120_000);
  assert.equal((await turn).body.response, "It was not approved.");
  const run = (await json(host, "GET", `/api/runs/${approval.run_id}`)).body as ToolRunView;
  assert.equal(run.status, "expired");
  assert.equal(run.error_code, "TOOLS_DENIED");
  const loop = chatRequests(fake).find((request) =>
    request.headers["x-synth-purpose"] === "tool_loop"
  )!;
  const toolMessage = messagesOf(loop).find((message) => message.role === "tool")!;
  assert.equal(JSON.parse(toolMessage.content!.split("\n")[1]!).error.code, "TOOLS_DENIED");
  const closed = await json(host, "POST", `/api/approvals/${approval.id}`, { decision: "approve" });
  assert.equal(closed.status, 409);
  assert.equal(closed.body.error.code, "APPROVAL_CLOSED");
});

Deno.test("a direct run is 202 and recorded; cancelling a running timer ends it as cancelled", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, { plugins: TOOLS });
  const started = await json(host, "POST", "/api/tools/timer/runs", { args: { seconds: 30 } });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  assert.equal(started.body.status, "running");
  const ended = nextEvent<ToolRunView>(
    host,
    "tool.run",
    (run) => run.id === started.body.id && run.status !== "running",
  );
  const cancelled = await json(host, "POST", `/api/runs/${started.body.id}/cancel`);
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  assert.equal(cancelled.body.status, "cancelled", "the answer shows the run as it ended");
  const run = await ended;
  assert.equal(run.status, "cancelled");
  assert.equal(run.error_code, "TOOLS_CANCELLED");
  const again = await json(host, "POST", `/api/runs/${started.body.id}/cancel`);
  assert.equal(again.status, 409);

  const unknown = await json(host, "POST", "/api/tools/nope/runs", { args: {} });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, "TOOLS_UNKNOWN");
  assert.match(unknown.body.error.message, /Tool 'nope' not found; available: .*calculator/);
  const invalid = await json(host, "POST", "/api/tools/timer/runs", { args: { seconds: 99 } });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.error.code, "TOOLS_ARGS_INVALID");
  assert.equal(invalid.body.error.field, "seconds");
  const extra = await json(host, "POST", "/api/tools/timer/runs", {
    args: { seconds: 1, extra: true },
  });
  assert.equal(extra.status, 400);
  assert.equal(extra.body.error.field, "extra", "an unknown argument is named");
  const disabled = await json(host, "PATCH", "/api/tools/timer", { enabled: false });
  assert.equal(disabled.status, 200);
  assert.equal(disabled.body.enabled, false);
  const refused = await json(host, "POST", "/api/tools/timer/runs", { args: { seconds: 1 } });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, "TOOLS_DISABLED");
});

Deno.test("a user's tool runs are theirs: another user lists none and gets 404 on the run, its output and cancel; an administrator sees them", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, { plugins: TOOLS });
  const ada = host.as({ userId: "ada", role: "operator" });
  const finished = nextEvent<ToolRunView>(host, "tool.run", (run) => run.status === "succeeded");
  const started = await json(ada, "POST", "/api/tools/calculator/runs", {
    args: { expression: "6 * 7" },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const id = started.body.id as string;
  assert.equal((await finished).id, id);
  const own = await json(ada, "GET", "/api/runs");
  assert.deepEqual(own.body.items.map((run: ToolRunView) => run.id), [id]);
  assert.equal((await ada.request(`/api/runs/${id}/output`)).status, 200);

  for (
    const other of [
      host.as({ userId: "vic", role: "viewer" }),
      host.as({ userId: "bob", role: "operator" }),
    ]
  ) {
    assert.deepEqual((await json(other, "GET", "/api/runs")).body.items, []);
    const one = await json(other, "GET", `/api/runs/${id}`);
    assert.equal(one.status, 404);
    assert.equal(one.body.error.code, "TOOLS_RUN_NOT_FOUND");
    const output = await other.request(`/api/runs/${id}/output`);
    assert.equal(output.status, 404);
    // The error answer alone (its request id may hold any digits, so no search for "42").
    assert.deepEqual(Object.keys(await output.json()), ["success", "error"], "none of the output");
  }
  const cancel = await json(
    host.as({ userId: "bob", role: "operator" }),
    "POST",
    `/api/runs/${id}/cancel`,
  );
  assert.equal(cancel.status, 404);
  const admin = await json(host, "GET", "/api/runs");
  assert.deepEqual(admin.body.items.map((run: ToolRunView) => run.id), [id]);
  assert.equal((await json(host, "GET", `/api/runs/${id}`)).status, 200);
});

Deno.test("over signed-in sockets a run's tool.run reaches the user who asked and administrators, not another user", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const ada = (await userWithRole(host, admin, "ada", "operator")).access_token as string;
  const bob = (await userWithRole(host, admin, "bob", "operator")).access_token as string;
  const server = host.listen();
  const sockets: Record<string, WsClient> = {};
  for (const [name, token] of [["admin", admin], ["ada", ada], ["bob", bob]] as const) {
    sockets[name] = await signedIn(server.url, token, ["tools"]);
  }
  const started = await call(host, "POST", "/api/tools/calculator/runs", {
    token: ada,
    body: { args: { expression: "6 * 7" } },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  // Ada and the administrator see the run end; a ping answered after it shows bob got nothing.
  for (const name of ["ada", "admin"]) {
    for (;;) {
      const event = await sockets[name]!.next("tool.run");
      if (event.data.status === "succeeded") break;
    }
  }
  sockets.bob!.send("ping");
  await sockets.bob!.next("pong");
  assert.ok(!sockets.bob!.received.some((message) => message.type === "tool.run"));
  for (const client of Object.values(sockets)) client.close();
  await server.shutdown();
});

Deno.test("a user's approvals are theirs: the request reaches them and administrators; another operator or a viewer lists none and gets 404 deciding it", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reply: [{
      reply: {
        toolCalls: [{ name: "file_write", args: { path: "diary.txt", content: "ada's secret" } }],
      },
    }],
    tool_loop: [{ reply: { text: "Not written." } }],
  });
  await using host = await mindHost(fake, {
    plugins: TOOLS,
    config: { auth: { enabled: true, password: { scryptLogN: 14 } } },
  });
  const admin = (await setupAdmin(host)).access_token as string;
  const ada = (await userWithRole(host, admin, "ada", "operator")).access_token as string;
  const bob = (await userWithRole(host, admin, "bob", "operator")).access_token as string;
  const vera = (await userWithRole(host, admin, "vera", "viewer")).access_token as string;
  const server = host.listen();
  const sockets: Record<string, WsClient> = {};
  for (const [name, token] of [["admin", admin], ["ada", ada], ["bob", bob]] as const) {
    sockets[name] = await signedIn(server.url, token, ["approvals"]);
  }
  // Ada's chat turn asks for a write, which waits for a decision.
  const turn = call(host, "POST", "/api/chat", { token: ada, body: { message: "Note this" } });
  const requests = [];
  for (const name of ["ada", "admin"]) {
    requests.push((await sockets[name]!.next("tool.approval_request")).data);
  }
  const id = requests[0]!.id as string;
  assert.deepEqual(requests.map((request) => request.id), [id, id]);
  sockets.bob!.send("ping");
  await sockets.bob!.next("pong");
  assert.ok(!sockets.bob!.received.some((message) => message.type === "tool.approval_request"));

  for (const [token, expected] of [[bob, []], [vera, []], [ada, [id]], [admin, [id]]] as const) {
    const listed = await call(host, "GET", "/api/approvals?status=pending", { token });
    assert.equal(listed.status, 200);
    const items = listed.body.items as Array<{ id: string; args_preview: string }>;
    assert.deepEqual(items.map((item) => item.id), expected);
  }
  const refused = await call(host, "POST", `/api/approvals/${id}`, {
    token: bob,
    body: { decision: "approve" },
  });
  assert.equal(refused.status, 404);
  assert.equal((refused.body.error as Record<string, unknown>).code, "APPROVAL_NOT_FOUND");
  sockets.bob!.send("approval.respond", { approval_id: id, decision: "approve" });
  const error = await sockets.bob!.next("error");
  assert.equal(error.data.code, "APPROVAL_NOT_FOUND");
  const decided = await call(host, "POST", `/api/approvals/${id}`, {
    token: ada,
    body: { decision: "deny" },
  });
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  assert.equal(decided.body.status, "denied");
  assert.equal((await turn).body.response, "Not written.");
  for (const client of Object.values(sockets)) client.close();
  await server.shutdown();
});
