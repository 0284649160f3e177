/**
 * The API reference's pure modules (web/docs/openapi_model.ts,
 * schema_tree.ts and try_request.ts): reading the document (the server's own and small
 * synthetic ones), the filter, schema trees with `$ref` cycles, example
 * bodies, building a "Try it" request and reading its answer.
 */
import assert from "node:assert/strict";
import { createTestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import {
  type ApiOperation,
  countOperations,
  filterGroups,
  readDocument,
} from "../../web/docs/openapi_model.ts";
import { exampleOf, schemaTree, shortType } from "../../web/docs/schema_tree.ts";
import { buildTryRequest, readAnswer } from "../../web/docs/try_request.ts";

const DOC = {
  openapi: "3.1.0",
  info: { title: "Test API", version: "1.2.3", description: "For tests" },
  components: {
    securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    schemas: {
      Node: {
        type: "object",
        required: ["id"],
        properties: {
          id: { type: "string", format: "uuid" },
          parent: { anyOf: [{ $ref: "#/components/schemas/Node" }, { type: "null" }] },
          children: { type: "array", items: { $ref: "#/components/schemas/Node" } },
          kind: { type: "string", enum: ["leaf", "branch"] },
        },
      },
    },
    parameters: {
      Limit: { name: "limit", in: "query", schema: { type: "integer", minimum: 1 } },
    },
  },
  paths: {
    "/nodes/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      get: {
        summary: "One node",
        tags: ["nodes"],
        "x-min-role": "viewer",
        parameters: [{ $ref: "#/components/parameters/Limit" }],
        responses: {
          200: {
            description: "The node",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Node" } } },
          },
        },
      },
      patch: {
        summary: "Change a node",
        tags: ["nodes"],
        "x-min-role": "operator",
        "x-rate-tier": "api",
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["kind"],
                properties: {
                  kind: { type: "string", enum: ["leaf", "branch"] },
                  note: { type: "string" },
                  weight: { type: "number", default: 1 },
                },
                additionalProperties: false,
              },
            },
          },
        },
        responses: { 204: { description: "Changed" } },
      },
    },
    "/health": {
      get: { summary: "Health", tags: ["health"], security: [], responses: {} },
    },
  },
};

function op(doc: ReturnType<typeof readDocument>, key: string): ApiOperation {
  const found = doc.groups.flatMap((group) => group.operations).find((o) => o.key === key);
  assert.ok(found, `${key} is read`);
  return found;
}

Deno.test("readDocument groups operations by tag with their extensions, parameters and bodies", () => {
  const doc = readDocument(DOC);
  assert.equal(doc.title, "Test API");
  assert.equal(doc.version, "1.2.3");
  assert.deepEqual(doc.security, [{ name: "bearerAuth", text: "HTTP bearer (JWT)" }]);
  assert.deepEqual(doc.groups.map((group) => group.tag), ["nodes", "health"]);
  assert.equal(countOperations(doc.groups), 3);
  const get = op(doc, "GET /nodes/{id}");
  assert.equal(get.minRole, "viewer");
  assert.equal(get.rateTier, null);
  assert.deepEqual(get.parameters.map((p) => `${p.in}:${p.name}:${p.required}`), [
    "path:id:true",
    "query:limit:false",
  ]);
  assert.equal(get.responses[0]!.schema?.$ref, "#/components/schemas/Node");
  const patch = op(doc, "PATCH /nodes/{id}");
  assert.equal(patch.rateTier, "api");
  assert.equal(patch.body?.required, true);
  assert.equal(patch.body?.mediaType, "application/json");
  assert.equal(op(doc, "GET /health").noCredential, true);
  assert.equal(get.noCredential, false);
  assert.throws(() => readDocument({ info: {} }), TypeError);
});

Deno.test("filterGroups keeps operations matching every word, case-insensitively", () => {
  const doc = readDocument(DOC);
  assert.deepEqual(
    filterGroups(doc.groups, "  NODES  patch ").flatMap((g) => g.operations.map((o) => o.key)),
    ["PATCH /nodes/{id}"],
  );
  assert.deepEqual(filterGroups(doc.groups, "operator").map((g) => g.tag), ["nodes"]);
  assert.deepEqual(filterGroups(doc.groups, "nothing-like-this"), []);
  assert.equal(countOperations(filterGroups(doc.groups, "")), 3);
});

Deno.test("schemaTree follows $ref, marks required keys and shows a cycle once", () => {
  const doc = readDocument(DOC);
  const tree = schemaTree({ $ref: "#/components/schemas/Node" }, doc.raw);
  assert.equal(tree.ref, "Node");
  assert.equal(tree.type, "object");
  assert.deepEqual(tree.children.map((c) => `${c.label}:${c.type}:${c.required}`), [
    "id:string:true",
    "parent:any of:false",
    "children:array:false",
    "kind:string:false",
  ]);
  assert.ok(tree.children[0]!.notes.includes("format uuid"));
  assert.ok(tree.children[3]!.notes.includes('one of "leaf", "branch"'));
  const again = tree.children[2]!.children[0]!;
  assert.equal(again.label, "items");
  assert.equal(again.cycle, true, "Node inside Node is not expanded again");
  assert.deepEqual(again.children, []);
  assert.deepEqual(tree.children[1]!.children.map((c) => c.type), ["object", "null"]);
  const body = schemaTree(op(doc, "PATCH /nodes/{id}").body!.schema, doc.raw);
  assert.ok(body.notes.includes("no other keys"));
  assert.deepEqual(schemaTree({ type: ["string", "null"] }, {}).type, "string | null");
});

Deno.test("exampleOf starts a body from required keys and defaults", () => {
  const doc = readDocument(DOC);
  assert.deepEqual(exampleOf(op(doc, "PATCH /nodes/{id}").body!.schema, doc.raw), {
    kind: "leaf",
    weight: 1,
  });
  assert.deepEqual(exampleOf({ $ref: "#/components/schemas/Node" }, doc.raw), { id: "" });
  assert.deepEqual(
    exampleOf({ type: "object", properties: { args: { type: "object", default: {} } } }, {}),
    { args: {} },
  );
  assert.equal(shortType({ type: "integer", enum: [1, 2] }, {}), "integer: 1, 2");
});

Deno.test("buildTryRequest fills the path, the query and the headers, and checks the body", () => {
  const doc = readDocument(DOC);
  const get = op(doc, "GET /nodes/{id}");
  assert.deepEqual(buildTryRequest(get, { values: {}, body: "", token: "" }), {
    ok: false,
    field: "path:id",
    message: "Fill in the path parameter id",
  });
  assert.deepEqual(
    buildTryRequest(get, {
      values: { "path:id": "a b/c", "query:limit": " 5 " },
      body: "",
      token: " tok ",
    }),
    {
      ok: true,
      method: "GET",
      url: "/nodes/a%20b%2Fc?limit=5",
      headers: { accept: "application/json", authorization: "Bearer tok" },
      body: null,
    },
  );
  const dots = buildTryRequest(get, { values: { "path:id": ".." }, body: "", token: "" });
  assert.equal(dots.ok && dots.url, "/nodes/%2E%2E", "dot segments are not resolved away");
  const patch = op(doc, "PATCH /nodes/{id}");
  const values = { "path:id": "n1" };
  const bad = buildTryRequest(patch, { values, body: "{ nope", token: "" });
  assert.equal(!bad.ok && bad.field, "body");
  const empty = buildTryRequest(patch, { values, body: " ", token: "" });
  assert.equal(!empty.ok && empty.message, "The body is required (JSON)");
  const good = buildTryRequest(patch, { values, body: '{"kind":"leaf"}', token: "" });
  assert.ok(good.ok);
  assert.equal(good.body, '{"kind":"leaf"}');
  assert.equal(good.headers["content-type"], "application/json");
  assert.equal(good.headers.authorization, undefined, "no token, no Authorization");
});

Deno.test("readAnswer pretty-prints JSON and cuts a long body at the limit", async () => {
  const json = await readAnswer(
    new Response('{"a":[1,2]}', { status: 201, headers: { "content-type": "application/json" } }),
    { started: 10, now: () => 35 },
  );
  assert.equal(json.status, 201);
  assert.equal(json.body, '{\n  "a": [\n    1,\n    2\n  ]\n}');
  assert.equal(json.ms, 25);
  assert.equal(json.truncated, false);
  assert.ok(json.headers.some(([name]) => name === "content-type"));
  const long = await readAnswer(new Response("x".repeat(100)), {
    started: 0,
    now: () => 0,
    limit: 10,
  });
  assert.equal(long.body, "x".repeat(10));
  assert.equal(long.truncated, true);
});

Deno.test("the server's own /openapi.json reads completely, with the routes the issue names", async () => {
  await using host = await createTestHost({ plugins: BUILTIN_PLUGINS });
  const raw = await (await host.request("/openapi.json")).json();
  const doc = readDocument(raw);
  const keys = doc.groups.flatMap((group) => group.operations.map((o) => o.key));
  const documented = Object.values(raw.paths as Record<string, object>)
    .reduce((sum: number, item) => sum + Object.keys(item).length, 0);
  assert.equal(keys.length, documented, "every operation is read");
  const runs = op(doc, "POST /api/tools/{name}/runs");
  assert.equal(runs.minRole, "operator");
  assert.equal(runs.rateTier, "chat");
  assert.deepEqual(exampleOf(runs.body!.schema, doc.raw), { args: {} });
  const accepted = runs.responses.find((response) => response.status === "202")!;
  assert.equal(schemaTree(accepted.schema, doc.raw).ref, "ToolRun");
  assert.ok(keys.includes("GET /docs"), "the reference documents itself");
  for (const operation of doc.groups.flatMap((group) => group.operations)) {
    for (const response of operation.responses) schemaTree(response.schema, doc.raw);
    if (operation.body) exampleOf(operation.body.schema, doc.raw);
  }
});

Deno.test("the server's document lists each tag its operations use once, chat first and the operators' last, so the reference opens on chat", async () => {
  await using host = await createTestHost({ plugins: BUILTIN_PLUGINS });
  const raw = await (await host.request("/openapi.json")).json();
  const names = (raw.tags as Array<{ name: string; description?: string }>).map((tag) => tag.name);
  const used = new Set(
    Object.values(raw.paths as Record<string, Record<string, { tags?: string[] }>>)
      .flatMap((operations) =>
        Object.values(operations).flatMap((operation) => operation.tags ?? [])
      ),
  );
  assert.deepEqual([...names].sort(), [...used].sort(), "every used tag, and only those");
  assert.equal(new Set(names).size, names.length, "each once");
  assert.deepEqual(names.slice(0, 3), ["chat", "mind", "memory"]);
  assert.ok(
    names.indexOf("rate limits") > names.indexOf("keys"),
    "the operators' routes come later",
  );
  for (const tag of raw.tags) assert.ok(tag.description, `the ${tag.name} tag says what it covers`);
  const doc = readDocument(raw);
  assert.equal(doc.groups[0]!.tag, "chat", "the reference's first group");
});
