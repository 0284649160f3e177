import assert from "node:assert/strict";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { blockedRangeOf } from "./policy.ts";
import {
  blockedRange,
  decodeEntities,
  decodeText,
  detectCharset,
  extractHtml,
  isTextType,
} from "./worker.ts";

Deno.test("the worker's address check names the blocked IPv4 and IPv6 ranges", () => {
  const cases: Array<[string, string | null]> = [
    ["127.0.0.1", "127.0.0.0/8 (loopback)"],
    ["10.1.2.3", "10.0.0.0/8 (private)"],
    ["100.64.0.1", "100.64.0.0/10 (shared address space)"],
    ["100.128.0.1", null],
    ["169.254.169.254", "169.254.0.0/16 (link-local)"],
    ["172.31.255.255", "172.16.0.0/12 (private)"],
    ["172.32.0.1", null],
    ["192.168.1.1", "192.168.0.0/16 (private)"],
    ["198.19.255.1", "198.18.0.0/15 (benchmarking)"],
    ["0.0.0.0", "0.0.0.0/8 (this network)"],
    ["224.0.0.1", "224.0.0.0/4 (multicast)"],
    ["255.255.255.255", "240.0.0.0/4 (reserved)"],
    ["93.184.216.34", null],
    ["8.8.8.8", null],
    ["::", "::/128 (unspecified)"],
    ["::1", "::1/128 (loopback)"],
    ["fd00::1", "fc00::/7 (unique local)"],
    ["fe80::1%eth0", "fe80::/10 (link-local)"],
    ["ff02::1", "ff00::/8 (multicast)"],
    ["2001:db8::1", "2001:db8::/32 (documentation)"],
    ["100::1", "100::/64 (discard-only)"],
    ["2606:4700::1111", null],
    ["::ffff:127.0.0.1", "127.0.0.0/8 (loopback, embedded in ::ffff:0:0/96)"],
    ["::ffff:7f00:1", "127.0.0.0/8 (loopback, embedded in ::ffff:0:0/96)"],
    ["64:ff9b::a9fe:a9fe", "169.254.0.0/16 (link-local, embedded in 64:ff9b::/96)"],
    ["::ffff:8.8.8.8", null],
    ["64:ff9b::808:808", null],
    ["not-an-address", 'an unparsable address "not-an-address"'],
  ];
  for (const [address, expected] of cases) {
    assert.equal(blockedRange(address), expected, address);
  }
});

Deno.test("the worker's address check lets allowed CIDRs through, embedded IPv4 included", () => {
  assert.equal(blockedRange("127.0.0.1", ["127.0.0.0/8"]), null);
  assert.equal(blockedRange("127.0.0.1", ["127.0.0.1/32"]), null);
  assert.equal(blockedRange("127.0.0.2", ["127.0.0.1/32"]), "127.0.0.0/8 (loopback)");
  assert.equal(blockedRange("::ffff:127.0.0.1", ["127.0.0.1/32"]), null);
  assert.equal(blockedRange("::1", ["::1/128"]), null);
  assert.equal(blockedRange("fd12:3456::1", ["fd12::/16"]), null);
  assert.equal(blockedRange("10.0.0.1", ["::1/128"]), "10.0.0.0/8 (private)");
});

Deno.test("the worker's hand-written range check agrees with the host's ipaddr.js check", () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((bytes) =>
    bytes.join(".")
  );
  // Bias towards the interesting prefixes (mapped, NAT64, ULA, link-local, documentation).
  const prefix = fc.constantFrom(
    [0, 0, 0, 0, 0, 0xffff],
    [0x64, 0xff9b, 0, 0, 0, 0],
    [0xfc00],
    [0xfe80],
    [0xff02],
    [0x2001, 0xdb8],
    [0x100, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
    [],
  );
  const v6 = fc.tuple(prefix, fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })).map((
    [head, rest],
  ) => [...head, ...rest.slice(head.length)].map((group) => group.toString(16)).join(":"));
  fc.assert(
    fc.property(fc.oneof(v4, v6), (text) => {
      assert.equal(blockedRange(text), blockedRangeOf(ipaddr.parse(text)), text);
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("HTML text extraction keeps the title and text, drops scripts and decodes entities", () => {
  const html = `<!DOCTYPE html>
<HTML><HEAD><meta charset="utf-8"><TITLE>Caf&eacute; &amp; Bar</TITLE>
<style>body { color: red }</style><script>var inHead = 1;</script></HEAD>
<body>
  <!-- a comment <p>hidden</p> -->
  <h1>Menu</h1>
  <p>Coffee   &mdash;  2&nbsp;&euro;<br>Tea &#8211; 1&#x20AC;</p>
  <SCRIPT type="text/javascript">document.write("<p>evil</p>")</SCRIPT>
  <noscript>Enable JavaScript</noscript>
  <svg viewBox="0 0 1 1"><svg><text>nested</text></svg><text>drawing</text></svg>
  <template><p>later</p></template>
  <iframe src="x">frame</iframe>
  <ul><li>One</li><li>Two <b>bold</b> <a href="/x" title="a>b">link</a></li></ul>
  <table><tr><td>a</td><td>b</td></tr></table>
  <p>5 &lt; 6 &unknown; &#0; &#x1F600;</p>
</body></HTML>`;
  const { title, text } = extractHtml(html);
  assert.equal(title, "Café & Bar");
  assert.equal(
    text,
    "Menu\n\nCoffee — 2 €\nTea – 1€\n\nOne\nTwo bold link\na b\n\n5 < 6 &unknown; \ufffd 😀",
  );
  for (
    const hidden of ["color", "inHead", "evil", "Enable", "nested", "drawing", "later", "frame"]
  ) {
    assert.ok(!text.includes(hidden), hidden);
  }
});

Deno.test("HTML text extraction survives an unclosed head and an unclosed script", () => {
  assert.deepEqual(extractHtml("<head><title>T</title><body><p>Body text</p>"), {
    title: "T",
    text: "Body text",
  });
  assert.deepEqual(extractHtml("<p>Before</p><script>while(1){}"), { title: null, text: "Before" });
});

Deno.test("a quote or tag never closed ends the page's text, as in a browser", () => {
  // 2 MiB of these took minutes with backtracking tag patterns; the scanner is linear.
  const hostile = '<a "'.repeat(500_000);
  assert.deepEqual(extractHtml(`<p>kept</p><a title="x>y">link</a>${hostile}`), {
    title: null,
    text: "kept\n\nlink",
  });
  assert.equal(extractHtml("<p>a</p>" + "<svg>".repeat(300_000)).text, "a");
  assert.equal(extractHtml("<p>b</p>" + "<div ".repeat(400_000)).text, "b");
});

Deno.test("entities: named, decimal and hex references decode; unknown ones stay", () => {
  assert.equal(decodeEntities("&lt;a&gt; &quot;x&quot; &apos;y&apos; &copy;"), `<a> "x" 'y' ©`);
  assert.equal(decodeEntities("&#65;&#x42;&#X43; &ouml;&Ntilde;"), "ABC öÑ");
  assert.equal(decodeEntities("&amp &notanentity; &#xD800;"), "& &notanentity; \ufffd");
});

Deno.test("the charset comes from a BOM, the header, <meta> or an XML declaration, else UTF-8", () => {
  const ascii = (text: string) => new TextEncoder().encode(text);
  assert.equal(detectCharset(ascii("x"), "text/html; charset=ISO-8859-1"), "iso-8859-1");
  assert.equal(detectCharset(ascii("x"), 'text/plain; charset="windows-1251"'), "windows-1251");
  assert.equal(detectCharset(ascii('<meta charset="shift_jis">'), "text/html"), "shift_jis");
  assert.equal(
    detectCharset(
      ascii('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'),
      "text/html",
    ),
    "koi8-r",
  );
  assert.equal(
    detectCharset(ascii('<?xml version="1.0" encoding="ISO-8859-2"?><r/>'), null),
    "iso-8859-2",
  );
  assert.equal(detectCharset(ascii('<meta charset="utf-16">'), "text/html"), "utf-8");
  assert.equal(detectCharset(ascii("x"), "text/html; charset=bogus"), "utf-8");
  assert.equal(
    detectCharset(new Uint8Array([0xff, 0xfe, 0x41, 0]), "text/plain; charset=utf-8"),
    "utf-16le",
  );
  assert.equal(detectCharset(ascii("plain"), "text/plain"), "utf-8");
});

Deno.test("text is decoded in its charset, bad bytes replaced rather than failing", () => {
  assert.equal(
    decodeText(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), "text/plain; charset=latin1"),
    "café",
  );
  assert.equal(decodeText(new Uint8Array([0x61, 0xff, 0x62]), "text/plain"), "a\ufffdb");
});

Deno.test("text types are text/*, JSON, XML, XHTML, RSS and Atom", () => {
  for (
    const type of [
      "text/plain",
      "text/html; charset=utf-8",
      "application/json",
      "application/ld+json",
      "application/xml",
      "application/xhtml+xml",
      "application/rss+xml",
      "application/atom+xml",
    ]
  ) assert.ok(isTextType(type), type);
  for (const type of ["image/png", "application/octet-stream", "application/pdf", null]) {
    assert.ok(!isTextType(type), String(type));
  }
});
