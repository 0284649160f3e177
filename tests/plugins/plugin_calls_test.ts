/**
 * Calls into a third-party plugin's process (spec/tools.md §9): arguments
 * a frame would refuse are refused on the host before anything is sent; a
 * cancelled call stops being waited for without killing the process (its
 * late answer is dropped, no crash counted); the process gets the granted
 * variables' values and runs in an empty folder of its own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createTestHost, makeTestDir, type TestHost } from "@synth/testing";
import type { LogRecord } from "../../src/telemetry/logger.ts";
import { BUNDLE_ENV_NAMES, bundlePlugin } from "../../src/plugin/external/bundle.ts";
import { PLUGIN_ENTRY } from "../../src/plugin/external/config.ts";
import { pluginView } from "./helpers.ts";
import { launchPlugin } from "../../src/plugin/external/host.ts";
import {
  outcomeOf,
  type SandboxProcess,
  type SandboxRequestOptions,
} from "../../src/sandbox/host.ts";

const PATIENT = {
  id: "patient",
  from: "./tests/fixtures/plugins/patient/mod.ts",
  permissions: { env: ["SYNTH_TEST_PLUGIN_VAR"] },
};
const who = { requestedBy: "u", module: "api" };

const plugin = pluginView;

/** Resolves with the first log record `match` accepts, written from now on. */
function nextLog(host: TestHost, match: (record: LogRecord) => boolean): Promise<LogRecord> {
  const { promise, resolve } = Promise.withResolvers<LogRecord>();
  const logs = host.logs;
  const push = logs.push;
  logs.push = function (...records: LogRecord[]) {
    const found = records.find(match);
    if (found) {
      logs.push = push;
      resolve(found);
    }
    return push.apply(this, records);
  };
  return promise;
}

const napping = (ms: number) => (record: LogRecord) =>
  record.msg === "plugin log" && record.plugin === "patient" &&
  record.message === `napping ${ms} ms`;

Deno.test("plugin arguments holding __proto__, constructor or prototype are refused with TOOLS_ARGS_INVALID naming the path; the plugin keeps running", async () => {
  await using host = await createTestHost({ config: { plugins: [PATIENT] } });
  assert.equal((await plugin(host, "patient")).state, "running");
  const tools = host.kernel.tools;
  const cases: Array<[unknown, string]> = [
    [JSON.parse('{"a": {"constructor": {"prototype": {"polluted": true}}}}'), "a.constructor"],
    [JSON.parse('{"__proto__": {"polluted": true}}'), "__proto__"],
    [{ list: [1, { nested: [{ prototype: 1 }] }] }, "list[1].nested[0].prototype"],
  ];
  for (const [args, path] of cases) {
    const { runId, result } = await tools.call("patient__echo_keys", args, who);
    assert.equal(!result.ok && result.error.code, "TOOLS_ARGS_INVALID", JSON.stringify(result));
    assert.match(
      !result.ok ? result.error.message : "",
      new RegExp(`: ${path.replace(/[[\].]/g, "\\$&")}: the key`),
    );
    const run = await tools.getRun(runId!);
    assert.equal(run.status, "failed");
    assert.equal(run.error_code, "TOOLS_ARGS_INVALID");
  }
  const direct = await host.request("/api/tools/patient__echo_keys/runs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"args": {"options": {"constructor": 1}}}',
  });
  assert.equal(direct.status, 400);
  const body = await direct.json();
  assert.equal(body.error.code, "TOOLS_ARGS_INVALID");
  assert.equal(body.error.field, "options.constructor");

  const after = await plugin(host, "patient");
  assert.equal(after.state, "running");
  assert.equal(after.crashes_recent, 0);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const fine = await tools.call("patient__echo_keys", { a: 1, b: { c: 2 } }, who);
  assert.deepEqual(fine.result, { ok: true, data: ["a", "b"], truncated: false });
});

Deno.test("cancelling a plugin's running call ends the run as cancelled; the process keeps running, drops the late answer and counts no crash", async () => {
  await using host = await createTestHost({ config: { plugins: [PATIENT] } });
  const tools = host.kernel.tools;
  assert.equal((await plugin(host, "patient")).state, "running");

  // Through the API's cancel.
  const inPlugin = nextLog(host, napping(300));
  const started = await tools.startRun("patient__nap", { ms: 300 }, who);
  await inPlugin;
  await tools.cancel(started.run.id, "op");
  const result = await started.result;
  assert.equal(!result.ok && result.error.code, "TOOLS_CANCELLED", JSON.stringify(result));
  assert.equal((await tools.getRun(started.run.id)).status, "cancelled");
  const kept = await plugin(host, "patient");
  assert.equal(kept.state, "running", JSON.stringify(kept.last_error));
  assert.equal(kept.crashes_recent, 0);

  // Through the request's signal, as when a turn is cancelled.
  const turn = new AbortController();
  const inPluginAgain = nextLog(host, napping(301));
  const call = tools.call("patient__nap", { ms: 301 }, { ...who, signal: turn.signal });
  await inPluginAgain;
  turn.abort();
  const aborted = await call;
  assert.equal(!aborted.result.ok && aborted.result.error.code, "TOOLS_CANCELLED");

  // Answers arrive in timer order: both late answers come (and are dropped) before this one.
  const later = await tools.call("patient__nap", { ms: 600 }, who);
  assert.deepEqual(later.result, { ok: true, data: "rested 600 ms", truncated: false });
  const after = await plugin(host, "patient");
  assert.equal(after.state, "running");
  assert.equal(after.crashes_recent, 0);
  assert.equal(after.last_error, null);
});

/** The patient plugin's bundle, as `plugins:prepare` makes it. */
function bundlePatient(dataDir: string): Promise<string> {
  return bundlePlugin(PLUGIN_ENTRY.parse(PATIENT), {
    dataDir,
    baseDir: Deno.cwd(),
    runtime: {
      cwd: Deno.cwd(),
      prlimitPath: null,
      env: Object.fromEntries(
        BUNDLE_ENV_NAMES.flatMap((name) => {
          const value = Deno.env.get(name);
          return value === undefined ? [] : [[name, value]];
        }),
      ),
    },
  });
}

const SANDBOX = {
  memoryLimitBytes: 2 * 1024 ** 3,
  heapMiB: 128,
  maxFrameBytes: 4 * 1024 * 1024,
  prlimitPath: null,
  denoPath: null,
};

/** Calls a tool of a launched plugin process directly. */
async function callTool(
  process: SandboxProcess,
  tool: string,
  args: Record<string, unknown>,
  options: Omit<SandboxRequestOptions, "timeoutMs"> & { timeoutMs?: number } = {},
) {
  const callId = crypto.randomUUID();
  return await process.request({ type: "tool.call", callId, tool, args }, callId, {
    timeoutMs: 5_000,
    ...options,
  });
}

Deno.test("a plugin's process gets the granted variables' values, nothing else, and runs in an empty folder of its own", async () => {
  const dataDir = await makeTestDir("synth-patient-");
  try {
    const code = await bundlePatient(dataDir);
    // The folder the launch makes for it, which it may read.
    const folder = join(dataDir, "sandbox", "plugins", "patient");
    const asked: string[] = [];
    const { process } = await launchPlugin({
      entry: PLUGIN_ENTRY.parse(PATIENT),
      grants: { net: [], read: [folder], write: [], env: ["SYNTH_TEST_PLUGIN_VAR"], run: [] },
      code,
      baseDir: Deno.cwd(),
      dataDir,
      sandbox: SANDBOX,
      env: (name) => {
        asked.push(name);
        return { SYNTH_TEST_PLUGIN_VAR: "from the host", SYNTH_OTHER: "secret" }[name];
      },
    });
    try {
      const read = async (name: string) => outcomeOf(await callTool(process, "read_var", { name }));
      assert.deepEqual(await read("SYNTH_TEST_PLUGIN_VAR"), { ok: true, data: "from the host" });
      const other = await read("SYNTH_OTHER");
      assert.equal(other.ok, false);
      assert.match(!other.ok ? other.error.message : "", /Requires env access/);
      assert.deepEqual(asked, ["SYNTH_TEST_PLUGIN_VAR"], "only granted names are looked up");
      assert.deepEqual(outcomeOf(await callTool(process, "cwd", {})), { ok: true, data: folder });
    } finally {
      await process.shutdown();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a plugin request given up on (its deadline passed softly, or abandoned on abort) leaves the process running and drops the late answer; an abandoned call past its deadline still gets the process killed", async () => {
  const dataDir = await makeTestDir("synth-patient-");
  try {
    /** Resolvers of log lines awaited (the plugin logs when a nap starts). */
    const logged = new Map<string, () => void>();
    const whenLogged = (message: string) => {
      const { promise, resolve } = Promise.withResolvers<void>();
      logged.set(message, resolve);
      return promise;
    };
    const { process } = await launchPlugin({
      entry: PLUGIN_ENTRY.parse(PATIENT),
      grants: { net: [], read: [], write: [], env: ["SYNTH_TEST_PLUGIN_VAR"], run: [] },
      code: await bundlePatient(dataDir),
      baseDir: Deno.cwd(),
      dataDir,
      sandbox: SANDBOX,
      onLog: (_level, message) => {
        logged.get(message)?.();
        return true;
      },
    });
    try {
      // The way prompt notes are asked for: past the deadline the answer is ignored.
      const late = await callTool(process, "nap", { ms: 200 }, {
        timeoutMs: 20,
        onTimeout: "late",
      });
      assert.deepEqual(late, { type: "__late" });
      const aborting = new AbortController();
      const napping = whenLogged("napping 250 ms");
      const abandoned = callTool(process, "nap", { ms: 250 }, {
        signal: aborting.signal,
        onAbort: "abandon",
      });
      await napping;
      aborting.abort();
      await assert.rejects(
        abandoned,
        (error: { code?: string }) => error.code === "TOOLS_CANCELLED",
      );
      // Both late answers come first (timer order) and are dropped, not taken for a breach.
      const next = outcomeOf(await callTool(process, "nap", { ms: 500 }));
      assert.deepEqual(next, { ok: true, data: "rested 500 ms" });
      assert.equal(process.alive, true);
      assert.equal(process.killedFor, null);

      // An abandoned call still running past its deadline gets the process killed, as any call.
      const stuck = new AbortController();
      const sleeping = whenLogged("napping 5000 ms");
      const overdue = callTool(process, "nap", { ms: 5_000 }, {
        timeoutMs: 200,
        signal: stuck.signal,
        onAbort: "abandon",
      });
      await sleeping;
      stuck.abort();
      await assert.rejects(overdue, (error: { code?: string }) => error.code === "TOOLS_CANCELLED");
      await process.ended;
      assert.equal(process.killedFor, "timeout");
    } finally {
      await process.shutdown();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the plugin host starts each plugin in <dataDir>/sandbox/plugins/<id>/, created empty", async () => {
  const dataDir = await makeTestDir("synth-patient-");
  try {
    const folder = join(dataDir, "sandbox", "plugins", "patient");
    await using host = await createTestHost({
      dataDir,
      config: {
        plugins: [{ ...PATIENT, permissions: { ...PATIENT.permissions, read: [folder] } }],
      },
    });
    assert.equal((await plugin(host, "patient")).state, "running");
    const cwd = await host.kernel.tools.call("patient__cwd", {}, who);
    assert.deepEqual(cwd.result, { ok: true, data: folder, truncated: false });
    const entries = [];
    for await (const entry of Deno.readDir(folder)) entries.push(entry.name);
    assert.deepEqual(entries, []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
