/**
 * The shapes GDIL's routes answer with (spec/projects.md §11, §13), as zod
 * schemas for the OpenAPI document: `ProjectSummary`, `ProjectDetail`,
 * `ProjectEvent`, `TimelineProject` and `Timeline`, exactly as
 * `service.ts` builds them.
 *
 * @module
 */
import { z } from "zod";
import { EVENT_TYPES, PHASES } from "./types.ts";

const EXIT_REASONS = ["completed", "user_stop", "declined", "stalled", "iteration_limit"] as const;
const TASK_STATUSES = ["pending", "ready", "in_progress", "completed"] as const;
const ESTIMATE = z.strictObject({ iterations: z.number().int(), hours: z.number() });
const time = z.iso.datetime();

/** `ProjectEvent`: one entry of a project's log. */
export const PROJECT_EVENT = z.strictObject({
  project_id: z.string(),
  seq: z.number().int(),
  at: z.iso.datetime(),
  task_id: z.string().nullable(),
  type: z.enum(EVENT_TYPES),
  data: z.record(z.string(), z.unknown()).describe("What happened; its keys depend on type"),
});

/** `ProjectSummary` (`GdilService.summary`). */
export const PROJECT_SUMMARY = z.strictObject({
  id: z.string(),
  short_id: z.string().describe("The shortest unique prefix (≥ 8) of the id among the owner's"),
  thread_id: z.string().describe("The thread the project talks in"),
  name: z.string(),
  phase: z.enum(PHASES),
  paused_from: z.enum(["initialization", "planning", "iteration"]).nullable()
    .describe("The phase a paused project resumes in"),
  progress: z.number().describe("0–1 over all tasks"),
  tasks_done: z.number().int(),
  tasks_total: z.number().int(),
  current_task: z.strictObject({ id: z.string(), name: z.string(), progress: z.number() })
    .nullable().describe("The task in progress, if any"),
  iteration_count: z.number().int(),
  max_iterations: z.number().int().nullable().describe("Null: no limit"),
  awaiting: z.enum(["answers", "plan_decision", "feedback", "nothing"])
    .describe("What the project waits for from its owner"),
  questions: z.array(z.string()).describe("Open questions to the owner"),
  busy: z.boolean().describe("A step is running"),
  focused_in: z.array(z.string()).describe("Ids of the threads where this is the focused project"),
  template_id: z.string().nullable(),
  exit_reason: z.enum(EXIT_REASONS).nullable(),
  vcs: z.boolean().describe("The workspace is versioned"),
  last_error: z.strictObject({ code: z.string(), message: z.string(), at: time }).nullable()
    .describe("The last step's error, until a step succeeds"),
  created_at: time,
  updated_at: time,
});

/** A task of `ProjectDetail`, with its derived status. */
const PROJECT_TASK = z.strictObject({
  id: z.string(),
  key: z.string(),
  name: z.string(),
  description: z.string(),
  priority: z.number().int().describe("1–10; lower runs earlier"),
  depends_on: z.array(z.string()).describe("Task ids"),
  estimate: ESTIMATE,
  milestone: z.boolean(),
  done: z.boolean(),
  blocked: z.boolean(),
  progress: z.number().describe("0–1"),
  iterations: z.number().int(),
  status: z.enum(TASK_STATUSES),
  planned_start: time.nullable(),
  planned_end: time.nullable(),
  started_at: time.nullable(),
  finished_at: time.nullable(),
});

/** `ExitSummary` (types.ts), stored and shown as built: camelCase keys, epoch-ms times. */
const EXIT_SUMMARY = z.strictObject({
  reason: z.enum(EXIT_REASONS),
  at: z.number().describe("Epoch ms"),
  progress: z.number(),
  tasksDone: z.number().int(),
  tasksTotal: z.number().int(),
  completed: z.array(
    z.strictObject({ name: z.string(), finishedAt: z.number().describe("Epoch ms") }),
  ),
  remaining: z.array(z.strictObject({ name: z.string(), progress: z.number() })),
  blockers: z.array(z.string()),
  iterations: z.number().int(),
  artifacts: z.number().int(),
  durationMs: z.number(),
}).describe(
  "How the project ended, built at its exit (camelCase keys and epoch-ms times, as spec/projects.md §7 names them)",
);

/** `ProjectDetail` (`GdilService.detail`): the summary with the plan, tasks and latest events. */
export const PROJECT_DETAIL = z.strictObject({
  ...PROJECT_SUMMARY.shape,
  request: z.string().describe("What the owner asked for"),
  brief: z.string().nullable(),
  end_transformation: z.string().nullable().describe("What is true once the project is done"),
  uncertainties: z.array(z.string()),
  blockers: z.array(
    z.strictObject({ text: z.string(), taskId: z.string(), at: time }),
  ),
  plan_version: z.number().int(),
  plan_accepted_at: time.nullable(),
  exit_at: time.nullable(),
  exit_summary: EXIT_SUMMARY.nullable(),
  tasks: z.array(PROJECT_TASK),
  events: z.array(PROJECT_EVENT).describe("The latest 50 events, in seq order"),
});

const MILESTONE = z.strictObject({
  id: z.string(),
  label: z.string(),
  kind: z.enum(["plan_accepted", "task", "exit"]),
  task_id: z.string().nullable(),
  planned_at: time.nullable(),
  at: time.nullable().describe("When it was reached; null while it is not"),
});
const ROADMAP_TASK = z.strictObject({
  id: z.string(),
  key: z.string(),
  name: z.string(),
  priority: z.number().int(),
  progress: z.number(),
  status: z.enum(TASK_STATUSES),
  dependencies: z.array(z.string()).describe("Task ids"),
  estimate: ESTIMATE,
  planned_start: time.nullable(),
  planned_end: time.nullable(),
  started_at: time.nullable(),
  finished_at: time.nullable(),
  iterations: z.number().int(),
  blocked: z.boolean(),
  milestone: z.boolean(),
});

/** `TimelineProject` (spec/projects.md §13; the earlier project's keys, with additions). */
export const TIMELINE_PROJECT = z.strictObject({
  id: z.string(),
  name: z.string(),
  phase: z.enum(PHASES),
  progress: z.number(),
  is_collaborative: z.literal(false).describe("Kept from the earlier project; always false"),
  created_at: time,
  updated_at: time,
  plan_accepted_at: time.nullable(),
  exit_at: time.nullable(),
  exit_reason: z.enum(EXIT_REASONS).nullable(),
  roadmap: z.array(ROADMAP_TASK),
  milestones: z.array(MILESTONE),
});

/** `Timeline`: every project's, each built on its own. */
export const TIMELINE = z.strictObject({
  success: z.literal(true),
  projects: z.array(z.union([
    TIMELINE_PROJECT,
    z.strictObject({
      id: z.string(),
      name: z.string(),
      phase: z.enum(PHASES),
      roadmap: z.array(ROADMAP_TASK).max(0),
      milestones: z.array(MILESTONE).max(0),
    }).describe("A project whose timeline could not be built (logged): its name only"),
  ])).describe("Newest first; archived ones only with include_archived=true"),
  total_projects: z.number().int(),
});
