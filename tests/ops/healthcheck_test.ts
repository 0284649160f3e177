/**
 * `synth-mind healthcheck` (spec/ops.md §5, §15 item 7): the image's
 * HEALTHCHECK. Against a real server process it exits 0; against a port
 * nothing listens on it exits 1 within its timeout.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { createTestCliIo, makeTestDir, runCli, spawnServer } from "@synth/testing";
import { parseTimeout, probeHost } from "../../src/cli/healthcheck.ts";
import { EXIT } from "../../src/cli/io.ts";
import { portOf, runMain } from "./_cli.ts";

/** A port that was free a moment ago (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === "object");
  return address.port;
}

Deno.test("healthcheck exits 0 against a live server and 1 for --ready while it is not ready", async () => {
  await using server = await spawnServer();
  const port = portOf(server.url);
  const env = { SYNTH_DATA_DIR: server.dataDir, PORT: port };

  const live = await runMain(["healthcheck"], env);
  assert.equal(live.code, EXIT.OK, live.stderr);
  assert.match(
    live.stdout,
    new RegExp(`healthy: http://127\\.0\\.0\\.1:${port}/health/live answered 200`),
  );

  // No language model is configured, so /health/ready answers 503.
  const ready = await runMain(["healthcheck", "--ready"], env);
  assert.equal(ready.code, EXIT.FAILURE);
  assert.match(ready.stderr, /unhealthy: .*\/health\/ready answered 503/);

  // With port 0 configured, the address comes from the data directory.
  const published = await runMain(["healthcheck"], { SYNTH_DATA_DIR: server.dataDir, PORT: "0" });
  assert.equal(published.code, EXIT.OK, published.stderr);
});

Deno.test("with TLS on, healthcheck speaks HTTPS and trusts the configured certificate", async () => {
  const dataDir = await makeTestDir("synth-healthcheck-tls-");
  try {
    const cert = createTestCliIo({ env: { SYNTH_DATA_DIR: dataDir } });
    assert.equal(await runCli(["cert"], cert.io), EXIT.OK, cert.stderr());
    const tls = {
      SYNTH_TLS_CERT_FILE: `${dataDir}/certs/dev.crt`,
      SYNTH_TLS_KEY_FILE: `${dataDir}/certs/dev.key`,
    };
    await using server = await spawnServer({ dataDir, env: tls });
    const run = await runMain(["healthcheck"], {
      ...tls,
      SYNTH_DATA_DIR: dataDir,
      PORT: portOf(server.url),
    });
    assert.equal(run.code, EXIT.OK, run.stderr);
    assert.match(run.stdout, /healthy: https:\/\/127\.0\.0\.1:\d+\/health\/live answered 200/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("healthcheck exits 1 within its timeout when nothing listens", async () => {
  const port = await closedPort();
  const run = await runMain(["healthcheck", "--timeout", "2s"], {
    PORT: String(port),
    SYNTH_DATA_DIR: "./data/.test/healthcheck-none",
  });
  assert.equal(run.code, EXIT.FAILURE);
  assert.match(run.stderr, new RegExp(`unhealthy: http://127\\.0\\.0\\.1:${port}/health/live: `));
  // Process start-up included; the point is that it does not hang.
  assert.ok(run.ms < 15_000, `took ${run.ms} ms`);
});

Deno.test("healthcheck gives up at its timeout when the server never answers", async () => {
  // A listener that accepts and then says nothing.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  try {
    const started = performance.now();
    const io = createTestCliIo({ env: { PORT: String(silent.addr.port) } });
    const code = await runCli(["healthcheck", "--timeout", "300ms"], io.io);
    const ms = performance.now() - started;
    assert.equal(code, EXIT.FAILURE);
    assert.match(io.stderr(), /no answer within 300 ms/);
    assert.ok(ms >= 250 && ms < 5_000, `took ${ms} ms`);
  } finally {
    silent.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test("healthcheck rejects a bad --timeout or flag with the usage (64)", async () => {
  for (
    const args of [["--timeout", "soon"], ["--timeout", "0s"], ["--timeout", "10m"], ["--bogus"]]
  ) {
    const io = createTestCliIo();
    assert.equal(await runCli(["healthcheck", ...args], io.io), EXIT.USAGE, args.join(" "));
    assert.match(io.stderr(), /usage: synth-mind healthcheck/);
  }
});

Deno.test("healthcheck durations and probe addresses", () => {
  assert.equal(parseTimeout("3s"), 3_000);
  assert.equal(parseTimeout("500ms"), 500);
  assert.equal(parseTimeout("1.5s"), 1_500);
  assert.equal(parseTimeout("2"), 2_000);
  assert.equal(parseTimeout("0"), undefined);
  assert.equal(parseTimeout("-1s"), undefined);
  assert.equal(probeHost("0.0.0.0"), "127.0.0.1");
  assert.equal(probeHost("127.0.0.1"), "127.0.0.1");
  assert.equal(probeHost("localhost"), "127.0.0.1");
  assert.equal(probeHost("::"), "[::1]");
  assert.equal(probeHost("[::]"), "[::1]");
  assert.equal(probeHost("10.1.2.3"), "10.1.2.3");
  assert.equal(probeHost("fd00::5"), "[fd00::5]");
});
