import assert from "node:assert/strict";
import { definePlugin } from "../plugin/define.ts";
import { type CliIo, EXIT, type ShutdownSignal } from "./io.ts";
import { runCli } from "./main.ts";

Deno.test("serve shuts down on the first signal and exits 130 on a second one", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "synth-serve-test-" });
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
  const installed = Promise.withResolvers<(signal: ShutdownSignal) => void>();
  const exits: number[] = [];
  const io: CliIo = {
    env: (name) => ({ PORT: "0", SYNTH_DATA_DIR: dataDir, SYNTH_LOG_LEVEL: "error" })[name],
    cwd: new URL("../../tests/fixtures/empty_dir", import.meta.url).pathname,
    appDir: Deno.cwd(),
    stdout: () => {},
    stderr: () => {},
    plugins: [slowStop],
    onSignal(handler) {
      installed.resolve(handler);
      return () => {};
    },
    exit(code) {
      exits.push(code);
      throw new Error(`exit ${code}`);
    },
  };
  try {
    const serving = runCli(["serve"], io);
    const signal = await installed.promise;
    signal("SIGTERM");
    await stopping.promise; // shutdown reached the plugins
    assert.throws(() => signal("SIGINT"), /exit 130/);
    assert.deepEqual(exits, [EXIT.INTERRUPTED]);
    releaseStop.resolve();
    assert.equal(await serving, EXIT.OK);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
