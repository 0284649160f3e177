import assert from "node:assert/strict";
import { ConfigError } from "@synth/kernel";
import { createTestHost } from "@synth/testing";
import { helloLoudPlugin } from "../hello_loud/mod.ts";
import { helloPlugin } from "./mod.ts";

Deno.test("the example plugin serves its route with its config section", async () => {
  await using host = await createTestHost({
    plugins: [helloPlugin],
    config: { hello: { greeting: "Good morning" } },
  });
  const response = await host.request("/api/hello?name=Ada");
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { message: "Good morning, Ada" });
});

Deno.test("a dependent plugin amends the greeting through the hook", async () => {
  await using host = await createTestHost({
    plugins: [helloLoudPlugin, helloPlugin],
    config: { hello_loud: { suffix: "!!" } },
  });
  assert.deepEqual(host.kernel.host.order, ["hello", "hello_loud"]);
  const response = await host.request("/api/hello?name=Ada");
  assert.deepEqual(await response.json(), { message: "HELLO, ADA!!" });
});

Deno.test("the example plugin publishes an event and reports a health check", async () => {
  await using host = await createTestHost({ plugins: [helloPlugin] });
  const events: unknown[] = [];
  host.kernel.bus.subscribe(
    "hello.greeted",
    (event) => void events.push([event.source, event.data]),
  );
  await (await host.request("/api/hello?name=Grace")).body?.cancel();
  assert.deepEqual(events, [["hello", { name: "Grace" }]]);
  const health = await (await host.request("/health")).json();
  assert.deepEqual(
    { status: health.checks.hello.status, reason: health.checks.hello.reason },
    { status: "ok", reason: "served 1 greeting" },
  );
});

Deno.test("bad input to the example route is a 400 naming the field", async () => {
  await using host = await createTestHost({
    plugins: [helloPlugin],
    config: { hello: { maxNameLength: 3 } },
  });
  const response = await host.request("/api/hello?name=Alexandra");
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.equal(body.error.code, "HELLO_NAME_TOO_LONG");
  assert.equal(body.error.field, "name");
});

Deno.test("the secret admin token guards changing the greeting", async () => {
  const token = "example-admin-token-0123456789";
  await using host = await createTestHost({
    plugins: [helloPlugin],
    env: { SYNTH_HELLO_ADMIN_TOKEN: token },
  });
  const put = (authorization: string) =>
    host.request("/api/hello/greeting", {
      method: "PUT",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify({ greeting: "Howdy" }),
    });
  const denied = await put("Bearer wrong");
  assert.equal(denied.status, 403);
  await denied.body?.cancel();
  const allowed = await put(`Bearer ${token}`);
  assert.equal(allowed.status, 200);
  await allowed.body?.cancel();
  assert.deepEqual(await (await host.request("/api/hello?name=Ada")).json(), {
    message: "Howdy, Ada",
  });
});

Deno.test("an unknown key in the example's config section names the key", async () => {
  await assert.rejects(
    () => createTestHost({ plugins: [helloPlugin], config: { hello: { greting: "Hi" } } }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message.startsWith(
        "config: hello.greting is not a known key (expected one of: greeting, maxNameLength, adminToken;",
      ),
  );
});

Deno.test("the dependent plugin cannot load without the plugin it depends on", async () => {
  await assert.rejects(
    () => createTestHost({ plugins: [helloLoudPlugin] }),
    /\[plugin hello_loud\] Cannot load: it depends on "hello", which is not loaded; add "hello" to the plugin list or remove it from dependsOn/,
  );
});

Deno.test("the example plugin's routes are in the OpenAPI document", async () => {
  await using host = await createTestHost({ plugins: [helloPlugin] });
  const document = await (await host.request("/openapi.json")).json();
  assert.ok(document.paths["/api/hello"]?.get, Object.keys(document.paths).join(", "));
  assert.ok(document.paths["/api/hello/greeting"]?.put);
  assert.equal(document.paths["/api/hello/greeting"].put["x-min-role"], "viewer");
});
