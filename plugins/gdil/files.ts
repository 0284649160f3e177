/**
 * A project's files over HTTP (spec/projects.md §9, §11): the workspace
 * listing with sizes and SHA-256, and each file as a download — always an
 * attachment, `text/plain` for UTF-8 else `application/octet-stream`,
 * `nosniff`, never rendered as HTML. Paths go through the tool path rules
 * (no `..`, no absolute paths, no symbolic links).
 *
 * @module
 */
import {
  type AppEnv,
  AppError,
  describe,
  readJson,
  requireRole,
  resolveInWorkspace,
  signedInCaller,
} from "@synth/kernel";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { GdilService } from "./service.ts";
import { listWorkspace, projectWorkspace } from "./workspace.ts";

const FILES = z.object({
  files: z.array(z.object({
    path: z.string(),
    bytes: z.number(),
    modified_at: z.string().nullable(),
    sha256: z.string(),
  })),
});

const COMMITS = z.strictObject({
  commits: z.array(z.strictObject({
    hash: z.string(),
    subject: z.string(),
    at: z.iso.datetime(),
  })),
});
const ROLLBACK_BODY = z.strictObject({
  commit: z.string().min(4).max(40).describe("A commit hash (or its prefix) from vcs/log"),
});
const ROLLBACK = z.strictObject({ head: z.string(), backup_branch: z.string() });

/** Adds the file routes (the plugin's app is mounted at `/api`). */
export function fileRoutes(app: OpenAPIHono<AppEnv>, service: GdilService, dataDir: string): void {
  describe(app, [
    {
      method: "get",
      path: "/projects/:id/files",
      summary: "A project's workspace files with size and SHA-256",
      tags: ["projects"],
      role: "viewer",
      responses: { 200: { description: "Files", schema: FILES } },
    },
    {
      method: "get",
      path: "/projects/:id/files/:path{.+}",
      summary: "One workspace file as a download (attachment, never HTML)",
      tags: ["projects"],
      role: "viewer",
      responses: { 200: { description: "The file" } },
    },
    {
      method: "get",
      path: "/projects/:id/vcs/log",
      summary: "The workspace's git history, newest first (projects created with vcs)",
      tags: ["projects"],
      role: "viewer",
      responses: {
        200: { description: "Commits", schema: COMMITS },
        409: { description: "GDIL_VCS_DISABLED: the project has no version control" },
      },
    },
    {
      method: "post",
      path: "/projects/:id/vcs/rollback",
      summary: "Resets the workspace to a commit, keeping the old HEAD on a backup branch",
      tags: ["projects"],
      role: "operator",
      body: ROLLBACK_BODY,
      responses: {
        200: { description: "The new HEAD and the backup branch", schema: ROLLBACK },
        404: { description: "GDIL_VCS_UNKNOWN_COMMIT" },
        409: { description: "GDIL_VCS_DISABLED, or a step is running (GDIL_INVALID_PHASE)" },
      },
    },
  ]);

  app.get("/projects/:id/vcs/log", async (c) => {
    requireRole(c, "viewer");
    return c.json({ commits: await service.vcsLog(signedInCaller(c), c.req.param("id")) });
  });

  app.post("/projects/:id/vcs/rollback", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, ROLLBACK_BODY);
    return c.json(await service.rollback(signedInCaller(c), c.req.param("id"), body.commit));
  });

  app.get("/projects/:id/files", async (c) => {
    requireRole(c, "viewer");
    const project = await service.resolve(signedInCaller(c), c.req.param("id"));
    const files = await listWorkspace(projectWorkspace(dataDir, project.id));
    return c.json({
      files: files.map((file) => ({
        path: file.path,
        bytes: file.bytes,
        modified_at: file.modifiedAt === null ? null : new Date(file.modifiedAt).toISOString(),
        sha256: file.sha256,
      })),
    });
  });

  app.get("/projects/:id/files/:path{.+}", async (c) => {
    requireRole(c, "viewer");
    const project = await service.resolve(signedInCaller(c), c.req.param("id"));
    const dir = projectWorkspace(dataDir, project.id);
    await Deno.mkdir(dir, { recursive: true });
    // Hono has decoded the parameter once; decoding again would turn "a%20b" into "a b".
    const given = c.req.param("path");
    let target;
    try {
      target = await resolveInWorkspace(await Deno.realPath(dir), given, { mustExist: true });
    } catch (error) {
      const coded = error as { code?: string; message?: string };
      throw new AppError(
        coded.code === "TOOLS_FILE_NOT_FOUND" ? "NOT_FOUND" : "VALIDATION_FAILED",
        coded.message ?? "Invalid path",
        { status: coded.code === "TOOLS_FILE_NOT_FOUND" ? 404 : 400, field: "path" },
      );
    }
    if (!target.info?.isFile) {
      throw new AppError("NOT_FOUND", `No file ${JSON.stringify(given)} in the workspace`, {
        status: 404,
      });
    }
    const bytes = await Deno.readFile(target.absolute);
    let text = true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      text = false;
    }
    const name = target.relative.split("/").at(-1)!;
    // An ASCII name for every client, and the exact one (RFC 6266 filename*) for those that read it.
    const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
    return c.body(bytes, 200, {
      "content-type": text ? "text/plain; charset=utf-8" : "application/octet-stream",
      "content-disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${
        encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16)}`)
      }`,
      "x-content-type-options": "nosniff",
    });
  });
}
