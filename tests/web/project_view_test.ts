import assert from "node:assert/strict";
import {
  actionsFor,
  changesSchedule,
  describeEvent,
  inFilter,
  mergeEvents,
  percent,
  type ProjectEvent,
  type ProjectTask,
  sortTasks,
} from "../../web/lib/project_view.ts";

const event = (seq: number, type = "task.progress", data: Record<string, unknown> = {}) =>
  ({
    project_id: "prj_1",
    seq,
    at: new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString(),
    task_id: "t1",
    type,
    data,
  }) satisfies ProjectEvent;

function task(id: string, extra: Partial<ProjectTask> = {}): ProjectTask {
  return {
    id,
    key: id,
    name: `Task ${id}`,
    description: "",
    priority: 5,
    depends_on: [],
    estimate: { iterations: 2, hours: 2 },
    milestone: false,
    done: false,
    blocked: false,
    progress: 0,
    iterations: 0,
    status: "pending",
    planned_start: null,
    planned_end: null,
    started_at: null,
    finished_at: null,
    ...extra,
  };
}

Deno.test("events from REST and the socket merge into one list per seq, newest first", () => {
  const rest = [event(1), event(2), event(3)];
  const live = [event(3), event(4)];
  const older = [event(1)];
  assert.deepEqual(mergeEvents(older, rest, live).map((item) => item.seq), [4, 3, 2, 1]);
  assert.deepEqual(mergeEvents(), []);
});

Deno.test("plan, task and exit events refetch the detail and the timeline; others do not", () => {
  for (const type of ["plan.proposed", "plan.accepted", "task.started", "task.completed", "exit"]) {
    assert.equal(changesSchedule(type), true, type);
  }
  for (const type of ["started", "questions", "paused", "resumed", "llm.failed", "milestone"]) {
    assert.equal(changesSchedule(type), false, type);
  }
});

Deno.test("filters: Active holds the three active phases; each other chip one phase", () => {
  assert.equal(inFilter("initialization", "active"), true);
  assert.equal(inFilter("planning", "active"), true);
  assert.equal(inFilter("iteration", "active"), true);
  assert.equal(inFilter("paused", "active"), false);
  assert.equal(inFilter("paused", "paused"), true);
  assert.equal(inFilter("exit", "exit"), true);
  assert.equal(inFilter("archived", "archived"), true);
  assert.equal(inFilter("archived", "exit"), false);
});

Deno.test("progress is clamped to a whole percentage", () => {
  assert.equal(percent(2 / 7), 29);
  assert.equal(percent(5), 100);
  assert.equal(percent(-1), 0);
  assert.equal(percent(Number.NaN), 0);
});

Deno.test("tasks sort by a column with roadmap order on ties; priority ascending puts P1 first", () => {
  const tasks = [
    task("a", { priority: 3, status: "completed", started_at: "2026-01-01T02:00:00.000Z" }),
    task("b", { priority: 1, status: "in_progress", started_at: "2026-01-01T01:00:00.000Z" }),
    task("c", { priority: 3, status: "ready" }),
    task("d", { priority: 2, status: "pending", blocked: true }),
  ];
  const ids = (list: ProjectTask[]) => list.map((item) => item.id).join("");
  assert.equal(ids(sortTasks(tasks, null)), "abcd");
  assert.equal(ids(sortTasks(tasks, "priority")), "bdac");
  assert.equal(ids(sortTasks(tasks, "priority", true)), "acdb");
  assert.equal(ids(sortTasks(tasks, "status")), "bcda");
  assert.equal(ids(sortTasks(tasks, "started_at")), "bacd", "not started sorts last");
  assert.equal(ids(sortTasks(tasks, "blocked", true)), "dabc");
  assert.equal(ids(tasks), "abcd", "the input is not changed");
});

Deno.test("the action panel follows awaiting; inactive projects offer resume, archive, delete", () => {
  const template = { template_id: "web-app", tasks_done: 0, tasks_total: 3 };
  const none = { tasks_done: 0, tasks_total: 0 };
  const answers = actionsFor(
    { phase: "initialization", awaiting: "answers", ...template },
    "operator",
  );
  assert.deepEqual(answers, {
    awaiting: "answers",
    skip: true,
    pause: true,
    resume: false,
    archive: false,
    delete: false,
  });
  const free = actionsFor(
    { phase: "initialization", awaiting: "answers", template_id: null, ...none },
    "operator",
  );
  assert.equal(free.skip, false, "Skip and start is for templates only");
  assert.equal(
    actionsFor(
      { phase: "planning", awaiting: "plan_decision", template_id: null, ...none },
      "admin",
    )
      .awaiting,
    "plan_decision",
  );
  const paused = actionsFor(
    { phase: "paused", awaiting: "nothing", template_id: null, ...none },
    "admin",
  );
  assert.deepEqual(
    [paused.awaiting, paused.pause, paused.resume, paused.archive, paused.delete],
    ["nothing", false, true, true, false],
  );
  const archived = {
    phase: "archived" as const,
    awaiting: "nothing" as const,
    template_id: null,
    ...none,
  };
  assert.equal(actionsFor(archived, "admin").delete, true);
  assert.equal(actionsFor(archived, "admin").archive, false);
  assert.equal(actionsFor(archived, "operator").delete, false, "delete is for admins");
  // Ended with every task done: resuming would be refused (GDIL_NOTHING_TO_RESUME).
  const ended = { phase: "exit" as const, awaiting: "nothing" as const, template_id: null };
  assert.equal(actionsFor({ ...ended, tasks_done: 3, tasks_total: 3 }, "admin").resume, false);
  assert.equal(actionsFor({ ...ended, tasks_done: 1, tasks_total: 3 }, "admin").resume, true);
  assert.equal(actionsFor({ ...ended, ...none }, "admin").resume, true, "no plan yet: planning");
});

Deno.test("events read as one line each", () => {
  const names = new Map([["t1", "Database Schema"]]);
  assert.equal(
    describeEvent(event(1, "task.completed", { name: "Backend" }), names),
    "Task completed: Backend",
  );
  assert.equal(
    describeEvent(event(2, "task.progress", { progress: 0.4 }), names),
    "Progress on Database Schema: 40 %",
  );
  assert.equal(describeEvent(event(3, "exit", { reason: "user_stop" }), names), "Ended: user stop");
  assert.equal(
    describeEvent(event(4, "questions", { questions: ["a", "b"] }), names),
    "2 questions asked",
  );
  assert.equal(describeEvent(event(5, "vcs.commit"), names), "vcs.commit");
});
