/**
 * The attack suite (issue 6, acceptance 2 and 3): a real server (the start
 * command, auth and rate limits on) on a random port. Every non-public
 * route without a token and with forged, expired, `alg: none` and wrong-key
 * tokens; a viewer on operator routes; refresh-token replay; setup re-open;
 * deleting the last admin; a forged `X-Forwarded-For`; WebSockets without a
 * token or from a foreign origin; login brute force; oversized and
 * malformed bodies. Each gets its 4xx with the error shape and nothing
 * internal in the body, the server keeps serving, and no password, token,
 * key or message text reaches its logs.
 */
import assert from "node:assert/strict";
import { sign } from "hono/jwt";
import { createTestHost, makeTestDir, spawnServer } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import { isPublicRoute } from "../../src/http/auth.ts";
import { PASSWORD } from "./helpers.ts";

const JWT_SECRET = "attack-suite-signing-secret-0123456789abcdef";
const CHAT_TEXT = "the attack suite's private chat text 7f3a";

/** An HS256 JWT over `claims` with `secret` (kid as the server computes it). */
async function forge(claims: Record<string, unknown>, secret: string) {
  const bytes = new TextEncoder().encode(secret);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const kid = Array.from(digest.slice(0, 4)).map((b) => b.toString(16).padStart(2, "0")).join("");
  const k = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
  return await sign(claims, { kty: "oct", k, alg: "HS256", kid });
}

function base64url(value: unknown) {
  return btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Asserts a 4xx with the uniform error body and nothing internal in it. */
function assertClean(status: number, text: string, where: string, expected?: number) {
  if (expected !== undefined) assert.equal(status, expected, `${where}: ${text}`);
  assert.ok(status >= 400 && status < 500, `${where} answered ${status}: ${text}`);
  const body = JSON.parse(text);
  assert.equal(body.success, false, where);
  assert.match(body.error.code, /^[A-Z][A-Z0-9_]+$/, where);
  assert.ok(
    !/\bat \S+:\d+|\/work\/|node_modules|SQLITE|Error:/.test(text),
    `${where} leaks: ${text}`,
  );
}

Deno.test("the attack suite against a real server: every attempt gets its 4xx, the server keeps serving, and the logs hold no secrets", async () => {
  // The routes the router knows, from an in-process host with the same plugins.
  await using probe = await createTestHost({ plugins: BUILTIN_PLUGINS });
  const routes = probe.app.routes.filter((route) => route.method !== "ALL")
    .map((route) => ({
      method: route.method,
      path: route.path.replace(/:[A-Za-z_]+/g, "x").replace(/\*$/, "x"),
    }))
    .filter((route) => !isPublicRoute(route.method, route.path));

  const dataDir = await makeTestDir("synth-attack-");
  await using server = await spawnServer({
    dataDir,
    env: {
      SYNTH_AUTH_ENABLED: "true",
      SYNTH_AUTH_PASSWORD_SCRYPT_LOG_N: "14",
      SYNTH_AUTH_JWT_SECRET: JWT_SECRET,
      SYNTH_RATE_LIMIT_ENABLED: "true",
      SYNTH_RATE_LIMIT_TIERS_API_LIMIT: "100000",
      SYNTH_RATE_LIMIT_TIERS_CHAT_LIMIT: "1000",
    },
  });
  const url = server.url;
  const clients: Deno.HttpClient[] = [];
  const from = (address: string) => {
    const client = Deno.createHttpClient({ localAddress: address });
    clients.push(client);
    return client;
  };
  const call = async (
    method: string,
    path: string,
    options: {
      token?: string;
      json?: unknown;
      body?: BodyInit;
      headers?: Record<string, string>;
      client?: Deno.HttpClient;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.json !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(options.client ? { client: options.client } : {}),
      ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    return { status: response.status, text: await response.text(), headers: response.headers };
  };
  try {
    // Setup, an operator and a viewer (each sign-in from its own address: the auth tier is 5/min).
    const token = server.stdout.map((line) => JSON.parse(line)).find((r) => r.setup_token)
      ?.setup_token;
    const setup = await call("POST", "/api/auth/setup", {
      json: { setup_token: token, username: "admin", password: PASSWORD },
      client: from("127.0.0.20"),
    });
    assert.equal(setup.status, 201);
    const admin = JSON.parse(setup.text);
    for (const [name, role] of [["otto", "operator"], ["vera", "viewer"]]) {
      const created = await call("POST", "/api/users", {
        token: admin.access_token,
        json: { username: name, password: PASSWORD, role },
      });
      assert.equal(created.status, 201);
    }
    const viewer = JSON.parse(
      (await call("POST", "/api/auth/login", {
        json: { username: "vera", password: PASSWORD },
        client: from("127.0.0.21"),
      })).text,
    );
    const key = JSON.parse(
      (await call("POST", "/api/keys", { token: admin.access_token, json: { name: "ci" } })).text,
    );

    // 1. Every non-public route: no token, forged, expired, alg none, wrong key.
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: "synth-mind",
      aud: "synth-mind",
      type: "access",
      sub: admin.user.id,
      role: "admin",
      sid: "ses_forged",
      ver: 0,
      jti: "at_forged",
      iat: now,
      nbf: now,
      exp: now + 600,
    };
    const bad = {
      none: "",
      garbage: "not.a.token",
      expired: await forge(
        { ...claims, iat: now - 3_600, nbf: now - 3_600, exp: now - 1_800 },
        JWT_SECRET,
      ),
      algNone: `${base64url({ alg: "none", typ: "JWT" })}.${base64url(claims)}.`,
      wrongKey: await forge(claims, "some-other-secret-that-is-long-enough-000"),
      forgedSession: await forge(claims, JWT_SECRET),
    };
    assert.ok(routes.length > 60, `${routes.length} routes`);
    for (const route of routes) {
      for (const [kind, credential] of Object.entries(bad)) {
        const answer = await call(
          route.method,
          route.path,
          credential ? { token: credential } : {},
        );
        assertClean(answer.status, answer.text, `${kind} ${route.method} ${route.path}`, 401);
      }
    }
    const expired = await call("GET", "/api/state", { token: bad.expired });
    assert.equal(JSON.parse(expired.text).error.code, "AUTH_TOKEN_EXPIRED");
    const forgedSession = await call("GET", "/api/state", { token: bad.forgedSession });
    assert.equal(
      JSON.parse(forgedSession.text).error.code,
      "AUTH_TOKEN_REVOKED",
      "a signed token of no login",
    );

    // 2. A viewer on operator and admin routes.
    for (
      const [method, path, json] of [
        ["POST", "/api/threads", {}],
        ["POST", "/api/chat", { message: CHAT_TEXT }],
        ["POST", "/api/reflect", {}],
        ["POST", "/api/memories", { text: "x", kind: "fact" }],
        ["GET", "/api/users", undefined],
        ["PUT", "/api/budgets/mind", { per_day: 1 }],
        ["PUT", "/api/firewall/mode", { mode: "denylist" }],
      ] as const
    ) {
      const answer = await call(method, path, { token: viewer.access_token, json });
      assertClean(answer.status, answer.text, `viewer ${method} ${path}`, 403);
    }

    // 3. Refresh replay (within the race window: 409), setup re-open (410), the last admin (409).
    const rotated = await call("POST", "/api/auth/refresh", {
      json: { refresh_token: viewer.refresh_token },
      client: from("127.0.0.22"),
    });
    assert.equal(rotated.status, 200);
    const replay = await call("POST", "/api/auth/refresh", {
      json: { refresh_token: viewer.refresh_token },
      client: from("127.0.0.22"),
    });
    assertClean(replay.status, replay.text, "refresh replay", 409);
    const reopen = await call("POST", "/api/auth/setup", {
      json: { setup_token: token, username: "mallory", password: PASSWORD },
      client: from("127.0.0.23"),
    });
    assertClean(reopen.status, reopen.text, "setup re-open", 410);
    const lastAdmin = await call("DELETE", "/api/users/admin", { token: admin.access_token });
    assertClean(lastAdmin.status, lastAdmin.text, "delete the last admin", 409);

    // 4. Login brute force with a forged X-Forwarded-For: the peer's bucket still fills.
    const brute = from("127.0.0.24");
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const answer = await call("POST", "/api/auth/login", {
        json: { username: "otto", password: `guess number ${i}` },
        headers: { "x-forwarded-for": "127.0.0.1" },
        client: brute,
      });
      assertClean(answer.status, answer.text, `brute force ${i}`);
      statuses.push(answer.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);

    // 5. WebSockets: a foreign origin is refused; no token closes 4401.
    const foreign = await call("GET", "/ws", {
      headers: { origin: "https://evil.example", upgrade: "websocket" },
    });
    assertClean(foreign.status, foreign.text, "ws foreign origin", 403);
    const socket = new WebSocket(url.replace("http", "ws") + "/ws", ["synth.v1"]);
    const closed = new Promise<number>((
      resolve,
    ) => (socket.onclose = (event) => resolve(event.code)));
    socket.onopen = () => socket.send(JSON.stringify({ type: "hello", seq: 1, data: {} }));
    assert.equal(await closed, 4401);

    // 6. Oversized and malformed bodies.
    const big = "x".repeat(1_100_000);
    for (
      const [name, options, status] of [
        ["oversized", {
          body: JSON.stringify({ message: big }),
          headers: { "content-type": "application/json" },
        }, 413],
        ["malformed", { body: "{not json", headers: { "content-type": "application/json" } }, 400],
        ["text/plain", { body: "hello", headers: { "content-type": "text/plain" } }, 415],
        ["wrong type", { json: { message: 42 } }, 400],
      ] as const
    ) {
      const answer = await call("POST", "/api/chat", { token: admin.access_token, ...options });
      assertClean(answer.status, answer.text, name, status);
      if (name === "wrong type") assert.equal(JSON.parse(answer.text).error.field, "message");
    }
    // A chat with real text (no model is configured: 503, and the text stays out of the logs).
    const chat = await call("POST", "/api/chat", { token: key.key, json: { message: CHAT_TEXT } });
    assert.equal(chat.status, 503);

    // Still serving.
    const live = await call("GET", "/health/live");
    assert.equal(live.status, 200);
    assert.equal((await call("GET", "/api/state", { token: admin.access_token })).status, 200);
  } finally {
    for (const client of clients) client.close();
  }
  await server.stop();

  // 7. No secret in the logs.
  let accessLog = "";
  for (const name of ["access.log", "access.log.1"]) {
    accessLog += await Deno.readTextFile(`${dataDir}/logs/${name}`).catch(() => "");
  }
  await Deno.remove(dataDir, { recursive: true });
  assert.ok(accessLog.includes("/api/chat"), "the access log was written");
  const logs = [...server.stdout, ...server.stderr].join("\n") + accessLog;
  const setupToken = server.stdout.map((line) => JSON.parse(line)).find((r) => r.setup_token)
    ?.setup_token;
  const withoutSetupLine = logs.replace(setupToken, "");
  for (const secret of [PASSWORD, CHAT_TEXT, JWT_SECRET, "guess number", setupToken]) {
    assert.ok(!withoutSetupLine.includes(secret), `the logs hold ${secret.slice(0, 10)}…`);
  }
  assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./.test(logs), "no JWT in the logs");
  assert.ok(!/smk_[a-z0-9]{8}_[A-Za-z0-9_-]{20}/.test(logs), "no API key in the logs");
  assert.ok(!/smr_[A-Za-z0-9_]+\.[A-Za-z0-9_-]{20}/.test(logs), "no refresh token in the logs");
});
