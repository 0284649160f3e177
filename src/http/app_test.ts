import assert from "node:assert/strict";
import { AppError } from "../errors.ts";
import { definePlugin } from "../plugin/define.ts";
import { defineHook } from "../plugin/hooks.ts";
import { createTestHost } from "../testing/test_host.ts";
import { createLogger } from "../telemetry/logger.ts";
import { createApp } from "./app.ts";
import { queryInt, readJson, readQuery } from "./validate.ts";
import { z } from "zod";

const failing = definePlugin({
  manifest: { id: "failing", version: "1.0.0", isolation: "in_process" },
  setup(ctx) {
    ctx.http.get("/coded", () => {
      throw new AppError("FAILING_TOO_LONG", "The name is longer than 40 characters", {
        status: 400,
        field: "name",
        details: { max: 40 },
      });
    });
    ctx.http.get("/crash", () => {
      throw new Error("secret /var/lib/db path in exception text");
    });
    ctx.http.get("/raw", () => new Response("raw"));
    const render = defineHook<string>("failing.render", "sequential");
    ctx.hooks.on(render, () => {
      throw new Error("open /var/lib/synth/secret.db failed, password=hunter2");
    });
    ctx.http.get("/hook", async (c) => c.text(await ctx.hooks.sequential(render, "x")));
  },
});

const queries = definePlugin({
  manifest: { id: "queries", version: "1.0.0", isolation: "in_process" },
  setup(ctx) {
    ctx.http.get("/list", (c) => {
      readQuery(c, z.strictObject({ limit: queryInt({ min: 1, max: 200 }).optional() }));
      return c.json({ ok: true });
    });
    ctx.http.post("/list", async (c) => {
      await readJson(c, z.strictObject({ name: z.string() }));
      return c.json({ ok: true });
    });
  },
});

Deno.test("a coded AppError becomes its status and the uniform error body", async () => {
  await using host = await createTestHost({ plugins: [failing] });
  const response = await host.request("/api/failing/coded", {
    headers: { "x-request-id": "req-123" },
  });
  assert.equal(response.status, 400);
  assert.deepEqual(await response.json(), {
    success: false,
    error: {
      code: "FAILING_TOO_LONG",
      message: "The name is longer than 40 characters",
      field: "name",
      details: { max: 40 },
      request_id: "req-123",
    },
  });
});

Deno.test("an unexpected error is 500 INTERNAL without its text, logged with the stack", async () => {
  await using host = await createTestHost({ plugins: [failing] });
  const response = await host.request("/api/failing/crash");
  assert.equal(response.status, 500);
  const text = await response.text();
  assert.ok(!text.includes("secret"), "the exception text must not reach the client");
  const body = JSON.parse(text);
  assert.equal(body.error.code, "INTERNAL");
  const logged = host.logs.find((record) => record.msg === "request failed");
  assert.equal(logged?.level, "error");
  assert.equal(logged?.request_id, body.error.request_id);
  assert.match(String((logged?.error as { stack?: string }).stack), /secret \/var\/lib\/db/);
});

Deno.test("unknown paths are 404 NOT_FOUND in the error shape", async () => {
  await using host = await createTestHost();
  const response = await host.request("/api/nothing-here");
  assert.equal(response.status, 404);
  const body = await response.json();
  assert.equal(body.success, false);
  assert.equal(body.error.code, "NOT_FOUND");
  assert.equal(body.error.request_id, response.headers.get("x-request-id"));
});

Deno.test("a known path asked with another method is 405 METHOD_NOT_ALLOWED with Allow", async () => {
  await using host = await createTestHost({ plugins: [failing] });
  const response = await host.request("/api/failing/coded", { method: "PUT" });
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "GET, HEAD, OPTIONS");
  const body = await response.json();
  assert.equal(body.error.code, "METHOD_NOT_ALLOWED");
  assert.deepEqual(body.error.details, { allowed: ["GET", "HEAD", "OPTIONS"] });
  // OPTIONS (no CORS configured) names the methods instead of refusing.
  const options = await host.request("/api/failing/coded", { method: "OPTIONS" });
  assert.equal(options.status, 204);
  assert.equal(options.headers.get("allow"), "GET, HEAD, OPTIONS");
  const optionsMissing = await host.request("/api/nothing-here", { method: "OPTIONS" });
  assert.equal(optionsMissing.status, 404);
  await optionsMissing.body?.cancel();
  // Middleware runs for every method but is no route: an unknown path stays 404 for any method.
  // The same through a host acting as another caller.
  const asOther = await host.as({ userId: "usr_other", role: "viewer" }).request(
    "/api/failing/coded",
    { method: "DELETE" },
  );
  assert.equal(asOther.status, 405);
  await asOther.body?.cancel();
  const missing = await host.request("/api/nothing-here", { method: "DELETE" });
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("a bad query parameter or an unknown key is named in the message and in field", async () => {
  await using host = await createTestHost({ plugins: [queries] });
  const unknown = await (await host.request("/api/queries/list?cursor=x")).json();
  assert.equal(unknown.error.code, "VALIDATION_FAILED");
  assert.equal(unknown.error.field, "cursor");
  assert.match(unknown.error.message, /^The request is invalid at query parameter cursor: /);
  const wrong = await (await host.request("/api/queries/list?limit=abc")).json();
  assert.equal(wrong.error.field, "limit");
  assert.equal(
    wrong.error.message,
    "The request is invalid at query parameter limit: must be a whole number in decimal digits",
  );
  // Text that Number() would read as a number is refused too: 0x10 is not 16, 1e2 not 100.
  for (const text of ["0x10", "1e2", "%205", "", "1.5"]) {
    const body = await (await host.request(`/api/queries/list?limit=${text}`)).json();
    assert.equal(body.error?.field, "limit", `limit=${text}`);
  }
  // A number out of range says which bound it crossed.
  for (const [text, said] of [["0", "at least 1"], ["-1", "at least 1"], ["201", "at most 200"]]) {
    const body = await (await host.request(`/api/queries/list?limit=${text}`)).json();
    assert.equal(
      body.error.message,
      `The request is invalid at query parameter limit: must be ${said}`,
      `limit=${text}`,
    );
  }
  const fine = await host.request("/api/queries/list?limit=16");
  assert.equal(fine.status, 200);
  await fine.body?.cancel();
  // A parameter given twice is refused, naming it: which value counts would be a guess.
  const twice = await (await host.request("/api/queries/list?limit=5&limit=7")).json();
  assert.equal(twice.error.field, "limit");
  assert.equal(
    twice.error.message,
    "The request is invalid at query parameter limit: is given more than once",
  );
  const extra = await (await host.request("/api/queries/list", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "a", extra: 1 }),
  })).json();
  assert.equal(extra.error.field, "extra");
  assert.match(extra.error.message, /^The request is invalid at extra: /);
});

Deno.test("a valid inbound X-Request-Id is kept; an invalid one is replaced", async () => {
  await using host = await createTestHost({ plugins: [failing] });
  const kept = await host.request("/health/live", { headers: { "x-request-id": "abc.DEF_1-2" } });
  assert.equal(kept.headers.get("x-request-id"), "abc.DEF_1-2");
  await kept.body?.cancel();
  const replaced = await host.request("/health/live", {
    headers: { "x-request-id": "bad id with spaces" },
  });
  const id = replaced.headers.get("x-request-id");
  assert.ok(id && id !== "bad id with spaces" && /^[A-Za-z0-9._-]{1,64}$/.test(id));
  await replaced.body?.cancel();
  const tooLong = await host.request("/health/live", {
    headers: { "x-request-id": "x".repeat(65) },
  });
  assert.notEqual(tooLong.headers.get("x-request-id"), "x".repeat(65));
  await tooLong.body?.cancel();
  const raw = await host.request("/api/failing/raw");
  assert.ok(raw.headers.get("x-request-id"), "hand-built responses get the header too");
  await raw.body?.cancel();
});

Deno.test("a failing hook answers 500 INTERNAL without the handler's error text", async () => {
  await using host = await createTestHost({ plugins: [failing] });
  const response = await host.request("/api/failing/hook");
  assert.equal(response.status, 500);
  const text = await response.text();
  assert.ok(!text.includes("hunter2") && !text.includes("secret.db"), text);
  assert.equal(JSON.parse(text).error.code, "INTERNAL");
  const logged = host.logs.find((record) => record.msg === "request failed");
  assert.match(
    String((logged?.error as { message?: string }).message),
    /\[plugin failing\] Hook "failing.render" failed/,
  );
});

Deno.test("a coded 503 AppError keeps its code and fixed message and is logged as a warning", async () => {
  const unavailable = definePlugin({
    manifest: { id: "unavailable", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.http.get("/", () => {
        throw new AppError("UNAVAILABLE_NO_PROVIDER", "No provider is configured", { status: 503 });
      });
    },
  });
  await using host = await createTestHost({ plugins: [unavailable] });
  const response = await host.request("/api/unavailable");
  assert.equal(response.status, 503);
  const body = await response.json();
  assert.equal(body.error.code, "UNAVAILABLE_NO_PROVIDER");
  assert.equal(body.error.message, "No provider is configured");
  const record = host.logs.find((item) => item.msg === "request failed upstream");
  assert.equal(record?.level, "warn");
  assert.equal(record?.code, "UNAVAILABLE_NO_PROVIDER");
  assert.equal(record?.error, undefined, "no stack for an unavailable upstream");
});

Deno.test("a browser's page request reaches the dashboard's page only where no route is: a protected route outside /api keeps its sign-in", async () => {
  const app = createApp({
    log: createLogger({ sink: () => {} }),
    // Sign-in on and not ready: any path that is not public is 503 NOT_READY.
    auth: { enabled: true, service: () => null },
    page: (c) => Promise.resolve(c.html("<p>the dashboard</p>")),
  });
  app.get("/private", (c) => c.text("secret"));
  const html = { accept: "text/html" };
  const page = await app.request("/no-such-page", { headers: html });
  assert.equal(page.status, 200);
  assert.equal(await page.text(), "<p>the dashboard</p>");
  const guarded = await app.request("/private", { headers: html });
  assert.equal(guarded.status, 503);
  assert.equal((await guarded.json()).error.code, "NOT_READY");
});
