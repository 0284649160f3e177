/**
 * `GET /openapi.json` (spec/server.md §13): the OpenAPI 3.1 document built
 * by `@hono/zod-openapi` from the routes defined with `createRoute` or
 * described with {@link describe} — in both cases with the same zod schemas
 * that validate them. `tests/http/openapi_test.ts` fails when a route is
 * added without a definition, or documented without a route.
 *
 * @module
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { tierOf } from "../security/rate_limit.ts";
import type { AppEnv } from "./types.ts";

/** The document's own top level, for the document (the OpenAPI 3.1 specification has the rest). */
const OPENAPI_DOCUMENT = z.object({
  openapi: z.literal("3.1.0"),
  info: z.object({ title: z.string(), version: z.string(), description: z.string() }),
  security: z.array(z.record(z.string(), z.array(z.string()))),
  components: z.record(z.string(), z.unknown()).describe(
    "Shared schemas and the security schemes",
  ),
  paths: z.record(z.string(), z.unknown()).describe("Each path's operations, by method"),
  webhooks: z.record(z.string(), z.unknown()),
  tags: z.array(z.object({ name: z.string(), description: z.string().optional() })),
}).catchall(z.unknown()).describe("An OpenAPI 3.1 document; other top-level fields may appear");

/** Registers the security schemes and serves the document. */
export function mountOpenApi(app: OpenAPIHono<AppEnv>, version: string): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from /api/auth/login, or an API key (smk_…)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKeyAuth", {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
  });
  describe(app, [{
    method: "get",
    path: "/openapi.json",
    summary: "This document",
    tags: ["meta"],
    role: "public",
    responses: { 200: { description: "OpenAPI 3.1", schema: OPENAPI_DOCUMENT } },
  }]);
  app.get("/openapi.json", (c) => {
    const document = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Synth Mind API",
        version,
        description: "A self-hosted AI agent server. Errors share one shape: " +
          "{success: false, error: {code, message, field?, details?, request_id}}.",
      },
      security: [{ bearerAuth: [] }, { apiKeyAuth: [] }],
    });
    return c.json({ ...withRateTiers(document), tags: documentTags(document.paths ?? {}) });
  });
}

/**
 * Names on each operation the rate tier the limiter puts it in (server.md §1: every JSON route
 * names its own), from the limiter's own rule, so the two cannot disagree. Plugins describe their
 * routes relative to where they are mounted, so the tier is read from the document's full paths.
 */
function withRateTiers<T extends { paths?: Record<string, unknown> }>(document: T): T {
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    const concrete = path.replace(/\{\w+\}/g, "x");
    for (const [method, operation] of Object.entries(operations as Record<string, unknown>)) {
      if (!operation || typeof operation !== "object") continue;
      const described = operation as Record<string, unknown>;
      const tier = tierOf(method.toUpperCase(), concrete);
      if (tier) described["x-rate-tier"] = tier;
    }
  }
  return document;
}

/**
 * The tags in the order a reader wants them (what people use first, operators' routes last), with
 * what each covers. A tag not listed follows, in the order the document first uses it.
 */
const TAG_ORDER: ReadonlyArray<readonly [string, string]> = [
  [
    "chat",
    "Threads and turns: send a message (answered as JSON or streamed), follow, cancel, rate.",
  ],
  [
    "mind",
    "The agent's state, influence records, forecasts, concerns, reflections, narrative and budgets.",
  ],
  ["memory", "What the agent remembers: browse, search, add, forget, export, import, re-embed."],
  ["projects", "Multi-step projects: input, pause and resume, iterations, events and timelines."],
  ["tools", "Sandboxed tools, their runs and the approvals they wait for."],
  ["llm", "The model usage ledger and one-off generation."],
  ["auth", "Set-up, sign-in, tokens, passwords and lockouts."],
  ["users", "Accounts and roles."],
  ["keys", "API keys."],
  ["plugins", "Loaded plugins: their state, and restarting one."],
  ["websocket", "The WebSocket endpoint (its messages are in docs/websocket.md)."],
  ["health", "Liveness and readiness probes."],
  ["observability", "Prometheus metrics."],
  ["rate limits", "Rate-limit status and statistics, and clearing a client."],
  ["firewall", "Firewall rules, mode and blocked addresses."],
  ["access log", "The access log and its statistics."],
  ["dashboard", "The dashboard's pages and assets."],
  ["meta", "This document and the API reference."],
];

/** The document's top-level `tags`: every tag its operations use, ordered by {@link TAG_ORDER}. */
function documentTags(paths: object): Array<{ name: string; description?: string }> {
  const used = new Set<string>();
  for (const operations of Object.values(paths) as Array<object | undefined>) {
    for (const operation of Object.values(operations ?? {})) {
      const tags = (operation as { tags?: unknown } | undefined)?.tags;
      if (!Array.isArray(tags)) continue;
      for (const tag of tags) if (typeof tag === "string") used.add(tag);
    }
  }
  const listed = new Set(TAG_ORDER.map(([name]) => name));
  return [
    ...TAG_ORDER.filter(([name]) => used.has(name)).map(([name, description]) => ({
      name,
      description,
    })),
    ...[...used].filter((name) => !listed.has(name)).map((name) => ({ name })),
  ];
}

/** Any JSON object (a body whose fields are described in the docs, not here yet). */
export const ANY_OBJECT = z.record(z.string(), z.unknown());
/** A `Page` of JSON objects (spec/server.md §2). */
export const PAGE = z.object({ items: z.array(ANY_OBJECT), next_cursor: z.string().nullable() });

/** The uniform error body (spec/server.md §2). */
export const ERROR_BODY = z.object({
  success: z.literal(false),
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    details: z.unknown().optional(),
    request_id: z.string(),
  }),
}).openapi("ErrorBody");

/** One operation of a route group, described for the document next to its handler's schemas. */
export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono style, `:param`. */
  path: string;
  summary: string;
  tags: string[];
  /** The least role, or public. */
  role: "public" | "viewer" | "operator" | "admin";
  /** The JSON body schema — the same object the handler validates with. */
  body?: z.ZodType;
  /** The query schema — the same object the handler validates with. */
  query?: z.ZodObject;
  /** Request headers the handler reads and checks. */
  headers?: z.ZodObject;
  /** Success statuses with a description and, when JSON, the body's schema. */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  /** Not limited by `server.requestTimeoutMs` (the kernel's exempt requests). */
  untimed?: true;
  /**
   * Error statuses it answers beyond those its shape implies (401/403 unless public, 400/415/413
   * with a body or query, 404 with a path parameter): a public sign-in's 401, a lookup by a body
   * field's 404.
   */
  errors?: readonly (401 | 403 | 404 | 410)[];
}

const ERRORS: Record<number, string> = {
  400: "Invalid input (`field` names the first bad one)",
  401: "No valid credential",
  403: "The role is too low",
  404: "Not found",
  409: "Conflicts with the current state",
  410: "Gone for good",
  413: "The body is larger than allowed (`PAYLOAD_TOO_LARGE`)",
  415: "The body must be application/json",
  429: "Rate limited (`Retry-After`)",
  504: "Not answered within server.requestTimeoutMs (`TIMEOUT`); the work goes on",
};

/**
 * Adds operations to the document of `app` (a route group). The handlers
 * stay plain Hono handlers that validate with the same schemas, so the
 * document and the validation cannot drift apart.
 */
export function describe(app: OpenAPIHono<AppEnv>, operations: readonly Operation[]): void {
  for (const operation of operations) {
    const params = [...operation.path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
    const errors = Object.entries(ERRORS).filter(([status]) => {
      const code = Number(status);
      if ((operation.errors as readonly number[] | undefined)?.includes(code)) return true;
      if (code === 401 || code === 403) return operation.role !== "public";
      if (code === 410) return false;
      if (code === 413) return operation.body !== undefined;
      if (code === 504) return !operation.untimed && !(504 in operation.responses);
      if (code === 400 || code === 415) {
        return operation.body !== undefined || operation.query !== undefined ||
          (code === 400 && operation.headers !== undefined);
      }
      return code !== 404 || params.length > 0;
    });
    app.openAPIRegistry.registerPath({
      method: operation.method,
      // A Hono pattern's regex suffix (`:path{.+}`) is not part of the document's path.
      path: operation.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}"),
      summary: operation.summary,
      tags: operation.tags,
      ...(operation.role === "public" ? { security: [] } : {}),
      "x-min-role": operation.role,
      request: {
        ...(params.length > 0
          ? { params: z.object(Object.fromEntries(params.map((name) => [name, z.string()]))) }
          : {}),
        ...(operation.query ? { query: operation.query } : {}),
        ...(operation.headers ? { headers: operation.headers } : {}),
        ...(operation.body
          ? {
            body: { required: true, content: { "application/json": { schema: operation.body } } },
          }
          : {}),
      },
      responses: {
        ...Object.fromEntries(
          Object.entries(operation.responses).map(([status, response]) => [
            status,
            response.schema
              ? {
                description: response.description,
                content: { "application/json": { schema: response.schema } },
              }
              : { description: response.description },
          ]),
        ),
        ...Object.fromEntries(errors.map(([status, description]) => [
          status,
          { description, content: { "application/json": { schema: ERROR_BODY } } },
        ])),
      },
    });
  }
}
