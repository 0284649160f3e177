import {
  AppError,
  describe,
  type Operation,
  type PluginContext,
  queryInt,
  readJson,
  readQuery,
  requireRole,
  type Store,
} from "@synth/kernel";
import { z } from "zod";
import { memoryError } from "./errors.ts";
import { MAX_TEXT_CHARS, MEMORY_KINDS } from "./kinds.ts";
import { type Memory, toMemory } from "./records.ts";
import { type MemoryService, requireMemory } from "./service.ts";

const kindSchema = z.enum(MEMORY_KINDS as [string, ...string[]]);

const listQuery = z.strictObject({
  kind: kindSchema.optional(),
  q: z.string().max(1_000).optional(),
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: z.string().regex(/^\d+$/, "a next_cursor from the previous page").optional(),
}).refine((query) => !query.q || query.cursor === undefined, {
  path: ["cursor"],
  message: "a search (q) answers one ranked page of up to limit items; cursor pages the list",
});

const searchBody = z.strictObject({
  query: z.string().min(1).max(2_000),
  kinds: z.array(kindSchema).min(1).optional(),
  limit: z.number().int().min(1).max(50).default(10),
  min_score: z.number().min(0).max(1).optional(),
});

const createBody = z.strictObject({
  text: z.string().min(1).max(MAX_TEXT_CHARS),
  importance: z.number().min(0).max(1).optional(),
});

const patchBody = z.strictObject({
  importance: z.number().min(0).max(1).optional(),
  expires_at: z.iso.datetime().nullable().optional(),
  suspicious: z.boolean().optional(),
}).refine((body) => Object.keys(body).length > 0, {
  message: "Give at least one of importance, expires_at, suspicious",
});

const forgetBody = z.strictObject({
  ids: z.array(z.string().min(1)).max(10_000).optional(),
  thread_id: z.string().min(1).optional(),
  match: z.string().min(1).max(2_000).optional(),
  before: z.iso.datetime().optional(),
  dry_run: z.boolean().optional(),
  owner: z.string().min(1).nullable().optional(),
});

const exportQuery = z.strictObject({
  include_vectors: z.enum(["true", "false"]).optional(),
  owner: z.string().min(1).optional(),
});

const importQuery = z.strictObject({
  dry_run: z.enum(["true", "false"]).optional(),
  strict: z.enum(["true", "false"]).optional(),
  owner_map: z.string().regex(/^[^:,]+:[^:,]+(,[^:,]+:[^:,]+)*$/, "use old:new,old2:new2")
    .optional(),
});

/** Largest import body (50 MiB). */
const MAX_IMPORT_BYTES = 52_428_800;

/**
 * `readJson` for a body with a `text` field: a text over the limit is
 * `MEMORY_TEXT_TOO_LONG` (spec/memory.md §9), not a generic validation
 * failure; the schema keeps the limit so the document shows it.
 */
async function readTextBody<T>(
  c: Parameters<typeof readJson>[0],
  schema: z.ZodType<T>,
): Promise<T> {
  try {
    return await readJson(c, schema);
  } catch (error) {
    const issues = error instanceof AppError && error.code === "VALIDATION_FAILED"
      ? (error.details as { issues?: Array<{ path: string; code: string }> } | undefined)?.issues
      : undefined;
    if (issues?.some((issue) => issue.path === "text" && issue.code === "too_big")) {
      throw memoryError("TEXT_TOO_LONG", {
        field: "text",
        message: `The text is too long: a memory holds at most ${
          MAX_TEXT_CHARS.toLocaleString("en-US")
        } characters`,
        details: { max_chars: MAX_TEXT_CHARS },
      });
    }
    throw error;
  }
}

/**
 * The memory routes of the HTTP API (server.md §4.2), mounted at `/api`.
 * Every route works on the caller's own memories (plus agent-wide self
 * memories for reads).
 */
export function memoryRoutes(
  http: PluginContext["http"],
  service: MemoryService,
  store: Store,
): void {
  describe(http, OPERATIONS);
  const visible = (owner: string) =>
    store.db.selectFrom("memories").selectAll().where((eb) =>
      eb.or([
        eb("owner_user_id", "=", owner),
        eb.and([eb("owner_user_id", "is", null), eb("kind", "=", "self")]),
      ])
    );

  http.get("/memories", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, listQuery);
    const owner = c.get("principal").userId;
    if (query.q) {
      const found = await service.recall({
        text: query.q,
        ownerUserId: owner,
        k: query.limit,
        tokenBudget: Infinity,
        ...(query.kind ? { kinds: [query.kind as Memory["kind"]] } : {}),
      });
      const rows = found.items.length === 0 ? [] : await store.db.selectFrom("memories").selectAll()
        .where("id", "in", found.items.map((item) => item.id)).execute();
      const byId = new Map(rows.map((row) => [row.id, row]));
      return c.json({
        items: found.items.map((item) => toMemory(byId.get(item.id)!)),
        next_cursor: null,
      });
    }
    let rows = visible(owner);
    if (query.kind) rows = rows.where("kind", "=", query.kind as Memory["kind"]);
    if (query.cursor) rows = rows.where("id", "<", Number(query.cursor));
    const page = await rows.orderBy("id", "desc").limit(query.limit + 1).execute();
    const more = page.length > query.limit;
    const items = page.slice(0, query.limit);
    return c.json({
      items: items.map(toMemory),
      next_cursor: more ? String(items.at(-1)!.id) : null,
    });
  });

  http.get("/memories/stats", async (c) => {
    requireRole(c, "viewer");
    const owner = c.get("principal").userId;
    // What `visible` holds, from the counts the triggers keep (migration 0017): the caller's
    // memories and the shared self memories, without counting every row.
    const counts = await store.db.selectFrom("memory_counts").select(["kind", "n"])
      .where((eb) =>
        eb.or([
          eb("owner_key", "=", owner),
          eb.and([eb("owner_key", "=", ""), eb("kind", "=", "self")]),
        ])
      ).execute();
    const spaces = await store.db.selectFrom("vector_spaces")
      .select(["provider", "model", "dims", "quality", "status"]).execute();
    const index = service.vectors.indexInfo();
    return c.json({
      counts: Object.fromEntries(MEMORY_KINDS.map((kind) => [
        kind,
        counts.filter((row) => row.kind === kind).reduce((sum, row) => sum + Number(row.n), 0),
      ])),
      embedder: {
        id: service.embedder.id,
        provider: service.embedder.provider,
        model: service.embedder.model,
        dims: service.embedder.dims,
        quality: service.embedder.quality,
        label: service.embedder.quality === "lexical" ? "lexical" : "semantic",
      },
      spaces,
      index: {
        size: index.size,
        memory_bytes: index.memoryBytes,
        kind: index.kind,
        thread: index.thread,
        state: service.vectors.state,
      },
      queue: await service.vectors.queueSize(),
      episode_types: service.episodes.catalogue().map((type) => ({
        type: type.type,
        importance: type.importance,
        ttl_days: type.ttlDays ?? null,
      })),
    });
  });

  http.post("/memories/search", async (c) => {
    requireRole(c, "viewer");
    const body = await readJson(c, searchBody);
    const result = await service.recall({
      text: body.query,
      ownerUserId: c.get("principal").userId,
      k: body.limit,
      tokenBudget: Infinity,
      ...(body.kinds ? { kinds: body.kinds as Memory["kind"][] } : {}),
      ...(body.min_score !== undefined ? { minScore: body.min_score } : {}),
    });
    const rows = result.items.length === 0 ? [] : await store.db.selectFrom("memories").selectAll()
      .where("id", "in", result.items.map((item) => item.id)).execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return c.json({
      items: result.items.map((item) => ({
        memory: toMemory(byId.get(item.id)!),
        score: item.score,
      })),
      mode: result.mode,
    });
  });

  /**
   * Owners are user ids: a username given for one (it would match nothing, silently) is 400
   * naming `field`, with the id to give instead.
   */
  async function refuseUsernames(values: readonly string[], field: string) {
    const given = [...new Set(values)];
    if (given.length === 0) return;
    const users = await store.db.selectFrom("users").select(["id", "username"])
      .where((eb) => eb.or([eb("id", "in", given), eb("username", "in", given)])).execute();
    // A value that is some user's id is one, whatever another user is called.
    const ids = new Set(users.map((user) => user.id));
    const named = users.find((user) => given.includes(user.username) && !ids.has(user.username));
    if (named) {
      throw new AppError(
        "VALIDATION_FAILED",
        `"${named.username}" is a username; ${field} takes user ids: use ${named.id}`,
        { status: 400, field },
      );
    }
  }

  http.get("/memories/export", async (c) => {
    requireRole(c, "operator");
    const query = readQuery(c, exportQuery);
    const principal = c.get("principal");
    if (query.owner !== undefined && query.owner !== principal.userId) requireRole(c, "admin");
    if (query.owner !== undefined && query.owner !== "agent") {
      await refuseUsernames([query.owner], "owner");
    }
    const owner = query.owner === undefined
      ? principal.userId
      : query.owner === "agent"
      ? null
      : query.owner;
    const stamp = new Date().toISOString().slice(0, 10);
    return new Response(
      service.transfer.exportStream(owner, { includeVectors: query.include_vectors === "true" }),
      {
        headers: {
          "content-type": "application/x-ndjson; charset=utf-8",
          "content-disposition": `attachment; filename="synth-memories-${stamp}.ndjson"`,
        },
      },
    );
  });

  http.post("/memories/import", async (c) => {
    requireRole(c, "admin");
    const query = readQuery(c, importQuery);
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/(x-)?ndjson\b/i.test(type)) {
      throw new AppError("UNSUPPORTED_MEDIA_TYPE", "The body must be application/x-ndjson", {
        status: 415,
      });
    }
    if (Number(c.req.header("content-length") ?? 0) > MAX_IMPORT_BYTES) {
      throw new AppError("PAYLOAD_TOO_LARGE", "The import is larger than 50 MiB", { status: 413 });
    }
    const text = await c.req.text();
    if (text.length > MAX_IMPORT_BYTES) {
      throw new AppError("PAYLOAD_TOO_LARGE", "The import is larger than 50 MiB", { status: 413 });
    }
    const ownerMap: Record<string, string> = query.owner_map
      ? Object.fromEntries(
        query.owner_map.split(",").map((pair) => pair.split(":") as [string, string]),
      )
      : {};
    await refuseUsernames(Object.values(ownerMap), "owner_map");
    const report = await service.transfer.importText(text, {
      dryRun: query.dry_run === "true",
      strict: query.strict === "true",
      ownerMap,
      caller: c.get("principal").userId,
    });
    return c.json({
      imported: report.imported,
      skipped: report.skipped,
      forgotten: report.forgotten,
      failed: report.failed,
      dry_run: report.dryRun,
      unknown_owners: report.unknownOwners,
      owner_map_unused: report.ownerMapUnused,
      integrity: report.integrity,
    });
  });

  http.post("/memories/reembed", async (c) => {
    requireRole(c, "admin");
    if (!(await service.reembedder.needed()) && service.vectors.state !== "reembedding") {
      throw new AppError(
        "MEMORY_REEMBED_NOT_NEEDED",
        "The stored vectors already use the configured embedder",
        { status: 409 },
      );
    }
    const job = await service.reembedder.prepare();
    return c.json(job, 202, { Location: `/api/jobs/${job.id}` });
  });

  http.get("/jobs/:id", async (c) => {
    requireRole(c, "viewer");
    const job = await service.reembedder.job(c.req.param("id"));
    if (!job) throw new AppError("JOB_NOT_FOUND", "No such job", { status: 404 });
    return c.json(job);
  });

  http.get("/memories/:id", async (c) => {
    requireRole(c, "viewer");
    return c.json(requireMemory(await service.get(c.req.param("id"), c.get("principal").userId)));
  });

  http.post("/memories", async (c) => {
    requireRole(c, "operator");
    const body = await readTextBody(c, createBody);
    const owner = c.get("principal").userId;
    const result = await service.semantic.add({
      ownerUserId: owner,
      text: body.text,
      importance: body.importance ?? 0.8,
      source: "user",
      sourceRef: `api:${owner}`,
    });
    const memory = requireMemory(await service.get(result.uid, owner));
    c.header("Location", `/api/memories/${result.uid}`);
    return c.json(memory, result.created ? 201 : 200);
  });

  http.patch("/memories/:id", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, patchBody);
    const owner = c.get("principal").userId;
    const uid = c.req.param("id");
    const memory = requireMemory(await service.get(uid, owner));
    if (memory.owner_user_id !== owner) requireRole(c, "admin");
    await service.update(uid, {
      ...(body.importance !== undefined ? { importance: body.importance } : {}),
      ...(body.expires_at !== undefined
        ? { expiresAt: body.expires_at === null ? null : Date.parse(body.expires_at) }
        : {}),
      ...(body.suspicious !== undefined ? { suspicious: body.suspicious } : {}),
    });
    return c.json(requireMemory(await service.get(uid, owner)));
  });

  http.delete("/memories/:id", async (c) => {
    requireRole(c, "operator");
    const principal = c.get("principal");
    const memory = requireMemory(await service.get(c.req.param("id"), principal.userId));
    if (memory.owner_user_id !== principal.userId) requireRole(c, "admin");
    await service.forget.forget({ ids: [memory.id] }, {
      actor: principal.userId,
      owner: memory.owner_user_id,
    });
    return c.body(null, 204);
  });

  http.post("/memories/forget", async (c) => {
    requireRole(c, "operator");
    const body = await readJson(c, forgetBody);
    const principal = c.get("principal");
    if (body.owner !== undefined && body.owner !== principal.userId) requireRole(c, "admin");
    const result = await service.forget.forget({
      ...(body.ids ? { ids: body.ids } : {}),
      ...(body.thread_id ? { threadId: body.thread_id } : {}),
      ...(body.match ? { match: body.match } : {}),
      ...(body.before ? { before: Date.parse(body.before) } : {}),
      ...(body.dry_run ? { dryRun: true } : {}),
    }, {
      actor: principal.userId,
      owner: body.owner === undefined ? principal.userId : body.owner,
    });
    return c.json(result);
  });
}

const MEMORY = z.strictObject({
  id: z.string(),
  kind: kindSchema,
  text: z.string(),
  source: z.enum(["user", "agent", "tool", "web", "peer", "system"]),
  trust: z.enum(["high", "medium", "low"]),
  importance: z.number(),
  suspicious: z.boolean(),
  owner_user_id: z.string().nullable(),
  thread_id: z.string().nullable(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime().nullable(),
  recall_count: z.number().int(),
});
const QUALITY = z.enum(["semantic", "lexical"]);
const STATS = z.strictObject({
  counts: z.record(kindSchema, z.number().int()),
  embedder: z.strictObject({
    id: z.string(),
    provider: z.string(),
    model: z.string(),
    dims: z.number().int(),
    quality: QUALITY,
    label: QUALITY,
  }),
  spaces: z.array(z.strictObject({
    provider: z.string(),
    model: z.string(),
    dims: z.number().int(),
    quality: QUALITY,
    status: z.enum(["active", "building", "retired"]),
  })),
  index: z.strictObject({
    size: z.number().int(),
    memory_bytes: z.number().int(),
    kind: z.string(),
    thread: z.enum(["main", "worker"]).meta({
      description: "Where the index's scans run (`memory.vector.workerFrom`).",
    }),
    state: z.enum(["loading", "ready", "reembedding"]),
  }),
  queue: z.number().int(),
  episode_types: z.array(z.strictObject({
    type: z.string(),
    importance: z.number(),
    ttl_days: z.number().nullable(),
  })),
});
/** A background job (`Job` of spec/server.md §4.3, with its times). */
const JOB = z.strictObject({
  id: z.string(),
  type: z.string(),
  status: z.enum(["queued", "running", "done", "failed", "cancelled", "skipped"]),
  progress: z.strictObject({ done: z.number().int(), total: z.number().int().nullable() }),
  error: z.string().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  finished_at: z.iso.datetime().nullable(),
});
const tags = ["memory"];

/** The document's view of these routes (the handlers validate with the same schemas). */
const OPERATIONS = [
  {
    method: "get",
    path: "/memories",
    summary: "The caller's memories (and agent-wide self memories)",
    tags,
    role: "viewer",
    query: listQuery,
    responses: {
      200: {
        description: "Memories",
        schema: z.strictObject({ items: z.array(MEMORY), next_cursor: z.string().nullable() }),
      },
    },
  },
  {
    method: "get",
    path: "/memories/stats",
    summary: "Counts by kind, the vector space and the embedding queue",
    tags,
    role: "viewer",
    responses: { 200: { description: "Statistics", schema: STATS } },
  },
  {
    method: "post",
    path: "/memories/search",
    summary: "Hybrid recall with every candidate's scores",
    tags,
    role: "viewer",
    body: searchBody,
    responses: {
      200: {
        description: "Scored memories",
        schema: z.strictObject({
          items: z.array(z.strictObject({ memory: MEMORY, score: z.number() })),
          mode: z.enum(["hybrid", "fts_only", "vector_only"]),
        }),
      },
    },
  },
  {
    method: "get",
    path: "/memories/export",
    summary: "The caller's memories as NDJSON",
    tags,
    role: "operator",
    query: exportQuery,
    responses: { 200: { description: "application/x-ndjson" } },
  },
  {
    method: "post",
    path: "/memories/import",
    summary:
      "Import NDJSON (dry_run, strict, owner_map); a bad header, or any bad line with strict, is 400 MEMORY_IMPORT_INVALID; otherwise bad lines are listed in failed by number",
    tags,
    role: "admin",
    query: importQuery,
    untimed: true,
    responses: {
      200: {
        description: "What was (or would be) imported",
        schema: z.strictObject({
          imported: z.number().int(),
          skipped: z.number().int().describe("Lines not written: already stored, or forgotten"),
          forgotten: z.number().int().describe(
            "Of the skipped lines, those a forget removed here (the memory, its thread or its user): nothing returns them",
          ),
          failed: z.array(
            z.strictObject({
              line: z.number().int(),
              code: z.enum(["MEMORY_IMPORT_INVALID", "MEMORY_TEXT_TOO_LONG"]),
              message: z.string(),
            }),
          ),
          dry_run: z.boolean(),
          unknown_owners: z.array(z.strictObject({
            owner: z.string(),
            memories: z.number().int(),
            threads: z.number().int(),
          })).describe(
            "Owners (after owner_map) that are no user here and not the caller: nobody sees their " +
              "memories. Run with dry_run first and map them with owner_map",
          ),
          owner_map_unused: z.array(z.string()).describe(
            "owner_map keys that own no memory or thread of the file: the mapping changed nothing " +
              "(a mistyped id, or a username where the file has ids)",
          ),
          integrity: z.enum(["verified", "mismatch", "no_end_line"]).describe(
            "The file against its end line's counts and SHA-256: verified; mismatch (changed or " +
              "cut after export; the end line is in failed); no_end_line (cut short, or hand-written)",
          ),
        }),
      },
    },
  },
  {
    method: "post",
    path: "/memories/reembed",
    summary: "Re-embed every memory into the configured embedder's space",
    tags,
    role: "admin",
    responses: { 202: { description: "The job", schema: JOB } },
  },
  {
    method: "get",
    path: "/jobs/:id",
    summary:
      "A background job's status and progress: a memory re-embed, or a job of the mind (type `<module>.<kind>`, e.g. a reflection `/reflect` queued; one on a thread is its owner's)",
    tags,
    role: "viewer",
    responses: { 200: { description: "The job", schema: JOB } },
  },
  {
    method: "get",
    path: "/memories/:id",
    summary: "One memory",
    tags,
    role: "viewer",
    responses: { 200: { description: "The memory", schema: MEMORY } },
  },
  {
    method: "post",
    path: "/memories",
    summary: "Add a memory (a text over 8,000 characters is 400 MEMORY_TEXT_TOO_LONG)",
    tags,
    role: "operator",
    body: createBody,
    responses: {
      201: { description: "Added", schema: MEMORY },
      200: { description: "Already known: reinforced", schema: MEMORY },
    },
  },
  {
    method: "patch",
    path: "/memories/:id",
    summary: "Change importance, expiry or the suspicious flag (the text never changes)",
    tags,
    role: "operator",
    body: patchBody,
    responses: { 200: { description: "The memory", schema: MEMORY } },
  },
  {
    method: "delete",
    path: "/memories/:id",
    summary: "Forget one memory (everywhere: text, index, exports)",
    tags,
    role: "operator",
    responses: { 204: { description: "Forgotten" } },
  },
  {
    method: "post",
    path: "/memories/forget",
    summary: "Forget by ids, thread, match or age (dry_run first)",
    tags,
    role: "operator",
    body: forgetBody,
    responses: {
      200: {
        description: "What was forgotten",
        schema: z.strictObject({ forgotten: z.number().int(), ids: z.array(z.string()) }),
      },
    },
  },
] satisfies readonly Operation[];
