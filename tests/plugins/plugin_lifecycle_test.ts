/**
 * A third-party plugin's life after its first start (spec/tools.md §9): an
 * edited source is bundled again, a restart brings the new version's tools,
 * a tool's risk is at least what the plugin's grants allow, a plugin stuck
 * in its code is found by the liveness check, and a refused bundle is never
 * recorded as the prepared one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createTestHost, makeTestDir, type TestHost } from "@synth/testing";
import { readLock } from "../../src/plugin/external/bundle.ts";
import type { ToolView } from "../../src/tools/service.ts";
import { json, pluginView, reaches } from "./helpers.ts";

interface ToolSketch {
  name: string;
  description: string;
  risk?: string;
  parameters?: Record<string, unknown>;
  body: string;
}

/** A plugin module with no imports: the manifest, then `activate` registering `tools`. */
function pluginSource(
  id: string,
  version: string,
  tools: ToolSketch[],
  extra: { permissions?: Record<string, string[]>; events?: string[]; activate?: string } = {},
): string {
  const manifest = {
    id,
    version,
    host: "^1.0.0",
    permissions: extra.permissions ?? {},
    tools: tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      risk: tool.risk ?? "safe",
      parameters: tool.parameters ??
        { type: "object", additionalProperties: false, properties: {} },
    })),
    events: extra.events ?? [],
  };
  return `export const manifest = ${JSON.stringify(manifest)};
export function activate(api) {
${
    tools.map((tool) => `  api.tool(${JSON.stringify(tool.name)}, (args) => ${tool.body});`).join(
      "\n",
    )
  }
${extra.activate ?? ""}
}
`;
}

const toolView = async (host: TestHost, name: string) =>
  ((await json(host, "GET", "/api/tools")).body.items as ToolView[])
    .find((tool) => tool.name === name);

/** Writes `text` and dates the file a minute ahead, after any bundle made just before. */
async function writeLater(path: string, text: string) {
  await Deno.writeTextFile(path, text);
  const later = new Date(Date.now() + 60_000);
  await Deno.utime(path, later, later);
}

Deno.test("an edited plugin is bundled again at its restart, and the new version's tools replace the old ones", async () => {
  const dir = await makeTestDir("synth-plugin-edit-");
  const dataDir = await makeTestDir("synth-plugin-edit-data-");
  try {
    const source = join(dir, "mod.ts");
    await Deno.writeTextFile(
      source,
      pluginSource("words", "1.0.0", [{
        name: "count",
        description: "Counts words",
        body: "String(args.text ?? '').split(/\\s+/).filter(Boolean).length",
        parameters: {
          type: "object",
          additionalProperties: false,
          properties: { text: { type: "string" } },
        },
      }]),
    );
    await using host = await createTestHost({
      dataDir,
      config: { plugins: [{ id: "words", from: source }] },
    });
    const who = { requestedBy: "u", module: "api" };
    const counted = await host.kernel.tools.call("words__count", { text: "one two" }, who);
    assert.deepEqual(counted.result, { ok: true, data: 2, truncated: false });
    assert.equal((await readLock(dataDir)).plugins.words?.version, "1.0.0");

    await writeLater(
      source,
      pluginSource("words", "1.1.0", [{
        name: "count",
        description: "Counts the words of a text",
        body: "String(args.text ?? '').split(/\\s+/).filter(Boolean).length * 10",
        parameters: {
          type: "object",
          additionalProperties: false,
          properties: { text: { type: "string" } },
        },
      }, {
        name: "chars",
        description: "Counts characters",
        body: "String(args.text).length",
        parameters: {
          type: "object",
          additionalProperties: false,
          properties: { text: { type: "string" } },
        },
      }]),
    );
    const restarted = await json(host, "POST", "/api/plugins/words/restart");
    assert.equal(restarted.status, 200);
    assert.equal(restarted.body.state, "running");
    assert.equal(restarted.body.version, "1.1.0", "the edited source was bundled again");
    assert.deepEqual(restarted.body.tools, ["words__count", "words__chars"]);
    assert.equal((await readLock(dataDir)).plugins.words?.version, "1.1.0");
    assert.equal((await toolView(host, "words__count"))?.description, "Counts the words of a text");
    const chars = await host.kernel.tools.call("words__chars", { text: "abc" }, who);
    assert.deepEqual(chars.result, { ok: true, data: 3, truncated: false });
    const recounted = await host.kernel.tools.call("words__count", { text: "one two" }, who);
    assert.deepEqual(recounted.result, { ok: true, data: 20, truncated: false });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a plugin tool's risk is at least what its plugin's grants allow: a 'safe' writer asks for approval", async () => {
  const dir = await makeTestDir("synth-plugin-risk-");
  try {
    const source = join(dir, "mod.ts");
    const out = join(dir, "out");
    await Deno.mkdir(out);
    await Deno.writeTextFile(
      source,
      pluginSource("writer", "1.0.0", [{ name: "save", description: "Saves", body: "'saved'" }], {
        permissions: { write: [out] },
      }),
    );
    await using host = await createTestHost({
      config: {
        plugins: [{ id: "writer", from: source, permissions: { write: [out] } }],
      },
    });
    const tool = await toolView(host, "writer__save");
    assert.equal(tool?.risk, "write", "declared safe, granted a write");
    assert.equal(tool?.requires_approval, true, "the default threshold is write");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a plugin stuck in an event handler fails the liveness check, is killed and restarts; meanwhile its tools are not offered", async () => {
  const dir = await makeTestDir("synth-plugin-stuck-");
  try {
    const source = join(dir, "mod.ts");
    await Deno.writeTextFile(
      source,
      pluginSource("stuck", "1.0.0", [{ name: "ping", description: "Pong", body: "'pong'" }], {
        events: ["tick"],
        activate: "  api.on('tick', () => { while (true) { /* never returns */ } });",
      }),
    );
    await using host = await createTestHost({
      config: {
        pluginHost: { livenessTimeoutMs: 300 },
        plugins: [{ id: "stuck", from: source }],
      },
    });
    assert.equal((await pluginView(host, "stuck")).state, "running");
    assert.ok(host.kernel.tools.specs().some((spec) => spec.name === "stuck__ping"));
    const restarting = reaches(host, "stuck", "starting");
    await host.clock.tick(60_000); // the tick event, then the liveness check
    await restarting;
    const view = await pluginView(host, "stuck");
    assert.equal(view.crashes_recent, 1);
    assert.equal(view.last_error?.code, "PLUGIN_CRASHED");
    assert.match(view.last_error?.message ?? "", /did not answer the liveness check within 300 ms/);
    assert.equal((await toolView(host, "stuck__ping"))?.available, false);
    assert.ok(
      !host.kernel.tools.specs().some((spec) => spec.name === "stuck__ping"),
      "the model is not offered a tool that cannot run",
    );
    const running = reaches(host, "stuck", "running");
    await host.clock.untilTimer((ms) => ms === 1_000);
    await host.clock.tick(1_000);
    await running;
    assert.equal((await pluginView(host, "stuck")).last_error, null, "running again, no error");
    assert.equal((await toolView(host, "stuck__ping"))?.available, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bundle refused for its tool schema is not recorded as prepared; a syntax error is named", async () => {
  const dir = await makeTestDir("synth-plugin-refused-");
  const dataDir = await makeTestDir("synth-plugin-refused-data-");
  try {
    const listy = join(dir, "listy.ts");
    await Deno.writeTextFile(
      listy,
      pluginSource("listy", "1.0.0", [{
        name: "go",
        description: "Takes a list",
        body: "1",
        parameters: { type: "array" },
      }]),
    );
    const broken = join(dir, "broken.ts");
    await Deno.writeTextFile(broken, "export const manifest = { id: 'broken', a: [1, 2; };\n");
    await using host = await createTestHost({
      dataDir,
      config: {
        plugins: [{ id: "listy", from: listy }, { id: "broken", from: broken }],
      },
    });
    const refused = await pluginView(host, "listy");
    assert.equal(refused.state, "refused");
    assert.equal(refused.last_error?.code, "PLUGIN_SCHEMA_UNSUPPORTED");
    assert.equal((await readLock(dataDir)).plugins.listy, undefined);
    const syntax = await pluginView(host, "broken");
    assert.equal(syntax.last_error?.code, "PLUGIN_BUNDLE_FAILED");
    assert.match(syntax.last_error?.message ?? "", /Expected ',', got ';'.*broken\.ts:1:/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("plugins start at once: one that never answers does not hold up the next", async () => {
  const dir = await makeTestDir("synth-plugin-parallel-");
  try {
    const hung = join(dir, "hung.ts");
    await Deno.writeTextFile(
      hung,
      `export const manifest = ${
        JSON.stringify({ id: "hung", version: "1.0.0", host: "^1.0.0", tools: [] })
      };\nexport function activate() { return new Promise(() => {}); }\n`,
    );
    const quick = join(dir, "quick.ts");
    await Deno.writeTextFile(
      quick,
      pluginSource("quick", "1.0.0", [{ name: "ping", description: "Pong", body: "'pong'" }], {
        activate: "  api.log('info', 'activated');",
      }),
    );
    await using host = await createTestHost({
      config: { plugins: [{ id: "hung", from: hung }, { id: "quick", from: quick }] },
    });
    const at = (match: (record: Record<string, unknown>) => boolean) =>
      host.logs.findIndex((record) => match(record as unknown as Record<string, unknown>));
    const quickStarted = at((record) =>
      record.msg === "plugin log" && record.plugin === "quick" && record.message === "activated"
    );
    const hungRefused = at((record) =>
      record.msg === "a third-party plugin was refused" && record.plugin === "hung"
    );
    assert.ok(quickStarted >= 0 && hungRefused >= 0, "both logged");
    assert.ok(
      quickStarted < hungRefused,
      "the second started while the first was still waited for",
    );
    assert.equal((await pluginView(host, "hung")).last_error?.code, "PLUGIN_START_TIMEOUT");
    assert.equal((await pluginView(host, "quick")).state, "running");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
