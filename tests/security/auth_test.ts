/**
 * Users, logins and tokens (spec/server.md §3, §16 items 1–6, 24).
 */
import assert from "node:assert/strict";
import { isPublicRoute } from "../../src/http/auth.ts";
import { authHost, call, PASSWORD, setupAdmin, userWithRole } from "./helpers.ts";

Deno.test("first-run setup: status says required; without the token 403, with it 201; again 410; the token is single-use", async () => {
  await using host = await authHost();
  const status = await call(host, "GET", "/api/auth/status");
  assert.deepEqual(status.body, {
    enabled: true,
    setup_required: true,
    setup_token_required: true,
    message: "Setup required",
    refresh_cookie: false,
  });
  assert.match(host.kernel.setupToken!, /^[A-Za-z0-9_-]{43}$/);
  const wrong = await call(host, "POST", "/api/auth/setup", {
    body: { setup_token: "x".repeat(43), username: "admin", password: PASSWORD },
  });
  assert.equal(wrong.status, 403);
  assert.equal((wrong.body.error as Record<string, unknown>).code, "AUTH_SETUP_TOKEN_INVALID");
  const weak = await call(host, "POST", "/api/auth/setup", {
    body: { setup_token: host.kernel.setupToken, username: "admin", password: "short" },
  });
  assert.equal(weak.status, 400);
  assert.equal((weak.body.error as Record<string, unknown>).field, "password");

  const bundle = await setupAdmin(host);
  assert.equal(bundle.token_type, "bearer");
  assert.equal(bundle.expires_in, 900);
  assert.match(bundle.refresh_token as string, /^smr_/);
  assert.equal((bundle.user as Record<string, unknown>).role, "admin");
  assert.match((bundle.user as Record<string, unknown>).id as string, /^usr_/);

  const again = await call(host, "POST", "/api/auth/setup", {
    body: { setup_token: host.kernel.setupToken, username: "mallory", password: PASSWORD },
  });
  assert.equal(again.status, 410);
  assert.equal((await call(host, "GET", "/api/auth/setup")).status, 410);
  assert.equal((await call(host, "GET", "/api/auth/status")).body.setup_required, false);
  const tokens = await host.kernel.store.db.selectFrom("auth_setup_tokens").selectAll().execute();
  assert.deepEqual(tokens, [], "the setup token is deleted");
  assert.equal(
    await host.kernel.auth!.openSetup().then((open) => open.open),
    false,
    "never reopens",
  );
});

Deno.test("every router route outside the public list is 401 without credentials, as are unknown and irregular paths", async () => {
  await using host = await authHost();
  await setupAdmin(host);
  const routes = host.app.routes.filter((route) => route.method !== "ALL");
  assert.ok(routes.length > 50, `the router lists its routes (${routes.length})`);
  let checked = 0;
  for (const route of routes) {
    const path = route.path.replace(/:[A-Za-z_]+/g, "x").replace(/\*$/, "x");
    if (isPublicRoute(route.method, path)) continue;
    const response = await host.request(path, { method: route.method });
    assert.equal(response.status, 401, `${route.method} ${path}`);
    assert.equal((await response.json()).error.code, "AUTH_REQUIRED");
    checked++;
  }
  assert.ok(checked > 50);
  for (const path of ["/api/users/", "//api/users", "/api/state/../users", "/API/users", "/nope"]) {
    const response = await host.app.request(new Request(`http://localhost${path}`));
    assert.equal(response.status, 401, path);
  }
  // A bad credential on a public route is ignored; on a protected one it is refused.
  assert.equal((await call(host, "GET", "/health/live", { token: "garbage" })).status, 200);
  const bad = await call(host, "GET", "/api/state", { token: "garbage" });
  assert.equal(bad.status, 401);
  assert.equal((bad.body.error as Record<string, unknown>).code, "AUTH_TOKEN_INVALID");
  // Another scheme says which one is accepted, without repeating what was sent.
  const basic = await host.request("/api/state", {
    headers: { authorization: "Basic YWRhOnNlY3JldA==" },
  });
  assert.equal(basic.status, 401);
  const error = (await basic.json()).error;
  assert.equal(error.code, "AUTH_TOKEN_INVALID");
  assert.match(error.message, /Only the Bearer scheme is accepted/);
  assert.ok(!error.message.includes("YWRh"));
  const live = await host.request("/health/live", { headers: { authorization: "Basic x" } });
  assert.equal(live.status, 200, "public routes ignore it");
});

Deno.test("without credentials, another method on a public path is 405 with Allow; on a protected path it stays 401", async () => {
  await using host = await authHost();
  await setupAdmin(host);
  for (const path of ["/health/live", "/health/ready", "/openapi.json"]) {
    const response = await host.request(path, { method: "POST" });
    assert.equal(response.status, 405, path);
    assert.equal(response.headers.get("allow"), "GET, HEAD, OPTIONS", path);
    assert.equal((await response.json()).error.code, "METHOD_NOT_ALLOWED");
    const options = await host.request(path, { method: "OPTIONS" });
    assert.equal(options.status, 204, path);
    assert.equal(options.headers.get("allow"), "GET, HEAD, OPTIONS", path);
  }
  // Where only POST is public, another method is 405 too, naming POST.
  const login = await host.request("/api/auth/login");
  assert.equal(login.status, 405);
  assert.equal(login.headers.get("allow"), "POST, OPTIONS");
  await login.body?.cancel();
  // A protected path does not tell a stranger which methods it has.
  const state = await host.request("/api/state", { method: "DELETE" });
  assert.equal(state.status, 401);
  assert.equal((await state.json()).error.code, "AUTH_REQUIRED");
  assert.equal(state.headers.get("allow"), null);
});

Deno.test("a browser's mistyped page address gets the dashboard, signed in or not; the API and other callers still get 401 or 404", async () => {
  await using host = await authHost();
  const bundle = await setupAdmin(host);
  const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
  // The dashboard's own answer for a client route: 200 once built, else the 503 page.
  const known = await host.request("/timeline", { headers: html });
  const page = await known.text();
  assert.match(known.headers.get("content-type") ?? "", /^text\/html/);
  for (const token of [undefined, bundle.access_token as string]) {
    const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    for (const path of ["/timelin", "/mind/memroy", "/no/such/page"]) {
      const answer = await host.request(path, { headers: { ...html, ...auth } });
      assert.equal(answer.status, known.status, `${path} ${token ? "signed in" : "anonymous"}`);
      assert.equal(answer.headers.get("cache-control"), "no-cache");
      assert.equal(await answer.text(), page, "the same index.html; its router says Not found");
    }
    const head = await host.request("/timelin", { method: "HEAD", headers: { ...html, ...auth } });
    assert.equal(head.status, known.status);
    await head.body?.cancel();
    // Under /api, with another method, or without text/html: the API's answers, as before.
    const expected = token ? 404 : 401;
    for (
      const [method, path, headers] of [
        ["GET", "/api/nothing-here", html],
        ["GET", "/timelin", { accept: "application/json" }],
        ["GET", "/timelin", {}],
        ["POST", "/timelin", html],
      ] as const
    ) {
      const answer = await call(host, method, path, { headers: { ...headers, ...auth } });
      assert.equal(answer.status, expected, `${method} ${path} ${JSON.stringify(headers)}`);
      const code = (answer.body.error as Record<string, unknown>).code;
      assert.equal(code, token ? "NOT_FOUND" : "AUTH_REQUIRED");
    }
  }
  // A route that exists keeps its own answer and its protection, whatever the client accepts.
  const state = await host.request("/api/state", { headers: html });
  assert.equal(state.status, 401);
  await state.body?.cancel();
});

Deno.test("a viewer runs the commands that only read through POST /api/chat; one that changes something, or a turn, is 403", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const viewer = (await userWithRole(host, admin, "vera", "viewer")).access_token as string;
  const say = (message: string) =>
    call(host, "POST", "/api/chat", { token: viewer, body: { message } });
  const help = await say("/help");
  assert.equal(help.status, 200, JSON.stringify(help.body));
  const listed = help.body.data as Array<{ name: string; role: string }>;
  assert.ok(listed.length > 0);
  assert.deepEqual(
    listed.filter((command) => command.role !== "viewer"),
    [],
    "only what it may run",
  );
  const names = listed.map((command) => command.name);
  for (const name of ["help", "state", "dream", "purpose", "tools", "projects"]) {
    assert.ok(names.includes(name), name);
  }
  for (const name of ["reset", "feedback", "forget", "export", "reflect", "tool", "project"]) {
    assert.ok(!names.includes(name), name);
  }
  assert.equal((await say("/state")).status, 200);
  assert.equal((await say("/dream")).status, 200);
  for (const message of ["/forget thread", "/reset", "/export", "/reflect", "Hello there"]) {
    const refused = await say(message);
    assert.equal(refused.status, 403, message);
    assert.equal((refused.body.error as Record<string, unknown>).code, "FORBIDDEN", message);
  }
});

Deno.test("roles: a viewer reads, an operator chats, only an admin manages users; the last admin cannot be removed", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const viewer = (await userWithRole(host, admin, "vera", "viewer")).access_token as string;
  const operator = (await userWithRole(host, admin, "otto", "operator")).access_token as string;

  assert.equal((await call(host, "GET", "/api/state", { token: viewer })).status, 200);
  assert.equal((await call(host, "GET", "/api/users", { token: viewer })).status, 403);
  assert.equal((await call(host, "GET", "/api/users", { token: operator })).status, 403);
  const forbidden = await call(host, "POST", "/api/reflect", { token: viewer });
  assert.equal(forbidden.status, 403);
  assert.equal((forbidden.body.error as Record<string, unknown>).code, "FORBIDDEN");
  const thread = await call(host, "POST", "/api/threads", { token: operator, body: {} });
  assert.equal(thread.status, 201, JSON.stringify(thread.body));
  assert.equal((await call(host, "POST", "/api/threads", { token: viewer, body: {} })).status, 403);
  const me = await call(host, "GET", "/api/auth/me", { token: operator });
  assert.equal(me.body.username, "otto");
  assert.equal(me.body.role, "operator");
  assert.equal(me.body.auth, "jwt");
  const users = await call(host, "GET", "/api/users", { token: admin });
  assert.deepEqual(
    (users.body.users as Array<Record<string, unknown>>).map((user) => [user.username, user.role]),
    [["admin", "admin"], ["otto", "operator"], ["vera", "viewer"]],
  );

  for (
    const [method, path, body] of [
      ["DELETE", "/api/users/admin", undefined],
      ["PATCH", "/api/users/admin", { active: false }],
      ["PUT", "/api/users/admin/role", { role: "operator" }],
    ] as const
  ) {
    const refused = await call(host, method, path, { token: admin, body });
    assert.equal(refused.status, 409, `${method} ${path}`);
    assert.equal((refused.body.error as Record<string, unknown>).code, "USER_LAST_ADMIN");
  }
  // With a second admin the first may step down.
  await call(host, "PUT", "/api/users/otto/role", { token: admin, body: { role: "admin" } });
  assert.equal(
    (await call(host, "PUT", "/api/users/admin/role", { token: admin, body: { role: "viewer" } }))
      .status,
    200,
  );
});

Deno.test("a password or role change revokes the old access token (AUTH_TOKEN_REVOKED) and closes the user's sockets with 4401", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const bundle = await userWithRole(host, admin, "otto", "operator");
  const token = bundle.access_token as string;
  const server = host.listen();
  const socket = new WebSocket(server.url.replace("http", "ws") + "/ws", ["synth.v1"]);
  const messages: string[] = [];
  const closed = new Promise<number>((
    resolve,
  ) => (socket.onclose = (event) => resolve(event.code)));
  const welcomed = new Promise<void>((resolve) => {
    socket.onmessage = (event) => {
      messages.push(event.data);
      if (JSON.parse(event.data).type === "welcome") resolve();
    };
  });
  await new Promise((resolve) => (socket.onopen = resolve));
  socket.send(JSON.stringify({ type: "hello", seq: 1, data: { token, topics: ["notices"] } }));
  await welcomed;
  assert.equal(JSON.parse(messages[0]!).data.user.username, "otto");

  assert.equal((await call(host, "GET", "/api/state", { token })).status, 200);
  const changed = await call(host, "PUT", "/api/users/otto/role", {
    token: admin,
    body: { role: "viewer" },
  });
  assert.equal(changed.status, 200);
  const old = await call(host, "GET", "/api/state", { token });
  assert.equal(old.status, 401);
  assert.equal((old.body.error as Record<string, unknown>).code, "AUTH_TOKEN_REVOKED");
  assert.equal(await closed, 4401);
  const refreshed = await call(host, "POST", "/api/auth/refresh", {
    body: { refresh_token: bundle.refresh_token },
  });
  assert.equal(refreshed.status, 401, "the refresh family was revoked too");

  // A password change does the same to the new login.
  const again = await call(host, "POST", "/api/auth/login", {
    body: { username: "otto", password: PASSWORD },
  });
  const next = again.body.access_token as string;
  assert.equal((await call(host, "GET", "/api/state", { token: next })).status, 200);
  await call(host, "PUT", "/api/users/otto/password", {
    token: admin,
    body: { password: "another long password" },
  });
  const revoked = await call(host, "GET", "/api/state", { token: next });
  assert.equal((revoked.body.error as Record<string, unknown>).code, "AUTH_TOKEN_REVOKED");
  await server.shutdown();
});

Deno.test("refresh rotates; a replay within 10 s is 409, later it revokes the family (401 AUTH_REFRESH_REUSED)", async () => {
  await using host = await authHost();
  const first = await setupAdmin(host);
  const rotated = await call(host, "POST", "/api/auth/refresh", {
    body: { refresh_token: first.refresh_token },
  });
  assert.equal(rotated.status, 200);
  assert.notEqual(rotated.body.refresh_token, first.refresh_token);
  assert.equal((rotated.body.user as Record<string, unknown>).username, "admin");
  const race = await call(host, "POST", "/api/auth/refresh", {
    body: { refresh_token: first.refresh_token },
  });
  assert.equal(race.status, 409);
  assert.equal((race.body.error as Record<string, unknown>).code, "AUTH_REFRESH_RACE");
  await host.clock.tick(10_001);
  const reused = await call(host, "POST", "/api/auth/refresh", {
    body: { refresh_token: first.refresh_token },
  });
  assert.equal(reused.status, 401);
  assert.equal((reused.body.error as Record<string, unknown>).code, "AUTH_REFRESH_REUSED");
  const dead = await call(host, "POST", "/api/auth/refresh", {
    body: { refresh_token: rotated.body.refresh_token },
  });
  assert.equal(dead.status, 401, "the newer token of the family dies too");
  const access = await call(host, "GET", "/api/state", {
    token: rotated.body.access_token as string,
  });
  assert.equal((access.body.error as Record<string, unknown>).code, "AUTH_TOKEN_REVOKED");
  const stored = await host.kernel.store.db.selectFrom("auth_refresh_tokens").selectAll().execute();
  for (const row of stored) {
    assert.ok(!(first.refresh_token as string).includes(row.secret_sha256));
    assert.match(row.secret_sha256, /^[0-9a-f]{64}$/, "only the hash is stored");
  }
});

Deno.test("the status says whether the request carried the refresh cookie, which a cookie sign-in sets and a sign-out clears", async () => {
  await using host = await authHost();
  await setupAdmin(host);
  const cookieOf = (headers: Headers) => headers.get("set-cookie")?.split(";")[0] ?? "";
  const before = await call(host, "GET", "/api/auth/status");
  assert.equal(before.body.refresh_cookie, false);
  const login = await call(host, "POST", "/api/auth/login", {
    body: { username: "admin", password: PASSWORD, session: "cookie" },
  });
  assert.equal(login.status, 200);
  const cookie = cookieOf(login.headers);
  assert.match(cookie, /^synth_refresh=./);
  const status = await call(host, "GET", "/api/auth/status", { headers: { cookie } });
  assert.equal(status.body.refresh_cookie, true);
  assert.equal(status.body.setup_required, false);
  const logout = await call(host, "POST", "/api/auth/logout", {
    token: login.body.access_token as string,
    headers: { cookie },
  });
  assert.equal(logout.status, 200);
  assert.match(cookieOf(logout.headers), /^synth_refresh=$/, "the sign-out empties the cookie");
});

Deno.test("access tokens expire (AUTH_TOKEN_EXPIRED after 15 min + leeway); logout revokes the token and its family", async () => {
  await using host = await authHost();
  const bundle = await setupAdmin(host);
  const token = bundle.access_token as string;
  await host.clock.tick(900_000 + 30_000 + 1_000);
  const expired = await call(host, "GET", "/api/state", { token });
  assert.equal(expired.status, 401);
  assert.equal((expired.body.error as Record<string, unknown>).code, "AUTH_TOKEN_EXPIRED");
  const fresh = await call(host, "POST", "/api/auth/refresh", {
    body: { refresh_token: bundle.refresh_token },
  });
  const next = fresh.body.access_token as string;
  assert.equal((await call(host, "POST", "/api/auth/logout", { token: next })).status, 200);
  const after = await call(host, "GET", "/api/state", { token: next });
  assert.equal((after.body.error as Record<string, unknown>).code, "AUTH_TOKEN_REVOKED");
  const refresh = await call(host, "POST", "/api/auth/refresh", {
    body: { refresh_token: fresh.body.refresh_token },
  });
  assert.equal(refresh.status, 401);
});

Deno.test("five wrong passwords lock a username (429 AUTH_LOCKED + Retry-After); unknown and known users get identical 401 bodies and one hash each", async () => {
  await using host = await authHost();
  await setupAdmin(host);
  const hasher = host.kernel.auth!.hasher;
  const attempt = async (username: string, password: string) => {
    const before = hasher.hashes;
    const result = await call(host, "POST", "/api/auth/login", { body: { username, password } });
    return { ...result, hashes: hasher.hashes - before };
  };
  const known = await attempt("admin", "wrong password here");
  const unknown = await attempt("nobody", "wrong password here");
  assert.equal(known.status, 401);
  assert.equal(unknown.status, 401);
  const strip = (body: Record<string, unknown>) => {
    const { request_id: _, ...rest } = body.error as Record<string, unknown>;
    return rest;
  };
  assert.deepEqual(strip(known.body), strip(unknown.body));
  assert.equal(known.hashes, 1);
  assert.equal(unknown.hashes, 1);
  for (let i = 0; i < 4; i++) await attempt("admin", "wrong password here");
  const locked = await attempt("admin", PASSWORD);
  assert.equal(locked.status, 429);
  assert.equal((locked.body.error as Record<string, unknown>).code, "AUTH_LOCKED");
  assert.equal(locked.headers.get("retry-after"), "900");
  assert.equal(locked.hashes, 0, "a locked attempt costs no hash");
  await host.clock.tick(900_001);
  assert.equal((await attempt("admin", PASSWORD)).status, 200);
});

Deno.test("an admin clears a lockout; a user changes their own password and other sessions end", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const otto = await userWithRole(host, admin, "otto", "operator");
  for (let i = 0; i < 5; i++) {
    await call(host, "POST", "/api/auth/login", {
      body: { username: "otto", password: "nope nope nope" },
    });
  }
  const locked = await call(host, "POST", "/api/auth/login", {
    body: { username: "otto", password: PASSWORD },
  });
  assert.equal(locked.status, 429);
  assert.equal(
    (await call(host, "DELETE", "/api/auth/lockouts/otto", { token: admin })).status,
    204,
  );
  // Nothing left to lift, or a mistyped name: 404 naming the username, not a silent 204.
  for (const name of ["otto", "ottto"]) {
    const none = await call(host, "DELETE", `/api/auth/lockouts/${name}`, { token: admin });
    assert.equal(none.status, 404, name);
    assert.equal((none.body.error as Record<string, unknown>).code, "AUTH_LOCKOUT_NOT_FOUND");
    assert.equal((none.body.error as Record<string, unknown>).field, "username");
  }
  const second = await call(host, "POST", "/api/auth/login", {
    body: { username: "otto", password: PASSWORD },
  });
  assert.equal(second.status, 200);
  const wrongCurrent = await call(host, "PUT", "/api/auth/me/password", {
    token: otto.access_token as string,
    body: { current_password: "not it at all", new_password: "a brand new password" },
  });
  assert.equal(wrongCurrent.status, 403);
  const changed = await call(host, "PUT", "/api/auth/me/password", {
    token: otto.access_token as string,
    body: { current_password: PASSWORD, new_password: "a brand new password" },
  });
  assert.equal(changed.status, 200);
  const other = await call(host, "GET", "/api/state", {
    token: second.body.access_token as string,
  });
  assert.equal((other.body.error as Record<string, unknown>).code, "AUTH_TOKEN_REVOKED");
  assert.equal(
    (await call(host, "GET", "/api/state", { token: changed.body.access_token as string })).status,
    200,
  );
});

Deno.test("an API key is shown once, authenticates by Bearer or X-API-Key, never exceeds its owner's current role and dies when deleted", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const otto = (await userWithRole(host, admin, "otto", "operator")).access_token as string;
  const created = await call(host, "POST", "/api/keys", {
    token: otto,
    body: { name: "ci", role: "operator" },
  });
  assert.equal(created.status, 201);
  const key = created.body.key as string;
  assert.match(key, /^smk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
  assert.equal(created.body.prefix, key.slice(0, 12));
  const listed = await call(host, "GET", "/api/keys", { token: otto });
  const items = listed.body.items as Array<Record<string, unknown>>;
  assert.equal(items.length, 1);
  assert.equal(items[0]!.key, undefined, "the key is never shown again");
  const tooHigh = await call(host, "POST", "/api/keys", {
    token: otto,
    body: { name: "root", role: "admin" },
  });
  assert.equal(tooHigh.status, 403);

  const byBearer = await call(host, "POST", "/api/threads", { token: key, body: {} });
  assert.equal(byBearer.status, 201);
  const byHeader = await call(host, "GET", "/api/auth/me", { headers: { "x-api-key": key } });
  assert.equal(byHeader.body.auth, "api_key");
  assert.equal(byHeader.body.role, "operator");
  // A key is no sign-in: "signing out" with it is refused, not a success that changes nothing.
  const logout = await call(host, "POST", "/api/auth/logout", { token: key });
  assert.equal(logout.status, 409);
  assert.equal((logout.body.error as Record<string, unknown>).code, "AUTH_KEY_NOT_A_SESSION");
  assert.equal((await call(host, "GET", "/api/auth/me", { token: key })).status, 200);

  await call(host, "PUT", "/api/users/otto/role", { token: admin, body: { role: "viewer" } });
  const demoted = await call(host, "POST", "/api/threads", { token: key, body: {} });
  assert.equal(demoted.status, 403, "the owner's current role caps the key");
  const stored = await host.kernel.store.db.selectFrom("api_keys").selectAll().execute();
  assert.ok(!JSON.stringify(stored).includes(key.slice(13)), "only the hash is stored");

  assert.equal(
    (await call(host, "DELETE", `/api/keys/${created.body.id}`, { token: admin })).status,
    204,
  );
  const gone = await call(host, "GET", "/api/state", { token: key });
  assert.equal(gone.status, 401);
  assert.equal((gone.body.error as Record<string, unknown>).code, "AUTH_KEY_INVALID");
});

Deno.test("a key that has just been used follows its owner at once: deactivated, reactivated, demoted, promoted, deleted", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const vera = (await userWithRole(host, admin, "vera", "operator")).access_token as string;
  const created = await call(host, "POST", "/api/keys", {
    token: vera,
    body: { name: "ci", role: "operator" },
  });
  const key = created.body.key as string;
  const role = async () => {
    const me = await call(host, "GET", "/api/auth/me", { token: key });
    return me.status === 200 ? me.body.role : me.status;
  };
  assert.equal(await role(), "operator");
  assert.equal(await role(), "operator", "used twice: the second check may be served from memory");

  await call(host, "PATCH", "/api/users/vera", { token: admin, body: { active: false } });
  assert.equal(await role(), 401, "an inactive owner kills the key at once");
  await call(host, "PATCH", "/api/users/vera", { token: admin, body: { active: true } });
  assert.equal(await role(), "operator", "and a reactivated one revives it");

  await call(host, "PUT", "/api/users/vera/role", { token: admin, body: { role: "viewer" } });
  assert.equal(await role(), "viewer", "the owner's new role caps the key at once");
  await call(host, "PUT", "/api/users/vera/role", { token: admin, body: { role: "admin" } });
  assert.equal(await role(), "operator", "and a promotion lifts it back to the key's own role");
  await call(host, "PUT", "/api/users/vera/password", {
    token: admin,
    body: { password: "another long passphrase" },
  });
  assert.equal(await role(), "operator", "a new password does not touch the owner's keys");

  assert.equal((await call(host, "DELETE", "/api/users/vera", { token: admin })).status, 204);
  assert.equal(await role(), 401, "a deleted owner's key is dead at once");
});

Deno.test("a key that has just been used expires on time (401 AUTH_KEY_EXPIRED)", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const created = await call(host, "POST", "/api/keys", {
    token: admin,
    body: { name: "short", expires_in_days: 1 },
  });
  const key = created.body.key as string;
  assert.equal((await call(host, "GET", "/api/auth/me", { token: key })).status, 200);
  await host.clock.tick(86_400_000 - 1);
  assert.equal((await call(host, "GET", "/api/auth/me", { token: key })).status, 200);
  await host.clock.tick(1);
  const expired = await call(host, "GET", "/api/auth/me", { token: key });
  assert.equal(expired.status, 401);
  assert.equal((expired.body.error as Record<string, unknown>).code, "AUTH_KEY_EXPIRED");
});
