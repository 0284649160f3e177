import assert from "node:assert/strict";
import { CidrError, clientIpFrom, inCidr, ipBucket, normaliseIp, parseCidr } from "./ip.ts";

Deno.test("CIDRs: bare addresses, canonical networks, host bits refused naming the network, IPv4-mapped", () => {
  assert.equal(parseCidr("10.1.2.3").text, "10.1.2.3/32");
  assert.equal(parseCidr("2001:db8::1").text, "2001:db8::1/128");
  assert.equal(parseCidr("10.0.0.0/8").text, "10.0.0.0/8");
  assert.throws(
    () => parseCidr("10.1.0.0/8"),
    (error: CidrError) => error.canonical === "10.0.0.0/8",
  );
  assert.throws(() => parseCidr("nope"), CidrError);
  assert.throws(() => parseCidr("10.0.0.0/33"), CidrError);
  assert.ok(inCidr("::ffff:127.0.0.2", parseCidr("127.0.0.2/32")), "mapped IPv6 matches IPv4");
  assert.ok(!inCidr("127.0.0.3", parseCidr("127.0.0.2/32")));
  assert.equal(normaliseIp("::FFFF:10.0.0.1"), "10.0.0.1");
  assert.equal(ipBucket("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
  assert.equal(ipBucket("2001:db8:1:2:ffff::9"), "2001:db8:1:2::");
});

Deno.test("client address: the peer unless it is a trusted proxy; the header is read right to left", () => {
  const trusted = [parseCidr("10.0.0.0/8")];
  const headers = new Headers({ "x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.0.0.2" });
  const options = { trusted, header: "x-forwarded-for" as const };
  assert.equal(clientIpFrom("198.51.100.1", headers, options), "198.51.100.1", "untrusted peer");
  assert.equal(clientIpFrom("10.0.0.1", headers, options), "203.0.113.9", "skips trusted hops");
  assert.equal(clientIpFrom("10.0.0.1", new Headers(), options), "10.0.0.1");
  assert.equal(
    clientIpFrom("198.51.100.1", headers, { trusted: [], header: "x-forwarded-for" }),
    "198.51.100.1",
  );
  const forwarded = new Headers({
    forwarded: 'for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"',
  });
  assert.equal(
    clientIpFrom("10.0.0.1", forwarded, { trusted, header: "forwarded" }),
    "2001:db8::17",
  );
  assert.equal(
    clientIpFrom("10.0.0.1", new Headers({ "x-forwarded-for": "garbage" }), options),
    "10.0.0.1",
  );
});

Deno.test("parseCidr refuses octal, hex and whole-number IPv4 and zoned IPv6, naming how it would read", () => {
  const readings: Array<[string, string]> = [
    ["010.0.0.1", "8.0.0.1"],
    ["0x0a.0.0.2", "10.0.0.2"],
    ["167772163", "10.0.0.3"],
  ];
  for (const [text, read] of readings) {
    assert.throws(
      () => parseCidr(text),
      (error: Error) =>
        error instanceof CidrError && error.message.includes(`it reads as ${read}`) &&
        error.message.includes("without leading zeros"),
      text,
    );
  }
  assert.throws(() => parseCidr("fe80::1%eth0"), /a zone/);
  assert.throws(() => parseCidr("::ffff:010.0.0.1"), /it reads as 8\.0\.0\.1|it reads as/);
  assert.throws(() => parseCidr("::ffff:0x0a.0.0.1"), /standard form/);
  assert.throws(() => parseCidr(" 10.0.0.0 / 8"), /has spaces inside/);
  assert.throws(() => parseCidr("10.0.0.0/8x"), CidrError);
  assert.equal(parseCidr("10.0.0.0/08").text, "10.0.0.0/8");
  assert.equal(parseCidr("::ffff:10.0.0.1").text, "10.0.0.1/32");
});
