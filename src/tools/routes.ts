/**
 * Tool routes (spec/server.md §4.2, spec/tools.md §8): the tool list and
 * settings, direct runs, the run records with their output, cancelling, and
 * approvals.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { AppError } from "../errors.ts";
import { ANY_OBJECT, describe, type Operation } from "../http/openapi.ts";
import type { AppEnv } from "../http/types.ts";
import { queryInt, readJson, readQuery, requireRole, threadReader } from "../http/validate.ts";
import { readTimeIdCursor, timeIdCursor, timeIdPage } from "../http/paging.ts";
import type { ToolService } from "./service.ts";

const runBody = z.strictObject({ args: z.record(z.string(), z.unknown()).default({}) });
const patchBody = z.strictObject({
  enabled: z.boolean().optional(),
  requires_approval: z.boolean().optional(),
}).refine((body) => body.enabled !== undefined || body.requires_approval !== undefined, {
  message: "give enabled or requires_approval",
});
const runsQuery = z.strictObject({
  tool: z.string().max(100).optional(),
  status: z.enum([
    "pending_approval",
    "running",
    "succeeded",
    "failed",
    "denied",
    "expired",
    "cancelled",
  ]).optional(),
  limit: queryInt({ min: 1, max: 500 }).default(100),
  cursor: timeIdCursor("The next page holds the runs created before this one's last"),
});
const approvalsQuery = z.strictObject({
  status: z.enum(["pending", "approved", "denied", "expired"]).optional(),
  limit: queryInt({ min: 1, max: 500 }).default(100),
  cursor: timeIdCursor("The next page holds the approvals asked for before this one's last"),
});
const decisionBody = z.strictObject({
  decision: z.enum(["approve", "deny"]),
  note: z.string().max(500).optional(),
});

const TOOL = z.object({
  name: z.string(),
  description: z.string(),
  risk: z.enum(["safe", "network", "write", "execute"]),
  source: z.string(),
  enabled: z.boolean(),
  available: z.boolean().describe(
    "False while the tool's third-party plugin is not running: it is then not offered to the model",
  ),
  requires_approval: z.boolean(),
  parameters: ANY_OBJECT,
  grants: z.record(z.string(), z.array(z.string())),
  limits: z.object({ timeout_ms: z.number(), max_output_chars: z.number() }),
}).openapi("Tool");
const RUN = z.object({
  id: z.string(),
  tool: z.string(),
  source: z.string(),
  risk: z.string(),
  args_hash: z.string(),
  args_preview: z.string(),
  requested_by: z.string().nullable(),
  module: z.string(),
  thread_id: z.string().nullable(),
  turn_id: z.string().nullable(),
  project_id: z.string().nullable(),
  approval_id: z.string().nullable(),
  approver_id: z.string().nullable().describe(
    "Who decided a call that needed approval (approved or denied it), or started a manual run",
  ),
  status: z.string(),
  error_code: z.string().nullable(),
  exit_code: z.number().nullable(),
  signal: z.string().nullable(),
  duration_ms: z.number().nullable(),
  output_chars: z.number().nullable(),
  truncated: z.boolean(),
  result_preview: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
}).openapi("ToolRun");
const APPROVAL = z.object({
  id: z.string(),
  run_id: z.string(),
  tool: z.string(),
  risk: z.string(),
  args_preview: z.string(),
  thread_id: z.string().nullable(),
  project_id: z.string().nullable(),
  requested_by: z.string().nullable(),
  expires_at: z.string(),
  status: z.string(),
  decided_by: z.string().nullable(),
  note: z.string().nullable(),
  created_at: z.string(),
  decided_at: z.string().nullable(),
}).openapi("Approval");

const OPERATIONS: readonly Operation[] = [
  {
    method: "get",
    path: "/api/tools",
    summary: "The tools with risk, JSON Schema, grants, limits and approval",
    tags: ["tools"],
    role: "viewer",
    responses: { 200: { description: "Tools", schema: z.object({ items: z.array(TOOL) }) } },
  },
  {
    method: "patch",
    path: "/api/tools/:name",
    summary: "Enable or disable a tool, or change whether it needs approval (persisted)",
    tags: ["tools"],
    role: "admin",
    body: patchBody,
    responses: { 200: { description: "The tool", schema: TOOL } },
  },
  {
    method: "post",
    path: "/api/tools/:name/runs",
    summary: "Run a tool directly (the caller counts as approver); 202 with the run",
    tags: ["tools"],
    role: "operator",
    body: runBody,
    responses: { 202: { description: "The run, started", schema: RUN } },
  },
  {
    method: "get",
    path: "/api/runs",
    summary: "Tool runs, newest first: the caller's own (every run for administrators)",
    tags: ["tools"],
    role: "viewer",
    query: runsQuery,
    responses: {
      200: {
        description: "Runs",
        schema: z.object({ items: z.array(RUN), next_cursor: z.string().nullable() }),
      },
    },
  },
  {
    method: "get",
    path: "/api/runs/:id",
    summary: "One tool run (another user's is 404, except for administrators)",
    tags: ["tools"],
    role: "viewer",
    responses: { 200: { description: "The run", schema: RUN } },
  },
  {
    method: "get",
    path: "/api/runs/:id/output",
    summary: "A finished run's full result (JSON text, at most 64 KiB)",
    tags: ["tools"],
    role: "viewer",
    responses: { 200: { description: "The result as text" } },
  },
  {
    method: "post",
    path: "/api/runs/:id/cancel",
    summary: "Cancel a waiting or running run (the sandbox process is killed)",
    tags: ["tools"],
    role: "operator",
    responses: { 200: { description: "The run", schema: RUN } },
  },
  {
    method: "get",
    path: "/api/approvals",
    summary: "Approvals, newest first",
    tags: ["tools"],
    role: "viewer",
    query: approvalsQuery,
    responses: {
      200: {
        description: "Approvals",
        schema: z.object({ items: z.array(APPROVAL), next_cursor: z.string().nullable() }),
      },
    },
  },
  {
    method: "post",
    path: "/api/approvals/:id",
    summary: "Approve or deny a waiting run; a second answer is 409 APPROVAL_CLOSED",
    tags: ["tools"],
    role: "operator",
    body: decisionBody,
    responses: { 200: { description: "The approval", schema: APPROVAL } },
  },
];

/** A run's or an approval's place in its newest-first list. */
const createdKey = (item: { id: string; created_at: string }) => ({
  at: Date.parse(item.created_at),
  id: item.id,
});

function who(c: Parameters<typeof requireRole>[0]) {
  const principal = c.get("principal");
  if (!principal) throw new AppError("UNAUTHORIZED", "Sign in first", { status: 401 });
  return principal;
}

/** The tool routes. */
export function toolRoutes(tools: () => ToolService): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  describe(app, OPERATIONS);

  app.get("/api/tools", (c) => {
    requireRole(c, "viewer");
    return c.json({ items: tools().list() });
  });

  app.patch("/api/tools/:name", async (c) => {
    requireRole(c, "admin");
    const body = await readJson(c, patchBody);
    return c.json(await tools().patch(c.req.param("name"), body, who(c).userId));
  });

  app.post("/api/tools/:name/runs", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, runBody);
    const principal = who(c);
    const started = await tools().startRun(c.req.param("name"), body.args, {
      requestedBy: principal.userId,
      module: "api",
      approverId: principal.userId,
    });
    // The run goes on after the response; its end is in the record and in `tool.run`.
    started.result.catch(() => {});
    return c.json(started.run, 202);
  });

  app.get("/api/runs", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, runsQuery);
    const runs = await tools().listRuns({
      tool: query.tool,
      status: query.status,
      requestedBy: threadReader(c),
      limit: query.limit + 1,
      before: readTimeIdCursor(query.cursor),
    });
    const { page, nextCursor } = timeIdPage(runs, query.limit, createdKey);
    return c.json({ items: page, next_cursor: nextCursor });
  });

  app.get("/api/runs/:id", async (c) => {
    requireRole(c, "viewer");
    return c.json(await tools().getRun(c.req.param("id"), threadReader(c)));
  });

  app.get("/api/runs/:id/output", async (c) => {
    requireRole(c, "viewer");
    const text = await tools().output(c.req.param("id"), threadReader(c));
    return c.body(text, 200, { "content-type": "text/plain; charset=utf-8" });
  });

  app.post("/api/runs/:id/cancel", async (c) => {
    requireRole(c, "operator");
    // Another user's run is not there for the caller (an administrator may cancel any).
    await tools().getRun(c.req.param("id"), threadReader(c));
    return c.json(await tools().cancel(c.req.param("id"), who(c).userId));
  });

  app.get("/api/approvals", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, approvalsQuery);
    const approvals = await tools().listApprovals(
      query.status,
      query.limit + 1,
      readTimeIdCursor(query.cursor),
      threadReader(c),
    );
    const { page, nextCursor } = timeIdPage(approvals, query.limit, createdKey);
    return c.json({ items: page, next_cursor: nextCursor });
  });

  app.post("/api/approvals/:id", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, decisionBody);
    const principal = who(c);
    return c.json(
      await tools().decide(
        c.req.param("id"),
        body.decision,
        { userId: principal.userId, role: principal.role },
        body.note,
      ),
    );
  });

  return app;
}
