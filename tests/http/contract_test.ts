/**
 * The API contract (issue acceptance: "every route in the OpenAPI document
 * has at least one test that calls it over HTTP and checks status and
 * shape"). A host with every built-in plugin, sign-in off (the caller is
 * the local admin) and the fake LLM is seeded with real data; then every
 * operation of its `/openapi.json` is called — path parameters filled with
 * a seeded id of the kind the path names (else a well-formed unknown one),
 * required query parameters, a minimal valid JSON body built from the
 * documented request schema. The operations refused there because sign-in
 * is off are called again on a second host with sign-in on, as its admin.
 *
 * Each answer must carry a status the document lists for the operation
 * (never a 5xx); a JSON body must be valid against the documented schema
 * (ajv, JSON Schema 2020-12, `$ref`s into `components`); every error must be
 * an `ErrorBody`. Operations that destroy seeded data run last. All
 * differences are collected and reported together.
 *
 * Two lists may only shrink: EXCEPTIONS (documented operations not called,
 * each with its reason) and KNOWN_MISMATCHES (answers that differ from the
 * document, each with the finding, until the route or the document is
 * fixed; one that starts to match fails the test until it is removed).
 */
import assert from "node:assert/strict";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { createTestHost, type TestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import { type FakeLlm, startFakeLlm } from "../fakes/llm/mod.ts";
import { mindHost } from "../mind/helpers.ts";

/** Documented operations deliberately not called, with the reason. None today. */
const EXCEPTIONS: Readonly<Record<string, string>> = {};

/**
 * KNOWN MISMATCHES — answers that differ from the document, found by this
 * test and left for the routes or the document to be fixed. Only problems
 * matching `problem` are tolerated; anything else the operation does wrong
 * still fails.
 */
const KNOWN_MISMATCHES: Readonly<Record<string, { finding: string; problem: RegExp }>> = {};

/**
 * Operations whose 200 must be seen, so that a real body is checked against the documented
 * shape: the document once gave each only as an object with any keys.
 */
const MUST_ANSWER_200: readonly string[] = [
  "GET /api/state",
  "GET /api/threads/{id}/state",
  "GET /api/turns/{id}/influence",
  "GET /api/ledger/summary",
  "GET /api/projects/{id}",
  "PATCH /api/projects/{id}",
  "GET /api/projects/{id}/timeline",
  "GET /api/timeline",
];

/**
 * Called before every other operation, in this order: the seeded queued turn
 * is cancellable only until the approval below releases the turn ahead of
 * it; the seeded concern stays open only until the next turn of its thread
 * settles it.
 */
const FIRST: readonly RegExp[] = [
  /^POST \/api\/turns\/\{id\}\/cancel$/,
  /^POST \/api\/approvals\/\{id\}$/,
  /^POST \/api\/concerns\/\{id\}\/resolve$/,
];
/** Called after every other operation, in this order: they destroy seeded data or sessions. */
const LAST: readonly RegExp[] = [
  /^POST \/api\/plugins\/\{id\}\/restart$/,
  /^PUT \/api\/auth\/me\/password$/,
  /^DELETE /,
  /^POST \/api\/auth\/logout$/,
];

const PASSWORD = "Contract-test passphrase 2026!";
const REFLECTION = JSON.stringify({
  coherence: 0.8,
  alignment: 0.7,
  issues: ["Answers ran long"],
  instructions: ["Keep answers under five sentences."],
  insight: null,
  selfStatement: "I am learning to be brief.",
});
const FORECAST = JSON.stringify([
  { text: "How do I deploy it?", probability: 0.6, intent: "question" },
  { text: "Thanks, that helps.", probability: 0.4, intent: "thank" },
]);
const CLARIFY = JSON.stringify({
  acknowledgment: "A web app, nice.",
  questions: ["Who uses it?"],
  uncertainties: [],
});
/** A hedged reply: the assurance module opens a concern on it. */
const UNSURE =
  "I think it might possibly work if you restart it, but maybe not. Perhaps try the staging copy first. <confidence>0.2</confidence>";

type Schema = Record<string, unknown>;
type Json = Record<string, unknown>;
interface ParameterDoc {
  in: string;
  name: string;
  required?: boolean;
  schema?: Schema;
}
interface OperationDoc {
  parameters?: ParameterDoc[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<
    string,
    { description?: string; content?: Record<string, { schema?: Schema }> }
  >;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OperationDoc>>;
  components: { schemas: Record<string, Schema> };
}
interface Operation {
  key: string;
  method: string;
  path: string;
  doc: OperationDoc;
}
interface Answer {
  status: number;
  type: string;
  body: unknown;
  text: string;
  /** The `Location` header. */
  location?: string | null;
}

/** Ids of the seeded data, by kind. */
interface Seeds {
  threadId?: string | undefined;
  turnId?: string | undefined;
  memoryId?: string | undefined;
  projectId?: string | undefined;
  runId?: string | undefined;
  runningRunId?: string | undefined;
  queuedTurnId?: string | undefined;
  rateKey?: string | undefined;
  approvalId?: string | undefined;
  reflectionId?: string | undefined;
  forecastId?: string | undefined;
  concernId?: string | undefined;
  narrativeVersion?: string | undefined;
  budgetModule?: string | undefined;
  pluginId?: string | undefined;
  assetName?: string | undefined;
  exportNdjson?: string | undefined;
  ruleId?: string | undefined;
  keyId?: string | undefined;
  username?: string | undefined;
  refreshToken?: string | undefined;
}

/** A well-formed id nothing has (`<prefix>_<ULID>`). */
const unknownId = (prefix: string) => `${prefix}_0000000000ZZZZZZZZZZZZZZZZ`;

/** A path parameter: the seeded id of the kind the path names, else a well-formed unknown one. */
function pathValue(key: string, path: string, seeds: Seeds): string {
  // Cancels need something still running.
  if (key === "POST /api/runs/{id}/cancel" && seeds.runningRunId) return seeds.runningRunId;
  if (key === "POST /api/turns/{id}/cancel" && seeds.queuedTurnId) return seeds.queuedTurnId;
  const table: [RegExp, string | undefined, string][] = [
    [/^\/api\/threads\//, seeds.threadId, unknownId("thr")],
    [/^\/chat\//, seeds.threadId, unknownId("thr")],
    [/^\/api\/turns\//, seeds.turnId, unknownId("turn")],
    [/^\/api\/memories\//, seeds.memoryId, unknownId("mem")],
    [/^\/api\/jobs\//, undefined, unknownId("job")],
    [/^\/(api\/)?projects\//, seeds.projectId, unknownId("prj")],
    [/^\/api\/runs\//, seeds.runId, unknownId("run")],
    [/^\/api\/tools\//, "calculator", "no_such_tool"],
    [/^\/api\/approvals\//, seeds.approvalId, unknownId("apr")],
    [/^\/api\/keys\//, seeds.keyId, "nosuchk1"],
    [/^\/api\/firewall\/rules\//, seeds.ruleId, unknownId("fw")],
    [/^\/api\/users\//, seeds.username, "no_such_user"],
    [/^\/api\/auth\/lockouts\//, seeds.username, "no_such_user"],
    [/^\/api\/ratelimit\/clients\//, seeds.rateKey, "ip:192.0.2.99"],
    [/^\/api\/reflections\//, seeds.reflectionId, unknownId("rfl")],
    [/^\/api\/forecasts\//, seeds.forecastId, unknownId("fcs")],
    [/^\/api\/concerns\//, seeds.concernId, unknownId("cnc")],
    [/^\/api\/narrative\/versions\//, seeds.narrativeVersion, "999"],
    [/^\/api\/budgets\//, seeds.budgetModule, "no_such_module"],
    [/^\/api\/plugins\//, seeds.pluginId, "no_such_plugin"],
    [/^\/api\/templates\//, "web-app", "no-such-template"],
    [/^\/assets\//, seeds.assetName, "no-such-asset.js"],
  ];
  const found = table.find(([pattern]) => pattern.test(path));
  assert.ok(found, `${path} has a path parameter of no known kind: add the kind to the table`);
  return found[1] ?? found[2];
}

/** Values for string properties whose name says what they hold. */
const STRING_HINTS: Readonly<Record<string, string>> = {
  password: PASSWORD,
  current_password: PASSWORD,
  new_password: "Contract-test passphrase 2027!",
  username: "contract_user",
  cidr: "198.51.100.0/24",
  ip: "192.0.2.10",
  message: "Hello from the contract test",
  content: "Hello again from the contract test",
  prompt: "Say hello",
  query: "contract",
  text: "A fact from the contract test",
};

/** Bodies where the schema's minimal object is not a meaningful call, or not a safe one. */
function bodyOverride(key: string, seeds: Seeds): unknown {
  const overrides: Record<string, unknown> = {
    "POST /api/projects": { template_id: "web-app" },
    "POST /api/tools/{name}/runs": { args: { expression: "1+1" } },
    "PATCH /api/tools/{name}": { enabled: true },
    "PATCH /api/memories/{id}": { importance: 0.5 },
    "PATCH /api/threads/{id}": { title: "Renamed by the contract test" },
    "POST /api/memories/forget": { match: "no such memory text", dry_run: true },
    "PUT /api/budgets/{module}": { per_day: 1_000_000 },
    "POST /api/projects/{id}/input": { text: "Small teams" },
    "POST /api/users": { username: "contract_other", password: PASSWORD },
    "POST /api/auth/refresh": seeds.refreshToken ? { refresh_token: seeds.refreshToken } : {},
  };
  return overrides[key];
}

/** A minimal value valid against `schema`: required properties only, enums' first value. */
function example(schema: Schema, resolve: (schema: Schema) => Schema, name = ""): unknown {
  const resolved = resolve(schema);
  if (Array.isArray(resolved.enum)) return resolved.enum[0];
  const type = [resolved.type].flat().find((type) => type !== "null");
  switch (type) {
    case "object": {
      const properties = (resolved.properties ?? {}) as Record<string, Schema>;
      const required = (resolved.required ?? []) as string[];
      return Object.fromEntries(
        required.map((key) => [key, example(properties[key] ?? {}, resolve, key)]),
      );
    }
    case "array": {
      const count = Math.max(1, Number(resolved.minItems ?? 0));
      return Array.from({ length: count }, () => example(resolved.items as Schema, resolve, name));
    }
    case "string": {
      if (resolved.format === "date-time") return "2030-01-01T00:00:00.000Z";
      const min = Number(resolved.minLength ?? 0);
      const max = Number(resolved.maxLength ?? Infinity);
      return (STRING_HINTS[name] ?? "contract").padEnd(min, "x").slice(0, max);
    }
    case "integer":
    case "number":
      return Math.min(Math.max(1, Number(resolved.minimum ?? 1)), Number(resolved.maximum ?? 1));
    case "boolean":
      return true;
    default:
      return {};
  }
}

/** Sends one request and reads the answer (only the first chunk of an event stream). */
async function send(
  host: TestHost,
  method: string,
  path: string,
  options: { body?: { type: string; text: string }; token?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body) headers["content-type"] = options.body.type;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await host.request(path, {
    method,
    headers,
    ...(options.body ? { body: options.body.text } : {}),
  });
  const type = response.headers.get("content-type") ?? "";
  let text: string;
  if (type.startsWith("text/event-stream")) {
    const reader = response.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    text = new TextDecoder().decode(first.value ?? new Uint8Array());
  } else {
    text = await response.text();
  }
  let body: unknown = text;
  if (isJson(type)) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, type, body, text, location: response.headers.get("location") };
}

/** `format: date-time` as spec/server.md §2 writes times: `2026-01-02T03:04:05.678Z`. */
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const isJson = (type: string) => /^application\/([\w.-]+\+)?json\b/.test(type);

/** Validates answers against the document and collects what differs. */
function createContract(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  // Times on the wire are RFC 3339 UTC with milliseconds and `Z` (spec/server.md §2).
  ajv.addFormat("date-time", RFC3339_UTC);
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        key === "$ref" && typeof inner === "string"
          ? inner.replace("#/components/schemas/", "urn:component:")
          : rewrite(inner),
      ]),
    );
  };
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    ajv.addSchema(rewrite(schema) as Schema, `urn:component:${name}`);
  }
  const compiled = new Map<Schema, ValidateFunction>();
  const firstError = (schema: Schema, value: unknown): string | null => {
    let validate = compiled.get(schema);
    if (!validate) {
      validate = ajv.compile(rewrite(schema) as Schema);
      compiled.set(schema, validate);
    }
    if (validate(value)) return null;
    const error = validate.errors?.[0];
    return `${error?.instancePath || "(root)"} ${error?.message ?? "is invalid"} ${
      JSON.stringify(error?.params ?? {})
    }`;
  };
  const resolve = (schema: Schema): Schema => {
    const ref = schema.$ref as string | undefined;
    return ref ? document.components.schemas[ref.split("/").at(-1)!] ?? {} : schema;
  };
  const operations: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, doc]) => ({
      key: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      path,
      doc,
    }))
  );
  /** Statuses each operation answered, by key. */
  const answered = new Map<string, number[]>();
  /** Operations refused because sign-in is off. */
  const authDisabled = new Set<string>();
  const failures: string[] = [];
  const mismatched = new Set<string>();
  let dashboardBuilt = true;

  /** What is wrong with `answer` for `operation`, or null. */
  function problemOf(answer: Answer, operation: OperationDoc): string | null {
    const documented = Object.keys(operation.responses).join(", ");
    const status = String(answer.status);
    const response = operation.responses[status];
    if (answer.status === 503 && !dashboardBuilt && /not built/.test(response?.description ?? "")) {
      return null; // No `deno task build:web` here: the documented page saying so.
    }
    if (answer.status >= 500) return `a ${status} (documented: ${documented})`;
    if (!response) return `an undocumented status (documented: ${documented})`;
    const json = isJson(answer.type);
    if (answer.status >= 400) {
      if (!json) return `an error as ${answer.type || "an untyped body"}, not an ErrorBody`;
      const error = firstError(document.components.schemas.ErrorBody!, answer.body);
      if (error) return `not an ErrorBody: ${error}`;
    }
    if (answer.status === 204) return answer.text === "" ? null : "a 204 with a body";
    // "201 + `Location` on create" (spec/server.md §2).
    if (answer.status === 201 && !answer.location?.startsWith("/api/")) {
      return `a 201 without the created resource's Location (got ${answer.location ?? "none"})`;
    }
    const media = response.content ?? {};
    const schema = media["application/json"]?.schema;
    if (json && schema) return firstError(schema, answer.body);
    if (json && answer.status < 400) {
      const types = Object.keys(media);
      return `a JSON body where the document describes ${types.join(", ") || "no content"}`;
    }
    if (!json && schema) return `a ${answer.type || "untyped"} body where JSON is documented`;
    return null;
  }

  return {
    operations,
    resolve,
    answered,
    authDisabled,
    mismatched,
    setDashboardBuilt(built: boolean) {
      dashboardBuilt = built;
    },
    /** Records and checks `answer` of `operation` (`by`: which part of the test called it). */
    record(operation: Operation, url: string, answer: Answer, by = "") {
      answered.set(operation.key, [...answered.get(operation.key) ?? [], answer.status]);
      if ((answer.body as { error?: { code?: string } })?.error?.code === "AUTH_DISABLED") {
        authDisabled.add(operation.key);
      }
      const problem = problemOf(answer, operation.doc);
      if (!problem) return;
      if (KNOWN_MISMATCHES[operation.key]?.problem.test(problem)) mismatched.add(operation.key);
      else {
        failures.push(
          `${operation.key} (${by}${operation.method} ${url}) → ${answer.status}: ${problem}; body: ${
            answer.text.slice(0, 200)
          }`,
        );
      }
    },
    /** The documented operation a concrete request is for. */
    find(method: string, url: string): Operation {
      const path = url.split("?")[0]!;
      const found = operations.find((operation) =>
        operation.method === method &&
        new RegExp(`^${operation.path.replace(/\{\w+\}/g, "[^/]+")}$`).test(path)
      );
      assert.ok(found, `${method} ${path} is not documented`);
      return found;
    },
    failures,
  };
}
type Contract = ReturnType<typeof createContract>;

/** A seeding request: must succeed, and its answer is checked like any other. */
async function seed(
  contract: Contract,
  host: TestHost,
  method: string,
  url: string,
  options: { body?: unknown; token?: string } = {},
): Promise<Json> {
  const answer = await send(host, method, url, {
    ...(options.body === undefined
      ? {}
      : { body: { type: "application/json", text: JSON.stringify(options.body) } }),
    ...(options.token ? { token: options.token } : {}),
  });
  contract.record(contract.find(method, url), url, answer, "seeding: ");
  assert.ok(
    answer.status >= 200 && answer.status < 300,
    `seeding ${method} ${url}: ${answer.status} ${answer.text.slice(0, 300)}`,
  );
  return answer.body as Json;
}

/** The id of a create answer (`{id}` or `{<kind>: {id}}`). */
const idOf = (body: Json, kind: string) =>
  ((body[kind] as Json | undefined)?.id ?? body.id) as string;
/** `field` of the first item of a list answer. */
const firstOf = (body: Json, field = "id") =>
  (body.items as Json[] | undefined)?.[0]?.[field] as string | number | undefined;

/**
 * Real data on the sign-in-off host: a thread of three turns (an explicit
 * reflection, then a hedged reply whose concern stays open), a memory, a
 * project from a template, a tool run, a firewall rule; then a model's tool
 * call waiting for approval, a turn queued behind it and a running timer,
 * for the loop to decide and cancel first. Returns the seeds, the waiting
 * turn's answer (settled once the loop approves its call) and whether the
 * dashboard is built.
 */
async function seedMind(contract: Contract, host: TestHost, fake: FakeLlm) {
  const turn = await seed(contract, host, "POST", "/api/chat", {
    body: { message: "Help me plan the release of the web app" },
  });
  const threadId = turn.thread_id as string;
  await seed(contract, host, "POST", "/api/chat", {
    body: { message: "/reflect", thread_id: threadId },
  });
  // The last turn of the thread hedges, so its concern is still open when listed.
  fake.sceneFirst({ match: { purpose: "reply" }, reply: { text: UNSURE } });
  await seed(contract, host, "POST", "/api/chat", {
    body: {
      message: "How do I restart the payment service safely during business hours?",
      thread_id: threadId,
    },
  });
  await host.kernel.mind.scheduler.idle();
  // A second narrative version, so that restoring the first is a change (the same text is 409).
  fake.sceneFirst({
    match: { purpose: "narrative" },
    reply: { text: `${host.kernel.mind.profile.identity.narrative} I keep learning.` },
  });
  await seed(contract, host, "POST", "/api/chat", {
    body: { message: "/purpose rewrite --force" },
  });
  const memory = await seed(contract, host, "POST", "/api/memories", {
    body: { text: "The deploy needs the VPN" },
  });
  const project = await seed(contract, host, "POST", "/api/projects", {
    body: { template_id: "web-app" },
  });
  const run = await seed(contract, host, "POST", "/api/tools/calculator/runs", {
    body: { args: { expression: "1+1" } },
  });
  const rule = await seed(contract, host, "POST", "/api/firewall/rules", {
    body: { list: "deny", cidr: "203.0.113.0/24" },
  });
  await host.kernel.mind.scheduler.idle();

  // A model's tool call that waits for approval (json_parse needs one by config), a turn queued
  // behind it on its thread, and a 30 s timer run: each still open when the loop reaches it.
  const { promise: requested, resolve } = Promise.withResolvers<{ thread_id: string }>();
  const stop = host.kernel.bus.subscribe("tool.approval_request", (event) => {
    stop();
    resolve(event.data as { thread_id: string });
  });
  fake.sceneFirst({
    match: { purpose: "reply" },
    reply: { toolCalls: [{ name: "json_parse", args: { data: '{"a": 1}' } }] },
  });
  const waiting = send(host, "POST", "/api/chat", {
    body: { type: "application/json", text: JSON.stringify({ message: 'Parse {"a": 1}' }) },
  });
  const approval = await requested;
  const queued = await seed(contract, host, "POST", `/api/threads/${approval.thread_id}/turns`, {
    body: { content: "And then?" },
  });
  const timer = await seed(contract, host, "POST", "/api/tools/timer/runs", {
    body: { args: { seconds: 30 } },
  });
  const rate = await seed(contract, host, "GET", "/api/ratelimit/status");

  const html = await send(host, "GET", "/");
  const exported = await send(host, "GET", "/api/memories/export");
  const plugins = await seed(contract, host, "GET", "/api/plugins");
  const concerns = await seed(contract, host, "GET", "/api/concerns?status=open");
  const seeds: Seeds = {
    threadId,
    turnId: turn.turn_id as string,
    memoryId: idOf(memory, "memory"),
    projectId: idOf(project, "project"),
    runId: idOf(run, "run"),
    runningRunId: idOf(timer, "run"),
    queuedTurnId: queued.turn_id as string,
    rateKey: rate.key as string,
    ruleId: idOf(rule, "rule"),
    approvalId: firstOf(await seed(contract, host, "GET", "/api/approvals?status=pending")) as
      | string
      | undefined,
    reflectionId: firstOf(await seed(contract, host, "GET", "/api/reflections")) as
      | string
      | undefined,
    forecastId: firstOf(await seed(contract, host, "GET", "/api/forecasts")) as string | undefined,
    concernId: (firstOf(concerns) ??
      firstOf(await seed(contract, host, "GET", "/api/concerns"))) as string | undefined,
    narrativeVersion: String(
      firstOf(await seed(contract, host, "GET", "/api/narrative/versions"), "version"),
    ),
    budgetModule: firstOf(await seed(contract, host, "GET", "/api/budgets"), "module") as
      | string
      | undefined,
    pluginId: (plugins.items as Array<{ id: string }>).find((item) => item.id.includes("timer"))
      ?.id,
    assetName: /\/assets\/([\w.-]+)/.exec(html.text)?.[1],
    exportNdjson: exported.status === 200 ? exported.text : undefined,
  };
  return { seeds, waiting, dashboardBuilt: html.status === 200 };
}

/** Calls `operations` in order (FIRST, then the rest, then LAST), idling before the destructive ones. */
async function callAll(
  contract: Contract,
  host: TestHost,
  operations: readonly Operation[],
  seeds: Seeds,
  signedIn?: string,
) {
  let token = signedIn;
  const rank = (key: string) => {
    const first = FIRST.findIndex((pattern) => pattern.test(key));
    if (first !== -1) return first - FIRST.length;
    return LAST.findIndex((pattern) => pattern.test(key)) + 1;
  };
  let destructive = false;
  for (const operation of operations.toSorted((a, b) => rank(a.key) - rank(b.key))) {
    if (!destructive && rank(operation.key) > 0) {
      // Background turns (chat, project input) end before anything is deleted.
      destructive = true;
      await host.kernel.mind.scheduler.idle();
    }
    let url = operation.path.replace(
      /\{\w+\}/g,
      () => encodeURIComponent(pathValue(operation.key, operation.path, seeds)),
    );
    const query = (operation.doc.parameters ?? [])
      .filter((parameter) => parameter.in === "query" && parameter.required)
      .map((parameter) => {
        const value = example(parameter.schema ?? {}, contract.resolve, parameter.name);
        return `${parameter.name}=${encodeURIComponent(String(value))}`;
      });
    if (query.length > 0) url += `?${query.join("&")}`;
    const schema = operation.doc.requestBody?.content["application/json"]?.schema;
    let body: { type: string; text: string } | undefined;
    if (operation.key === "POST /api/memories/import") {
      // NDJSON, not JSON: the seeded export, imported again.
      body = { type: "application/x-ndjson", text: seeds.exportNdjson ?? "" };
    } else if (operation.doc.requestBody) {
      const value = bodyOverride(operation.key, seeds) ??
        (schema ? example(schema, contract.resolve) : {});
      body = { type: "application/json", text: JSON.stringify(value) };
    }
    const answer = await send(host, operation.method, url, {
      ...(body ? { body } : {}),
      ...(token ? { token } : {}),
    });
    contract.record(operation, url, answer);
    const renewed = (answer.body as { access_token?: unknown } | null)?.access_token;
    if (operation.key === "PUT /api/auth/me/password" && typeof renewed === "string") {
      token = renewed; // Changing the password signs every session out and issues a new one.
    }
  }
}

Deno.test("every documented operation answers with a documented status and a body of the documented shape", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    reflection: [{ reply: { text: REFLECTION }, times: 10 }],
    forecast: [{ reply: { text: FORECAST }, times: 50 }],
    clarify: [{ reply: { text: CLARIFY }, times: 10 }],
    tool_loop: [{ reply: { text: "Parsed." }, times: 5 }],
  });
  await using host = await mindHost(fake, {
    config: {
      // json_parse is safe: it waits for an approval only because this says so.
      tools: { approval: { require: ["json_parse"] } },
      // On, so the limiter has counters to show and clear; far above what one run sends.
      rateLimit: {
        enabled: true,
        tiers: { auth: { limit: 1000 }, chat: { limit: 1000 }, api: { limit: 10_000 } },
      },
    },
  });
  const document = (await send(host, "GET", "/openapi.json")).body as OpenApiDocument;
  const contract = createContract(document);
  const keys = contract.operations.map((operation) => operation.key);
  for (const listed of [...Object.keys(EXCEPTIONS), ...Object.keys(KNOWN_MISMATCHES)]) {
    assert.ok(keys.includes(listed), `${listed} is listed but not documented`);
  }
  const called = contract.operations.filter((operation) => !(operation.key in EXCEPTIONS));

  // Pass 1: sign-in off, the local admin.
  const { seeds, waiting, dashboardBuilt } = await seedMind(contract, host, fake);
  contract.setDashboardBuilt(dashboardBuilt);
  await callAll(contract, host, called, seeds);
  const released = await waiting;
  contract.record(contract.find("POST", "/api/chat"), "/api/chat", released, "seeding: ");
  await host.kernel.mind.scheduler.idle();

  // Pass 2: the sign-in operations and what sign-in off refused (AUTH_DISABLED), as the admin
  // of a host with sign-in on.
  const accountOperations = called.filter((operation) =>
    contract.authDisabled.has(operation.key) || operation.path.startsWith("/api/auth/")
  );
  await using authed = await createTestHost({
    plugins: BUILTIN_PLUGINS,
    config: { auth: { enabled: true, password: { scryptLogN: 14 } } },
  });
  await seed(contract, authed, "GET", "/api/auth/setup");
  const setup = await seed(contract, authed, "POST", "/api/auth/setup", {
    body: { setup_token: authed.kernel.setupToken, username: "contract_admin", password: PASSWORD },
  });
  const token = setup.access_token as string;
  await seed(contract, authed, "POST", "/api/users", {
    body: { username: "contract_user", password: PASSWORD },
    token,
  });
  const key = await seed(contract, authed, "POST", "/api/keys", {
    body: { name: "contract key" },
    token,
  });
  await callAll(contract, authed, accountOperations, {
    username: "contract_user",
    keyId: idOf(key, "key"),
    refreshToken: setup.refresh_token as string,
  }, token);

  const statuses = [...contract.answered.values()];
  // deno-lint-ignore no-console
  console.log(
    `contract: ${keys.length} operations, ${
      statuses.filter((list) => list.some((status) => status < 300)).length
    } answered 2xx, ${
      statuses.filter((list) => list.every((status) => status >= 400 && status < 500)).length
    } answered only a documented 4xx, ${Object.keys(EXCEPTIONS).length} excepted, ${
      Object.keys(KNOWN_MISMATCHES).length
    } known mismatches`,
  );
  const uncalled = called.filter((operation) => !contract.answered.has(operation.key));
  // Each create was made at least once, so the Location check above saw every one.
  const neverCreated = called.filter((operation) =>
    "201" in operation.doc.responses && !contract.answered.get(operation.key)?.includes(201)
  ).map((operation) => operation.key);
  const fixed = Object.keys(KNOWN_MISMATCHES).filter((key) => !contract.mismatched.has(key));
  const never200 = MUST_ANSWER_200.filter((key) => !contract.answered.get(key)?.includes(200));
  // One assertion, so a run shows every difference at once.
  assert.deepEqual(
    {
      differing: contract.failures,
      knownMismatchesNowMatching: fixed,
      neverCalled: uncalled.map((operation) => operation.key),
      neverCreated,
      never200,
    },
    {
      differing: [],
      knownMismatchesNowMatching: [],
      neverCalled: [],
      neverCreated: [],
      never200: [],
    },
    `${contract.failures.length} answers differ from the document`,
  );
});
