/**
 * The OpenAPI document (issue 7, acceptance 1): `/openapi.json` is OpenAPI
 * 3.1 built from the routes' own zod schemas; every documented operation
 * exists in the router and answers with a documented status; and a route in
 * the router but not in the document fails this test unless it is on the
 * list below of routes still to move to `createRoute` — a list that may
 * only shrink.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createTestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import { tierOf } from "../../src/security/rate_limit.ts";
import { VERSION } from "../../src/version.ts";

/** Routes not yet defined with createRoute (moving group by group; never add to this list). */
const UNDOCUMENTED: readonly string[] = [];

Deno.test("/openapi.json is OpenAPI 3.1 with the security schemes; documented and router routes match, apart from the shrinking list", async () => {
  await using host = await createTestHost({ plugins: BUILTIN_PLUGINS });
  const response = await host.request("/openapi.json");
  assert.equal(response.status, 200);
  const document = await response.json();
  assert.equal(document.openapi, "3.1.0");
  const validator = new Validator();
  const checked = await validator.validate(document);
  assert.deepEqual(checked, { valid: true }, "a valid OpenAPI 3.1 document");
  assert.equal(validator.version, "3.1");
  assert.equal(document.info.version, VERSION);
  assert.deepEqual(Object.keys(document.components.securitySchemes).sort(), [
    "apiKeyAuth",
    "bearerAuth",
  ]);
  const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, operations]) =>
      Object.keys(operations).map((method) =>
        `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`
      )
    );
  const routes = [
    ...new Set(
      host.app.routes.filter((route) => route.method !== "ALL" && !route.path.includes("*"))
        .map((route) => `${route.method} ${route.path.replace(/(:\w+)\{[^}]*\}/g, "$1")}`),
    ),
  ];
  for (const operation of documented) {
    assert.ok(routes.includes(operation), `${operation} is documented but not routed`);
    assert.ok(
      !UNDOCUMENTED.includes(operation),
      `${operation} is documented: remove it from UNDOCUMENTED`,
    );
  }
  const missing = routes.filter((route) =>
    !documented.includes(route) && !UNDOCUMENTED.includes(route)
  );
  assert.deepEqual(missing, [], "routes added without an OpenAPI definition");
  const stale = UNDOCUMENTED.filter((route) => !routes.includes(route));
  assert.deepEqual(stale, [], "routes on the list that no longer exist");

  // Every /api operation names the rate tier the limiter puts it in (server.md §1), and a route
  // that reads query parameters lists them (the ledger's did not).
  for (const [path, operations] of Object.entries(document.paths as Record<string, Ops>)) {
    if (!path.startsWith("/api/")) continue;
    for (const [method, operation] of Object.entries(operations)) {
      const concrete = path.replace(/\{\w+\}/g, "x");
      assert.equal(
        operation["x-rate-tier"],
        tierOf(method.toUpperCase(), concrete),
        `${method.toUpperCase()} ${path}`,
      );
    }
  }
  const queryOf = (path: string) =>
    (document.paths[path].get.parameters as Array<{ in: string; name: string }>)
      .filter((parameter) => parameter.in === "query").map((parameter) => parameter.name).sort();
  assert.deepEqual(queryOf("/api/ledger"), [
    "cursor",
    "limit",
    "module",
    "since",
    "status",
    "until",
  ]);
  assert.deepEqual(queryOf("/api/ledger/summary"), ["group_by", "since", "until"]);
  // Statuses a route answers beyond its shape's are listed: a sign-in's 401, setup's 403, a
  // lookup by a body field's 404; every operation with a body can be 413.
  const statuses = (path: string, method: string) =>
    Object.keys((document.paths[path][method] as { responses: object }).responses);
  for (
    const [path, method, status] of [
      ["/api/auth/login", "post", "401"],
      ["/api/auth/refresh", "post", "401"],
      ["/api/auth/setup", "post", "403"],
      ["/api/projects", "post", "404"],
      ["/api/firewall/whitelist", "delete", "404"],
      ["/api/memories", "post", "413"],
    ] as const
  ) {
    assert.ok(statuses(path, method).includes(status), `${method} ${path} lists ${status}`);
  }
  for (const [path, operations] of Object.entries(document.paths as Record<string, Ops>)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!operation.requestBody) continue;
      assert.ok(statuses(path, method).includes("413"), `${method} ${path} lists 413`);
    }
  }
  // The WebSocket's messages both ways (server.md §13).
  const schemas = document.components.schemas as Record<string, { oneOf?: unknown[] }>;
  assert.equal(schemas.WsClientMessage?.oneOf?.length, 7);
  assert.equal(schemas.WsServerMessage?.oneOf?.length, 14);
});

/** A path's operations in the document. */
type Ops = Record<string, Record<string, unknown>>;

Deno.test("each documented GET operation answers with a documented status and the documented keys", async () => {
  await using host = await createTestHost({ plugins: BUILTIN_PLUGINS });
  const document = await (await host.request("/openapi.json")).json();
  const resolve = (
    schema: Record<string, unknown> | undefined,
  ): Record<string, unknown> | undefined => {
    const ref = schema?.$ref as string | undefined;
    return ref ? document.components.schemas[ref.split("/").at(-1)!] : schema;
  };
  let called = 0;
  for (
    const [path, operations] of Object.entries(
      document.paths as Record<string, Record<string, OperationDoc>>,
    )
  ) {
    const operation = operations.get;
    if (!operation || path.includes("{")) continue; // parameterised operations have their own tests
    const answer = await host.request(path);
    const status = String(answer.status);
    assert.ok(
      status in operation.responses,
      `GET ${path} answered ${status}, documented: ${Object.keys(operation.responses).join(", ")}`,
    );
    const schema = resolve(operation.responses[status]!.content?.["application/json"]?.schema);
    const type = answer.headers.get("content-type") ?? "";
    // An event stream does not end: its first event is enough.
    const body = type.startsWith("application/json")
      ? await answer.json()
      : type.startsWith("text/event-stream")
      ? await firstChunk(answer)
      : await answer.text();
    for (const key of (schema?.required as string[] | undefined) ?? []) {
      assert.ok(key in body, `GET ${path} ${status} lacks ${key}`);
    }
    called++;
  }
  assert.ok(called >= 6, `${called} operations called`);
});

Deno.test("no success response is documented as a bare object: each names its keys", async () => {
  await using host = await createTestHost({ plugins: BUILTIN_PLUGINS });
  const document = await (await host.request("/openapi.json")).json();
  const resolve = (schema: JsonSchema): JsonSchema => {
    const ref = schema.$ref;
    return ref ? document.components.schemas[ref.split("/").at(-1)!] ?? {} : schema;
  };
  // `{"type": "object", "additionalProperties": {}}` reads as "object — any other keys" in the
  // API docs: a shape nobody can build a client from.
  const bare = (schema: JsonSchema) =>
    [schema.type].flat().includes("object") && Object.keys(schema.properties ?? {}).length === 0 &&
    !schema.oneOf && !schema.anyOf && !schema.allOf;
  const found: string[] = [];
  let checked = 0;
  for (
    const [path, operations] of Object.entries(
      document.paths as Record<string, Record<string, OperationDoc>>,
    )
  ) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const schema = response.content?.["application/json"]?.schema;
        if (!status.startsWith("2") || !schema) continue;
        checked++;
        if (bare(resolve(schema as JsonSchema))) {
          found.push(`${method.toUpperCase()} ${path} ${status}`);
        }
      }
    }
  }
  assert.ok(checked >= 100, `${checked} success responses checked`);
  assert.deepEqual(found, [], "success responses documented as an object with no keys");
});

/** The parts of a JSON Schema the test above reads. */
interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, unknown>;
  oneOf?: unknown[];
  anyOf?: unknown[];
  allOf?: unknown[];
}

async function firstChunk(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return new TextDecoder().decode(value ?? new Uint8Array());
}

interface OperationDoc {
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
