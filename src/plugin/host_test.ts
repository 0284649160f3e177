import assert from "node:assert/strict";
import { z } from "zod";
import { createTestHost } from "../testing/test_host.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import { definePlugin } from "./define.ts";
import { PLUGIN_ERROR_CODES, PluginError } from "./errors.ts";
import type { AnyPlugin, PluginContext } from "./types.ts";

/** A plugin that records each lifecycle step into `events`. */
function recorder(
  id: string,
  events: string[],
  options: { dependsOn?: string[]; setup?: (ctx: PluginContext) => unknown } = {},
): AnyPlugin {
  return definePlugin({
    manifest: {
      id,
      version: "1.0.0",
      isolation: "in_process",
      ...(options.dependsOn ? { dependsOn: options.dependsOn } : {}),
    },
    setup(ctx) {
      events.push(`setup:${id}`);
      return options.setup?.(ctx);
    },
    start() {
      events.push(`start:${id}`);
    },
    stop() {
      events.push(`stop:${id}`);
    },
  });
}

Deno.test("plugins set up and start in dependency order and stop in reverse", async () => {
  const events: string[] = [];
  await using host = await createTestHost({
    plugins: [
      recorder("gdil", events, { dependsOn: ["memory", "mind_extra"] }),
      recorder("mind_extra", events, { dependsOn: ["memory"] }),
      recorder("memory", events),
    ],
  });
  assert.deepEqual(host.kernel.host.order, ["memory", "mind_extra", "gdil"]);
  await host.close();
  assert.deepEqual(events, [
    "setup:memory",
    "setup:mind_extra",
    "setup:gdil",
    "start:memory",
    "start:mind_extra",
    "start:gdil",
    "stop:gdil",
    "stop:mind_extra",
    "stop:memory",
  ]);
});

Deno.test("a plugin that throws in setup stops start-up with its id in the message", async () => {
  const events: string[] = [];
  await assert.rejects(
    () =>
      createTestHost({
        plugins: [
          recorder("memory", events),
          recorder("broken", events, {
            dependsOn: ["memory"],
            setup: () => {
              throw new Error("cannot parse templates");
            },
          }),
          recorder("after", events, { dependsOn: ["broken"] }),
        ],
      }),
    (error: unknown) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.code, PLUGIN_ERROR_CODES.SETUP_FAILED);
      assert.equal(error.plugin, "broken");
      assert.equal(error.message, "[plugin broken] setup failed: cannot parse templates");
      return true;
    },
  );
  // The plugin set up before the failure is cleaned up; the later one never ran.
  assert.deepEqual(events, ["setup:memory", "setup:broken", "stop:memory"]);
});

Deno.test("a setup that exceeds the time limit stops start-up with PLUGIN_SETUP_TIMEOUT", async () => {
  const clock = new FakeClock();
  const never = definePlugin({
    manifest: { id: "slow", version: "1.0.0", isolation: "in_process" },
    setup: () => new Promise<void>(() => {}),
  });
  const starting = createTestHost({
    plugins: [never],
    clock,
    config: { pluginHost: { setupTimeoutMs: 5_000 } },
  });
  const outcome = assert.rejects(starting, (error: unknown) => {
    assert.ok(error instanceof PluginError);
    assert.equal(error.code, PLUGIN_ERROR_CODES.SETUP_TIMEOUT);
    assert.equal(error.plugin, "slow");
    assert.match(error.message, /setup did not finish within 5000 ms/);
    return true;
  });
  let settled = false;
  outcome.finally(() => (settled = true));
  await clock.untilTimer((ms) => ms === 5_000);
  await clock.tick(4_999);
  assert.equal(settled, false, "still waiting just before the limit");
  await clock.tick(1);
  await outcome;
});

Deno.test("missing and cyclic dependencies stop start-up with coded errors", async () => {
  await assert.rejects(
    () => createTestHost({ plugins: [recorder("gdil", [], { dependsOn: ["memory"] })] }),
    (error: unknown) =>
      error instanceof PluginError && error.code === PLUGIN_ERROR_CODES.DEPENDENCY_MISSING &&
      error.plugin === "gdil",
  );
  await assert.rejects(
    () =>
      createTestHost({
        plugins: [
          recorder("a", [], { dependsOn: ["b"] }),
          recorder("b", [], { dependsOn: ["a"] }),
        ],
      }),
    (error: unknown) =>
      error instanceof PluginError && error.code === PLUGIN_ERROR_CODES.DEPENDENCY_CYCLE,
  );
});

Deno.test("use() returns a declared dependency's API and throws for an undeclared one", async () => {
  let fromDeclared: unknown;
  const events: string[] = [];
  const memory = recorder("memory", events, { setup: () => ({ recall: () => "remembered" }) });
  const other = recorder("other", events, { setup: () => "other api" });
  const consumer = recorder("consumer", events, {
    dependsOn: ["memory"],
    setup: (ctx) => {
      fromDeclared = ctx.use<{ recall(): string }>("memory").recall();
      ctx.use("other");
    },
  });
  await assert.rejects(
    () => createTestHost({ plugins: [memory, other, consumer] }),
    (error: unknown) => {
      assert.ok(error instanceof PluginError);
      assert.equal(error.code, PLUGIN_ERROR_CODES.USE_UNDECLARED);
      assert.equal(error.plugin, "consumer");
      assert.equal(
        error.message,
        '[plugin consumer] use("other") needs "other" in manifest.dependsOn',
      );
      return true;
    },
  );
  assert.equal(fromDeclared, "remembered");
});

Deno.test("a failing start stops every plugin and names the plugin", async () => {
  const events: string[] = [];
  const failing = definePlugin({
    manifest: { id: "failing", version: "1.0.0", isolation: "in_process", dependsOn: ["memory"] },
    setup() {
      events.push("setup:failing");
    },
    start() {
      throw new Error("port busy");
    },
    stop() {
      events.push("stop:failing");
    },
  });
  await assert.rejects(
    () => createTestHost({ plugins: [recorder("memory", events), failing] }),
    (error: unknown) =>
      error instanceof PluginError && error.code === PLUGIN_ERROR_CODES.START_FAILED &&
      error.message === "[plugin failing] start failed: port busy",
  );
  assert.deepEqual(events, [
    "setup:memory",
    "setup:failing",
    "start:memory",
    "stop:failing",
    "stop:memory",
  ]);
});

Deno.test("each plugin gets its frozen config section, scoped logger and routes at /api/<id>", async () => {
  const seen: { config?: unknown } = {};
  const plugin = definePlugin({
    manifest: {
      id: "weather",
      version: "0.2.0",
      isolation: "in_process",
      configSchema: z.strictObject({
        city: z.string().default("Oslo"),
        days: z.number().default(3),
      }),
    },
    setup(ctx) {
      seen.config = ctx.config;
      ctx.log.info("ready");
      ctx.http.get("/forecast", (c) => c.json({ city: ctx.config.city, days: ctx.config.days }));
    },
  });
  await using host = await createTestHost({
    plugins: [plugin],
    config: { weather: { city: "Bergen" } },
  });
  assert.deepEqual(seen.config, { city: "Bergen", days: 3 });
  assert.ok(Object.isFrozen(seen.config));
  const response = await host.request("/api/weather/forecast");
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { city: "Bergen", days: 3 });
  assert.ok(
    host.logs.some((record) => record.scope === "kernel.plugin.weather" && record.msg === "ready"),
  );
});

Deno.test("the signal aborts on shutdown before stop runs", async () => {
  let signal: AbortSignal | undefined;
  let abortedAtStop: boolean | undefined;
  const plugin = definePlugin({
    manifest: { id: "watcher", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      signal = ctx.signal;
    },
    stop(ctx) {
      abortedAtStop = ctx.signal.aborted;
    },
  });
  await using host = await createTestHost({ plugins: [plugin] });
  assert.equal(signal?.aborted, false);
  await host.close();
  assert.equal(abortedAtStop, true);
});

Deno.test("a malformed manifest or a sandboxed plugin is refused before any setup", async () => {
  const base = { version: "1.0.0", isolation: "in_process" as const };
  const cases: Array<[AnyPlugin, string, RegExp]> = [
    [
      { manifest: { ...base, id: "Bad-Id" }, setup() {} },
      PLUGIN_ERROR_CODES.INVALID_MANIFEST,
      /manifest.id must be snake_case/,
    ],
    [
      { manifest: { ...base, id: "ok", version: "one" }, setup() {} },
      PLUGIN_ERROR_CODES.INVALID_MANIFEST,
      /manifest.version must be a semantic version/,
    ],
    [
      { manifest: { ...base, id: "tool_x", isolation: "sandbox" }, setup() {} },
      PLUGIN_ERROR_CODES.ISOLATION_UNSUPPORTED,
      /sandboxed plugins are loaded by the sandbox host/,
    ],
  ];
  for (const [plugin, code, message] of cases) {
    await assert.rejects(
      () => createTestHost({ plugins: [plugin] }),
      (error: unknown) =>
        error instanceof PluginError && error.code === code && message.test(error.message),
    );
  }
});

Deno.test("a stop failure is logged and the other plugins still stop", async () => {
  const events: string[] = [];
  const badStop = definePlugin({
    manifest: { id: "bad_stop", version: "1.0.0", isolation: "in_process", dependsOn: ["memory"] },
    setup() {},
    stop() {
      throw new Error("flush failed");
    },
  });
  await using host = await createTestHost({ plugins: [recorder("memory", events), badStop] });
  const failures = await host.kernel.host.stop();
  assert.equal(failures.length, 1);
  assert.equal(failures[0]?.code, PLUGIN_ERROR_CODES.STOP_FAILED);
  assert.ok(events.includes("stop:memory"));
  assert.ok(
    host.logs.some((record) => record.msg === "plugin stop failed" && record.plugin === "bad_stop"),
  );
  await host.close();
});
