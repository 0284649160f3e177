import assert from "node:assert/strict";
import type { ToolHostContext, ToolResult } from "@synth/kernel";
import { makeTestDir } from "@synth/testing";
import { z } from "zod";
// deno-lint-ignore synth/plugin-boundaries -- the real invokeTool and config: not exported by @synth/testing
import { TOOLS_CONFIG_SHAPE } from "../../src/tools/config.ts";
// deno-lint-ignore synth/plugin-boundaries -- the real invokeTool and config: not exported by @synth/testing
import { invokeTool } from "../../src/tools/invoke.ts";
import { webSearchTool } from "./mod.ts";

const SEARXNG_ANSWER = {
  query: "deno",
  number_of_results: 1234,
  results: [
    {
      title: "Deno, the <b>next</b>-generation JavaScript runtime",
      url: "https://deno.com/",
      content: "Deno is the open-source JavaScript runtime &amp; more",
      engine: "duckduckgo",
    },
    {
      title: "Deno on GitHub",
      url: "https://github.com/denoland/deno",
      content: "A modern runtime",
      engines: ["google", "bing"],
    },
    { title: "No URL", content: "dropped" },
    { title: "Third", url: "https://example.org/3", content: "three", engine: "bing" },
  ],
};

/** A fake SearXNG on loopback: `/searx/search` answers by the query; records requests. */
function startSearxng() {
  const requests: Array<{ url: URL; headers: Headers }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    requests.push({ url, headers: request.headers });
    if (url.pathname !== "/searx/search") return new Response("not found", { status: 404 });
    const query = url.searchParams.get("q");
    if (query === "forbidden") return new Response("json disabled", { status: 403 });
    if (query === "broken") return new Response("<html>oops</html>", { status: 200 });
    if (query === "moved") {
      return new Response(null, { status: 302, headers: { location: "http://169.254.169.254/" } });
    }
    return Response.json(SEARXNG_ANSWER);
  });
  return { server, port: server.addr.port, requests };
}

async function withSearch(
  input: (port: number) => Record<string, unknown>,
  body: (
    search: (args: Record<string, unknown>, env?: Record<string, string>) => Promise<ToolResult>,
    site: ReturnType<typeof startSearxng>,
  ) => Promise<void>,
): Promise<void> {
  const emptyDir = await makeTestDir("synth-search-");
  const site = startSearxng();
  try {
    const config = z.strictObject(TOOLS_CONFIG_SHAPE).parse(input(site.port));
    await body(
      (args, env = {}) =>
        invokeTool(webSearchTool.tool, args, {
          config,
          workspace: null,
          emptyDir,
          env: (name) => env[name],
        }),
      site,
    );
  } finally {
    await site.server.shutdown();
    await Deno.remove(emptyDir, { recursive: true });
  }
}

const searxng = (port: number, extra: Record<string, unknown> = {}) => ({
  web_search: { provider: "searxng", baseUrl: `http://127.0.0.1:${port}/searx`, ...extra },
  http: { allowPrivate: ["127.0.0.1"] },
});

Deno.test("web_search returns SearXNG results as title, url, snippet and source", async () => {
  await withSearch((port) => searxng(port), async (search, site) => {
    const result = await search({ query: "deno", maxResults: 2 });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.data, {
      provider: "searxng",
      kind: "web",
      results: [
        {
          title: "Deno, the next-generation JavaScript runtime",
          url: "https://deno.com/",
          snippet: "Deno is the open-source JavaScript runtime & more",
          source: "duckduckgo",
        },
        {
          title: "Deno on GitHub",
          url: "https://github.com/denoland/deno",
          snippet: "A modern runtime",
          source: "google, bing",
        },
      ],
      totalFound: 1234,
    });
    const request = site.requests[0]!;
    assert.equal(request.url.searchParams.get("q"), "deno");
    assert.equal(request.url.searchParams.get("format"), "json");
    assert.match(request.headers.get("user-agent") ?? "", /^SynthMind\//);
  });
});

Deno.test("web_search takes its default number of results from the config", async () => {
  await withSearch((port) => searxng(port, { maxResults: 1 }), async (search) => {
    const result = await search({ query: "deno" });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal((result.data as { results: unknown[] }).results.length, 1);
  });
});

Deno.test("web_search reports provider failures with clear codes", async () => {
  await withSearch((port) => searxng(port), async (search) => {
    const cases: Array<[string, string, RegExp]> = [
      ["forbidden", "TOOLS_SEARCH_FAILED", /json format/],
      ["broken", "TOOLS_SEARCH_BAD_RESPONSE", /JSON/],
      ["moved", "TOOLS_SEARCH_FAILED", /redirected/],
    ];
    for (const [query, code, message] of cases) {
      const result = await search({ query });
      assert.equal(!result.ok && result.error.code, code, query);
      assert.match(!result.ok ? result.error.message : "", message);
    }
  });
});

Deno.test("a SearXNG base URL on a private or local host needs allowPrivate", async () => {
  await withSearch(
    (port) => ({ web_search: searxng(port).web_search }),
    async (search, site) => {
      const result = await search({ query: "deno" });
      assert.equal(!result.ok && result.error.code, "TOOLS_NET_BLOCKED_ADDRESS");
      assert.match(!result.ok ? result.error.message : "", /127\.0\.0\.0\/8/);
      assert.equal(site.requests.length, 0);
    },
  );
  await withSearch(
    (port) => ({ web_search: { provider: "searxng", baseUrl: `http://searx.internal:${port}` } }),
    async (search) => {
      const result = await search({ query: "deno" });
      assert.equal(!result.ok && result.error.code, "TOOLS_NET_BLOCKED_NAME");
    },
  );
  await withSearch(() => ({ web_search: { provider: "searxng" } }), async (search) => {
    const result = await search({ query: "deno" });
    assert.equal(!result.ok && result.error.code, "TOOLS_SEARCH_NOT_CONFIGURED");
  });
});

Deno.test("web_search with Brave refuses clearly when the API key is not configured or not set", async () => {
  await withSearch(() => ({ web_search: { provider: "brave" } }), async (search) => {
    const result = await search({ query: "deno" });
    assert.equal(!result.ok && result.error.code, "TOOLS_SEARCH_NO_API_KEY");
    assert.match(!result.ok ? result.error.message : "", /apiKeyEnv/);
  });
  await withSearch(
    () => ({ web_search: { provider: "brave", apiKeyEnv: "BRAVE_SEARCH_KEY" } }),
    async (search) => {
      const result = await search({ query: "deno" }, {});
      assert.equal(!result.ok && result.error.code, "TOOLS_SEARCH_NO_API_KEY");
      assert.match(!result.ok ? result.error.message : "", /BRAVE_SEARCH_KEY/);
    },
  );
});

Deno.test("the Brave key travels only as a call secret, to the Brave host alone", async () => {
  const config = z.strictObject(TOOLS_CONFIG_SHAPE).parse({
    web_search: { provider: "brave", apiKeyEnv: "BRAVE_SEARCH_KEY" },
  });
  const calls: Array<{ args: unknown; grants: unknown; options: unknown }> = [];
  const ctx: ToolHostContext = {
    workspace: null,
    config,
    env: (name) => name === "BRAVE_SEARCH_KEY" ? "secret-key-123" : undefined,
    signal: new AbortController().signal,
    sandbox(args, grants, options) {
      calls.push({ args, grants, options });
      return Promise.resolve({ provider: "brave", kind: "web", results: [], totalFound: 0 });
    },
  };
  await webSearchTool.tool.run!({ query: "deno", maxResults: 3 }, ctx);
  const [call] = calls;
  assert.ok(call);
  assert.deepEqual(call.grants, { net: ["api.search.brave.com"] });
  assert.deepEqual((call.options as { secrets: unknown }).secrets, { apiKey: "secret-key-123" });
  assert.ok(!JSON.stringify(call.args).includes("secret-key-123"));
  assert.equal(
    (call.args as { url: string }).url,
    "https://api.search.brave.com/res/v1/web/search?q=deno&count=3",
  );
});

Deno.test("web_search arguments are validated", async () => {
  await withSearch((port) => searxng(port), async (search) => {
    for (
      const args of [{}, { query: "" }, { query: "x".repeat(401) }, { query: "a", maxResults: 11 }]
    ) {
      const result = await search(args);
      assert.equal(!result.ok && result.error.code, "TOOLS_ARGS_INVALID", JSON.stringify(args));
    }
  });
});
