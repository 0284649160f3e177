import assert from "node:assert/strict";
import { type Action, initialState, reduce, type State } from "../../web/state/reducers.ts";
import type { Approval, ToolRun } from "../../web/state/types.ts";

const NOW = Date.parse("2025-05-03T12:00:00.000Z");

let seq = 0;

/** A server message as the socket controller hands it to the store. */
function ws(type: string, data: Record<string, unknown>, now = NOW): Action {
  return { type: "ws", message: { type, seq: ++seq, ts: now, data }, now };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** Applies actions in order; every state is frozen first, so a mutating reducer throws. */
function apply(state: State, ...actions: Action[]): State {
  for (const action of actions) state = reduce(deepFreeze(state), action);
  return state;
}

function snapshot(version: number, p: number): Action {
  return ws("state.snapshot", {
    version,
    state: { mind: { affect: { p, a: 0.2, d: -0.1 }, mood: "calm" }, drives: { curiosity: 0.5 } },
  });
}

function openThread(threadId: string | null): Action {
  return { type: "chat/open", threadId, messages: [] };
}

function token(threadId: string, turnId: string, index: number, text: string): Action {
  return ws("chat.token", { thread_id: threadId, turn_id: turnId, index, text });
}

function toolRun(id: string, status: ToolRun["status"], approvalId: string | null = null): ToolRun {
  return {
    id,
    tool: "shell.exec",
    source: "builtin",
    risk: "high",
    args_preview: '{"cmd":"ls"}',
    requested_by: "usr_1",
    module: "tools",
    thread_id: "thr_1",
    turn_id: "trn_1",
    project_id: null,
    approval_id: approvalId,
    approver_id: null,
    status,
    error_code: null,
    duration_ms: null,
    result_preview: null,
    truncated: false,
    created_at: "2025-05-03T12:00:00.000Z",
    finished_at: null,
  };
}

function approval(id: string, runId: string): Approval {
  return {
    id,
    run_id: runId,
    tool: "shell.exec",
    risk: "high",
    args_preview: '{"cmd":"ls"}',
    thread_id: "thr_1",
    expires_at: "2025-05-03T12:05:00.000Z",
    status: "pending",
  };
}

// state.snapshot, state.delta

Deno.test("state.snapshot replaces mind, clears stale and appends a chart point", () => {
  const stale = apply(initialState(), { type: "welcome", resumed: false });
  assert.equal(stale.mind.stale, true);
  const state = apply(stale, snapshot(7, 0.4));
  assert.equal(state.mind.version, 7);
  assert.deepEqual(state.mind.state, {
    mind: { affect: { p: 0.4, a: 0.2, d: -0.1 }, mood: "calm" },
    drives: { curiosity: 0.5 },
  });
  assert.equal(state.mind.stale, false);
  assert.deepEqual(state.mind.history, [{ t: NOW, p: 0.4, a: 0.2, d: -0.1 }]);
  assert.equal(state.connection.lastEventAt, NOW);
});

Deno.test("state.delta with the held base_version applies its merge patch", () => {
  const state = apply(
    initialState(),
    snapshot(7, 0.4),
    ws("state.delta", {
      base_version: 7,
      version: 8,
      patch: { mind: { affect: { p: 0.5 }, mood: null }, drives: { rest: 0.1 } },
      cause: "turn",
    }, NOW + 1_000),
  );
  assert.equal(state.mind.version, 8);
  assert.deepEqual(state.mind.state, {
    mind: { affect: { p: 0.5, a: 0.2, d: -0.1 } },
    drives: { curiosity: 0.5, rest: 0.1 },
  });
  assert.deepEqual(state.mind.history.map((point) => [point.t, point.p]), [
    [NOW, 0.4],
    [NOW + 1_000, 0.5],
  ]);
  assert.equal(state.mind.stale, false);
});

Deno.test("a chart point carries the flow estimate (ema) when the state reports one", () => {
  const state = apply(
    initialState(),
    snapshot(7, 0.4),
    ws("state.delta", {
      base_version: 7,
      version: 8,
      patch: { mind: { psyche_calibration: { ema: 0.62, state: "flow" } } },
      cause: "turn",
    }, NOW + 1_000),
  );
  assert.deepEqual(state.mind.history, [
    { t: NOW, p: 0.4, a: 0.2, d: -0.1 },
    { t: NOW + 1_000, p: 0.4, a: 0.2, d: -0.1, ema: 0.62 },
  ]);
});

Deno.test("a state change that leaves the affect and the flow estimate alone adds no chart point", () => {
  const state = apply(
    initialState(),
    snapshot(7, 0.4),
    ws("state.delta", {
      base_version: 7,
      version: 8,
      patch: { drives: { curiosity: 0.9 } },
      cause: "job",
    }, NOW + 1_000),
    // Decay alone between two messages (the state's affect is decayed when it is read).
    ws("state.delta", {
      base_version: 8,
      version: 9,
      patch: { mind: { affect: { p: 0.3999, a: 0.2003 } } },
      cause: "job",
    }, NOW + 1_500),
    ws("state.delta", {
      base_version: 9,
      version: 10,
      patch: { mind: { affect: { a: 0.3 } } },
      cause: "turn",
    }, NOW + 2_000),
  );
  assert.equal(state.mind.version, 10);
  assert.deepEqual(state.mind.history.map((point) => [point.t, point.a]), [
    [NOW, 0.2],
    [NOW + 2_000, 0.3],
  ], "one point per change, as /api/state/history keeps them");
});

Deno.test("state.delta with another base_version marks mind stale and changes nothing else", () => {
  const before = apply(initialState(), snapshot(7, 0.4));
  const after = apply(
    before,
    ws("state.delta", { base_version: 6, version: 8, patch: { mind: null }, cause: "turn" }),
  );
  assert.equal(after.mind.stale, true);
  assert.equal(after.mind.version, 7);
  assert.equal(after.mind.state, before.mind.state);
  assert.equal(after.mind.history, before.mind.history);
});

Deno.test("state.delta before any snapshot marks mind stale", () => {
  const state = apply(
    initialState(),
    ws("state.delta", { base_version: 1, version: 2, patch: { a: 1 }, cause: "tick" }),
  );
  assert.equal(state.mind.stale, true);
  assert.equal(state.mind.state, null);
  assert.equal(state.mind.version, null);
});

Deno.test("chart history keeps the newest 2,000 points", () => {
  let state = initialState();
  // Each point a change larger than decay alone makes.
  for (let i = 0; i < 2_005; i++) state = reduce(state, snapshot(i, i / 100));
  assert.equal(state.mind.history.length, 2_000);
  assert.equal(state.mind.history[0]!.p, 5 / 100);
  assert.equal(state.mind.history.at(-1)!.p, 2_004 / 100);
});

// chat.token, chat.done, turn.influence

Deno.test("chat.token places text by index, so tokens out of order read in order", () => {
  const state = apply(
    initialState(),
    openThread("thr_1"),
    token("thr_1", "trn_1", 1, " world"),
    token("thr_1", "trn_1", 2, "!"),
    token("thr_1", "trn_1", 0, "Hello"),
  );
  assert.equal(state.chat.messages.length, 1);
  const reply = state.chat.messages[0]!;
  assert.equal(reply.role, "assistant");
  assert.equal(reply.turnId, "trn_1");
  assert.equal(reply.status, "streaming");
  assert.equal(reply.text, "Hello world!");
});

Deno.test("chat.token ignores a duplicate index", () => {
  const once = apply(
    initialState(),
    openThread("thr_1"),
    token("thr_1", "trn_1", 0, "Hello"),
    token("thr_1", "trn_1", 1, " world"),
  );
  const twice = apply(once, token("thr_1", "trn_1", 1, " world"), token("thr_1", "trn_1", 0, "X"));
  assert.equal(twice.chat.messages.length, 1);
  assert.equal(twice.chat.messages[0]!.text, "Hello world");
  assert.deepEqual(twice.chat.messages, once.chat.messages);
});

Deno.test("chat.token before the turn is known is held, then attached by chat/accepted", () => {
  const sent = apply(initialState(), openThread(null), {
    type: "chat/sent",
    key: "pending:c1",
    text: "Hi",
    at: "2025-05-03T12:00:00.000Z",
  });
  const early = apply(
    sent,
    token("thr_new", "trn_1", 1, " there"),
    token("thr_new", "trn_1", 0, "Hello"),
    token("thr_new", "trn_1", 0, "DUPLICATE"),
  );
  assert.deepEqual(early.chat.messages, sent.chat.messages, "no bubble before the turn is known");
  assert.ok(early.chat.early["trn_1"]);

  const accepted = apply(early, {
    type: "chat/accepted",
    key: "pending:c1",
    turnId: "trn_1",
    threadId: "thr_new",
  });
  assert.equal(accepted.chat.threadId, "thr_new");
  assert.deepEqual(accepted.chat.early, {});
  const [user, reply] = accepted.chat.messages;
  assert.equal(user!.turnId, "trn_1");
  assert.equal(reply!.role, "assistant");
  assert.equal(reply!.status, "streaming");
  assert.equal(reply!.text, "Hello there");

  const more = apply(accepted, token("thr_new", "trn_1", 2, "!"));
  assert.equal(more.chat.messages[1]!.text, "Hello there!");
});

Deno.test("chat/accepted after the user opened another thread changes nothing", () => {
  const sent = apply(initialState(), openThread("thr_a"), {
    type: "chat/sent",
    key: "pending:c1",
    text: "Hi",
    at: "2025-05-03T12:00:00.000Z",
  });
  const elsewhere = apply(sent, openThread("thr_b"));
  const after = apply(elsewhere, {
    type: "chat/accepted",
    key: "pending:c1",
    turnId: "trn_1",
    threadId: "thr_a",
  });
  assert.equal(after.chat.threadId, "thr_b");
  assert.deepEqual(after.chat.messages, []);
});

Deno.test("chat.done sets the final text, status, usage, error and stored id", () => {
  const streaming = apply(initialState(), openThread("thr_1"), token("thr_1", "trn_1", 0, "Hel"));
  const done = apply(
    streaming,
    ws("chat.done", {
      thread_id: "thr_1",
      turn_id: "trn_1",
      message_id: "msg_9",
      status: "completed",
      text: "Hello **world**",
      usage: { model: "fake", input_tokens: 10, output_tokens: 3 },
    }),
  );
  assert.deepEqual(
    { ...done.chat.messages[0]!, pieces: undefined, createdAt: undefined },
    {
      key: "msg_9",
      role: "assistant",
      text: "Hello **world**",
      turnId: "trn_1",
      status: "completed",
      pieces: undefined,
      usage: { model: "fake", input_tokens: 10, output_tokens: 3 },
      error: null,
      createdAt: undefined,
    },
  );
  const late = apply(done, token("thr_1", "trn_1", 1, "lo"));
  assert.deepEqual(late.chat.messages, done.chat.messages, "tokens after done change nothing");
});

Deno.test("chat.done carries a failure's status and error", () => {
  const state = apply(
    initialState(),
    openThread("thr_1"),
    ws("chat.done", {
      thread_id: "thr_1",
      turn_id: "trn_1",
      message_id: "msg_9",
      status: "failed",
      text: "",
      usage: null,
      error: { code: "LLM_UNAVAILABLE", message: "No model could answer." },
    }),
  );
  const reply = state.chat.messages[0]!;
  assert.equal(reply.status, "failed");
  assert.deepEqual(reply.error, { code: "LLM_UNAVAILABLE", message: "No model could answer." });
});

Deno.test("chat.done for another thread leaves the log alone and drops that turn's held tokens", () => {
  const held = apply(
    initialState(),
    openThread("thr_1"),
    token("thr_1", "trn_1", 0, "mine"),
    token("thr_2", "trn_2", 0, "theirs"),
  );
  assert.ok(held.chat.early["trn_2"]);
  const done = apply(
    held,
    ws("chat.done", {
      thread_id: "thr_2",
      turn_id: "trn_2",
      message_id: "msg_2",
      status: "completed",
      text: "theirs",
      usage: null,
    }),
  );
  assert.deepEqual(done.chat.messages, held.chat.messages);
  assert.deepEqual(done.chat.early, {});
});

Deno.test("turn.influence attaches the record to its turn", () => {
  const record = { turn_id: "trn_1", affect: { p: 0.1 }, memories: ["mem_1"] };
  const state = apply(initialState(), ws("turn.influence", record));
  assert.deepEqual(state.chat.influence, { trn_1: record });
});

// tools

Deno.test("tool.approval_request adds a pending approval with its expiry", () => {
  const state = apply(
    initialState(),
    ws("tool.approval_request", approval("apr_1", "run_1") as unknown as Record<string, unknown>),
  );
  assert.deepEqual(state.tools.approvals, { apr_1: approval("apr_1", "run_1") });
  assert.equal(state.tools.approvals["apr_1"]!.expires_at, "2025-05-03T12:05:00.000Z");
});

Deno.test("tool.run upserts the run by id", () => {
  const first = apply(initialState(), ws("tool.run", { ...toolRun("run_1", "running") }));
  const second = apply(
    first,
    ws("tool.run", { ...toolRun("run_2", "running") }),
    ws("tool.run", { ...toolRun("run_1", "succeeded"), duration_ms: 120 }),
  );
  assert.deepEqual(Object.keys(second.tools.runs).sort(), ["run_1", "run_2"]);
  assert.equal(second.tools.runs["run_1"]!.status, "succeeded");
  assert.equal(second.tools.runs["run_1"]!.duration_ms, 120);
  assert.equal(second.tools.runs["run_2"]!.status, "running");
});

Deno.test("tool.run closes its approval as approved, denied or expired", () => {
  const cases: Array<[ToolRun["status"], Approval["status"]]> = [
    ["running", "approved"],
    ["succeeded", "approved"],
    ["denied", "denied"],
    ["expired", "expired"],
  ];
  for (const [runStatus, approvalStatus] of cases) {
    const state = apply(
      initialState(),
      ws("tool.approval_request", approval("apr_1", "run_1") as unknown as Record<string, unknown>),
      ws("tool.run", { ...toolRun("run_1", runStatus, "apr_1") }),
    );
    assert.equal(state.tools.approvals["apr_1"]!.status, approvalStatus, runStatus);
  }
});

Deno.test("tool.run still pending approval leaves its approval pending", () => {
  const state = apply(
    initialState(),
    ws("tool.approval_request", approval("apr_1", "run_1") as unknown as Record<string, unknown>),
    ws("tool.run", { ...toolRun("run_1", "pending_approval", "apr_1") }),
  );
  assert.equal(state.tools.approvals["apr_1"]!.status, "pending");
  assert.equal(state.tools.runs["run_1"]!.status, "pending_approval");
});

// projects, memory, notices

Deno.test("project.update replaces the summary and de-duplicates events by (project, seq)", () => {
  const update = (projectId: string, eventSeq: number, name: string) =>
    ws("project.update", {
      project_id: projectId,
      event: { seq: eventSeq, type: "task.updated" },
      project: { id: projectId, name },
    });
  const state = apply(
    initialState(),
    update("prj_1", 2, "v1"),
    update("prj_1", 1, "v2"),
    update("prj_1", 2, "v3"),
    update("prj_2", 2, "other"),
  );
  assert.deepEqual(state.projects.summaries, {
    prj_1: { id: "prj_1", name: "v3" },
    prj_2: { id: "prj_2", name: "other" },
  });
  assert.deepEqual(state.projects.events["prj_1"]!.map((event) => event.seq), [1, 2]);
  assert.deepEqual(state.projects.events["prj_2"]!.map((event) => event.seq), [2]);
});

Deno.test("memory.update counts changes until memory/refreshed", () => {
  const changed = apply(
    initialState(),
    ws("memory.update", { op: "created", ids: ["mem_1"] }),
    ws("memory.update", { op: "forgotten", ids: ["mem_2"] }),
  );
  assert.equal(changed.memory.changes, 2);
  assert.equal(apply(changed, { type: "memory/refreshed" }).memory.changes, 0);
});

Deno.test("a memory this tab forgot itself is no change to announce; someone else's is", () => {
  const state = apply(
    initialState(),
    { type: "memory/forgot", id: "mem_1" },
    ws("memory.update", { op: "forgotten", ids: ["mem_1"] }),
    ws("memory.update", { op: "forgotten", ids: ["mem_2"] }),
    ws("memory.update", { op: "forgotten", ids: ["mem_1"] }),
  );
  assert.equal(state.memory.changes, 2, "only mem_2 and a second forget of mem_1 count");
  assert.deepEqual(state.memory.own, []);
});

Deno.test("notice keeps the newest five, by level and code", () => {
  let state = initialState();
  for (let i = 1; i <= 7; i++) {
    state = apply(state, ws("notice", { level: "warn", code: `CODE_${i}`, message: `m${i}` }));
  }
  assert.deepEqual(state.notices.map((notice) => notice.code), [
    "CODE_3",
    "CODE_4",
    "CODE_5",
    "CODE_6",
    "CODE_7",
  ]);
  assert.equal(state.notices[0]!.level, "warn");
  assert.equal(new Set(state.notices.map((notice) => notice.id)).size, 5);
  const local = apply(state, { type: "notice", level: "error", code: "UNREACHABLE", message: "x" });
  assert.equal(local.notices.length, 5);
  assert.equal(local.notices.at(-1)!.code, "UNREACHABLE");
  const dismissed = apply(local, { type: "notice/dismiss", id: local.notices[0]!.id });
  assert.deepEqual(dismissed.notices.map((notice) => notice.code), [
    "CODE_5",
    "CODE_6",
    "CODE_7",
    "UNREACHABLE",
  ]);
  // A notice that no longer holds (the session a refresh waited for is back) goes by its code.
  const resolved = apply(dismissed, { type: "notice/resolved", code: "UNREACHABLE" });
  assert.deepEqual(resolved.notices.map((notice) => notice.code), ["CODE_5", "CODE_6", "CODE_7"]);
});

Deno.test("an unknown server message only records when the last event came", () => {
  const before = apply(initialState(), openThread("thr_1"));
  const after = apply(before, ws("something.new", { x: 1 }, NOW + 5));
  assert.deepEqual({ ...after, connection: before.connection }, before);
  assert.equal(after.connection.lastEventAt, NOW + 5);
});

// welcome

Deno.test("welcome resumed:false marks mind, chat, tools and projects stale", () => {
  const state = apply(initialState(), snapshot(1, 0.1), { type: "welcome", resumed: false });
  assert.deepEqual(
    [state.mind.stale, state.chat.stale, state.tools.stale, state.projects.stale],
    [true, true, true, true],
  );
  assert.equal(state.mind.version, 1, "the held state stays until the new snapshot");
});

Deno.test("a new session after a restart drops the old server's shutting-down notice, not the others", () => {
  const state = apply(
    initialState(),
    ws("notice", { level: "warn", code: "SHUTTING_DOWN", message: "The server is shutting down" }),
    ws("notice", { level: "warn", code: "LLM_DEGRADED", message: "The model is slow" }),
  );
  const resumed = apply(state, { type: "welcome", resumed: true });
  assert.equal(resumed.notices.length, 2, "a resumed session is the same server");
  const fresh = apply(state, { type: "welcome", resumed: false });
  assert.deepEqual(fresh.notices.map((notice) => notice.code), ["LLM_DEGRADED"]);
});

Deno.test("welcome resumed:true leaves every slice as it is", () => {
  const before = apply(initialState(), snapshot(1, 0.1), openThread("thr_1"));
  const after = reduce(before, { type: "welcome", resumed: true });
  assert.equal(after, before);
  assert.equal(after.mind.stale, false);
});

Deno.test("REST loads clear stale slices", () => {
  const stale = apply(initialState(), { type: "welcome", resumed: false });
  const loaded = apply(
    stale,
    { type: "mind/loaded", state: { mind: {} } },
    openThread("thr_1"),
    { type: "tools/loaded", runs: [toolRun("run_1", "running")], approvals: [] },
  );
  assert.deepEqual([loaded.mind.stale, loaded.chat.stale, loaded.tools.stale], [
    false,
    false,
    false,
  ]);
  assert.deepEqual(Object.keys(loaded.tools.runs), ["run_1"]);
});

Deno.test("a listing older than the live messages never reopens an ended run or approval", () => {
  const live = apply(
    initialState(),
    ws("tool.approval_request", approval("apr_1", "run_1") as unknown as Record<string, unknown>),
    ws("tool.run", { ...toolRun("run_1", "expired", "apr_1") }),
    ws("tool.run", { ...toolRun("run_3", "running") }),
  );
  const loaded = reduce(live, {
    type: "tools/loaded",
    runs: [toolRun("run_1", "pending_approval", "apr_1"), toolRun("run_2", "succeeded")],
    approvals: [approval("apr_1", "run_1")],
  });
  assert.equal(loaded.tools.runs["run_1"]!.status, "expired", "the live end stands");
  assert.equal(loaded.tools.approvals["apr_1"]!.status, "expired");
  assert.equal(
    loaded.tools.runs["run_2"]!.status,
    "succeeded",
    "what only the listing has is added",
  );
  assert.equal(loaded.tools.runs["run_3"]!.status, "running", "a run the listing lacks stays");
  const moved = reduce(loaded, {
    type: "tools/loaded",
    runs: [toolRun("run_3", "succeeded")],
    approvals: [],
  });
  assert.equal(moved.tools.runs["run_3"]!.status, "succeeded", "a newer listing still updates");
});

Deno.test("a further page of threads joins the list once; a first page replaces it", () => {
  const thread = (id: string) => ({ id, title: id, updated_at: "", message_count: 0 });
  let state = apply(initialState(), {
    type: "chat/threads",
    threads: [thread("t3"), thread("t2")],
    next: "c1",
  });
  assert.equal(state.chat.threadsNext, "c1");
  state = apply(state, {
    type: "chat/threads",
    // t2 moved to the next page meanwhile (a message was sent in another tab): listed once.
    threads: [thread("t2"), thread("t1")],
    next: null,
    append: true,
  });
  assert.deepEqual(state.chat.threads.map((item) => item.id), ["t3", "t2", "t1"]);
  assert.equal(state.chat.threadsNext, null);
  state = apply(state, { type: "chat/threads", threads: [thread("t4")], next: "c2" });
  assert.deepEqual(state.chat.threads.map((item) => item.id), ["t4"]);
  assert.equal(state.chat.threadsNext, "c2");
});

Deno.test("earlier messages go before the shown ones, once, and only into the thread they are of", () => {
  const message = (key: string) => ({
    key,
    role: "user" as const,
    text: key,
    turnId: null,
    status: "sent" as const,
    createdAt: "",
  });
  let state = apply(initialState(), {
    type: "chat/open",
    threadId: "thr_1",
    messages: [message("m3"), message("m4")],
    earlier: "3",
  });
  assert.equal(state.chat.earlier, "3");
  const before = state;
  state = apply(state, {
    type: "chat/earlier",
    threadId: "thr_other",
    messages: [message("x")],
    earlier: null,
  });
  assert.equal(state, before, "a page of another thread is dropped");
  state = apply(state, {
    type: "chat/earlier",
    threadId: "thr_1",
    messages: [message("m1"), message("m2"), message("m3")],
    earlier: null,
  });
  assert.deepEqual(state.chat.messages.map((item) => item.key), ["m1", "m2", "m3", "m4"]);
  assert.equal(state.chat.earlier, null);
  assert.equal(apply(state, openThread("thr_2")).chat.earlier, null, "another thread starts anew");
});

Deno.test("a re-read of the open thread keeps a reply still streaming and drops what is now stored", () => {
  const at = "2026-11-26T10:00:00.000Z";
  const live = apply(
    initialState(),
    { type: "chat/open", threadId: "thr_1", messages: [] },
    { type: "chat/sent", key: "pending:a", text: "Write a.txt", at },
    { type: "chat/accepted", key: "pending:a", turnId: "turn_1", threadId: "thr_1" },
    ws("chat.token", { turn_id: "turn_1", thread_id: "thr_1", index: 0, text: "Work" }),
  );
  assert.deepEqual(live.chat.messages.map((m) => [m.role, m.status]), [
    ["user", "sent"],
    ["assistant", "streaming"],
  ]);
  const stored = {
    key: "msg_1",
    role: "user" as const,
    text: "Write a.txt",
    turnId: "turn_1",
    status: "sent" as const,
    createdAt: at,
  };
  const reread = apply(live, {
    type: "chat/open",
    threadId: "thr_1",
    messages: [stored],
    keepLive: true,
  });
  assert.deepEqual(reread.chat.messages.map((m) => [m.key, m.role, m.status]), [
    ["msg_1", "user", "sent"],
    [live.chat.messages[1]!.key, "assistant", "streaming"],
  ]);
  const plain = apply(live, { type: "chat/open", threadId: "thr_1", messages: [stored] });
  assert.deepEqual(plain.chat.messages.map((m) => m.key), ["msg_1"], "opening replaces");
});

Deno.test("a turn accepted after a re-read already showed its stored message: one user bubble, and the reply bubble", () => {
  const at = "2026-11-26T10:00:00.000Z";
  const state = apply(
    initialState(),
    { type: "chat/open", threadId: "thr_1", messages: [] },
    { type: "chat/sent", key: "pending:a", text: "Write a.txt", at },
    {
      type: "chat/open",
      threadId: "thr_1",
      messages: [{
        key: "msg_1",
        role: "user",
        text: "Write a.txt",
        turnId: "turn_1",
        status: "sent",
        createdAt: at,
      }],
      keepLive: true,
    },
    { type: "chat/accepted", key: "pending:a", turnId: "turn_1", threadId: "thr_1" },
  );
  assert.deepEqual(state.chat.messages.map((m) => [m.key, m.role, m.status]), [
    ["msg_1", "user", "sent"],
    ["turn:turn_1", "assistant", "streaming"],
  ]);
  assert.equal(apply(state, { type: "chat/caught-up" }).chat.stale, false);
});
