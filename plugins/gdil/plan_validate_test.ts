import assert from "node:assert/strict";
import { baseline, findCycle, topologicalOrder, validatePlan } from "./plan_validate.ts";
import type { PlanTask, Task } from "./types.ts";

const LIMITS = { minTasks: 4, maxTasks: 12 };
const HOUR = 3_600_000;

function plan(key: string, dependsOn: string[] = [], extra: Partial<PlanTask> = {}): PlanTask {
  return {
    key,
    name: `Task ${key}`,
    description: "",
    priority: 1,
    dependsOn,
    estimate: { iterations: 2, hours: 2 },
    milestone: false,
    ...extra,
  };
}

function task(id: string, dependsOn: string[], hours: number, priority = 1): Task {
  return {
    id,
    key: id,
    name: id,
    description: "",
    priority,
    dependsOn,
    estimate: { iterations: 2, hours },
    milestone: false,
    done: false,
    blocked: false,
    progress: 0,
    iterations: 0,
    lowStreak: 0,
    plannedStart: null,
    plannedEnd: null,
    startedAt: null,
    finishedAt: null,
  };
}

Deno.test("a well-formed plan has no issues", () => {
  const tasks = [
    plan("a"),
    plan("b", ["a"]),
    plan("c", ["a"]),
    plan("d", ["b", "c"], {
      milestone: true,
    }),
  ];
  assert.deepEqual(validatePlan(tasks, LIMITS), []);
});

Deno.test("the task count must lie within the limits", () => {
  const three = [plan("a"), plan("b"), plan("c")];
  assert.deepEqual(validatePlan(three, LIMITS), ["tasks: expected 4–12 tasks, got 3"]);
  const thirteen = Array.from({ length: 13 }, (_, i) => plan(`t${i}`));
  assert.deepEqual(validatePlan(thirteen, LIMITS), ["tasks: expected 4–12 tasks, got 13"]);
  assert.deepEqual(validatePlan(three, { minTasks: 1, maxTasks: 3 }), []);
});

Deno.test("keys must be unique and names unique ignoring case", () => {
  const tasks = [plan("a"), plan("b"), plan("a"), plan("d", [], { name: "TASK B" })];
  assert.deepEqual(validatePlan(tasks, LIMITS), [
    "tasks.2.key: duplicate key 'a' (also tasks.0)",
    "tasks.2.name: duplicate name 'Task a' ignoring case (also tasks.0)",
    "tasks.3.name: duplicate name 'TASK B' ignoring case (also tasks.1)",
  ]);
});

Deno.test("dependencies must exist and never name the task itself", () => {
  const tasks = [plan("a"), plan("b", ["x"]), plan("c", ["c", "a"]), plan("d")];
  assert.deepEqual(validatePlan(tasks, LIMITS), [
    "tasks.1.dependsOn: unknown key 'x'",
    "tasks.2.dependsOn: task 'c' depends on itself",
  ]);
});

Deno.test("at least one task must be a root", () => {
  const tasks = [plan("a", ["b"]), plan("b", ["c"]), plan("c", ["d"]), plan("d", ["a"])];
  const issues = validatePlan(tasks, LIMITS);
  assert.ok(
    issues.includes("tasks: no task is a root; at least one task must have no dependencies"),
  );
});

Deno.test("a cycle is named once, in running order from its earliest task", () => {
  const tasks = [plan("root"), plan("a", ["root", "c"]), plan("b", ["a"]), plan("c", ["b"])];
  assert.deepEqual(validatePlan(tasks, LIMITS), ["cycle: a → b → c → a"]);
  const two = [plan("root"), plan("a", ["b"]), plan("b", ["a"]), plan("z", ["root"])];
  assert.deepEqual(validatePlan(two, LIMITS), ["cycle: a → b → a"]);
});

Deno.test("only one of two disjoint cycles is named", () => {
  const tasks = [
    plan("r"),
    plan("a", ["b"]),
    plan("b", ["a"]),
    plan("c", ["d"]),
    plan("d", [
      "c",
    ]),
  ];
  const issues = validatePlan(tasks, LIMITS);
  assert.deepEqual(issues, ["cycle: a → b → a"]);
});

Deno.test("a plan has at most three milestones", () => {
  const tasks = ["a", "b", "c", "d"].map((key) => plan(key, [], { milestone: true }));
  assert.deepEqual(validatePlan(tasks, LIMITS), ["tasks: at most 3 milestones, got 4"]);
});

Deno.test("findCycle is null for an acyclic graph", () => {
  assert.equal(findCycle([plan("a"), plan("b", ["a"])]), null);
});

Deno.test("topological order runs dependencies first, then lower priority, then roadmap index", () => {
  const tasks = [
    plan("deploy", ["test"], { priority: 1 }),
    plan("test", ["build", "docs"], { priority: 1 }),
    plan("docs", [], { priority: 5 }),
    plan("build", [], { priority: 2 }),
    plan("lint", [], { priority: 2 }),
  ];
  assert.deepEqual(topologicalOrder(tasks).map((t) => t.key), [
    "build",
    "lint",
    "docs",
    "test",
    "deploy",
  ]);
});

Deno.test("topological order refuses a cycle or an unknown dependency", () => {
  assert.throws(
    () => topologicalOrder([plan("a", ["b"]), plan("b", ["a"])]),
    (error: unknown) => error instanceof RangeError && /a → b → a/.test(error.message),
  );
  assert.throws(() => topologicalOrder([plan("a", ["x"])]), RangeError);
});

Deno.test("the baseline starts at acceptance and waits for the latest dependency", () => {
  const acceptedAt = Date.UTC(2025, 0, 6, 9);
  // Listed out of order on purpose: the baseline follows the graph, not the list.
  const tasks = [
    task("tsk_d", ["tsk_b", "tsk_c"], 1),
    task("tsk_b", ["tsk_a"], 3),
    task("tsk_a", [], 2),
    task("tsk_c", ["tsk_a"], 0.25),
    task("tsk_e", [], 1.5),
  ];
  const windows = baseline(tasks, acceptedAt);
  assert.deepEqual(windows.get("tsk_a"), {
    plannedStart: acceptedAt,
    plannedEnd: acceptedAt + 2 * HOUR,
  });
  assert.deepEqual(windows.get("tsk_b"), {
    plannedStart: acceptedAt + 2 * HOUR,
    plannedEnd: acceptedAt + 5 * HOUR,
  });
  assert.deepEqual(windows.get("tsk_c"), {
    plannedStart: acceptedAt + 2 * HOUR,
    plannedEnd: acceptedAt + 2.25 * HOUR,
  });
  assert.deepEqual(windows.get("tsk_d"), {
    plannedStart: acceptedAt + 5 * HOUR,
    plannedEnd: acceptedAt + 6 * HOUR,
  });
  assert.deepEqual(windows.get("tsk_e"), {
    plannedStart: acceptedAt,
    plannedEnd: acceptedAt + 1.5 * HOUR,
  });
  assert.equal(windows.size, 5);
});

Deno.test("the baseline relates Tasks by id, not by key", () => {
  const a = { ...task("tsk_1", [], 1), key: "same" };
  const b = { ...task("tsk_2", ["tsk_1"], 1), key: "other" };
  const windows = baseline([b, a], 0);
  assert.equal(windows.get("tsk_2")?.plannedStart, HOUR);
});
