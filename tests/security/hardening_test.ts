/**
 * Attacks an adversarial review found against the first sign-in work, each
 * now refused: parallel guessing past the lockout, password guessing
 * through the own-password route or with an API key, keys minting keys,
 * sockets outliving their credential, resuming a session with a weaker
 * credential, health details for anonymous callers, setup hashing for
 * anyone.
 */
import { SQLITE_MIGRATIONS } from "../../migrations/sqlite/mod.ts";
import assert from "node:assert/strict";
import { connect } from "../ws/client.ts";
import { authHost, call, PASSWORD, setupAdmin, userWithRole } from "./helpers.ts";

Deno.test("a burst of parallel guesses cannot pass the lockout: at most five are checked, then even the right password is refused", async () => {
  await using host = await authHost();
  await setupAdmin(host);
  const before = host.kernel.auth!.hasher.hashes;
  const burst = await Promise.all(
    Array.from({ length: 12 }, () =>
      call(host, "POST", "/api/auth/login", {
        body: { username: "admin", password: "guess guess guess" },
      })),
  );
  const statuses = burst.map((answer) => answer.status);
  assert.equal(statuses.filter((status) => status === 401).length, 5, statuses.join(","));
  assert.equal(statuses.filter((status) => status === 429).length, 7);
  assert.equal(host.kernel.auth!.hasher.hashes - before, 5, "only five hashes ran");
  const right = await call(host, "POST", "/api/auth/login", {
    body: { username: "admin", password: PASSWORD },
  });
  assert.equal(right.status, 429);
});

Deno.test("the own-password route refuses API keys and counts wrong current passwords towards the lockout", async () => {
  await using host = await authHost();
  const admin = await setupAdmin(host);
  const token = admin.access_token as string;
  const key = await call(host, "POST", "/api/keys", {
    token,
    body: { name: "viewer key", role: "viewer" },
  });
  const byKey = await call(host, "PUT", "/api/auth/me/password", {
    token: key.body.key as string,
    body: { current_password: PASSWORD, new_password: "a completely new one" },
  });
  assert.equal(byKey.status, 403);
  assert.equal((byKey.body.error as Record<string, unknown>).code, "AUTH_SIGN_IN_REQUIRED");
  const minted = await call(host, "POST", "/api/keys", {
    token: key.body.key as string,
    body: { name: "forever" },
  });
  assert.equal(minted.status, 403, "a key cannot mint keys");

  for (let i = 0; i < 5; i++) {
    const wrong = await call(host, "PUT", "/api/auth/me/password", {
      token,
      body: { current_password: `wrong guess ${i}`, new_password: "a completely new one" },
    });
    assert.equal(wrong.status, 403);
  }
  const locked = await call(host, "PUT", "/api/auth/me/password", {
    token,
    body: { current_password: PASSWORD, new_password: "a completely new one" },
  });
  assert.equal(locked.status, 429);
  assert.equal((locked.body.error as Record<string, unknown>).code, "AUTH_LOCKED");
});

/** A socket that said hello with `token` and got its welcome. */
async function socketFor(url: string, token: string, topics: string[] = ["notices"]) {
  const client = await connect(url);
  client.send("hello", { token, topics });
  const welcome = await client.next("welcome");
  return { client, welcome };
}

Deno.test("sockets close with 4401 when their key is deleted, their login logs out, or their token expires", async () => {
  await using host = await authHost();
  const admin = await setupAdmin(host);
  const token = admin.access_token as string;
  const server = host.listen();
  const key = await call(host, "POST", "/api/keys", { token, body: { name: "socket" } });
  const byKey = await socketFor(server.url, key.body.key as string);
  const byToken = await socketFor(server.url, token);
  const other = await call(host, "POST", "/api/auth/login", {
    body: { username: "admin", password: PASSWORD },
  });
  const otherLogin = await socketFor(server.url, other.body.access_token as string);

  assert.equal((await call(host, "DELETE", `/api/keys/${key.body.id}`, { token })).status, 204);
  assert.equal(await byKey.client.closed, 4401);
  assert.equal((await call(host, "POST", "/api/auth/logout", { token })).status, 200);
  assert.equal(await byToken.client.closed, 4401);
  // The other login is untouched until its token expires (15 min + the socket's own timer).
  const ping = otherLogin.client.send("ping");
  assert.equal((await otherLogin.client.next("pong")).re, ping);
  await host.clock.tick(900_000);
  assert.equal(await otherLogin.client.closed, 4401);
  await server.shutdown();
});

Deno.test("a session opened by an admin is not resumed by a viewer-role key of the same user", async () => {
  await using host = await authHost();
  const admin = await setupAdmin(host);
  const token = admin.access_token as string;
  const server = host.listen();
  const viewerKey = await call(host, "POST", "/api/keys", {
    token,
    body: { name: "read only", role: "viewer" },
  });
  const first = await socketFor(server.url, token, ["approvals", "notices"]);
  assert.deepEqual(first.welcome.data.topics, ["approvals", "notices"]);
  first.client.close();
  await first.client.closed;
  const second = await connect(server.url);
  second.send("hello", {
    token: viewerKey.body.key,
    resume: { session_id: first.welcome.data.session_id, last_seq: first.welcome.seq },
  });
  const welcome = await second.next("welcome");
  assert.equal(welcome.data.resumed, false);
  assert.ok(!(welcome.data.topics as string[]).includes("approvals"));
  second.close();
  await server.shutdown();
});

Deno.test("anonymous /health shows each check's status only; an admin sees reasons and permissions", async () => {
  await using host = await authHost();
  const admin = await setupAdmin(host);
  const anonymous = await call(host, "GET", "/health");
  const checks = anonymous.body.checks as Record<string, Record<string, unknown>>;
  assert.ok(Object.keys(checks).length > 0);
  for (const check of Object.values(checks)) assert.deepEqual(Object.keys(check), ["status"]);
  assert.equal(anonymous.body.permissions, undefined);
  const viewer = await userWithRole(host, admin.access_token as string, "vera", "viewer");
  const asViewer = await call(host, "GET", "/health", { token: viewer.access_token as string });
  assert.equal(asViewer.body.permissions, undefined);
  const full = await call(host, "GET", "/health", { token: admin.access_token as string });
  assert.equal(
    (full.body.checks as Record<string, Record<string, unknown>>).migrations!.reason,
    `at version ${SQLITE_MIGRATIONS.length}`,
  );
  assert.ok(full.body.permissions);
});

Deno.test("a setup attempt after setup closed, or with a wrong token, costs no hash", async () => {
  await using host = await authHost();
  const hasher = host.kernel.auth!.hasher;
  let before = hasher.hashes;
  const wrong = await call(host, "POST", "/api/auth/setup", {
    body: { setup_token: "w".repeat(43), username: "admin", password: PASSWORD },
  });
  assert.equal(wrong.status, 403);
  assert.equal(hasher.hashes, before);
  await setupAdmin(host);
  before = hasher.hashes;
  const closed = await call(host, "POST", "/api/auth/setup", {
    body: { setup_token: "w".repeat(43), username: "mallory", password: PASSWORD },
  });
  assert.equal(closed.status, 410);
  assert.equal(hasher.hashes, before);
});

Deno.test("with sign-in on, unauthenticated sockets get nothing: no state, no welcome, closed 4401 (also in legacy mode)", async () => {
  await using host = await authHost();
  await setupAdmin(host);
  const server = host.listen();
  const anonymous = await connect(server.url);
  anonymous.send("hello", { topics: ["state", "chat", "notices"] });
  assert.equal(await anonymous.closed, 4401);
  assert.deepEqual(anonymous.received, []);
  const forged = await connect(server.url);
  forged.send("hello", { token: "smk_aaaaaaaa_" + "b".repeat(43) });
  assert.equal(await forged.closed, 4401);
  assert.deepEqual(forged.received, []);
  // Legacy mode sends its first state_update only after a hello with a valid token.
  const legacy = await connect(server.url, []);
  await host.clock.untilTimer((ms) => ms === 5_000);
  await host.clock.tick(5_000);
  assert.equal(await legacy.closed, 4401);
  assert.deepEqual(legacy.received, []);
  await server.shutdown();
});
