/**
 * The project records the dashboard reads (spec/projects.md §11–§13, in
 * their snake_case wire form) and the pure rules of the Projects pages
 * (spec/dashboard.md §5.4): list filters, progress, the action panel,
 * events merged by seq, task sorting and when to refetch.
 *
 * @module
 */
import type { TaskStatus } from "./gantt_layout.ts";

export type { Timeline, TimelineMilestone, TimelineProject, TimelineTask } from "./gantt_layout.ts";

/** A project's phase. */
export type Phase = "initialization" | "planning" | "iteration" | "exit" | "paused" | "archived";

/** Why a project ended. */
export type ExitReason = "completed" | "user_stop" | "declined" | "stalled" | "iteration_limit";

/** What the project waits for. */
export type Awaiting = "answers" | "plan_decision" | "feedback" | "nothing";

/** `ProjectSummary`. */
export interface ProjectSummary {
  id: string;
  short_id: string;
  thread_id: string;
  name: string;
  phase: Phase;
  paused_from: Phase | null;
  progress: number;
  tasks_done: number;
  tasks_total: number;
  current_task: { id: string; name: string; progress: number } | null;
  iteration_count: number;
  max_iterations: number | null;
  awaiting: Awaiting;
  questions: string[];
  busy: boolean;
  /** Thread ids where this is the current project. */
  focused_in: string[];
  template_id: string | null;
  exit_reason: ExitReason | null;
  vcs: boolean;
  last_error: { code: string; message: string; at: string | null } | null;
  created_at: string;
  updated_at: string;
}

/** A task of `ProjectDetail`, with its derived status. */
export interface ProjectTask {
  id: string;
  key: string;
  name: string;
  description: string;
  priority: number;
  depends_on: string[];
  estimate: { iterations: number; hours: number };
  milestone: boolean;
  done: boolean;
  blocked: boolean;
  progress: number;
  iterations: number;
  status: TaskStatus;
  planned_start: string | null;
  planned_end: string | null;
  started_at: string | null;
  finished_at: string | null;
}

/** `ProjectEvent` on the wire. */
export interface ProjectEvent {
  project_id: string;
  seq: number;
  at: string;
  task_id: string | null;
  type: string;
  data: Record<string, unknown>;
}

/** The exit summary (its keys are the service's, camelCase; times in epoch ms). */
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
}

/** `ProjectDetail`: the summary with brief, tasks and the latest 50 events. */
export interface ProjectDetail extends ProjectSummary {
  request: string;
  brief: string | null;
  end_transformation: string | null;
  uncertainties: string[];
  blockers: Array<{ text: string; taskId: string; at: string | null }>;
  plan_version: number;
  plan_accepted_at: string | null;
  exit_at: string | null;
  exit_summary: ExitSummary | null;
  tasks: ProjectTask[];
  events: ProjectEvent[];
}

/** A template in `GET /api/templates`. */
export interface TemplateInfo {
  id: string;
  name: string;
  category: string;
  description: string;
  tags: string[];
  task_count: number;
}

/** `TurnAccepted`. */
export interface TurnAccepted {
  turn_id: string;
  thread_id: string;
  user_message_id: string | null;
  status: string;
  queue_position: number;
  events_url: string;
}

/** `POST /api/projects`'s body. */
export interface NewProject {
  description?: string;
  template_id?: string;
  customization?: string;
  vcs?: boolean;
}

/** An explicit reply intent (spec/projects.md §4). */
export type Intent =
  | "accept"
  | "adjust"
  | "decline"
  | "stop"
  | "pause"
  | "continue"
  | "feedback"
  | "skip"
  | "answers"
  | "retry";

/** The list's filter chips. */
export const FILTERS = [
  { id: "active", label: "Active", phases: ["initialization", "planning", "iteration"] },
  { id: "paused", label: "Paused", phases: ["paused"] },
  { id: "exit", label: "Exited", phases: ["exit"] },
  { id: "archived", label: "Archived", phases: ["archived"] },
] as const satisfies ReadonlyArray<{ id: string; label: string; phases: readonly Phase[] }>;

/** A filter's id. */
export type Filter = (typeof FILTERS)[number]["id"];

/** Whether a phase is shown under a filter. */
export function inFilter(phase: Phase, filter: Filter): boolean {
  return (FILTERS.find((item) => item.id === filter)!.phases as readonly Phase[]).includes(phase);
}

/** Whether the project can advance (initialization, planning, iteration). */
export function isActive(phase: Phase): boolean {
  return phase === "initialization" || phase === "planning" || phase === "iteration";
}

const PHASE_LABELS: Record<Phase, string> = {
  initialization: "Initialization",
  planning: "Planning",
  iteration: "Iteration",
  exit: "Exited",
  paused: "Paused",
  archived: "Archived",
};

/** The words for a phase. */
export function phaseLabel(phase: Phase): string {
  return PHASE_LABELS[phase] ?? phase;
}

/** Why it ended, in words. */
export function exitLabel(reason: ExitReason | null): string {
  return reason ? reason.replace("_", " ") : "";
}

/** Progress as a whole percentage in 0–100 (NaN counts as 0). */
export function percent(progress: number): number {
  if (!Number.isFinite(progress)) return 0;
  return Math.round(Math.min(1, Math.max(0, progress)) * 100);
}

/**
 * Events from any number of sources (a REST page, the detail's latest 50,
 * live `project.update`s) as one list without duplicate seqs, newest first.
 */
export function mergeEvents(...lists: ReadonlyArray<ReadonlyArray<ProjectEvent>>): ProjectEvent[] {
  const bySeq = new Map<number, ProjectEvent>();
  for (const list of lists) for (const event of list) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq);
}

/** Whether an event changes the plan, the tasks or the end, so detail and timeline are stale. */
export function changesSchedule(type: string): boolean {
  return type.startsWith("plan.") || type.startsWith("task.") || type === "exit";
}

/** A column of the task table. */
export type TaskColumn =
  | "key"
  | "name"
  | "status"
  | "priority"
  | "estimate"
  | "progress"
  | "started_at"
  | "finished_at"
  | "iterations"
  | "blocked";

const STATUS_ORDER: Record<TaskStatus, number> = {
  in_progress: 0,
  ready: 1,
  pending: 2,
  completed: 3,
};

/** Tasks sorted by a column; ties keep roadmap order. Priority ascending puts P1 first. */
export function sortTasks(
  tasks: readonly ProjectTask[],
  column: TaskColumn | null,
  descending = false,
): ProjectTask[] {
  const indexed = tasks.map((task, index) => ({ task, index }));
  if (!column) return tasks.slice();
  const value = (task: ProjectTask): string | number => {
    switch (column) {
      case "status":
        return STATUS_ORDER[task.status];
      case "estimate":
        return task.estimate.hours;
      case "blocked":
        return task.blocked ? 1 : 0;
      case "started_at":
      case "finished_at":
        return task[column] ?? "\uffff";
      default:
        return task[column];
    }
  };
  indexed.sort((a, b) => {
    const x = value(a.task);
    const y = value(b.task);
    const order = typeof x === "number" && typeof y === "number"
      ? x - y
      : String(x).localeCompare(String(y));
    return (descending ? -order : order) || a.index - b.index;
  });
  return indexed.map((item) => item.task);
}

/** The panel's buttons for a project (spec/dashboard.md §5.4). */
export interface Actions {
  awaiting: Awaiting;
  /** "Skip and start": a template project still in initialization. */
  skip: boolean;
  pause: boolean;
  resume: boolean;
  archive: boolean;
  /** Archived projects only, and only for admins. */
  delete: boolean;
}

/** Which actions the panel offers. */
export function actionsFor(
  project: Pick<
    ProjectSummary,
    "phase" | "awaiting" | "template_id" | "tasks_done" | "tasks_total"
  >,
  role: "viewer" | "operator" | "admin" | null,
): Actions {
  const active = isActive(project.phase);
  // Resuming a project that ended with every task done is refused (GDIL_NOTHING_TO_RESUME).
  const finished = project.phase === "exit" && project.tasks_total > 0 &&
    project.tasks_done >= project.tasks_total;
  return {
    awaiting: active ? project.awaiting : "nothing",
    skip: active && project.awaiting === "answers" && project.template_id !== null,
    pause: active,
    resume: !active && !finished,
    archive: !active && project.phase !== "archived",
    delete: project.phase === "archived" && role === "admin",
  };
}

/** One line of text for an event (task names by id fill in when the event has none). */
export function describeEvent(event: ProjectEvent, taskNames: ReadonlyMap<string, string>): string {
  const data = event.data ?? {};
  const task = typeof data.name === "string"
    ? data.name
    : event.task_id
    ? taskNames.get(event.task_id) ?? event.task_id
    : "";
  const text = (key: string) => (typeof data[key] === "string" ? data[key] as string : "");
  switch (event.type) {
    case "started":
      return `Started ${text("name")}`.trim();
    case "questions": {
      const count = Array.isArray(data.questions) ? data.questions.length : 0;
      return `${count} ${count === 1 ? "question" : "questions"} asked`;
    }
    case "plan.proposed":
      return `Plan version ${data.plan_version ?? "?"} proposed${data.refined ? " (refined)" : ""}`;
    case "plan.accepted":
      return "Plan accepted";
    case "task.started":
      return `Task started: ${task}`;
    case "task.progress":
      return `Progress on ${task}: ${percent(Number(data.progress))} %`;
    case "task.completed":
      return `Task completed: ${task}`;
    case "milestone":
      return data.kind === "exit"
        ? `Milestone: exit (${exitLabel((data.reason as ExitReason) ?? null)})`
        : `Milestone: ${task}`;
    case "blocker":
      return `Blocker on ${task}: ${text("text")}`;
    case "paused":
      return `Paused (from ${text("from")})`;
    case "resumed":
      return `Resumed (${text("phase")})`;
    case "archived":
      return "Archived";
    case "exit":
      return `Ended: ${exitLabel((data.reason as ExitReason) ?? null)}`;
    case "llm.failed":
      return `Step failed: ${text("code")}${data.call ? ` in ${text("call")}` : ""}`;
    case "step.interrupted":
      return "A step was interrupted by a restart";
    default:
      return event.type;
  }
}
