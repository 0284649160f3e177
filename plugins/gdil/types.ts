/**
 * GDIL's data model (spec/projects.md §2): plain data, string-literal
 * phases; times are epoch ms inside the plugin and RFC 3339 on the wire.
 *
 * @module
 */
import { z } from "zod";

/** Phases of a project. */
export const PHASES = [
  "initialization",
  "planning",
  "iteration",
  "exit",
  "paused",
  "archived",
] as const;
export type Phase = (typeof PHASES)[number];
export type ActivePhase = "initialization" | "planning" | "iteration";
export const ACTIVE_PHASES: readonly ActivePhase[] = ["initialization", "planning", "iteration"];
export type ExitReason = "completed" | "user_stop" | "declined" | "stalled" | "iteration_limit";

/** One task of a roadmap. */
export interface Task {
  id: string;
  key: string;
  name: string;
  description: string;
  /** 1–10; LOWER RUNS EARLIER. */
  priority: number;
  /** Task ids. */
  dependsOn: string[];
  estimate: { iterations: number; hours: number };
  milestone: boolean;
  done: boolean;
  blocked: boolean;
  /** Always in [0, 1]. */
  progress: number;
  iterations: number;
  lowStreak: number;
  plannedStart: number | null;
  plannedEnd: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/** The summary built at exit, without an LLM. */
export interface ExitSummary {
  reason: ExitReason;
  at: number;
  progress: number;
  tasksDone: number;
  tasksTotal: number;
  completed: Array<{ name: string; finishedAt: number }>;
  remaining: Array<{ name: string; progress: number }>;
  blockers: string[];
  iterations: number;
  artifacts: number;
  durationMs: number;
}

/** A project. */
export interface Project {
  id: string;
  ownerId: string;
  threadId: string;
  name: string;
  request: string;
  templateId: string | null;
  customization: string | null;
  phase: Phase;
  pausedFrom: ActivePhase | null;
  archivedFrom: Exclude<Phase, "archived"> | null;
  brief: string | null;
  endTransformation: string | null;
  questions: string[];
  uncertainties: string[];
  planVersion: number;
  planAcceptedAt: number | null;
  tasks: Task[];
  iterationCount: number;
  maxIterations: number | null;
  exitReason: ExitReason | null;
  exitAt: number | null;
  exitSummary: ExitSummary | null;
  blockers: Array<{ text: string; taskId: string; at: number }>;
  vcs: boolean;
  busySince: number | null;
  lastError: { code: string; message: string; at: number } | null;
  createdAt: number;
  updatedAt: number;
  version: number;
}

/** Event types of the project log. */
export const EVENT_TYPES = [
  "started",
  "questions",
  "plan.proposed",
  "plan.accepted",
  "task.started",
  "task.progress",
  "task.completed",
  "milestone",
  "blocker",
  "paused",
  "resumed",
  "archived",
  "exit",
  "llm.failed",
  "step.interrupted",
  "vcs.commit",
  "vcs.rollback",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One entry of a project's gap-free log. */
export interface ProjectEvent {
  projectId: string;
  seq: number;
  at: number;
  taskId: string | null;
  type: EventType;
  data: Record<string, unknown>;
}

/** A task as a plan or a template proposes it (spec/projects.md §5). */
export const PLAN_TASK = z.strictObject({
  key: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/),
  name: z.string().min(2).max(80),
  description: z.string().max(600).default(""),
  priority: z.number().int().min(1).max(10),
  dependsOn: z.array(z.string()).default([]),
  estimate: z.strictObject({
    iterations: z.number().int().min(1).max(10),
    hours: z.number().min(0.25).max(200),
  }),
  milestone: z.boolean().default(false),
});
export type PlanTask = z.output<typeof PLAN_TASK>;

/** A template file (spec/projects.md §10). */
export const TEMPLATE = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/),
  name: z.string().min(2).max(80),
  category: z.string().min(2).max(60),
  description: z.string().min(10).max(1_000),
  tags: z.array(z.string().min(1).max(40)).max(20).default([]),
  suggestedBrief: z.string().min(20).max(1_200),
  endTransformation: z.string().min(5).max(400),
  questions: z.array(z.string().min(5).max(300)).min(1).max(10),
  tasks: z.array(PLAN_TASK).min(1).max(30),
});
export type Template = z.output<typeof TEMPLATE>;

/** Reply intents (spec/projects.md §4). */
export type Intent =
  | "accept"
  | "adjust"
  | "decline"
  | "hesitate"
  | "stop"
  | "pause"
  | "continue"
  | "feedback"
  | "skip"
  | "answers";
