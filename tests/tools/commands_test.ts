/**
 * The tool list and the `/tools` and `/tool` commands (spec/tools.md §8,
 * §12 items 1 and 6): the ten tools with risk, JSON Schema, grants and
 * limits; the three `/tool` argument forms for an operator; 403 for a
 * viewer.
 */
import assert from "node:assert/strict";
import { createTestHost, type TestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import { BUILTIN_TOOL_NAMES } from "../../src/tools/config.ts";
import { parseToolCommand, ToolCommandError } from "../../src/tools/command.ts";
import type { ToolView } from "../../src/tools/service.ts";

const TOOL_PLUGINS = BUILTIN_PLUGINS.filter((plugin) => plugin.manifest.id.startsWith("tool_"));

async function command(
  host: TestHost,
  message: string,
  role: "viewer" | "operator" | "admin" = "operator",
) {
  const response = await host.as({ userId: `u_${role}`, role }).request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message }),
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("GET /api/tools lists the ten tools with risk, JSON Schema, grants and limits; /tools prints the same", async () => {
  await using host = await createTestHost({ plugins: TOOL_PLUGINS });
  const response = await host.request("/api/tools");
  assert.equal(response.status, 200);
  const tools = (await response.json()).items as ToolView[];
  assert.deepEqual(tools.map((tool) => tool.name).toSorted(), [...BUILTIN_TOOL_NAMES].toSorted());
  const risks = Object.fromEntries(tools.map((tool) => [tool.name, tool.risk]));
  assert.deepEqual(risks, {
    calculator: "safe",
    timer: "safe",
    web_search: "network",
    http_fetch: "network",
    code_execute: "execute",
    file_read: "safe",
    file_write: "write",
    file_list: "safe",
    shell_run: "execute",
    json_parse: "safe",
  });
  for (const tool of tools) {
    assert.equal(tool.parameters.type, "object", tool.name);
    assert.equal(tool.parameters.additionalProperties, false, tool.name);
    assert.equal(tool.parameters.$schema, undefined, tool.name);
    assert.ok(tool.limits.timeout_ms > 0 && tool.limits.max_output_chars > 0, tool.name);
    assert.equal(tool.enabled, true);
    assert.equal(tool.requires_approval, ["write", "execute"].includes(tool.risk), tool.name);
    assert.ok(tool.description.length > 10, tool.name);
  }
  const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
  assert.deepEqual(byName.calculator!.grants, {});
  assert.deepEqual(byName.file_read!.grants.read, ["${workspace}"]);
  assert.deepEqual(byName.calculator!.parameters.required, ["expression"]);

  const listed = await command(host, "/tools");
  assert.equal(listed.status, 200);
  assert.equal(listed.body.success, true);
  for (const tool of tools) {
    assert.match(listed.body.response, new RegExp(`^${tool.name}\\(.*\\[${tool.risk}`, "m"));
  }
  assert.deepEqual(listed.body.data, tools);
});

Deno.test("/tool runs in all three forms for an operator; a viewer gets 403", async () => {
  await using host = await createTestHost({ plugins: TOOL_PLUGINS });
  const text = await command(host, "/tool calculator 2+2");
  assert.equal(text.status, 200, JSON.stringify(text.body));
  assert.equal(text.body.success, true, text.body.response);
  assert.deepEqual(text.body.data.data, { expression: "2+2", result: 4 });

  const json = await command(host, '/tool json_parse {"data":"{\\"a\\":[1]}","path":"a[0]"}');
  assert.equal(json.body.success, true, json.body.response);
  assert.equal(json.body.data.data.value, 1);
  assert.equal(json.body.data.data.type, "number");

  const call = await command(host, "/tool file_write(path='a.txt', content='')");
  assert.equal(call.body.success, true, call.body.response);
  assert.deepEqual(call.body.data.data, { path: "a.txt", bytes: 0, created: true });
  const run = await (await host.request(`/api/runs/${call.body.data.run_id}`)).json();
  assert.equal(run.status, "succeeded");
  assert.equal(run.approver_id, "u_operator", "the operator counts as approver");
  assert.equal(run.module, "command");

  const viewer = await command(host, "/tool calculator 2+2", "viewer");
  assert.equal(viewer.status, 403);
  assert.equal(viewer.body.error.code, "FORBIDDEN");

  const unknown = await command(host, "/tool nope 1");
  assert.equal(unknown.body.success, false);
  assert.match(unknown.body.response, /Tool 'nope' not found/);
  const failed = await command(host, "/tool calculator 1/0");
  assert.equal(failed.body.success, false);
  assert.match(failed.body.response, /^TOOLS_CALC_NOT_FINITE/);
});

Deno.test("/tool argument forms: JSON, keyword call with quoted, empty and typed values, text", () => {
  assert.deepEqual(parseToolCommand(' calc {"a":1}'), {
    name: "calc",
    args: { a: 1 },
    form: "json",
  });
  assert.deepEqual(parseToolCommand(" f(path='a b.txt', content='', n=3, ok=true, x=null)"), {
    name: "f",
    args: { path: "a b.txt", content: "", n: 3, ok: true, x: null },
    form: "call",
  });
  assert.deepEqual(parseToolCommand(' f(q="it\\"s")'), {
    name: "f",
    args: { q: 'it"s' },
    form: "call",
  });
  assert.deepEqual(parseToolCommand(" calculator 2 + 2"), {
    name: "calculator",
    args: { text: "2 + 2" },
    form: "text",
  });
  assert.deepEqual(parseToolCommand(" timer"), { name: "timer", args: {}, form: "none" });
  for (const bad of [" f(a=)", " f(a='x)", " f {oops", " f(a=b)", ""]) {
    assert.throws(() => parseToolCommand(bad), ToolCommandError, bad);
  }
});
