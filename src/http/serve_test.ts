import assert from "node:assert/strict";
import { definePlugin } from "../plugin/define.ts";
import type { AnyPlugin } from "../plugin/types.ts";
import { createTestHost } from "../testing/test_host.ts";
import { ListenError, serveKernel } from "./serve.ts";

function stopRecorder(id: string, events: string[], dependsOn: string[] = []): AnyPlugin {
  return definePlugin({
    manifest: { id, version: "1.0.0", isolation: "in_process", dependsOn },
    setup() {},
    stop() {
      events.push(`stop:${id}`);
    },
  });
}

Deno.test("shutdown lets in-flight requests finish, refuses new ones, then stops plugins in reverse", async () => {
  const events: string[] = [];
  const entered = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const slow = definePlugin({
    manifest: { id: "slow", version: "1.0.0", isolation: "in_process", dependsOn: ["b"] },
    setup(ctx) {
      ctx.http.get("/wait", async (c) => {
        entered.resolve();
        await release.promise;
        events.push("request finished");
        return c.text("done");
      });
    },
    stop() {
      events.push("stop:slow");
    },
  });
  await using host = await createTestHost({
    plugins: [slow, stopRecorder("b", events, ["a"]), stopRecorder("a", events)],
  });
  const server = host.listen();
  const inFlight = fetch(`${server.url}/api/slow/wait`);
  await entered.promise;

  const shutdown = host.close();
  const ready = await host.request("/health/ready");
  assert.equal(ready.status, 503, "readiness fails as soon as shutdown begins");
  await ready.body?.cancel();

  using client = Deno.createHttpClient({});
  await assert.rejects(
    () => fetch(`${server.url}/health/live`, { client }),
    "the listener no longer accepts connections",
  );
  assert.deepEqual(events, [], "no plugin stops while a request is in flight");

  release.resolve();
  const response = await inFlight;
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "done");
  await shutdown;
  assert.deepEqual(events, ["request finished", "stop:slow", "stop:b", "stop:a"]);
  assert.ok(host.logs.some((record) => record.msg === "stopped"));
});

Deno.test("shutdown goes on after the grace time when a request never finishes", async () => {
  const events: string[] = [];
  const entered = Promise.withResolvers<void>();
  const stuck = definePlugin({
    manifest: { id: "stuck", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.http.get("/forever", async () => {
        entered.resolve();
        return await new Promise<Response>(() => {});
      });
    },
    stop() {
      events.push("stop:stuck");
    },
  });
  await using host = await createTestHost({
    plugins: [stuck],
    config: { server: { shutdownGraceMs: 3_000 } },
  });
  const server = host.listen();
  const controller = new AbortController();
  const request = fetch(`${server.url}/api/stuck/forever`, { signal: controller.signal }).catch(
    () => "aborted",
  );
  await entered.promise;
  const shutdown = server.shutdown();
  await host.clock.untilTimers(1);
  assert.deepEqual(events, []);
  await host.clock.tick(3_000);
  await shutdown;
  assert.deepEqual(events, ["stop:stuck"]);
  const warning = host.logs.find((record) =>
    record.msg === "stopping with requests still in flight" && record.level === "warn"
  );
  assert.ok(warning);
  assert.match(String(warning.reason), /did not finish within 3000 ms/);
  assert.ok(!("error" in warning), "an expected end is logged without a stack");
  controller.abort();
  assert.equal(await request, "aborted");
  await host.close();
});

Deno.test("listening on a taken port fails with a message saying what to change", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using host = await createTestHost();
  assert.throws(
    () =>
      serveKernel(host.kernel, {
        hostname: "127.0.0.1",
        port: taken.addr.port,
        shutdownGraceMs: 0,
      }),
    (error: unknown) => {
      assert.ok(error instanceof ListenError);
      assert.equal(
        error.message,
        `Cannot listen on 127.0.0.1:${taken.addr.port}: the address is already in use. Stop the other process or choose another port with --port, PORT or server.port`,
      );
      return true;
    },
  );
});
