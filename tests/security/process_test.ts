/**
 * Setup and binding through the real start command (spec/server.md §16
 * items 1 and 16).
 */
import assert from "node:assert/strict";
import { makeTestDir, spawnServer } from "@synth/testing";
import { PASSWORD } from "./helpers.ts";

const AUTH_ENV = { SYNTH_AUTH_ENABLED: "true", SYNTH_AUTH_PASSWORD_SCRYPT_LOG_N: "14" };

function setupLines(lines: readonly string[]) {
  return lines.map((line) => JSON.parse(line)).filter((record) => "setup_token" in record);
}

Deno.test("an empty data directory prints a setup token once; setup with it works; a restart prints none", async () => {
  const dataDir = await makeTestDir("synth-setup-");
  try {
    {
      await using server = await spawnServer({ dataDir, env: AUTH_ENV });
      const printed = setupLines(server.stdout);
      assert.equal(printed.length, 1, server.stdout.join("\n"));
      const token = printed[0].setup_token as string;
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      const status = await (await fetch(`${server.url}/api/auth/status`)).json();
      assert.equal(status.setup_required, true);
      const setup = await fetch(`${server.url}/api/auth/setup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ setup_token: token, username: "admin", password: PASSWORD }),
      });
      assert.equal(setup.status, 201);
      const bundle = await setup.json();
      const state = await fetch(`${server.url}/api/state`, {
        headers: { authorization: `Bearer ${bundle.access_token}` },
      });
      assert.equal(state.status, 200);
      await state.body?.cancel();
      assert.equal((await fetch(`${server.url}/api/state`)).status, 401);
      // The secret stays on disk with owner-only permissions.
      const key = await Deno.stat(`${dataDir}/secrets/jwt.key`);
      assert.equal(key.mode! & 0o777, 0o600);
      await server.stop();
    }
    await using again = await spawnServer({ dataDir, env: AUTH_ENV });
    assert.deepEqual(setupLines(again.stdout), [], "no token after setup");
    const status = await (await fetch(`${again.url}/api/auth/status`)).json();
    assert.equal(status.setup_required, false);
    const login = await fetch(`${again.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: PASSWORD }),
    });
    assert.equal(login.status, 200, "the user and the signing key survive a restart");
    await login.body?.cancel();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a network bind without TLS warns, unless a trusted proxy ends TLS in front", async () => {
  const warned = async (env: Record<string, string>) => {
    const server = await spawnServer({
      env: { HOST: "0.0.0.0", SYNTH_AUTH_ENABLED: "true", ...env },
    });
    await server.untilLine("the Host header is not checked");
    await server.stop();
    return server.stdout.some((line) => line.includes("reachable from the network without TLS"));
  };
  assert.equal(await warned({}), true);
  assert.equal(await warned({ SYNTH_SERVER_TRUSTED_PROXIES: "10.0.0.0/8" }), false);
});

Deno.test("SYNTH_DATABASE_URL and SYNTH_REDIS_URL(_FILE), not used yet, are named in a warning at start", async () => {
  const server = await spawnServer({
    env: {
      SYNTH_DATABASE_URL: "postgres://synth:secret@db:5432/synth",
      SYNTH_REDIS_URL_FILE: "/run/secrets/redis_url",
    },
  });
  await server.untilLine("SYNTH_REDIS_URL_FILE is set but not used");
  await server.stop();
  const lines = server.stdout.join("\n");
  assert.match(
    lines,
    /SYNTH_DATABASE_URL is set but not used: this version keeps its data in SQLite/,
  );
  // The URL (and its password) is not repeated in the log.
  assert.doesNotMatch(lines, /secret@db/);
});

Deno.test("HOST=0.0.0.0 with auth disabled exits 78 naming the setting", async () => {
  const server = await spawnServer({
    env: { HOST: "0.0.0.0", SYNTH_AUTH_ENABLED: "false" },
    waitForListening: false,
  });
  const status = await server.status;
  assert.equal(status.code, 78);
  assert.match(server.stderr.join("\n"), /auth\.enabled is false.*loopback/);
});
