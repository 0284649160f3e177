/**
 * GDIL's storage (spec/projects.md §2): a project and its tasks are saved
 * together with the step's events in one transaction; events get the next
 * gap-free `seq` of their project.
 *
 * @module
 */
import {
  afterKey,
  AppError,
  type Database,
  prepare,
  type Store,
  type TimeIdKey,
} from "@synth/kernel";
import type { Kysely } from "kysely";
import type { ExitSummary, Phase, Project, ProjectEvent, Task } from "./types.ts";

/** How {@link ProjectRepo.save} writes. */
export interface SaveOptions {
  /** A new project: inserted (any other save of a missing row is `GDIL_PROJECT_GONE`). */
  create?: boolean;
  /** Refused (409 `GDIL_BUSY`) while a step holds the project; the value names the action. */
  requireIdle?: string;
  /** Refused (409 `GDIL_BUSY`) unless the stored version is this one (nobody saved meanwhile). */
  expectVersion?: number;
}

/** 409 `GDIL_BUSY`: a step holds the project, which `action` would change under it. */
export function busyError(action: string): AppError {
  return new AppError(
    "GDIL_BUSY",
    `A step of this project is running; ${action} it when the step ends (or cancel its turn)`,
    { status: 409 },
  );
}

type Row = Record<string, unknown>;
const json = <T>(text: unknown, fallback: T): T => {
  if (typeof text !== "string") return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

function taskFromRow(row: Row): Task {
  return {
    id: String(row.id),
    key: String(row.key),
    name: String(row.name),
    description: String(row.description),
    priority: Number(row.priority),
    dependsOn: json<string[]>(row.depends_on, []),
    estimate: { iterations: Number(row.estimate_iterations), hours: Number(row.estimate_hours) },
    milestone: row.milestone === 1,
    done: row.done === 1,
    blocked: row.blocked === 1,
    progress: Number(row.progress),
    iterations: Number(row.iterations),
    lowStreak: Number(row.low_streak),
    plannedStart: (row.planned_start as number | null) ?? null,
    plannedEnd: (row.planned_end as number | null) ?? null,
    startedAt: (row.started_at as number | null) ?? null,
    finishedAt: (row.finished_at as number | null) ?? null,
  };
}

function projectFromRow(row: Row, tasks: Task[]): Project {
  return {
    id: String(row.id),
    ownerId: String(row.owner_id),
    threadId: String(row.thread_id),
    name: String(row.name),
    request: String(row.request),
    templateId: (row.template_id as string | null) ?? null,
    customization: (row.customization as string | null) ?? null,
    phase: row.phase as Phase,
    pausedFrom: (row.paused_from as Project["pausedFrom"]) ?? null,
    archivedFrom: (row.archived_from as Project["archivedFrom"]) ?? null,
    brief: (row.brief as string | null) ?? null,
    endTransformation: (row.end_transformation as string | null) ?? null,
    questions: json<string[]>(row.questions, []),
    uncertainties: json<string[]>(row.uncertainties, []),
    planVersion: Number(row.plan_version),
    planAcceptedAt: (row.plan_accepted_at as number | null) ?? null,
    tasks,
    iterationCount: Number(row.iteration_count),
    maxIterations: (row.max_iterations as number | null) ?? null,
    exitReason: (row.exit_reason as Project["exitReason"]) ?? null,
    exitAt: (row.exit_at as number | null) ?? null,
    exitSummary: json<ExitSummary | null>(row.exit_summary, null),
    blockers: json<Project["blockers"]>(row.blockers, []),
    vcs: row.vcs === 1,
    busySince: (row.busy_since as number | null) ?? null,
    lastError: json<Project["lastError"]>(row.last_error, null),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    version: Number(row.version),
  };
}

function projectRow(project: Project) {
  return {
    id: project.id,
    owner_id: project.ownerId,
    thread_id: project.threadId,
    name: project.name,
    request: project.request,
    template_id: project.templateId,
    customization: project.customization,
    phase: project.phase,
    paused_from: project.pausedFrom,
    archived_from: project.archivedFrom,
    brief: project.brief,
    end_transformation: project.endTransformation,
    questions: JSON.stringify(project.questions),
    uncertainties: JSON.stringify(project.uncertainties),
    plan_version: project.planVersion,
    plan_accepted_at: project.planAcceptedAt,
    iteration_count: project.iterationCount,
    max_iterations: project.maxIterations,
    exit_reason: project.exitReason,
    exit_at: project.exitAt,
    exit_summary: project.exitSummary ? JSON.stringify(project.exitSummary) : null,
    blockers: JSON.stringify(project.blockers),
    vcs: project.vcs ? 1 : 0,
    busy_since: project.busySince,
    last_error: project.lastError ? JSON.stringify(project.lastError) : null,
    created_at: project.createdAt,
    updated_at: project.updatedAt,
    version: project.version,
  };
}

function taskRow(projectId: string, task: Task, idx: number) {
  return {
    id: task.id,
    project_id: projectId,
    idx,
    key: task.key,
    name: task.name,
    description: task.description,
    priority: task.priority,
    depends_on: JSON.stringify(task.dependsOn),
    estimate_iterations: task.estimate.iterations,
    estimate_hours: task.estimate.hours,
    milestone: task.milestone ? 1 : 0,
    done: task.done ? 1 : 0,
    blocked: task.blocked ? 1 : 0,
    progress: task.progress,
    iterations: task.iterations,
    low_streak: task.lowStreak,
    planned_start: task.plannedStart,
    planned_end: task.plannedEnd,
    started_at: task.startedAt,
    finished_at: task.finishedAt,
  };
}

/** Read by every turn (stage 3). */
const focusedProject = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("gdil_focus").select("project_id")
    .where("owner_id", "=", slot("ownerId")).where("thread_id", "=", slot("threadId"))
);

/** An event before its seq is known. */
export type NewEvent = Omit<ProjectEvent, "seq" | "projectId">;

/** One iteration's record. */
export interface IterationRecord {
  id: string;
  projectId: string;
  taskId: string;
  n: number;
  turnId: string | null;
  userMessage: string | null;
  output: string;
  explanation: string;
  questions: string[];
  rawProgress: unknown;
  progress: number;
  artifacts: Array<{ path: string; bytes: number; sha256: string }>;
  usage: unknown;
  startedAt: number;
  finishedAt: number;
}

/** The repository. */
export class ProjectRepo {
  constructor(private readonly store: Store) {}

  /** A project by exact id, or null. */
  async get(id: string): Promise<Project | null> {
    const row = await this.store.db.selectFrom("gdil_projects").selectAll().where("id", "=", id)
      .executeTakeFirst();
    if (!row) return null;
    const tasks = await this.store.db.selectFrom("gdil_tasks").selectAll()
      .where("project_id", "=", id).orderBy("idx").execute();
    return projectFromRow(row as Row, tasks.map((task) => taskFromRow(task as Row)));
  }

  /** The owner's projects, newest first. */
  /** The ids of an owner's projects (for their short ids). */
  async ids(ownerId: string): Promise<string[]> {
    const rows = await this.store.db.selectFrom("gdil_projects").select("id")
      .where("owner_id", "=", ownerId).execute();
    return rows.map((row) => row.id);
  }

  /**
   * Projects newest first (an owner's, or with null everyone's); `page` keeps those of one phase
   * (or, without it, leaves out archived ones unless asked), after a page's last, at most `limit`.
   */
  async list(
    ownerId: string | null,
    page: {
      phase?: string | undefined;
      includeArchived?: boolean | undefined;
      before?: TimeIdKey | undefined;
      limit?: number | undefined;
    } = { includeArchived: true },
  ): Promise<Project[]> {
    let query = this.store.db.selectFrom("gdil_projects").selectAll().orderBy("created_at", "desc")
      .orderBy("id", "desc");
    if (ownerId !== null) query = query.where("owner_id", "=", ownerId);
    if (page.phase) query = query.where("phase", "=", page.phase);
    else if (!page.includeArchived) query = query.where("phase", "!=", "archived");
    const before = page.before;
    if (before) query = query.where((eb) => afterKey(eb, { at: "created_at", id: "id" }, before));
    if (page.limit !== undefined) query = query.limit(page.limit);
    const rows = await query.execute();
    if (rows.length === 0) return [];
    const tasks = await this.store.db.selectFrom("gdil_tasks").selectAll()
      .where("project_id", "in", rows.map((row) => row.id)).orderBy("idx").execute();
    const byProject = new Map<string, Task[]>();
    for (const task of tasks) {
      const list = byProject.get(task.project_id) ?? [];
      list.push(taskFromRow(task as Row));
      byProject.set(task.project_id, list);
    }
    return rows.map((row) => projectFromRow(row as Row, byProject.get(row.id) ?? []));
  }

  /**
   * Saves the project and its tasks and appends `events` in one
   * transaction; resolves with the events as stored (with their seqs).
   */
  async save(
    project: Project,
    events: readonly NewEvent[] = [],
    iteration?: IterationRecord,
    options: SaveOptions = {},
  ): Promise<ProjectEvent[]> {
    return await this.store.transaction(async (trx) => {
      const row = projectRow(project);
      const existing = await trx.selectFrom("gdil_projects").select(["id", "busy_since", "version"])
        .where("id", "=", project.id).executeTakeFirst();
      if (!existing && !options.create) {
        // Deleted since it was read (a delete, its owner's account removed): a step that held it
        // in memory must not bring it back.
        throw new AppError("GDIL_PROJECT_GONE", "The project was deleted", { status: 404 });
      }
      if (existing && options.requireIdle && existing.busy_since !== null) {
        throw busyError(options.requireIdle);
      }
      if (
        existing && options.expectVersion !== undefined &&
        existing.version !== options.expectVersion
      ) {
        throw new AppError(
          "GDIL_BUSY",
          "The project changed while this began; try again",
          { status: 409 },
        );
      }
      if (existing) {
        const { id: _id, ...rest } = row;
        await trx.updateTable("gdil_projects").set(rest).where("id", "=", project.id).execute();
      } else {
        await trx.insertInto("gdil_projects").values(row).execute();
      }
      await trx.deleteFrom("gdil_tasks").where("project_id", "=", project.id).execute();
      if (project.tasks.length > 0) {
        await trx.insertInto("gdil_tasks").values(
          project.tasks.map((task, idx) => taskRow(project.id, task, idx)),
        ).execute();
      }
      if (iteration) {
        await trx.insertInto("gdil_iterations").values({
          id: iteration.id,
          project_id: iteration.projectId,
          task_id: iteration.taskId,
          n: iteration.n,
          turn_id: iteration.turnId,
          user_message: iteration.userMessage,
          output: iteration.output,
          explanation: iteration.explanation,
          questions: JSON.stringify(iteration.questions),
          raw_progress: JSON.stringify(iteration.rawProgress ?? null),
          progress: iteration.progress,
          artifacts: JSON.stringify(iteration.artifacts),
          usage: iteration.usage === undefined ? null : JSON.stringify(iteration.usage),
          started_at: iteration.startedAt,
          finished_at: iteration.finishedAt,
        }).execute();
      }
      if (events.length === 0) return [];
      const last = await trx.selectFrom("gdil_events").select((eb) => eb.fn.max("seq").as("seq"))
        .where("project_id", "=", project.id).executeTakeFirst();
      let seq = Number(last?.seq ?? 0);
      const stored: ProjectEvent[] = events.map((event) => ({
        ...event,
        projectId: project.id,
        seq: ++seq,
      }));
      await trx.insertInto("gdil_events").values(stored.map((event) => ({
        project_id: event.projectId,
        seq: event.seq,
        at: event.at,
        task_id: event.taskId,
        type: event.type,
        data: JSON.stringify(event.data),
      }))).execute();
      return stored;
    });
  }

  /** Removes a project with its tasks, iterations, events and focus rows. */
  async delete(id: string, options: { requireIdle?: string } = {}): Promise<void> {
    await this.store.transaction(async (trx) => {
      if (options.requireIdle) {
        const row = await trx.selectFrom("gdil_projects").select("busy_since")
          .where("id", "=", id).executeTakeFirst();
        if (row && row.busy_since !== null) throw busyError(options.requireIdle);
      }
      for (const table of ["gdil_focus", "gdil_events", "gdil_iterations", "gdil_tasks"] as const) {
        await trx.deleteFrom(table).where("project_id", "=", id).execute();
      }
      await trx.deleteFrom("gdil_projects").where("id", "=", id).execute();
    });
  }

  /** Events in seq order after `after`. */
  async events(projectId: string, after = 0, limit = 200): Promise<ProjectEvent[]> {
    const rows = await this.store.db.selectFrom("gdil_events").selectAll()
      .where("project_id", "=", projectId).where("seq", ">", after).orderBy("seq").limit(limit)
      .execute();
    return rows.map((row) => ({
      projectId: row.project_id,
      seq: row.seq,
      at: row.at,
      taskId: row.task_id,
      type: row.type as ProjectEvent["type"],
      data: json<Record<string, unknown>>(row.data, {}),
    }));
  }

  /** The newest `limit` events, in seq order. */
  async latestEvents(projectId: string, limit: number): Promise<ProjectEvent[]> {
    const rows = await this.store.db.selectFrom("gdil_events").selectAll()
      .where("project_id", "=", projectId).orderBy("seq", "desc").limit(limit).execute();
    return rows.reverse().map((row) => ({
      projectId: row.project_id,
      seq: row.seq,
      at: row.at,
      taskId: row.task_id,
      type: row.type as ProjectEvent["type"],
      data: json<Record<string, unknown>>(row.data, {}),
    }));
  }

  /** Iterations of a project (of one task when given), oldest first. */
  async iterations(projectId: string, taskId?: string): Promise<IterationRecord[]> {
    let query = this.store.db.selectFrom("gdil_iterations").selectAll()
      .where("project_id", "=", projectId).orderBy("started_at").orderBy("n");
    if (taskId) query = query.where("task_id", "=", taskId);
    const rows = await query.execute();
    return rows.map((row) => ({
      id: row.id,
      projectId: row.project_id,
      taskId: row.task_id,
      n: row.n,
      turnId: row.turn_id,
      userMessage: row.user_message,
      output: row.output,
      explanation: row.explanation,
      questions: json<string[]>(row.questions, []),
      rawProgress: json<unknown>(row.raw_progress, null),
      progress: row.progress,
      artifacts: json(row.artifacts, []),
      usage: json<unknown>(row.usage, null),
      startedAt: row.started_at,
      finishedAt: row.finished_at,
    }));
  }

  /** The focused project of (owner, thread). */
  async focused(ownerId: string, threadId: string): Promise<string | null> {
    const row = await focusedProject.executeTakeFirst(this.store.db, { ownerId, threadId });
    return row?.project_id ?? null;
  }

  /** Threads where the project is focused. */
  async focusedIn(projectId: string): Promise<string[]> {
    const rows = await this.store.db.selectFrom("gdil_focus").select("thread_id")
      .where("project_id", "=", projectId).execute();
    return rows.map((row) => row.thread_id);
  }

  /** Makes the project the focused one of (owner, thread). */
  async focus(ownerId: string, threadId: string, projectId: string): Promise<void> {
    await this.store.db.insertInto("gdil_focus").values({
      owner_id: ownerId,
      thread_id: threadId,
      project_id: projectId,
    }).onConflict((conflict) =>
      conflict.columns(["owner_id", "thread_id"]).doUpdateSet({ project_id: projectId })
    ).execute();
  }

  /** Moves a project to another thread (its own was deleted). */
  async setThread(projectId: string, threadId: string): Promise<void> {
    await this.store.db.updateTable("gdil_projects").set({ thread_id: threadId })
      .where("id", "=", projectId).execute();
  }

  /** Drops every focus in a thread (it is being deleted). */
  async unfocusThread(threadId: string): Promise<number> {
    const result = await this.store.db.deleteFrom("gdil_focus").where("thread_id", "=", threadId)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Drops every focus on the project. */
  async unfocus(projectId: string): Promise<void> {
    await this.store.db.deleteFrom("gdil_focus").where("project_id", "=", projectId).execute();
  }
}
