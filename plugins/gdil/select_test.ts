import assert from "node:assert/strict";
import {
  applyProgress,
  awaiting,
  nextTask,
  projectProgress,
  type StallConfig,
  taskStatus,
} from "./select.ts";
import type { Phase, Task } from "./types.ts";

const STALL: StallConfig = { gainRatio: 0.25, streak: 3, overrunFactor: 3 };

function task(id: string, extra: Partial<Task> = {}): Task {
  return {
    id,
    key: id,
    name: id,
    description: "",
    priority: 1,
    dependsOn: [],
    estimate: { iterations: 2, hours: 2 },
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
    ...extra,
  };
}

/** Runs iterations the way §6 does: pick, report, replace; returns the run order. */
function run(
  start: Task[],
  report: (task: Task) => unknown,
  limit: number,
): { tasks: Task[]; order: string[]; stalled: boolean; iterations: number } {
  let tasks = start;
  const order: string[] = [];
  let iterations = 0;
  while (iterations < limit) {
    const current = nextTask(tasks);
    if (current === null) break;
    const picked = current.startedAt === null ? { ...current, startedAt: iterations } : current;
    for (const dep of picked.dependsOn) {
      assert.ok(tasks.find((t) => t.id === dep)?.done, `${picked.id} started before ${dep}`);
    }
    iterations++;
    const result = applyProgress(picked, report(picked), { ...STALL, at: iterations });
    tasks = tasks.map((t) => t.id === picked.id ? result.task : t);
    if (result.completed) order.push(picked.id);
    if (result.stalled) return { tasks, order, stalled: true, iterations };
  }
  return { tasks, order, stalled: false, iterations };
}

Deno.test("task status is completed, in_progress, ready or pending", () => {
  const a = task("a", { done: true, progress: 1 });
  const b = task("b", { dependsOn: ["a"], startedAt: 5, iterations: 1 });
  const c = task("c", { dependsOn: ["a"] });
  const d = task("d", { dependsOn: ["a", "b"] });
  const tasks = [a, b, c, d];
  assert.equal(taskStatus(a, tasks), "completed");
  assert.equal(taskStatus(b, tasks), "in_progress");
  assert.equal(taskStatus(c, tasks), "ready");
  assert.equal(taskStatus(d, tasks), "pending");
  assert.equal(taskStatus(task("root"), tasks), "ready");
});

Deno.test("project progress averages tasks, counting done ones as 1", () => {
  assert.equal(projectProgress([]), 0);
  assert.equal(
    projectProgress([task("a", { done: true, progress: 0.4 }), task("b", { progress: 0.5 })]),
    0.75,
  );
});

Deno.test("awaiting follows the active phase and is nothing otherwise", () => {
  const expected: Record<Phase, string> = {
    initialization: "answers",
    planning: "plan_decision",
    iteration: "feedback",
    exit: "nothing",
    paused: "nothing",
    archived: "nothing",
  };
  for (const [phase, value] of Object.entries(expected)) {
    assert.equal(awaiting({ phase: phase as Phase }), value);
  }
});

Deno.test("the next task is the in_progress one before any ready task", () => {
  const tasks = [
    task("a", { priority: 1 }),
    task("b", { priority: 5, startedAt: 1, iterations: 1 }),
  ];
  assert.equal(nextTask(tasks)?.id, "b");
});

Deno.test("the next ready task has the lowest priority, then the lowest roadmap index", () => {
  const tasks = [
    task("a", { priority: 3 }),
    task("b", { priority: 2 }),
    task("c", { priority: 2 }),
    task("d", { priority: 1, dependsOn: ["a"] }),
  ];
  assert.equal(nextTask(tasks)?.id, "b");
  assert.equal(nextTask([task("x", { done: true, progress: 1 })]), null);
  assert.equal(nextTask([]), null);
});

Deno.test("the web-app graph runs in task-number order, never before its dependencies", () => {
  // spec/projects.md §10: n Name (priority) ←deps
  const webApp = [
    task("1", { priority: 1 }),
    task("2", { priority: 2, dependsOn: ["1"] }),
    task("3", { priority: 3, dependsOn: ["2"] }),
    task("4", { priority: 3, dependsOn: ["1"] }),
    task("5", { priority: 4, dependsOn: ["3", "4"] }),
    task("6", { priority: 5, dependsOn: ["5"] }),
    task("7", { priority: 6, dependsOn: ["6"] }),
  ];
  const result = run(webApp, () => 1, 100);
  assert.deepEqual(result.order, ["1", "2", "3", "4", "5", "6", "7"]);
  assert.equal(result.stalled, false);
});

Deno.test("twelve tasks each reporting 1 complete once each in twelve iterations, no stall", () => {
  const tasks = Array.from(
    { length: 12 },
    (_, i) => task(`t${i}`, { dependsOn: i === 0 ? [] : [`t${i - 1}`] }),
  );
  const result = run(tasks, () => 1, 1_000);
  assert.equal(result.iterations, 12);
  assert.equal(result.stalled, false);
  assert.deepEqual(result.order, tasks.map((t) => t.id));
  assert.equal(projectProgress(result.tasks), 1);
  assert.ok(result.tasks.every((t) => t.done && t.iterations === 1 && t.lowStreak === 0));
  assert.equal(nextTask(result.tasks), null);
});

Deno.test("reports of 5, -1, NaN and non-numbers keep progress in [0, 1]", () => {
  const start = task("a", { progress: 0.4, estimate: { iterations: 10, hours: 2 } });
  assert.equal(applyProgress(start, 5, STALL).task.progress, 1);
  assert.equal(applyProgress(start, 5, STALL).completed, true);
  assert.equal(applyProgress(start, -1, STALL).task.progress, 0);
  assert.equal(applyProgress(start, NaN, STALL).task.progress, 0.4);
  assert.equal(applyProgress(start, "0.9", STALL).task.progress, 0.4);
  assert.equal(applyProgress(start, undefined, STALL).task.progress, 0.4);
  assert.equal(applyProgress(start, Infinity, STALL).task.progress, 1);
  assert.equal(applyProgress(start, 0.7, STALL).task.progress, 0.7);
});

Deno.test("applying progress counts the iteration and returns a new task", () => {
  const start = task("a", { progress: 0.2, estimate: { iterations: 4, hours: 2 } });
  const result = applyProgress(start, 0.5, STALL);
  assert.equal(result.task.iterations, 1);
  assert.equal(start.iterations, 0);
  assert.notEqual(result.task, start);
  assert.ok(Math.abs(result.gain - 0.3) < 1e-12);
  assert.equal(result.low, false);
});

Deno.test("completion is checked before stall and sets finishedAt", () => {
  // Third low iteration in a row and past the overrun, but it reports 1.
  const start = task("a", { progress: 0.95, lowStreak: 2, iterations: 5 });
  const result = applyProgress(start, 1, { ...STALL, at: 42 });
  assert.equal(result.completed, true);
  assert.equal(result.stalled, false);
  assert.equal(result.low, false);
  assert.equal(result.task.done, true);
  assert.equal(result.task.lowStreak, 0);
  assert.equal(result.task.finishedAt, 42);
  assert.throws(() => applyProgress(result.task, 1, STALL), RangeError);
});

Deno.test("estimate 2 stuck at 0.1 for three iterations stalls", () => {
  let current = task("a", { estimate: { iterations: 2, hours: 2 } });
  const stalled: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const result = applyProgress(current, 0.1, STALL);
    assert.equal(result.low, true);
    stalled.push(result.stalled);
    current = result.task;
  }
  assert.deepEqual(stalled, [false, false, true]);
  assert.equal(current.lowStreak, 3);
});

Deno.test("estimate 10 gaining 0.1 per iteration never stalls and completes", () => {
  let current = task("a", { estimate: { iterations: 10, hours: 2 } });
  for (let i = 1; i <= 10; i++) {
    const result = applyProgress(current, i / 10, STALL);
    assert.equal(result.stalled, false, `iteration ${i}`);
    assert.equal(result.low, false, `iteration ${i}`);
    current = result.task;
  }
  assert.equal(current.done, true);
  assert.equal(current.iterations, 10);
});

Deno.test("a good iteration resets the low streak", () => {
  const start = task("a", { progress: 0.1, lowStreak: 2, estimate: { iterations: 2, hours: 2 } });
  const result = applyProgress(start, 0.5, STALL);
  assert.equal(result.low, false);
  assert.equal(result.task.lowStreak, 0);
  assert.equal(result.stalled, false);
});

Deno.test("a task still open after overrunFactor × estimate iterations stalls", () => {
  // Each iteration gains enough not to be low, yet the task never finishes.
  let current = task("a", { estimate: { iterations: 2, hours: 2 } });
  const stalled: boolean[] = [];
  for (let i = 1; i <= 6; i++) {
    const result = applyProgress(current, i * 0.15, STALL);
    assert.equal(result.low, false);
    stalled.push(result.stalled);
    current = result.task;
  }
  assert.deepEqual(stalled, [false, false, false, false, false, true]);
});

Deno.test("progress that goes back counts as a low iteration", () => {
  const start = task("a", { progress: 0.6, estimate: { iterations: 2, hours: 2 } });
  const result = applyProgress(start, 0.3, STALL);
  assert.ok(result.gain < 0);
  assert.equal(result.low, true);
  assert.equal(result.task.progress, 0.3);
});
