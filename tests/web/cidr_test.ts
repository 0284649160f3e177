import assert from "node:assert/strict";
import fc from "fast-check";
import { type CidrParse, parseCidr } from "../../web/lib/cidr.ts";
import { CidrError, parseCidr as serverParseCidr } from "../../src/security/ip.ts";

function text(result: CidrParse): string {
  assert.ok(result.ok, `expected a range, got ${result.ok ? "" : result.message}`);
  return result.range.text;
}

Deno.test("cidr: IPv4 ranges and bare addresses read canonically", () => {
  assert.equal(text(parseCidr("10.0.0.0/8")), "10.0.0.0/8");
  assert.equal(text(parseCidr(" 192.168.1.0/24 ")), "192.168.1.0/24");
  assert.equal(text(parseCidr("203.0.113.7")), "203.0.113.7/32");
  assert.equal(text(parseCidr("0.0.0.0/0")), "0.0.0.0/0");
  assert.equal(text(parseCidr("10.0.0.0/08")), "10.0.0.0/8");
  const range = parseCidr("172.16.0.0/12");
  assert.ok(range.ok);
  assert.deepEqual(range.range, {
    version: 4,
    bytes: [172, 16, 0, 0],
    prefix: 12,
    text: "172.16.0.0/12",
  });
});

Deno.test("cidr: IPv6 ranges in RFC 5952 form, bracketed bare addresses, IPv4 tails", () => {
  assert.equal(text(parseCidr("2001:DB8::/32")), "2001:db8::/32");
  assert.equal(text(parseCidr("2001:0db8:0000:0000:0000:0000:0000:0001")), "2001:db8::1/128");
  assert.equal(text(parseCidr("[::1]")), "::1/128");
  assert.equal(text(parseCidr("::/0")), "::/0");
  assert.equal(text(parseCidr("2001:db8:0:1:0:0:0:0/64")), "2001:db8:0:1::/64");
  assert.equal(text(parseCidr("1:0:0:2:0:0:0:3")), "1:0:0:2::3/128", "the longest zero run");
  assert.equal(text(parseCidr("1:0:0:2:0:0:3:4")), "1::2:0:0:3:4/128", "the first of equal runs");
  assert.equal(
    text(parseCidr("1:2:3:4:5:6:0:8")),
    "1:2:3:4:5:6:0:8/128",
    "one zero group is not compressed",
  );
  assert.equal(text(parseCidr("64:ff9b::192.0.2.0/120")), "64:ff9b::c000:200/120");
  assert.equal(text(parseCidr("1:2:3:4:5:6:7::")), "1:2:3:4:5:6:7:0/128");
});

Deno.test("cidr: IPv4-mapped IPv6 is read as IPv4", () => {
  assert.equal(text(parseCidr("::ffff:10.0.0.1")), "10.0.0.1/32");
  assert.equal(text(parseCidr("::ffff:10.0.0.0/104")), "10.0.0.0/8");
  assert.equal(text(parseCidr("::1.2.3.4")), "1.2.3.4/32", "the IPv4-compatible form too");
  const wide = parseCidr("::ffff:0:0/80");
  assert.ok(!wide.ok && wide.canonical === "::/80", "below /96 it stays IPv6");
});

Deno.test("cidr: host bits set are refused, naming the network", () => {
  const v4 = parseCidr("10.0.0.1/8");
  assert.equal(v4.ok, false);
  assert.ok(!v4.ok);
  assert.equal(v4.canonical, "10.0.0.0/8");
  assert.match(v4.message, /host bits set; the network is 10\.0\.0\.0\/8/);
  const v6 = parseCidr("2001:db8::1/32");
  assert.ok(!v6.ok);
  assert.equal(v6.canonical, "2001:db8::/32");
  const odd = parseCidr("192.168.1.129/25");
  assert.ok(!odd.ok);
  assert.equal(odd.canonical, "192.168.1.128/25");
});

Deno.test("cidr: text that is not a range is refused without a network to suggest", () => {
  for (
    const bad of [
      "",
      "nonsense",
      "10.0.0",
      "10.0.0.0.0",
      "256.0.0.0",
      "010.0.0.1",
      "10.0.0.0/33",
      "10.0.0.0/",
      "10.0.0.0/-1",
      "10.0.0.0/8/8",
      "::/129",
      "1::2::3",
      ":1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "12345::",
      "g::",
      "1.2.3.4::",
      "fe80::1%eth0",
      "[10.0.0.0/8]",
    ]
  ) {
    const result = parseCidr(bad);
    assert.equal(result.ok, false, `"${bad}" is refused`);
    assert.ok(!result.ok && result.canonical === undefined, `"${bad}" has no network`);
  }
});

/** What the server makes of a text: its canonical range, the network it suggests, or a refusal. */
function server(input: string): string {
  try {
    return `ok ${serverParseCidr(input).text}`;
  } catch (error) {
    if (!(error instanceof CidrError)) throw error;
    return error.canonical ? `host ${error.canonical}` : "invalid";
  }
}

function client(input: string): string {
  const result = parseCidr(input);
  if (result.ok) return `ok ${result.range.text}`;
  return result.canonical ? `host ${result.canonical}` : "invalid";
}

Deno.test("cidr: the browser agrees with the server on generated addresses and prefixes", () => {
  const v4 = fc.tuple(fc.ipV4(), fc.option(fc.integer({ min: 0, max: 33 }), { nil: undefined }));
  const v6 = fc.tuple(
    fc.ipV6().filter((address) => !address.includes("%")),
    fc.option(fc.integer({ min: 0, max: 129 }), { nil: undefined }),
  );
  fc.assert(
    fc.property(fc.oneof(v4, v6), ([address, prefix]) => {
      const input = prefix === undefined ? address : `${address}/${prefix}`;
      assert.equal(client(input), server(input), input);
    }),
    { numRuns: 3_000, seed: 5_952 },
  );
});

Deno.test("cidr: whatever the browser accepts from loose text, the server reads the same way", () => {
  const loose = fc.string({
    unit: fc.constantFrom(..."0123456789abcdefABCDEF:./[]%".split("")),
    maxLength: 24,
  });
  fc.assert(
    fc.property(loose, (input) => {
      const mine = client(input);
      if (mine !== "invalid") assert.equal(mine, server(input), input);
    }),
    { numRuns: 20_000, seed: 4_291 },
  );
});
