/**
 * The guards over real sockets from distinct loopback addresses (spec/server.md
 * §6–10; §16 items 6, 8, 9, 10, 18): rate limits with their headers,
 * trusted proxies, lockout across addresses, the IP firewall, the access
 * log, secure headers, CORS and the Host check.
 */
import assert from "node:assert/strict";
import { createTestHost, makeTestDir, type TestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import { ipBucket } from "../../src/security/ip.ts";
import { authHost, PASSWORD, setupAdmin } from "./helpers.ts";

/** A fetch from a chosen loopback source address. */
function from(address: string) {
  const client = Deno.createHttpClient({ localAddress: address });
  return {
    async call(url: string, init: RequestInit & { json?: unknown } = {}) {
      const { json, ...rest } = init;
      const response = await fetch(url, {
        ...rest,
        client,
        ...(json !== undefined
          ? {
            body: JSON.stringify(json),
            headers: { "content-type": "application/json", ...rest.headers as object },
          }
          : {}),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text ? JSON.parse(text) : {},
      };
    },
    [Symbol.dispose]: () => client.close(),
  };
}

const login = (username: string, password: string) => ({
  method: "POST",
  json: { username, password },
});

Deno.test("the sixth login from one address in a minute is 429 with Retry-After and RateLimit headers; X-Forwarded-For counts only from a trusted proxy", async () => {
  await using host = await authHost({
    rateLimit: { enabled: true },
    server: { trustedProxies: ["127.0.0.5/32"] },
  });
  await setupAdmin(host);
  const server = host.listen();
  using a = from("127.0.0.2");
  for (let i = 0; i < 5; i++) {
    const answer = await a.call(`${server.url}/api/auth/login`, login("nobody", "wrong password"));
    assert.equal(answer.status, 401);
    assert.equal(answer.headers.get("ratelimit-limit"), "5");
    assert.equal(answer.headers.get("ratelimit-remaining"), String(4 - i));
    assert.equal(answer.headers.get("ratelimit-policy"), "5;w=60");
    assert.ok(Number(answer.headers.get("x-ratelimit-reset")) > 1_700_000_000, "epoch seconds");
  }
  const sixth = await a.call(`${server.url}/api/auth/login`, login("admin", PASSWORD));
  assert.equal(sixth.status, 429);
  assert.equal(sixth.body.error.code, "RATE_LIMITED");
  assert.ok(Number(sixth.headers.get("retry-after")) >= 1);
  assert.equal(sixth.body.retry_after, Number(sixth.headers.get("retry-after")));
  assert.equal(sixth.body.limit, 5);
  // A forged header from an untrusted peer changes nothing.
  const forged = await a.call(`${server.url}/api/auth/login`, {
    ...login("admin", PASSWORD),
    headers: { "x-forwarded-for": "203.0.113.7" },
  });
  assert.equal(forged.status, 429);
  // From the trusted proxy, the header names the client: a fresh bucket.
  using proxy = from("127.0.0.5");
  const proxied = await proxy.call(`${server.url}/api/auth/login`, {
    ...login("admin", PASSWORD),
    headers: { "x-forwarded-for": "203.0.113.7" },
  });
  assert.equal(proxied.status, 200);
  await server.shutdown();
});

Deno.test("two users each get a full api quota; the status route shows the caller's own counters", async () => {
  await using host = await authHost({
    rateLimit: { enabled: true, tiers: { api: { limit: 4 } } },
  });
  const admin = (await setupAdmin(host)).access_token as string;
  const create = await host.request("/api/users", {
    method: "POST",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({ username: "vera", password: PASSWORD, role: "viewer" }),
  });
  assert.equal(create.status, 201);
  const vera = await (await host.request("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "vera", password: PASSWORD }),
  })).json();
  const state = (token: string) =>
    host.request("/api/state", { headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < 3; i++) assert.equal((await state(admin)).status, 200);
  assert.equal((await state(admin)).status, 429, "admin used 1 + 3 of 4");
  for (let i = 0; i < 3; i++) assert.equal((await state(vera.access_token)).status, 200);
  const status = await (await host.request("/api/ratelimit/status", {
    headers: { authorization: `Bearer ${vera.access_token}` },
  })).json();
  assert.equal(status.key, `u:${vera.user.id}`);
  assert.equal(status.tiers.api.limit, 4);
  assert.equal(status.tiers.api.remaining, 0);
});

Deno.test("five wrong passwords for one username from five addresses lock it: the sixth, correct try is 429 AUTH_LOCKED", async () => {
  await using host = await authHost({ rateLimit: { enabled: true } });
  await setupAdmin(host);
  const server = host.listen();
  for (let i = 0; i < 5; i++) {
    using client = from(`127.0.0.${11 + i}`);
    const wrong = await client.call(
      `${server.url}/api/auth/login`,
      login("admin", "wrong wrong wrong"),
    );
    assert.equal(wrong.status, 401);
  }
  using sixth = from("127.0.0.16");
  const locked = await sixth.call(`${server.url}/api/auth/login`, login("admin", PASSWORD));
  assert.equal(locked.status, 429);
  assert.equal(locked.body.error.code, "AUTH_LOCKED");
  assert.ok(Number(locked.headers.get("retry-after")) > 0);
  await server.shutdown();
});

Deno.test("the firewall: an allowlist of 127.0.0.2 refuses 127.0.0.3 (403, a blocked line) and passes 127.0.0.2; API rules and mode survive a restart", async () => {
  const dataDir = await makeTestDir("synth-firewall-");
  const config = { firewall: { alwaysAllow: [] } };
  try {
    {
      await using host = await createTestHost({ plugins: BUILTIN_PLUGINS, config, dataDir });
      const server = host.listen();
      using allowed = from("127.0.0.2");
      using other = from("127.0.0.3");
      const hostBits = await allowed.call(`${server.url}/api/firewall/rules`, {
        method: "POST",
        json: { list: "allow", cidr: "127.0.0.2/24" },
      });
      assert.equal(hostBits.status, 400);
      assert.equal(hostBits.body.error.code, "FIREWALL_INVALID_CIDR");
      assert.equal(hostBits.body.error.details.canonical, "127.0.0.0/24");
      const rule = await allowed.call(`${server.url}/api/firewall/rules`, {
        method: "POST",
        json: { list: "allow", cidr: "127.0.0.2", note: "the operator's desk" },
      });
      assert.equal(rule.status, 201);
      assert.equal(rule.body.cidr, "127.0.0.2/32");
      const duplicate = await allowed.call(`${server.url}/api/firewall/rules`, {
        method: "POST",
        json: { list: "allow", cidr: "127.0.0.2/32" },
      });
      assert.equal(duplicate.status, 409);
      // Switching from an address the new mode would refuse is a lockout.
      const lockout = await other.call(`${server.url}/api/firewall/mode`, {
        method: "PUT",
        json: { mode: "allowlist" },
      });
      assert.equal(lockout.status, 409);
      assert.equal(lockout.body.error.code, "FIREWALL_LOCKOUT");
      const mode = await allowed.call(`${server.url}/api/firewall/mode`, {
        method: "PUT",
        json: { mode: "whitelist" },
      });
      assert.equal(mode.status, 200);
      assert.equal(mode.body.mode, "allowlist");
      await server.shutdown();
    }
    await using host = await createTestHost({ plugins: BUILTIN_PLUGINS, config, dataDir });
    const server = host.listen();
    using allowed = from("127.0.0.2");
    using other = from("127.0.0.3");
    const refused = await other.call(`${server.url}/api/state`);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "FIREWALL_DENIED");
    assert.ok(
      host.logs.some((record) => record.msg === "blocked" && record.client_ip === "127.0.0.3"),
      "a blocked log line",
    );
    assert.equal((await allowed.call(`${server.url}/api/state`)).status, 200);
    const blocked = await allowed.call(`${server.url}/api/firewall/blocked?limit=5`);
    assert.deepEqual(
      blocked.body.blocked.map((entry: Record<string, unknown>) => [entry.ip, entry.path]),
      [["127.0.0.3", "/api/state"]],
    );
    const rules = await allowed.call(`${server.url}/api/firewall/rules`);
    assert.deepEqual(rules.body.whitelist, ["127.0.0.2/32"]);
    assert.equal(rules.body.mode, "allowlist");
    await server.shutdown();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a rule change that would block the caller's own address is 409 FIREWALL_LOCKOUT unless forced; config rules are refused as such by every route", async () => {
  const config = {
    firewall: {
      alwaysAllow: [],
      mode: "denylist",
      rules: [{ list: "deny" as const, cidr: "10.9.0.0/16" }],
    },
  };
  await using host = await createTestHost({ plugins: BUILTIN_PLUGINS, config });
  const server = host.listen();
  using me = from("127.0.0.5");
  const rules = `${server.url}/api/firewall/rules`;
  const own = await me.call(rules, {
    method: "POST",
    json: { list: "deny", cidr: "127.0.0.0/24" },
  });
  assert.equal(own.status, 409, JSON.stringify(own.body));
  assert.equal(own.body.error.code, "FIREWALL_LOCKOUT");
  assert.equal(own.body.error.field, "cidr");
  assert.equal(own.body.error.details.ip, "127.0.0.5");
  const legacy = await me.call(`${server.url}/api/firewall/blacklist`, {
    method: "POST",
    json: { ip: "127.0.0.5" },
  });
  assert.equal(legacy.status, 409);
  assert.equal(legacy.body.error.code, "FIREWALL_LOCKOUT");
  // Another address's rule is no lockout.
  assert.equal(
    (await me.call(rules, { method: "POST", json: { list: "deny", cidr: "127.0.0.6" } })).status,
    201,
  );
  const fromConfig = await me.call(`${server.url}/api/firewall/blacklist`, {
    method: "DELETE",
    json: { ip: "10.9.0.0/16" },
  });
  assert.equal(fromConfig.status, 409, "a config rule is refused by range as by id");
  assert.equal(fromConfig.body.error.code, "FIREWALL_RULE_FROM_CONFIG");
  assert.match(fromConfig.body.error.message, /SYNTH_FIREWALL_RULES/);

  // In allowlist mode, removing the caller's own allow rule is the lockout.
  const allow = await me.call(rules, {
    method: "POST",
    json: { list: "allow", cidr: "127.0.0.5" },
  });
  assert.equal(allow.status, 201);
  assert.equal(
    (await me.call(`${server.url}/api/firewall/mode`, {
      method: "PUT",
      json: { mode: "allowlist" },
    }))
      .status,
    200,
  );
  // An allow rule that expires lets the caller in only for a while: it does not count.
  const temporary = await me.call(rules, {
    method: "POST",
    json: {
      list: "allow",
      cidr: "127.0.0.0/24",
      expires_at: new Date(host.clock.now() + 3_600_000).toISOString(),
    },
  });
  assert.equal(temporary.status, 201, JSON.stringify(temporary.body));
  const remove = await me.call(`${rules}/${allow.body.id}`, { method: "DELETE" });
  assert.equal(remove.status, 409);
  assert.equal(remove.body.error.code, "FIREWALL_LOCKOUT");
  assert.equal((await me.call(`${server.url}/api/state`)).status, 200, "nothing changed");
  assert.equal(
    (await me.call(`${rules}/${temporary.body.id}`, { method: "DELETE" })).status,
    204,
    "the permanent rule still lets the caller in",
  );
  const forced = await me.call(`${rules}/${allow.body.id}?force=true`, { method: "DELETE" });
  assert.equal(forced.status, 204);
  assert.equal((await me.call(`${server.url}/api/state`)).status, 403, "forced: locked out");
  await server.shutdown();
});

async function accessLines(host: TestHost): Promise<Array<Record<string, unknown>>> {
  await host.kernel.accessLog.flush();
  const text = await Deno.readTextFile(`${host.dataDir}/logs/access.log`);
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

Deno.test("the access log has one line per request with its fields, and no password, token, key, query or chat text", async () => {
  await using host = await authHost();
  const bundle = await setupAdmin(host);
  const token = bundle.access_token as string;
  const server = host.listen();
  const key = await (await fetch(`${server.url}/api/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "ci" }),
  })).json();
  const secretChat = "my secret plan is pineapple";
  const chat = await fetch(`${server.url}/api/threads?token=x-query-secret`, {
    headers: { "x-api-key": key.key, "user-agent": "probe/1.0" },
  });
  const threadsBytes = (await chat.arrayBuffer()).byteLength;
  const post = await fetch(`${server.url}/api/chat`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ message: secretChat }),
  });
  await post.body?.cancel();
  await (await fetch(`${server.url}/health/live`)).body?.cancel();
  await server.shutdown();

  const lines = await accessLines(host);
  const text = JSON.stringify(lines);
  for (
    const secret of [PASSWORD, token, key.key, "x-query-secret", "pineapple", bundle.refresh_token]
  ) {
    assert.ok(!text.includes(secret as string), `${String(secret).slice(0, 12)}… is not logged`);
  }
  const threads = lines.find((line) => line.path === "/api/threads")!;
  for (
    const field of [
      "ts",
      "request_id",
      "method",
      "route",
      "status",
      "duration_ms",
      "client_ip",
      "peer_ip",
      "user_id",
      "auth",
      "user_agent",
    ]
  ) {
    assert.ok(field in threads, field);
  }
  assert.equal(threads.auth, "api_key");
  assert.equal(threads.user_agent, "probe/1.0");
  assert.equal(threads.client_ip, "127.0.0.1");
  assert.equal(threads.user_id, (bundle.user as Record<string, unknown>).id);
  assert.ok(threadsBytes > 0);
  assert.equal(threads.bytes_in, null, "a GET declares no body");
  const posted = lines.find((line) => line.path === "/api/chat")!;
  assert.equal(posted.bytes_in, JSON.stringify({ message: secretChat }).length);
  assert.equal(lines.find((line) => line.path === "/api/chat")!.route, "/api/chat");
  assert.ok(!lines.some((line) => line.path === "/health/live"), "excluded path");
  assert.ok(
    lines.some((line) =>
      line.path === "/api/auth/setup" && line.route === "/api/auth/setup" && line.status === 201
    ),
  );
});

Deno.test("the access log rotates by size and keeps at most maxFiles old files", async () => {
  await using host = await createTestHost({
    config: { accessLog: { maxBytes: 1_024, maxFiles: 2 } },
  });
  for (let i = 0; i < 60; i++) await (await host.request(`/api/nothing-${i}`)).body?.cancel();
  await host.kernel.accessLog.flush();
  const names = [];
  for await (const entry of Deno.readDir(`${host.dataDir}/logs`)) names.push(entry.name);
  assert.deepEqual(names.sort(), ["access.log", "access.log.1", "access.log.2"]);
  for (const name of names) {
    const { size } = await Deno.stat(`${host.dataDir}/logs/${name}`);
    assert.ok(size <= 1_024, `${name} is ${size} bytes`);
  }
  const stats = await (await host.request("/api/accesslog/stats")).json();
  assert.equal(stats.backup_files, 2);
  const recent = await (await host.request("/api/accesslog?status=404&limit=3")).json();
  assert.deepEqual(recent.items.map((item: { path: string }) => item.path), [
    "/api/nothing-59",
    "/api/nothing-58",
    "/api/nothing-57",
  ]);
});

Deno.test("secure headers on every response, no-store on the API, CORS only for a configured origin, and a foreign Host is 421", async () => {
  await using host = await createTestHost({
    config: { server: { cors: { origins: ["https://app.example"] } } },
  });
  const response = await host.request("/api/state", {
    headers: { origin: "https://evil.example" },
  });
  await response.body?.cancel();
  const headers = response.headers;
  assert.equal(headers.get("x-content-type-options"), "nosniff");
  assert.equal(headers.get("referrer-policy"), "no-referrer");
  assert.equal(headers.get("x-frame-options"), "DENY");
  assert.equal(headers.get("cross-origin-opener-policy"), "same-origin");
  assert.equal(headers.get("cross-origin-resource-policy"), "same-origin");
  assert.equal(headers.get("permissions-policy"), "camera=(), microphone=(), geolocation=()");
  assert.equal(headers.get("cache-control"), "no-store");
  assert.equal(headers.get("strict-transport-security"), null, "no HSTS without TLS");
  assert.equal(headers.get("access-control-allow-origin"), null);
  const allowed = await host.request("/api/state", { headers: { origin: "https://app.example" } });
  await allowed.body?.cancel();
  assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
  assert.equal(
    allowed.headers.get("access-control-expose-headers")?.includes("RateLimit-Limit"),
    true,
  );

  const rebound = await host.app.request(new Request("http://evil.example/api/state"));
  assert.equal(rebound.status, 421);
  assert.equal((await rebound.json()).error.code, "HOST_NOT_ALLOWED");
  const local = await host.app.request(new Request("http://127.0.0.1:8080/api/state"));
  assert.equal(local.status, 200);
  await local.body?.cancel();
});

Deno.test("a bad CIDR in the config stops loading with a message naming the key", async () => {
  await assert.rejects(
    createTestHost({ config: { server: { trustedProxies: ["10.0.0.1/8"] } } }),
    /server\.trustedProxies\.0.*CIDR range without host bits/,
  );
});

Deno.test("an IPv6 client's counters (keyed by its /64's network address) are cleared through DELETE /api/ratelimit/clients/{key}", async () => {
  await using host = await authHost({ rateLimit: { enabled: true } });
  const { access_token: admin } = await setupAdmin(host);
  const key = `ip:${ipBucket("2001:db8:1:2:3:4:5:6")}`;
  assert.equal(key, "ip:2001:db8:1:2::", "no '/' in the key: it stands in a path");
  host.kernel.limiter.hit("api", key);
  const clear = () =>
    host.request(`/api/ratelimit/clients/${encodeURIComponent(key)}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${admin}` },
    });
  const cleared = await clear();
  assert.equal(cleared.status, 204, await cleared.text());
  assert.equal((await clear()).status, 404, "nothing left to clear");
});
