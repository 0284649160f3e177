/**
 * Plan checks (spec/projects.md §5) and the baseline set at acceptance (§6):
 * repair issues for plans the model proposes, start-up errors for templates.
 *
 * @module
 */
import type { PlanTask, Task } from "./types.ts";

/** Task-count limits (`roadmap.minTasks` / `roadmap.maxTasks`). */
export interface PlanLimits {
  minTasks: number;
  maxTasks: number;
}

/** At most this many milestones per plan. */
export const MAX_MILESTONES = 3;

const HOUR_MS = 3_600_000;

/** What the graph functions need of a task: PlanTasks are named by key, Tasks by id. */
export type GraphTask = Pick<PlanTask, "key" | "dependsOn" | "priority"> | Task;

function nodeId(task: GraphTask): string {
  return "id" in task ? task.id : task.key;
}

/**
 * Checks a proposed roadmap; returns issues as `path: message` (paths
 * relative to the plan, e.g. `tasks.2.dependsOn`), empty when valid. A
 * cycle is reported once, as `cycle: a → b → a` in running order.
 *
 * @example
 * ```ts
 * import { validatePlan } from "./plan_validate.ts";
 * const task = (key: string, dependsOn: string[]) => ({
 *   key, name: key, description: "", priority: 1, dependsOn,
 *   estimate: { iterations: 1, hours: 1 }, milestone: false,
 * });
 * validatePlan([task("a", ["b"]), task("b", ["a"]), task("c", [])], { minTasks: 1, maxTasks: 12 });
 * // ["cycle: a → b → a"]
 * ```
 */
export function validatePlan(tasks: readonly PlanTask[], limits: PlanLimits): string[] {
  const issues: string[] = [];
  if (tasks.length < limits.minTasks || tasks.length > limits.maxTasks) {
    issues.push(
      `tasks: expected ${limits.minTasks}–${limits.maxTasks} tasks, got ${tasks.length}`,
    );
  }

  const keyIndex = new Map<string, number>();
  const nameIndex = new Map<string, number>();
  tasks.forEach((task, index) => {
    const seenKey = keyIndex.get(task.key);
    if (seenKey === undefined) keyIndex.set(task.key, index);
    else issues.push(`tasks.${index}.key: duplicate key '${task.key}' (also tasks.${seenKey})`);
    const name = task.name.trim().toLowerCase();
    const seenName = nameIndex.get(name);
    if (seenName === undefined) nameIndex.set(name, index);
    else {
      issues.push(
        `tasks.${index}.name: duplicate name '${task.name}' ignoring case (also tasks.${seenName})`,
      );
    }
  });

  tasks.forEach((task, index) => {
    for (const dependency of task.dependsOn) {
      if (dependency === task.key) {
        issues.push(`tasks.${index}.dependsOn: task '${task.key}' depends on itself`);
      } else if (!keyIndex.has(dependency)) {
        issues.push(`tasks.${index}.dependsOn: unknown key '${dependency}'`);
      }
    }
  });

  if (tasks.length > 0 && tasks.every((task) => task.dependsOn.length > 0)) {
    issues.push("tasks: no task is a root; at least one task must have no dependencies");
  }

  const cycle = findCycle(tasks);
  if (cycle) issues.push(`cycle: ${cycle.join(" → ")}`);

  const milestones = tasks.filter((task) => task.milestone).length;
  if (milestones > MAX_MILESTONES) {
    issues.push(`tasks: at most ${MAX_MILESTONES} milestones, got ${milestones}`);
  }
  return issues;
}

interface Graph {
  /** Node ids in roadmap order; a duplicate id keeps its first task. */
  nodes: string[];
  tasks: Map<string, GraphTask>;
  index: Map<string, number>;
  /** Known, distinct dependencies other than the node itself. */
  dependencies: Map<string, string[]>;
}

function graphOf(tasks: readonly GraphTask[]): Graph {
  const graph: Graph = { nodes: [], tasks: new Map(), index: new Map(), dependencies: new Map() };
  tasks.forEach((task, index) => {
    const id = nodeId(task);
    if (graph.tasks.has(id)) return;
    graph.nodes.push(id);
    graph.tasks.set(id, task);
    graph.index.set(id, index);
  });
  for (const id of graph.nodes) {
    const deps = new Set(graph.tasks.get(id)!.dependsOn);
    graph.dependencies.set(id, [...deps].filter((dep) => dep !== id && graph.tasks.has(dep)));
  }
  return graph;
}

/** Earlier runs first: lower priority, then lower roadmap index (§6 step 3). */
function compareRunOrder(graph: Graph, a: string, b: string): number {
  return graph.tasks.get(a)!.priority - graph.tasks.get(b)!.priority ||
    graph.index.get(a)! - graph.index.get(b)!;
}

/** Kahn's algorithm; returns the sorted ids and the ids left in cycles. */
function kahn(graph: Graph): { order: string[]; rest: Set<string> } {
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>(graph.nodes.map((id) => [id, []]));
  for (const id of graph.nodes) {
    const deps = graph.dependencies.get(id)!;
    indegree.set(id, deps.length);
    for (const dep of deps) dependents.get(dep)!.push(id);
  }
  const ready = graph.nodes.filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => compareRunOrder(graph, a, b));
    const id = ready.shift()!;
    order.push(id);
    for (const dependent of dependents.get(id)!) {
      const left = indegree.get(dependent)! - 1;
      indegree.set(dependent, left);
      if (left === 0) ready.push(dependent);
    }
  }
  const done = new Set(order);
  return { order, rest: new Set(graph.nodes.filter((id) => !done.has(id))) };
}

/**
 * One dependency cycle among the tasks, in running order (`a → b → a`: b
 * depends on a), starting at its earliest task in the roadmap; `null` when
 * the graph is acyclic. Self-dependencies and unknown keys are left to
 * their own checks.
 */
export function findCycle(tasks: readonly GraphTask[]): string[] | null {
  const graph = graphOf(tasks);
  const { rest } = kahn(graph);
  if (rest.size === 0) return null;
  // Every task Kahn left has a dependency that was left too: walk them until one repeats.
  const path: string[] = [];
  const seen = new Map<string, number>();
  let current = [...rest].sort((a, b) => graph.index.get(a)! - graph.index.get(b)!)[0]!;
  while (!seen.has(current)) {
    seen.set(current, path.length);
    path.push(current);
    current = graph.dependencies.get(current)!.find((dep) => rest.has(dep))!;
  }
  const cycle = path.slice(seen.get(current)!).reverse();
  let first = 0;
  cycle.forEach((id, i) => {
    if (graph.index.get(id)! < graph.index.get(cycle[first]!)!) first = i;
  });
  const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
  return [...rotated, rotated[0]!];
}

/**
 * The tasks in an order that runs every dependency first; among tasks ready
 * together, lower priority and then lower roadmap index first (the order
 * §6 step 3 picks them in). PlanTasks are related by key, Tasks by id.
 *
 * @throws {RangeError} on unknown dependencies or a cycle.
 */
export function topologicalOrder<T extends GraphTask>(tasks: readonly T[]): T[] {
  const ids = new Set(tasks.map(nodeId));
  for (const task of tasks) {
    const unknown = task.dependsOn.find((dep) => !ids.has(dep));
    if (unknown !== undefined) {
      throw new RangeError(`Task '${nodeId(task)}' depends on unknown task '${unknown}'`);
    }
  }
  const graph = graphOf(tasks);
  const { order, rest } = kahn(graph);
  if (rest.size > 0) {
    throw new RangeError(`The tasks contain a cycle: ${findCycle(tasks)!.join(" → ")}`);
  }
  return order.map((id) => graph.tasks.get(id) as T);
}

/** A task's planned window in epoch ms. */
export interface PlannedWindow {
  plannedStart: number;
  plannedEnd: number;
}

/**
 * The baseline set when a plan is accepted (§6 "At acceptance"): in
 * topological order, `plannedStart = max(acceptedAt, dependencies'
 * plannedEnd)` and `plannedEnd = plannedStart + estimate.hours`.
 *
 * @throws {RangeError} on unknown dependencies or a cycle.
 */
export function baseline(tasks: readonly Task[], acceptedAt: number): Map<string, PlannedWindow> {
  const windows = new Map<string, PlannedWindow>();
  for (const task of topologicalOrder(tasks)) {
    let plannedStart = acceptedAt;
    for (const dep of task.dependsOn) {
      plannedStart = Math.max(plannedStart, windows.get(dep)!.plannedEnd);
    }
    const plannedEnd = plannedStart + Math.round(task.estimate.hours * HOUR_MS);
    windows.set(task.id, { plannedStart, plannedEnd });
  }
  return windows;
}
