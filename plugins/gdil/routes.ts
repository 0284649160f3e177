/**
 * GDIL's HTTP routes at server.md's paths (spec/projects.md §11): reads for
 * viewers, changes for operators, delete for admins; callers see only their
 * own projects.
 *
 * @module
 */
import {
  type AppEnv,
  describe,
  type Operation,
  queryInt,
  readJson,
  readQuery,
  readTimeIdCursor,
  requireRole,
  signedInCaller,
  timeIdCursor,
  timeIdPage,
} from "@synth/kernel";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { GdilService } from "./service.ts";
import { eventView } from "./service.ts";
import {
  PROJECT_DETAIL,
  PROJECT_EVENT,
  PROJECT_SUMMARY,
  TIMELINE,
  TIMELINE_PROJECT,
} from "./schemas.ts";
import { templateView } from "./templates.ts";
import type { Template } from "./types.ts";
import { PHASES } from "./types.ts";

/** Text that must say something: whitespace alone is refused. */
const said = (max: number) =>
  z.string().max(max).refine((text) => text.trim() !== "", "must not be empty or blank");
const createBody = z.strictObject({
  description: said(4_000).optional(),
  template_id: z.string().min(1).max(100).optional(),
  customization: z.string().max(4_000).optional(),
  name: said(60).optional(),
  thread_id: z.string().min(1).max(100).optional(),
  vcs: z.boolean().optional(),
}).refine((body) => (body.description === undefined) !== (body.template_id === undefined), {
  message: "give description or template_id (exactly one)",
  path: ["description"],
});
const inputBody = z.strictObject({
  text: z.string().max(8_000).optional(),
  intent: z.enum([
    "accept",
    "adjust",
    "decline",
    "hesitate",
    "stop",
    "pause",
    "continue",
    "feedback",
    "skip",
    "answers",
    "retry",
  ]).optional(),
  steps: z.number().int().min(1).max(20).optional(),
});
const patchBody = z.strictObject({ name: said(60) });
const threadBody = z.strictObject({ thread_id: z.string().min(1).max(100).optional() });
const listQuery = z.strictObject({
  phase: z.enum(PHASES).optional(),
  include_archived: z.enum(["true", "false"]).optional(),
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: timeIdCursor("The next page holds the projects started before this one's last"),
});
const eventsQuery = z.strictObject({
  after: queryInt({ min: 0 }).optional(),
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: z.string().regex(/^\d{1,15}$/, "a next_cursor from the previous page").optional(),
}).refine((query) => query.after === undefined || query.cursor === undefined, {
  message: "after and cursor cannot be used together: a cursor already says where to go on",
  path: ["after"],
});
const timelineQuery = z.strictObject({ include_archived: z.enum(["true", "false"]).optional() });
const iterationsQuery = z.strictObject({ task_id: z.string().max(100).optional() });
const templatesQuery = z.strictObject({ category: z.string().max(60).optional() });

const TURN = z.object({
  turn_id: z.string(),
  thread_id: z.string(),
  user_message_id: z.string().nullable(),
  status: z.string(),
  queue_position: z.number(),
  events_url: z.string(),
});

const TEMPLATE_SUMMARY = z.strictObject({
  id: z.string(),
  name: z.string(),
  category: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  task_count: z.number().int(),
});
/** `TemplateView` (templates.ts) for the OpenAPI document. */
const TEMPLATE = z.strictObject({
  id: z.string(),
  name: z.string(),
  category: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  suggested_brief: z.string(),
  end_transformation: z.string(),
  questions: z.array(z.string()),
  tasks: z.array(z.strictObject({
    key: z.string(),
    name: z.string(),
    description: z.string(),
    priority: z.number().int(),
    depends_on: z.array(z.string()),
    estimate: z.strictObject({ iterations: z.number().int(), hours: z.number() }),
    milestone: z.boolean(),
  })),
});
const ITERATION = z.strictObject({
  id: z.string(),
  task_id: z.string(),
  n: z.number().int(),
  turn_id: z.string().nullable(),
  user_message: z.string().nullable(),
  output: z.string(),
  explanation: z.string(),
  questions: z.array(z.string()),
  raw_progress: z.unknown().describe("the task_progress the model reported, as it gave it"),
  progress: z.number(),
  artifacts: z.array(z.strictObject({ path: z.string(), bytes: z.number(), sha256: z.string() })),
  started_at: z.iso.datetime(),
  finished_at: z.iso.datetime(),
});

const OPERATIONS: readonly Operation[] = [
  {
    method: "get",
    path: "/api/projects",
    summary: "Your projects, newest first",
    tags: ["projects"],
    role: "viewer",
    query: listQuery,
    responses: {
      200: {
        description: "Page of ProjectSummary",
        schema: z.strictObject({
          items: z.array(PROJECT_SUMMARY),
          next_cursor: z.string().nullable(),
        }),
      },
    },
  },
  {
    method: "post",
    path: "/api/projects",
    summary: "Start a project from a description (queues a clarify turn) or a template",
    tags: ["projects"],
    role: "operator",
    body: createBody,
    errors: [404],
    responses: {
      201: {
        description: "{project, turn}",
        schema: z.object({
          project: PROJECT_DETAIL,
          turn: TURN.nullable().describe(
            "The clarify turn queued for a description; null for a template",
          ),
        }),
      },
    },
  },
  {
    method: "get",
    path: "/api/projects/:id",
    summary: "A project with its tasks and latest events (id or unique prefix)",
    tags: ["projects"],
    role: "viewer",
    responses: { 200: { description: "ProjectDetail", schema: PROJECT_DETAIL } },
  },
  {
    method: "patch",
    path: "/api/projects/:id",
    summary: "Rename a project",
    tags: ["projects"],
    role: "operator",
    body: patchBody,
    responses: { 200: { description: "ProjectDetail", schema: PROJECT_DETAIL } },
  },
  {
    method: "delete",
    path: "/api/projects/:id",
    summary: "Delete an archived project",
    tags: ["projects"],
    role: "admin",
    responses: { 204: { description: "Deleted" } },
  },
  {
    method: "post",
    path: "/api/projects/:id/input",
    summary: "Answer, accept, adjust, continue (steps 1–20), stop… (queues a turn)",
    tags: ["projects"],
    role: "operator",
    body: inputBody,
    responses: { 202: { description: "TurnAccepted", schema: TURN } },
  },
  ...(["pause", "resume", "archive", "focus"] as const).map((action): Operation => ({
    method: "post",
    path: `/api/projects/:id/${action}`,
    summary: `${action[0]!.toUpperCase()}${action.slice(1)} a project`,
    tags: ["projects"],
    role: "operator",
    body: threadBody,
    responses: {
      200: {
        description: "{project, changed}",
        schema: z.object({
          project: PROJECT_SUMMARY,
          changed: z.boolean().describe(
            "Whether the phase changed (false for focus, and for resuming a project that runs)",
          ),
        }),
      },
    },
  })),
  {
    method: "get",
    path: "/api/projects/:id/events",
    summary: "A project's events in seq order",
    tags: ["projects"],
    role: "viewer",
    query: eventsQuery,
    responses: {
      200: {
        description: "Page of ProjectEvent",
        schema: z.strictObject({
          items: z.array(PROJECT_EVENT),
          next_cursor: z.string().nullable(),
        }),
      },
    },
  },
  {
    method: "get",
    path: "/api/projects/:id/iterations",
    summary: "A project's iterations",
    tags: ["projects"],
    role: "viewer",
    query: iterationsQuery,
    responses: {
      200: {
        description: "Page of iterations",
        schema: z.strictObject({ items: z.array(ITERATION), next_cursor: z.string().nullable() }),
      },
    },
  },
  {
    method: "get",
    path: "/api/projects/:id/timeline",
    summary: "A project's timeline (planned and actual dates, dependencies, milestones)",
    tags: ["projects"],
    role: "viewer",
    responses: { 200: { description: "TimelineProject", schema: TIMELINE_PROJECT } },
  },
  {
    method: "get",
    path: "/api/timeline",
    summary: "Every project's timeline",
    tags: ["projects"],
    role: "viewer",
    query: timelineQuery,
    responses: { 200: { description: "Timeline", schema: TIMELINE } },
  },
  {
    method: "get",
    path: "/api/templates",
    summary: "Project templates",
    tags: ["projects"],
    role: "viewer",
    query: templatesQuery,
    responses: {
      200: {
        description: "Templates",
        schema: z.strictObject({ items: z.array(TEMPLATE_SUMMARY) }),
      },
    },
  },
  {
    method: "get",
    path: "/api/templates/:id",
    summary: "A template with its tasks",
    tags: ["projects"],
    role: "viewer",
    responses: { 200: { description: "Template", schema: TEMPLATE } },
  },
];

/** Adds the routes to the plugin's app (mounted at `/api`). */
export function projectRoutes(
  app: OpenAPIHono<AppEnv>,
  service: GdilService,
  templates: () => Template[],
  find: (ref: string) => Template,
): void {
  describe(
    app,
    OPERATIONS.map((operation) => ({ ...operation, path: operation.path.replace(/^\/api/, "") })),
  );

  app.get("/projects", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, listQuery);
    const projects = await service.list(signedInCaller(c), {
      phase: query.phase,
      includeArchived: query.include_archived === "true",
      limit: query.limit + 1,
      before: readTimeIdCursor(query.cursor),
    });
    const { page, nextCursor } = timeIdPage(projects, query.limit, (project) => ({
      at: Date.parse(String(project.created_at)),
      id: String(project.id),
    }));
    return c.json({ items: page, next_cursor: nextCursor });
  });

  app.post("/projects", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, createBody);
    const created = await service.create(signedInCaller(c), {
      description: body.description,
      templateId: body.template_id,
      customization: body.customization,
      name: body.name,
      threadId: body.thread_id,
      vcs: body.vcs,
    });
    c.header("Location", `/api/projects/${created.project.id}`);
    return c.json({ project: await service.detail(created.project), turn: created.turn }, 201);
  });

  app.get("/projects/:id", async (c) => {
    requireRole(c, "viewer");
    return c.json(
      await service.detail(await service.resolve(signedInCaller(c), c.req.param("id"))),
    );
  });

  app.patch("/projects/:id", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, patchBody);
    return c.json(
      await service.detail(await service.rename(signedInCaller(c), c.req.param("id"), body.name)),
    );
  });

  app.delete("/projects/:id", async (c) => {
    requireRole(c, "admin");
    await service.delete(signedInCaller(c), c.req.param("id"));
    return c.body(null, 204);
  });

  app.post("/projects/:id/input", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, inputBody);
    return c.json(
      await service.input(signedInCaller(c), c.req.param("id"), {
        text: body.text,
        intent: body.intent,
        steps: body.steps,
      }),
      202,
    );
  });

  for (const action of ["pause", "resume", "archive", "focus"] as const) {
    app.post(`/projects/:id/${action}`, async (c) => {
      requireRole(c, "operator");
      // No body at all is `{}`; a JSON one is read and checked like any other.
      const body = await readJson(c, threadBody);
      const result = await service.transition(
        signedInCaller(c),
        c.req.param("id"),
        action,
        body.thread_id,
      );
      return c.json({ project: await service.summary(result.project), changed: result.changed });
    });
  }

  app.get("/projects/:id/events", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, eventsQuery);
    const after = query.cursor ? Number(query.cursor) : query.after ?? 0;
    // One more than a page tells whether another follows.
    const events = await service.events(
      signedInCaller(c),
      c.req.param("id"),
      after,
      query.limit + 1,
    );
    const page = events.slice(0, query.limit);
    return c.json({
      items: page.map(eventView),
      next_cursor: events.length > query.limit ? String(page.at(-1)!.seq) : null,
    });
  });

  app.get("/projects/:id/iterations", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, iterationsQuery);
    const items = await service.iterations(signedInCaller(c), c.req.param("id"), query.task_id);
    return c.json({
      items: items.map((item) => ({
        id: item.id,
        task_id: item.taskId,
        n: item.n,
        turn_id: item.turnId,
        user_message: item.userMessage,
        output: item.output,
        explanation: item.explanation,
        questions: item.questions,
        raw_progress: item.rawProgress,
        progress: item.progress,
        artifacts: item.artifacts,
        started_at: new Date(item.startedAt).toISOString(),
        finished_at: new Date(item.finishedAt).toISOString(),
      })),
      next_cursor: null,
    });
  });

  app.get("/projects/:id/timeline", async (c) => {
    requireRole(c, "viewer");
    return c.json(
      service.timelineOf(await service.resolve(signedInCaller(c), c.req.param("id"))),
    );
  });

  app.get("/timeline", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, timelineQuery);
    return c.json(await service.timeline(signedInCaller(c), query.include_archived === "true"));
  });

  app.get("/templates", (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, templatesQuery);
    return c.json({
      items: templates().filter((template) =>
        !query.category || template.category === query.category
      )
        .map((template) => ({
          id: template.id,
          name: template.name,
          category: template.category,
          description: template.description,
          tags: template.tags,
          task_count: template.tasks.length,
        })),
    });
  });

  app.get("/templates/:id", (c) => {
    requireRole(c, "viewer");
    return c.json(templateView(find(c.req.param("id"))));
  });
}
