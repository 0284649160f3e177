import assert from "node:assert/strict";
import { definePlugin } from "../plugin/define.ts";
import type { AnyPlugin } from "../plugin/types.ts";
import { createTestHost } from "../testing/test_host.ts";
import type { CheckResult } from "../telemetry/health.ts";

function checkPlugin(name: string, check: () => CheckResult | Promise<CheckResult>): AnyPlugin {
  return definePlugin({
    manifest: { id: `check_${name}`, version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.health.register(name, check);
    },
  });
}

Deno.test("GET /health/live answers 200 alive with a timestamp", async () => {
  await using host = await createTestHost();
  const response = await host.request("/health/live");
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    status: "alive",
    timestamp: new Date(host.clock.now()).toISOString(),
  });
});

Deno.test("GET /health/ready is 503 without a language model provider, naming what to set", async () => {
  await using host = await createTestHost();
  // The server warms the probe at start; here it runs on demand.
  assert.equal((await host.kernel.sandbox.probeNow()).status, "ok");
  const response = await host.request("/health/ready");
  assert.equal(response.status, 503);
  const body = await response.json();
  assert.equal(
    body.reason,
    "llm: no provider configured: set ANTHROPIC_API_KEY, OPENAI_API_KEY (optionally OPENAI_BASE_URL) or OLLAMA_HOST",
  );
  assert.deepEqual(Object.keys(body.checks), [
    "config",
    "plugins",
    "llm",
    "sandbox",
    "third_party_plugins",
    "disk",
    "database",
    "migrations",
  ]);
  assert.deepEqual(
    { status: body.checks.sandbox.status, reason: body.checks.sandbox.reason },
    { status: "ok", reason: "probe call ok" },
    "a real probe call ran in the sandbox",
  );
  for (const name of ["config", "plugins", "database", "migrations"]) {
    assert.equal(body.checks[name].status, "ok", name);
  }
});

Deno.test("GET /health/ready is 200 with the kernel's checks when the LLM is not required", async () => {
  await using host = await createTestHost({
    config: { health: { readyRequires: ["config", "plugins", "database", "migrations"] } },
  });
  const response = await host.request("/health/ready");
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.status, "ready");
  assert.equal(body.checks.config.status, "ok");
  assert.equal(body.checks.plugins.status, "ok");
  assert.equal(body.checks.plugins.reason, "0 running");
  assert.equal(body.checks.database.status, "ok");
  assert.match(body.checks.migrations.reason, /^at version \d+$/);
});

Deno.test("GET /health/ready is 503 naming the first failing required check", async () => {
  await using host = await createTestHost({
    plugins: [checkPlugin("quota", () => ({ status: "fail", reason: "used 120 of 100 MiB" }))],
    config: { health: { readyRequires: ["config", "plugins", "quota"] } },
  });
  const response = await host.request("/health/ready");
  assert.equal(response.status, 503);
  const body = await response.json();
  assert.equal(body.status, "not_ready");
  assert.equal(body.reason, "quota: used 120 of 100 MiB");
  assert.equal(body.checks.quota.status, "fail");
  assert.equal(body.checks.quota.required, true);
});

Deno.test("a check that throws fails with its message as the reason", async () => {
  await using host = await createTestHost({
    plugins: [checkPlugin("cache", () => {
      throw new Error("cache is locked");
    })],
    config: { health: { readyRequires: ["cache"] } },
  });
  const body = await (await host.request("/health/ready")).json();
  assert.equal(body.reason, "cache: cache is locked");
});

Deno.test("a check slower than health.checkTimeoutMs fails with a timeout reason", async () => {
  await using host = await createTestHost({
    plugins: [checkPlugin("webhooks", () => new Promise<CheckResult>(() => {}))],
    config: { health: { checkTimeoutMs: 1_500, readyRequires: ["webhooks"] } },
  });
  const pending = host.request("/health/ready");
  await host.clock.untilTimer((ms) => ms === 1_500); // the checks' time limits are set
  await host.clock.tick(1_500);
  const response = await pending;
  assert.equal(response.status, 503);
  assert.equal((await response.json()).reason, "webhooks: no answer within 1500 ms");
});

Deno.test("health.readyRequires picks which checks gate readiness; the rest still show", async () => {
  await using host = await createTestHost({
    config: { health: { readyRequires: ["config", "plugins"] } },
  });
  const ready = await host.request("/health/ready");
  assert.equal(ready.status, 200);
  const report = await host.request("/health");
  assert.equal(report.status, 200);
  const body = await report.json();
  assert.equal(body.status, "degraded");
  assert.deepEqual(body.checks.llm, {
    status: "fail",
    required: false,
    reason:
      "no provider configured: set ANTHROPIC_API_KEY, OPENAI_API_KEY (optionally OPENAI_BASE_URL) or OLLAMA_HOST",
    latency_ms: body.checks.llm.latency_ms,
  });
});

Deno.test("GET /health reports version, uptime, checks and the effective permissions", async () => {
  await using host = await createTestHost({
    config: { health: { readyRequires: ["config", "plugins", "database", "migrations"] } },
  });
  await host.clock.tick(65_000);
  const response = await host.request("/health");
  assert.equal(response.status, 200);
  const body = await response.json();
  const { default: denoJson } = await import("../../deno.json", { with: { type: "json" } });
  assert.equal(body.status, "degraded", "an optional check (llm) fails");
  assert.equal(body.version, denoJson.version);
  assert.equal(body.uptime_s, 65);
  assert.deepEqual(Object.keys(body.checks), [
    "config",
    "plugins",
    "llm",
    "sandbox",
    "third_party_plugins",
    "disk",
    "database",
    "migrations",
  ]);
  const write = body.permissions.find((entry: { permission: string; target: string }) =>
    entry.permission === "write" && entry.target === host.dataDir
  );
  assert.deepEqual(write, {
    permission: "write",
    target: host.dataDir,
    state: "granted",
    allowed: true,
  });
  const ffi = body.permissions.find((entry: { permission: string }) => entry.permission === "ffi");
  assert.equal(ffi.allowed, false, "the test permission set grants no ffi");
});

Deno.test("GET /health is 503 unhealthy when a required check fails", async () => {
  await using host = await createTestHost({
    plugins: [checkPlugin("webhooks", () => ({ status: "fail", reason: "no endpoint answers" }))],
  });
  const response = await host.request("/health");
  assert.equal(response.status, 503);
  assert.equal((await response.json()).status, "unhealthy");
});

Deno.test("readiness fails at once when shutdown begins", async () => {
  await using host = await createTestHost();
  host.kernel.beginStopping();
  const response = await host.request("/health/ready");
  assert.equal(response.status, 503);
  assert.equal((await response.json()).reason, "shutdown: the server is stopping");
  assert.equal((await host.request("/health/live")).status, 200);
});

Deno.test("the plugins check fails until the plugins are running", async () => {
  await using host = await createTestHost({
    start: false,
    config: { health: { readyRequires: ["config", "plugins", "database", "migrations"] } },
  });
  const before = await (await host.request("/health/ready")).json();
  assert.equal(before.reason, "plugins: plugins are not set up yet");
  await host.kernel.start();
  assert.equal((await host.request("/health/ready")).status, 200);
});

Deno.test("a plugin cannot register a check name twice", async () => {
  await assert.rejects(
    () =>
      createTestHost({
        plugins: [checkPlugin("config", () => ({ status: "ok" }))],
      }),
    /health check "config": the name is taken/,
  );
});

Deno.test("a required check that no one registered fails readiness instead of being skipped", async () => {
  await using host = await createTestHost({
    config: { health: { readyRequires: ["config", "databse"] } },
  });
  const response = await host.request("/health/ready");
  assert.equal(response.status, 503);
  assert.equal((await response.json()).reason, "databse: no check with this name is registered");
});

Deno.test("the disk check fails readiness when free space is under health.minFreeDiskBytes, naming both", async () => {
  await using host = await createTestHost({
    config: { health: { minFreeDiskBytes: Number.MAX_SAFE_INTEGER, readyRequires: ["disk"] } },
  });
  const response = await host.request("/health/ready");
  assert.equal(response.status, 503);
  const body = await response.json();
  assert.match(body.reason, /^disk: free \d+ MiB < \d+ MiB$/);
  await using roomy = await createTestHost({ config: { health: { readyRequires: ["disk"] } } });
  const ok = await roomy.request("/health/ready");
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});
