/**
 * Selection and derived values (spec/projects.md §2 "Derived", §6 steps
 * 3–6): pure functions over tasks, tested without an LLM.
 *
 * @module
 */
import type { Phase, Task } from "./types.ts";

/** A task's derived status. */
export type TaskStatus = "completed" | "in_progress" | "ready" | "pending";

/** What a project waits for from its owner. */
export type Awaiting = "answers" | "plan_decision" | "feedback" | "nothing";

/** The stall rule's settings (`gdil.stall`). */
export interface StallConfig {
  /** A gain below `gainRatio / estimate.iterations` is low. */
  gainRatio: number;
  /** This many consecutive low iterations stall the project. */
  streak: number;
  /** A task still open after `overrunFactor × estimate.iterations` iterations stalls it. */
  overrunFactor: number;
}

/** Options for {@link applyProgress}: the stall settings and the iteration's time. */
export interface ApplyProgressOptions extends StallConfig {
  /** When the iteration ended; sets `finishedAt` on completion (else the caller sets it). */
  at?: number | undefined;
}

/** One iteration's effect on its task. */
export interface ProgressResult {
  /** The updated task (a new object). */
  task: Task;
  /** New progress minus old progress; negative when the report went back. */
  gain: number;
  /** The task reached progress 1 in this iteration. */
  completed: boolean;
  /** The stall rule ends the project (never on completion). */
  stalled: boolean;
  /** The iteration counted as low (never on completion). */
  low: boolean;
}

function isStarted(task: Task): boolean {
  return task.startedAt !== null || task.iterations > 0;
}

/**
 * `completed` when done; else `in_progress` once started; else `ready` when
 * every dependency is completed; else `pending`.
 */
export function taskStatus(task: Task, tasks: readonly Task[]): TaskStatus {
  if (task.done) return "completed";
  if (isStarted(task)) return "in_progress";
  const done = new Set(tasks.filter((other) => other.done).map((other) => other.id));
  return task.dependsOn.every((id) => done.has(id)) ? "ready" : "pending";
}

/** Σ(done ? 1 : progress) ÷ N, 0 without tasks. */
export function projectProgress(tasks: readonly Task[]): number {
  if (tasks.length === 0) return 0;
  const sum = tasks.reduce((total, task) => total + (task.done ? 1 : task.progress), 0);
  return sum / tasks.length;
}

/**
 * The task the next iteration works on (§6 step 3): the `in_progress` one,
 * else the `ready` task with the lowest priority, then the lowest roadmap
 * index; `null` when none is left to run.
 */
export function nextTask(tasks: readonly Task[]): Task | null {
  let best: Task | null = null;
  let bestRank = Infinity;
  for (const task of tasks) {
    const status = taskStatus(task, tasks);
    if (status !== "in_progress" && status !== "ready") continue;
    // An in_progress task outranks every ready one; ties keep the earlier task.
    const rank = status === "in_progress" ? 0 : task.priority;
    if (rank < bestRank) {
      best = task;
      bestRank = rank;
    }
  }
  return best;
}

/** What the project waits for: by phase for the active ones, else `nothing`. */
export function awaiting(project: { phase: Phase }): Awaiting {
  switch (project.phase) {
    case "initialization":
      return "answers";
    case "planning":
      return "plan_decision";
    case "iteration":
      return "feedback";
    default:
      return "nothing";
  }
}

/** The model's `taskProgress` as a fraction in [0, 1]; anything else keeps `previous`. */
export function clampProgress(reported: unknown, previous: number): number {
  if (typeof reported !== "number" || Number.isNaN(reported)) return previous;
  return Math.min(1, Math.max(0, reported));
}

/**
 * Applies one iteration's reported progress to its task (§6 steps 4–6):
 * counts the iteration, clamps the report, then checks completion before
 * stall. A completed task resets `lowStreak`; otherwise a gain below
 * `gainRatio / estimate.iterations` is low, and `streak` low iterations in
 * a row, or `overrunFactor × estimate.iterations` iterations without
 * completion, stall.
 *
 * @throws {RangeError} when the task is already done: no task completes twice.
 */
export function applyProgress(
  task: Task,
  reported: unknown,
  options: ApplyProgressOptions,
): ProgressResult {
  if (task.done) throw new RangeError(`Task '${task.key}' is already done`);
  const progress = clampProgress(reported, task.progress);
  const gain = progress - task.progress;
  const iterations = task.iterations + 1;
  if (progress === 1) {
    const finishedAt = options.at ?? task.finishedAt;
    return {
      task: { ...task, progress, iterations, done: true, lowStreak: 0, finishedAt },
      gain,
      completed: true,
      stalled: false,
      low: false,
    };
  }
  const low = gain < options.gainRatio / task.estimate.iterations;
  const lowStreak = low ? task.lowStreak + 1 : 0;
  const stalled = lowStreak >= options.streak ||
    iterations >= options.overrunFactor * task.estimate.iterations;
  return {
    task: { ...task, progress, iterations, lowStreak },
    gain,
    completed: false,
    stalled,
    low,
  };
}
