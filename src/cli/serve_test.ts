import assert from "node:assert/strict";
import { definePlugin } from "../plugin/define.ts";
import type { AnyPlugin } from "../plugin/types.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import { makeTestDir } from "../testing/paths.ts";
import { createTestCliIo } from "../testing/cli_io.ts";
import { EXIT } from "./io.ts";
import { runCli } from "./main.ts";
import { DUPLICATE_SIGNAL_MS } from "./serve.ts";

/** `serve` in-process on a free port, with a fake clock and signals the test sends. */
async function serveInProcess(plugins: AnyPlugin[]) {
  const dataDir = await makeTestDir("synth-serve-");
  const test = createTestCliIo({
    env: { PORT: "0", SYNTH_DATA_DIR: dataDir, SYNTH_LOG_LEVEL: "error" },
    plugins,
    clock: new FakeClock(),
  });
  const serving = runCli(["serve"], test.io);
  return {
    serving,
    clock: test.clock,
    exits: test.exits,
    stderr: test.stderr,
    signal: await test.signalHandler,
    [Symbol.asyncDispose]: () => Deno.remove(dataDir, { recursive: true }),
  };
}

Deno.test("serve shuts down on the first signal and exits 130 on a later one", async () => {
  const stopping = Promise.withResolvers<void>();
  const releaseStop = Promise.withResolvers<void>();
  const slowStop = definePlugin({
    manifest: { id: "slow_stop", version: "1.0.0", isolation: "in_process" },
    setup() {},
    async stop() {
      stopping.resolve();
      await releaseStop.promise;
    },
  });
  await using run = await serveInProcess([slowStop]);
  run.signal("SIGTERM");
  await stopping.promise; // shutdown reached the plugins
  await run.clock.tick(DUPLICATE_SIGNAL_MS);
  assert.throws(() => run.signal("SIGINT"), /exit 130/);
  assert.deepEqual(run.exits, [EXIT.INTERRUPTED]);
  releaseStop.resolve();
  assert.equal(await run.serving, EXIT.OK);
});

Deno.test("a signal repeated at once by a wrapper (npx, deno task) is not a second signal", async () => {
  const stopping = Promise.withResolvers<void>();
  const releaseStop = Promise.withResolvers<void>();
  const slowStop = definePlugin({
    manifest: { id: "slow_stop", version: "1.0.0", isolation: "in_process" },
    setup() {},
    async stop() {
      stopping.resolve();
      await releaseStop.promise;
    },
  });
  await using run = await serveInProcess([slowStop]);
  run.signal("SIGINT");
  await stopping.promise;
  await run.clock.tick(DUPLICATE_SIGNAL_MS - 1);
  run.signal("SIGINT");
  run.signal("SIGTERM");
  assert.deepEqual(run.exits, []);
  releaseStop.resolve();
  assert.equal(await run.serving, EXIT.OK);
});

Deno.test("a signal during start-up aborts the plugins' signal and stops without listening", async () => {
  const events: string[] = [];
  const startEntered = Promise.withResolvers<void>();
  const waitsForAbort = definePlugin({
    manifest: { id: "long_start", version: "1.0.0", isolation: "in_process" },
    setup() {},
    async start(ctx) {
      startEntered.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      events.push("start saw abort");
    },
    stop() {
      events.push("stopped");
    },
  });
  await using run = await serveInProcess([waitsForAbort]);
  await startEntered.promise;
  run.signal("SIGTERM");
  assert.equal(await run.serving, EXIT.OK);
  assert.deepEqual(events, ["start saw abort", "stopped"]);
});

Deno.test("a plugin failing in setup exits 1 with its id on stderr", async () => {
  const broken = definePlugin({
    manifest: { id: "broken", version: "1.0.0", isolation: "in_process" },
    setup() {
      throw new Error("templates/ is missing");
    },
  });
  await using run = await serveInProcess([broken]);
  assert.equal(await run.serving, EXIT.FAILURE);
  assert.equal(run.stderr(), "[plugin broken] setup failed: templates/ is missing\n");
});
