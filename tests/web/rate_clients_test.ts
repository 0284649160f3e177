import assert from "node:assert/strict";
import { limitedClients, rateKeyOf, tierOf } from "../../web/lib/rate_clients.ts";
import { tierOf as serverTierOf } from "../../src/security/rate_limit.ts";

const WINDOWS = {
  auth: { window_seconds: 60 },
  chat: { window_seconds: 60 },
  api: { window_seconds: 10 },
  ws_connect: { window_seconds: 60 },
};
const T0 = Date.parse("2025-01-01T12:00:00.000Z"); // a window boundary for 10 s and 60 s

function line(
  at: number,
  fields: { method?: string; path?: string; user_id?: string | null; client_ip?: string } = {},
) {
  return {
    ts: new Date(at).toISOString(),
    method: fields.method ?? "GET",
    path: fields.path ?? "/api/state",
    user_id: fields.user_id === undefined ? "usr_1" : fields.user_id,
    client_ip: fields.client_ip ?? "203.0.113.7",
    blocked: "rate_limit",
  };
}

Deno.test("rate clients: requests fall in the tier the server counts them in", () => {
  const cases: Array<[string, string]> = [
    ["POST", "/api/auth/login"],
    ["POST", "/api/auth/setup"],
    ["POST", "/api/auth/refresh"],
    ["PUT", "/api/auth/me/password"],
    ["POST", "/api/auth/logout"],
    ["POST", "/api/chat"],
    ["POST", "/api/reflect"],
    ["POST", "/api/generate"],
    ["POST", "/api/projects"],
    ["GET", "/api/projects"],
    ["POST", "/api/threads/thr_1/turns"],
    ["POST", "/api/projects/prj_1/input"],
    ["POST", "/api/tools/file_write/runs"],
    ["GET", "/api/state"],
    ["DELETE", "/api/keys/key_1"],
    ["GET", "/openapi.json"],
  ];
  for (const [method, path] of cases) {
    assert.equal(tierOf(method, path), serverTierOf(method, path), `${method} ${path}`);
  }
  assert.equal(tierOf("GET", "/ws"), "ws_connect");
});

Deno.test("rate clients: keys are the user, else the address, IPv6 by its /64", () => {
  assert.equal(rateKeyOf(line(T0), "api"), "u:usr_1");
  assert.equal(rateKeyOf(line(T0), "auth"), "ip:203.0.113.7", "sign-in is counted per address");
  assert.equal(rateKeyOf(line(T0, { user_id: null }), "api"), "ip:203.0.113.7");
  assert.equal(
    rateKeyOf(line(T0, { user_id: null, client_ip: "2001:db8:1:2:3:4:5:6" }), "api"),
    "ip:2001:db8:1:2::",
  );
});

Deno.test("rate clients: limited until the window of the last refusal ends, latest first", () => {
  const lines = [
    line(T0 + 61_000, { method: "POST", path: "/api/auth/login", user_id: null }),
    line(T0 + 2_000),
    line(T0 + 4_000, { path: "/api/threads" }),
    line(T0 + 3_000, { user_id: "usr_2" }),
    { ...line(T0 + 5_000, { user_id: "usr_3" }), blocked: "firewall" },
    (({ blocked: _none, ...rest }) => rest)(line(T0 + 5_000, { user_id: "usr_4" })),
  ];
  const now = T0 + 65_000;
  // The api window (10 s) of T0 + 4 s ended at T0 + 10 s: only the sign-in refusal is current.
  assert.deepEqual(limitedClients(lines, WINDOWS, now), [{
    key: "ip:203.0.113.7",
    tier: "auth",
    refusals: 1,
    last: T0 + 61_000,
    lastPath: "/api/auth/login",
    windowEnd: T0 + 120_000,
  }]);
  const earlier = limitedClients(lines.slice(1), WINDOWS, T0 + 5_000);
  assert.deepEqual(earlier.map((client) => [client.key, client.refusals, client.lastPath]), [
    ["u:usr_1", 2, "/api/threads"],
    ["u:usr_2", 1, "/api/state"],
  ]);
  assert.equal(earlier[0]!.windowEnd, T0 + 10_000);
  assert.deepEqual(limitedClients(lines.slice(1), WINDOWS, T0 + 10_000), []);
});
