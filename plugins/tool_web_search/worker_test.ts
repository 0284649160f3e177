import assert from "node:assert/strict";
import { z } from "zod";
import fc from "fast-check";
// deno-lint-ignore synth/plugin-boundaries -- the config schema: not exported by @synth/testing
import { TOOLS_CONFIG_SHAPE } from "../../src/tools/config.ts";
import { blockedRange as fetchBlockedRange } from "../tool_http_fetch/worker.ts";
import { checkSearchTarget, requestUrl } from "./target.ts";
import {
  blockedRange,
  parseBrave,
  parseDuckDuckGo,
  parseSearxng,
  plain,
  requestHeaders,
  type SearchArgs,
} from "./worker.ts";

const config = (input: Record<string, unknown> = {}) =>
  z.strictObject(TOOLS_CONFIG_SHAPE).parse(input);

const DUCKDUCKGO_ANSWER = {
  Heading: "Deno (software)",
  AbstractText: "Deno is a runtime for JavaScript, TypeScript, and WebAssembly.",
  AbstractURL: "https://en.wikipedia.org/wiki/Deno_(software)",
  AbstractSource: "Wikipedia",
  Answer: "",
  Definition: "",
  Results: [{ Text: "Official site - Deno", FirstURL: "https://deno.com/" }],
  RelatedTopics: [
    { Text: "Node.js - A JavaScript runtime", FirstURL: "https://duckduckgo.com/Node.js" },
    {
      Name: "See also",
      Topics: [
        { Text: "Bun (software) - Another runtime", FirstURL: "https://duckduckgo.com/Bun" },
        { Text: "Without a URL" },
      ],
    },
  ],
};

Deno.test("DuckDuckGo instant answers become results: abstract, results, related topics", () => {
  const data = parseDuckDuckGo(DUCKDUCKGO_ANSWER, "deno", 10);
  assert.equal(data.kind, "instant_answers");
  assert.equal(data.totalFound, 4);
  assert.deepEqual(data.results.map((result) => [result.title, result.url, result.source]), [
    ["Deno (software)", "https://en.wikipedia.org/wiki/Deno_(software)", "Wikipedia"],
    ["Official site", "https://deno.com/", "DuckDuckGo"],
    ["Node.js", "https://duckduckgo.com/Node.js", "DuckDuckGo"],
    ["Bun (software)", "https://duckduckgo.com/Bun", "DuckDuckGo"],
  ]);
  assert.equal(parseDuckDuckGo(DUCKDUCKGO_ANSWER, "deno", 2).results.length, 2);
  // The usual case for a general query: nothing at all.
  assert.deepEqual(parseDuckDuckGo({ Heading: "", RelatedTopics: [] }, "x y z", 5), {
    provider: "duckduckgo",
    kind: "instant_answers",
    results: [],
    totalFound: 0,
  });
  const answer = parseDuckDuckGo({ Answer: "42", Heading: "" }, "6 * 7", 5).results[0]!;
  assert.equal(answer.snippet, "42");
  assert.equal(answer.url, "https://duckduckgo.com/?q=6%20*%207");
});

Deno.test("Brave web results become results, tags stripped from descriptions", () => {
  const data = parseBrave({
    web: {
      results: [
        {
          title: "Deno",
          url: "https://deno.com/",
          description: "The <strong>Deno</strong> runtime &amp; tools",
          profile: { name: "Deno" },
        },
        { title: "Docs", url: "https://docs.deno.com/", meta_url: { hostname: "docs.deno.com" } },
      ],
    },
  }, 5);
  assert.deepEqual(data, {
    provider: "brave",
    kind: "web",
    results: [
      {
        title: "Deno",
        url: "https://deno.com/",
        snippet: "The Deno runtime & tools",
        source: "Deno",
      },
      { title: "Docs", url: "https://docs.deno.com/", snippet: "", source: "docs.deno.com" },
    ],
    totalFound: 2,
  });
  assert.deepEqual(parseBrave({ nothing: true }, 5).results, []);
});

Deno.test("SearXNG results ignore malformed entries; snippets are cut", () => {
  const data = parseSearxng({
    number_of_results: 0,
    results: [{ url: "https://a.example/", title: "A", content: "x".repeat(600) }, "junk", null],
  }, 5);
  assert.equal(data.results.length, 1);
  assert.equal(data.totalFound, 1);
  assert.equal(data.results[0]!.snippet.length, 500);
  assert.equal(plain("  a <i>b</i>\n c &lt; d "), "a b c < d");
});

Deno.test("Brave requests carry the key from the call's secrets as X-Subscription-Token", () => {
  const args: SearchArgs = {
    provider: "brave",
    url: "https://api.search.brave.com/res/v1/web/search?q=deno&count=5",
    query: "deno",
    maxResults: 5,
    literal: false,
    allow: [],
    allowAnyAddress: false,
    ipv6: false,
    maxBytes: 1024,
    timeoutMs: 1000,
    userAgent: "SynthMind/1",
  };
  assert.deepEqual(requestHeaders(args, { apiKey: "k" }), {
    "User-Agent": "SynthMind/1",
    Accept: "application/json",
    "X-Subscription-Token": "k",
  });
  assert.throws(
    () => requestHeaders(args, {}),
    (error: { code?: string }) => error.code === "TOOLS_SEARCH_NO_API_KEY",
  );
  assert.equal(
    requestHeaders({ ...args, provider: "searxng" }, { apiKey: "k" })["X-Subscription-Token"],
    undefined,
  );
});

Deno.test("request URLs: DuckDuckGo's Instant Answer API, Brave, SearXNG under its base path", () => {
  const ddg = requestUrl(config().web_search, "deno & node", 5);
  assert.equal(
    ddg.href,
    "https://api.duckduckgo.com/?q=deno+%26+node&format=json&no_html=1&skip_disambig=1",
  );
  const brave = requestUrl(config({ web_search: { provider: "brave" } }).web_search, "x", 7);
  assert.equal(brave.href, "https://api.search.brave.com/res/v1/web/search?q=x&count=7");
  for (const baseUrl of ["https://search.example/searx", "https://search.example/searx/"]) {
    const searx = requestUrl(
      config({ web_search: { provider: "searxng", baseUrl } }).web_search,
      "x",
      5,
    );
    assert.equal(searx.href, "https://search.example/searx/search?q=x&format=json");
  }
});

Deno.test("search targets follow the address rules, with allowPrivate entries honoured", () => {
  const http = (allowPrivate: string[] = []) => config({ http: { allowPrivate } }).http;
  const check = (url: string, allow: string[] = []) =>
    checkSearchTarget("searxng", new URL(url), http(allow));
  const codeOf = (run: () => unknown) => {
    try {
      run();
      return "passed";
    } catch (error) {
      return (error as { code: string }).code;
    }
  };
  assert.equal(codeOf(() => check("http://10.0.0.5:8080/search")), "TOOLS_NET_BLOCKED_ADDRESS");
  assert.equal(codeOf(() => check("http://[::1]:8080/search")), "TOOLS_NET_BLOCKED_ADDRESS");
  assert.equal(codeOf(() => check("http://searx.local/search")), "TOOLS_NET_BLOCKED_NAME");
  assert.equal(codeOf(() => check("http://u:p@search.example/")), "TOOLS_NET_CREDENTIALS_IN_URL");
  assert.equal(
    codeOf(() => check("http://x/", ["not a valid entry!"])),
    "TOOLS_NET_CONFIG_INVALID",
  );
  assert.deepEqual(check("http://10.0.0.5:8080/search", ["10.0.0.0/8"]).allow, ["10.0.0.0/8"]);
  assert.equal(check("http://10.0.0.5:8080/", ["10.0.0.5:8080"]).grant, "10.0.0.5");
  assert.equal(
    codeOf(() => check("http://10.0.0.5:8081/", ["10.0.0.5:8080"])),
    "TOOLS_NET_BLOCKED_ADDRESS",
  );
  assert.equal(check("http://searx.local/", ["searx.local"]).allowAnyAddress, true);
  assert.equal(check("http://searx.local:8888/", ["searx.local:8888"]).allowAnyAddress, true);
  const docker = check("http://searxng:8080/search");
  assert.deepEqual([docker.grant, docker.literal, docker.allowAnyAddress], [
    "searxng",
    false,
    false,
  ]);
});

Deno.test("web_search's copy of the address ranges agrees with http_fetch's", () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((bytes) =>
    bytes.join(".")
  );
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).chain((groups) =>
    fc.constantFrom(
      groups,
      [0, 0, 0, 0, 0, 0xffff, ...groups.slice(6)],
      [0x64, 0xff9b, 0, 0, 0, 0, ...groups.slice(6)],
      [0xfe80, ...groups.slice(1)],
    )
  ).map((groups) => groups.map((group) => group.toString(16)).join(":"));
  fc.assert(
    fc.property(fc.oneof(v4, v6), (address) => {
      assert.equal(blockedRange(address), fetchBlockedRange(address), address);
    }),
    { numRuns: 1_000 },
  );
});
