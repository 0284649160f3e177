import assert from "node:assert/strict";
import { z } from "zod";
import { AppError } from "@synth/kernel";
// deno-lint-ignore synth/plugin-boundaries -- the real invokeTool and config: not exported by @synth/testing
import { TOOLS_CONFIG_SHAPE } from "../../src/tools/config.ts";
import { checkTarget, denyNetFor, isBlockedName, parseAllowList } from "./policy.ts";

const http = (extra: Record<string, unknown> = {}) =>
  z.strictObject(TOOLS_CONFIG_SHAPE).parse({ http: extra }).http;

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error.code;
  }
  return "passed";
}

Deno.test("URLs are refused by scheme, credentials, port, name and address", () => {
  const cases: Array<[string, string]> = [
    ["ftp://x/", "TOOLS_NET_BLOCKED_SCHEME"],
    ["file:///etc/passwd", "TOOLS_NET_BLOCKED_SCHEME"],
    ["javascript:alert(1)", "TOOLS_NET_BLOCKED_SCHEME"],
    ["not a url", "TOOLS_NET_URL_INVALID"],
    [`https://example.com/${"a".repeat(2_048)}`, "TOOLS_NET_URL_INVALID"],
    ["http://user:pw@example.com/", "TOOLS_NET_CREDENTIALS_IN_URL"],
    ["http://user@example.com/", "TOOLS_NET_CREDENTIALS_IN_URL"],
    ["http://example.com:22/", "TOOLS_NET_BLOCKED_PORT"],
    ["https://example.com:8443/", "TOOLS_NET_BLOCKED_PORT"],
    ["http://localhost/", "TOOLS_NET_BLOCKED_NAME"],
    ["http://LOCALHOST./", "TOOLS_NET_BLOCKED_NAME"],
    ["http://api.localhost/", "TOOLS_NET_BLOCKED_NAME"],
    ["http://printer.local/", "TOOLS_NET_BLOCKED_NAME"],
    ["http://a.internal/", "TOOLS_NET_BLOCKED_NAME"],
    ["http://127.0.0.1/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://127.0.0.1:5000/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://169.254.169.254/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://2130706433/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://0x7f.1/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://017700000001/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://0/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://10.0.0.1/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://[::1]/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://[::ffff:127.0.0.1]/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://[64:ff9b::a9fe:a9fe]/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://[fe80::1]/", "TOOLS_NET_BLOCKED_ADDRESS"],
    ["http://[2606:4700::1111]/", "TOOLS_NET_IPV6_DISABLED"],
    ["http://example.com/", "passed"],
    ["https://example.com:443/x?y#z", "passed"],
    ["http://93.184.216.34/", "passed"],
    ["http://localhost.example.com/", "passed"],
  ];
  for (const [url, code] of cases) assert.equal(codeOf(() => checkTarget(url, http())), code, url);
});

Deno.test("a blocked address refusal names the range", () => {
  assert.throws(
    () => checkTarget("http://0x7f.1/", http()),
    (error: AppError) => error.message.includes("127.0.0.0/8 (loopback)"),
  );
  assert.throws(
    () => checkTarget("http://[::ffff:a9fe:a9fe]/", http()),
    (error: AppError) => error.message.includes("169.254.0.0/16 (link-local, embedded in"),
  );
});

Deno.test("allowPrivate lets listed CIDRs, names and host:port entries through", () => {
  const loopback = http({ allowPrivate: ["127.0.0.0/8"], allowedPorts: [80, 8080] });
  assert.equal(checkTarget("http://127.0.0.1:8080/", loopback).grant, "127.0.0.1");
  assert.deepEqual(checkTarget("http://example.com/", loopback).allow, ["127.0.0.0/8"]);
  assert.equal(
    codeOf(() => checkTarget("http://10.0.0.1/", loopback)),
    "TOOLS_NET_BLOCKED_ADDRESS",
  );

  const named = http({ allowPrivate: ["printer.local", "*.corp.internal"] });
  const printer = checkTarget("http://printer.local/", named);
  assert.equal(printer.allowAnyAddress, true);
  assert.equal(printer.grant, "printer.local");
  assert.equal(checkTarget("http://wiki.corp.internal/", named).allowAnyAddress, true);
  assert.equal(codeOf(() => checkTarget("http://other.local/", named)), "TOOLS_NET_BLOCKED_NAME");

  // A host:port entry allows that host on that port only, even outside allowedPorts.
  const hostPort = http({ allowPrivate: ["127.0.0.1:5000", "searx.internal:8888"] });
  assert.equal(checkTarget("http://127.0.0.1:5000/", hostPort).literal, true);
  assert.equal(
    codeOf(() => checkTarget("http://127.0.0.1:5001/", hostPort)),
    "TOOLS_NET_BLOCKED_ADDRESS",
  );
  assert.equal(
    codeOf(() => checkTarget("http://127.0.0.1/", hostPort)),
    "TOOLS_NET_BLOCKED_ADDRESS",
  );
  assert.equal(checkTarget("http://searx.internal:8888/", hostPort).allowAnyAddress, true);
  assert.equal(
    codeOf(() => checkTarget("http://searx.internal/", hostPort)),
    "TOOLS_NET_BLOCKED_NAME",
  );

  const v6 = http({ allowPrivate: ["::1"], ipv6: true });
  assert.equal(checkTarget("http://[::1]/", v6).grant, "[::1]");
});

Deno.test("an allowPrivate entry that is none of CIDR, address, name or host:port is refused", () => {
  assert.equal(codeOf(() => parseAllowList(["10.0.0.0/33"])), "TOOLS_NET_CONFIG_INVALID");
  assert.equal(codeOf(() => parseAllowList(["http://x/"])), "TOOLS_NET_CONFIG_INVALID");
  assert.deepEqual(parseAllowList(["10.1.0.0/16", "::1", "Host.Example", "[::1]:81"]), {
    cidrs: ["10.1.0.0/16", "::1/128"],
    names: ["host.example"],
    hostPorts: [{ cidr: "::1/128", name: null, port: 81 }],
  });
});

Deno.test("a redirect from HTTPS to HTTP is refused unless allowDowngrade", () => {
  const from = new URL("https://example.com/");
  assert.equal(
    codeOf(() => checkTarget("http://example.com/", http(), { from })),
    "TOOLS_NET_DOWNGRADE",
  );
  assert.equal(
    codeOf(() => checkTarget("http://example.com/", http({ allowDowngrade: true }), { from })),
    "passed",
  );
  assert.equal(codeOf(() => checkTarget("https://example.org/", http(), { from })), "passed");
});

Deno.test("local names are localhost and *.localhost, *.local, *.internal", () => {
  for (const name of ["localhost", "a.localhost", "x.local", "a.b.internal", "LocalHost."]) {
    assert.ok(isBlockedName(name), name);
  }
  for (const name of ["example.com", "local", "internal.example.com", "localhost.com"]) {
    assert.ok(!isBlockedName(name), name);
  }
});

Deno.test("the deny-net list is the blocked IPv4 ranges minus those an allowed CIDR overlaps", () => {
  const all = denyNetFor(checkTarget("http://example.com/", http()));
  assert.equal(all.length, 14);
  assert.ok(all.includes("127.0.0.0/8") && all.includes("169.254.0.0/16"));
  const loopback = denyNetFor(
    checkTarget("http://127.0.0.1/", http({ allowPrivate: ["127.0.0.1"] })),
  );
  assert.ok(!loopback.includes("127.0.0.0/8"));
  assert.equal(loopback.length, 13);
  const wide = denyNetFor(
    checkTarget("http://example.com/", http({ allowPrivate: ["10.0.0.0/7"] })),
  );
  assert.ok(!wide.includes("10.0.0.0/8"));
  const named = denyNetFor(checkTarget("http://a.local/", http({ allowPrivate: ["a.local"] })));
  assert.deepEqual(named, []);
});
