/**
 * TLS (spec/server.md §10, §16 item 17): `deno task cert` makes an
 * end-entity certificate (not a CA) for localhost, 127.0.0.1 and ::1; the
 * server speaks HTTPS with it and sends HSTS; a half-configured TLS stops
 * start-up.
 */
import assert from "node:assert/strict";
import { createTestCliIo, FakeClock, makeTestDir, runCli, spawnServer } from "@synth/testing";
import { describeCertificate } from "../../src/security/cert.ts";

Deno.test("deno task cert writes a P-256 certificate with CA:false and the loopback names; HTTPS trusting it works and sends HSTS", async () => {
  const dataDir = await makeTestDir("synth-tls-");
  try {
    // The certificate is made at today's time: the HTTPS server below checks it against the real
    // clock. Its validity is measured on the command's own clock.
    const clock = new FakeClock({ start: Date.now() });
    const cli = createTestCliIo({ env: { SYNTH_DATA_DIR: dataDir }, clock });
    assert.equal(await runCli(["cert", "--host", "synth.test"], cli.io), 0, cli.stderr());
    assert.match(cli.stdout(), /not a CA/);
    const certFile = `${dataDir}/certs/dev.crt`;
    const keyFile = `${dataDir}/certs/dev.key`;
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
    const pem = await Deno.readTextFile(certFile);
    const info = describeCertificate(pem);
    assert.equal(info.ca, false);
    assert.equal(info.serverAuth, true);
    assert.equal(info.algorithm, "ECDSA P-256");
    for (const name of ["DNS:localhost", "IP:127.0.0.1", "DNS:synth.test"]) {
      assert.ok(info.names.includes(name), `${name} in ${info.names.join(", ")}`);
    }
    assert.ok(info.names.some((name) => /^IP:(::1|0:0:0:0:0:0:0:1)$/.test(name)), "IP:::1");
    // X.509 times have whole seconds.
    const days = (info.notAfter.getTime() - clock.now()) / 86_400_000;
    assert.ok(Math.abs(days - 90) < 1 / 86_400, `valid ${days} days`);
    const again = createTestCliIo({ env: { SYNTH_DATA_DIR: dataDir } });
    assert.equal(await runCli(["cert"], again.io), 1, "no silent overwrite");
    assert.match(again.stderr(), /--force/);

    await using server = await spawnServer({
      dataDir,
      env: { SYNTH_TLS_CERT_FILE: certFile, SYNTH_TLS_KEY_FILE: keyFile },
    });
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    using client = Deno.createHttpClient({ caCerts: [pem] });
    for (const host of ["127.0.0.1", "localhost"]) {
      const response = await fetch(server.url.replace("127.0.0.1", host) + "/health/live", {
        client,
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("strict-transport-security"), "max-age=15552000");
      await response.body?.cancel();
    }
    await assert.rejects(fetch(server.url + "/health/live"), "an untrusting client refuses it");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a certificate and key that are not a PEM pair stop start-up with exit 78 before anything starts", async () => {
  const dataDir = await makeTestDir("synth-tls-bad-");
  try {
    const cli = createTestCliIo({ env: { SYNTH_DATA_DIR: dataDir } });
    assert.equal(await runCli(["cert"], cli.io), 0, cli.stderr());
    const other = createTestCliIo({ env: { SYNTH_DATA_DIR: `${dataDir}/other` } });
    assert.equal(await runCli(["cert"], other.io), 0, other.stderr());
    const cert = `${dataDir}/certs/dev.crt`;
    const key = `${dataDir}/certs/dev.key`;
    for (
      const [certFile, keyFile, reason] of [
        [key, cert, /certFile holds no PEM certificate/],
        [cert, cert, /keyFile holds no PEM private key/],
        [cert, `${dataDir}/other/certs/dev.key`, /keyFile is not the certificate's private key/],
      ] as const
    ) {
      const server = await spawnServer({
        dataDir,
        env: { SYNTH_TLS_CERT_FILE: certFile, SYNTH_TLS_KEY_FILE: keyFile },
        waitForListening: false,
      });
      assert.equal((await server.status).code, 78);
      assert.match(server.stderr.join("\n"), reason);
      assert.doesNotMatch(
        server.stdout.join("\n"),
        /migration applied/,
        "refused before the store",
      );
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a certificate without its key stops start-up with exit 78 naming both settings", async () => {
  const server = await spawnServer({
    env: { SYNTH_TLS_CERT_FILE: "/nonexistent/cert.pem" },
    waitForListening: false,
  });
  assert.equal((await server.status).code, 78);
  assert.match(server.stderr.join("\n"), /server\.tls needs both certFile and keyFile/);
});
