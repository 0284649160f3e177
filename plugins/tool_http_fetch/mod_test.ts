import assert from "node:assert/strict";
import { z } from "zod";
import type { ToolResult } from "@synth/kernel";
import { makeTestDir } from "@synth/testing";
// deno-lint-ignore synth/plugin-boundaries -- the real invokeTool, config and pool: not exported by @synth/testing
import { TOOLS_CONFIG_SHAPE } from "../../src/tools/config.ts";
// deno-lint-ignore synth/plugin-boundaries -- the real invokeTool, config and pool: not exported by @synth/testing
import { invokeTool } from "../../src/tools/invoke.ts";
// deno-lint-ignore synth/plugin-boundaries -- the real invokeTool, config and pool: not exported by @synth/testing
import { VERSION } from "../../src/version.ts";
import { httpFetchTool } from "./mod.ts";
import type { HopArgs } from "./worker.ts";

const MiB = 1024 * 1024;

const PAGE = `<!doctype html><html><head><title>Caf&eacute; &amp; Co</title>
<script>document.title = "evil"</script><style>p { color: red }</style></head>
<body><h1>Welcome</h1><p>Fish &amp; chips &lt;3</p><script>alert("x")</script>
<ul><li>One</li><li>Two</li></ul></body></html>`;

/** A loopback server with the pages the tests fetch; records the last request's headers. */
function startServer() {
  const seen: { headers: Headers | null } = { headers: null };
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    seen.headers = request.headers;
    const path = url.pathname;
    if (path === "/page") return new Response(PAGE, { headers: { "content-type": "text/html" } });
    if (path === "/json") {
      return Response.json({ name: "Zoë", list: [1, 2] });
    }
    if (path === "/latin1") {
      return new Response(new Uint8Array([0x3c, 0x70, 0x3e, 0x63, 0x61, 0x66, 0xe9]), {
        headers: { "content-type": "text/html; charset=iso-8859-1" },
      });
    }
    if (path === "/image") {
      return new Response(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]), {
        headers: { "content-type": "image/png" },
      });
    }
    if (path === "/hang") {
      await released;
      return new Response("too late");
    }
    if (path === "/missing") return new Response("no such page", { status: 404 });
    if (path === "/big") {
      const chunk = new Uint8Array(64 * 1024).fill(0x61);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 3 * MiB) return controller.close();
          controller.enqueue(chunk);
          sent += chunk.length;
        },
      });
      return new Response(body, { headers: { "content-type": "text/plain" } });
    }
    const hops = /^\/hops\/(\d+)$/.exec(path);
    if (hops) {
      const left = Number(hops[1]);
      const location = left === 0 ? "/page" : `/hops/${left - 1}`;
      return new Response(null, { status: 302, headers: { location } });
    }
    if (path === "/to-metadata") {
      return new Response(null, {
        status: 301,
        headers: { location: "http://169.254.169.254/latest/meta-data/" },
      });
    }
    return new Response("not found", { status: 404 });
  });
  const port = server.addr.port;
  return { server, port, base: `http://127.0.0.1:${port}`, seen, release };
}

async function withFetch(
  configInput: Record<string, unknown>,
  body: (
    fetch: (args: Record<string, unknown>) => Promise<ToolResult>,
    site: ReturnType<typeof startServer>,
  ) => Promise<void>,
): Promise<void> {
  const emptyDir = await makeTestDir("synth-fetch-");
  const site = startServer();
  try {
    const http = (configInput.http ?? {}) as Record<string, unknown>;
    const config = z.strictObject(TOOLS_CONFIG_SHAPE).parse({
      ...configInput,
      http: { ...http, allowedPorts: [80, 443, site.port] },
    });
    await body(
      (args) => invokeTool(httpFetchTool.tool, args, { config, workspace: null, emptyDir }),
      site,
    );
  } finally {
    site.release();
    await site.server.shutdown();
    await Deno.remove(emptyDir, { recursive: true });
  }
}

const LOOPBACK = { http: { allowPrivate: ["127.0.0.1"] } };

function data(result: ToolResult): Record<string, unknown> {
  assert.ok(result.ok, JSON.stringify(result));
  return result.data as Record<string, unknown>;
}

Deno.test("http_fetch returns the extracted text and title of an HTML page", async () => {
  await withFetch(LOOPBACK, async (fetchTool, site) => {
    const result = await fetchTool({ url: `${site.base}/page` });
    const page = data(result);
    assert.equal(page.url, `${site.base}/page`);
    assert.equal(page.finalUrl, `${site.base}/page`);
    assert.equal(page.status, 200);
    assert.equal(page.contentType, "text/html");
    assert.equal(page.title, "Café & Co");
    assert.equal(page.content, "Welcome\n\nFish & chips <3\n\nOne\nTwo");
    assert.equal(page.bytes, new TextEncoder().encode(PAGE).length);
    assert.equal(page.truncated, false);
    assert.equal(result.ok && result.truncated, false);
    // The request carried our User-Agent and Accept, and nothing identifying.
    const headers = site.seen.headers!;
    assert.equal(headers.get("user-agent"), `SynthMind/${VERSION}`);
    assert.match(headers.get("accept") ?? "", /text\/html/);
    for (const name of ["cookie", "authorization", "referer"]) {
      assert.equal(headers.get(name), null);
    }
  });
});

Deno.test("http_fetch returns raw HTML without extraction, and cuts content at maxChars", async () => {
  await withFetch(LOOPBACK, async (fetchTool, site) => {
    const raw = data(await fetchTool({ url: `${site.base}/page`, extractText: false }));
    assert.equal(raw.content, PAGE);
    assert.equal(raw.title, "Café & Co");
    const cut = await fetchTool({ url: `${site.base}/page`, maxChars: 7 });
    assert.equal(data(cut).content, "Welcome");
    assert.equal(data(cut).truncated, true);
    assert.equal(cut.ok && cut.truncated, true);
  });
});

Deno.test("http_fetch decodes JSON and declared charsets, and gives binary bodies as null with a note", async () => {
  await withFetch(LOOPBACK, async (fetchTool, site) => {
    const json = data(await fetchTool({ url: `${site.base}/json` }));
    assert.equal(json.contentType, "application/json");
    assert.deepEqual(JSON.parse(json.content as string), { name: "Zoë", list: [1, 2] });
    const latin1 = data(await fetchTool({ url: `${site.base}/latin1` }));
    assert.equal(latin1.content, "café");
    const image = data(await fetchTool({ url: `${site.base}/image` }));
    assert.equal(image.content, null);
    assert.equal(image.title, null);
    assert.equal(image.bytes, 8);
    assert.match(String(image.note), /image\/png .*not text/);
  });
});

Deno.test("http_fetch returns a 404 as ok with its status", async () => {
  await withFetch(LOOPBACK, async (fetchTool, site) => {
    const missing = data(await fetchTool({ url: `${site.base}/missing` }));
    assert.equal(missing.status, 404);
    assert.equal(missing.content, "no such page");
  });
});

Deno.test("http_fetch gives up on a server that does not answer within the hop's time limit", async () => {
  await withFetch(
    { http: { allowPrivate: ["127.0.0.1"], timeoutMs: 300 } },
    async (fetchTool, site) => {
      const result = await fetchTool({ url: `${site.base}/hang` });
      assert.equal(!result.ok && result.error.code, "TOOLS_NET_TIMEOUT");
    },
  );
});

Deno.test("http_fetch cuts a 3 MiB body at 2 MiB", async () => {
  await withFetch(LOOPBACK, async (fetchTool, site) => {
    const result = await fetchTool({ url: `${site.base}/big`, maxChars: 50_000 });
    const big = data(result);
    assert.equal(big.bytes, 2 * MiB);
    assert.equal(big.truncated, true);
    assert.equal((big.content as string).length, 50_000);
  });
});

Deno.test("http_fetch follows redirects up to 5, each checked again", async () => {
  await withFetch(LOOPBACK, async (fetchTool, site) => {
    const five = data(await fetchTool({ url: `${site.base}/hops/4` }));
    assert.equal(five.url, `${site.base}/hops/4`);
    assert.equal(five.finalUrl, `${site.base}/page`);
    assert.equal(five.title, "Café & Co");
    const six = await fetchTool({ url: `${site.base}/hops/5` });
    assert.equal(!six.ok && six.error.code, "TOOLS_TOO_MANY_REDIRECTS");
    // The first hop is allowed; the metadata address it redirects to is not.
    const metadata = await fetchTool({ url: `${site.base}/to-metadata` });
    assert.equal(!metadata.ok && metadata.error.code, "TOOLS_NET_BLOCKED_ADDRESS");
    assert.match(!metadata.ok ? metadata.error.message : "", /169\.254\.0\.0\/16/);
  });
});

Deno.test("http_fetch refuses private, local and malformed targets before any request", async () => {
  await withFetch({}, async (fetchTool, site) => {
    const cases: Array<[string, string]> = [
      [`${site.base}/page`, "TOOLS_NET_BLOCKED_ADDRESS"],
      ["http://169.254.169.254/", "TOOLS_NET_BLOCKED_ADDRESS"],
      ["http://[::1]/", "TOOLS_NET_BLOCKED_ADDRESS"],
      ["http://2130706433/", "TOOLS_NET_BLOCKED_ADDRESS"],
      ["http://0x7f.1/", "TOOLS_NET_BLOCKED_ADDRESS"],
      ["http://localhost/", "TOOLS_NET_BLOCKED_NAME"],
      ["http://a.internal/", "TOOLS_NET_BLOCKED_NAME"],
      ["ftp://x/", "TOOLS_NET_BLOCKED_SCHEME"],
      ["http://user:pw@example.com/", "TOOLS_NET_CREDENTIALS_IN_URL"],
      ["http://example.com:22/", "TOOLS_NET_BLOCKED_PORT"],
    ];
    for (const [url, code] of cases) {
      const result = await fetchTool({ url });
      assert.equal(!result.ok && result.error.code, code, url);
    }
    assert.equal(site.seen.headers, null);
    const invalid = await fetchTool({ url: "https://example.com/", maxChars: 50_001 });
    assert.equal(!invalid.ok && invalid.error.code, "TOOLS_ARGS_INVALID");
  });
});

Deno.test("the sandboxed hop refuses a name that resolves to a loopback address", async () => {
  // The host's name check is bypassed: the worker's own address check must hold.
  await withFetch({}, async (_fetchTool, site) => {
    const config = z.strictObject(TOOLS_CONFIG_SHAPE).parse({});
    const hop: HopArgs = {
      url: `http://localhost:${site.port}/page`,
      literal: false,
      allow: [],
      allowAnyAddress: false,
      ipv6: false,
      maxBytes: MiB,
      timeoutMs: 5_000,
      userAgent: "SynthMind/test",
      extractText: true,
      maxChars: 100,
    };
    const bypass = {
      ...httpFetchTool.tool,
      run: (_args: unknown, ctx: Parameters<NonNullable<typeof httpFetchTool.tool.run>>[1]) =>
        ctx.sandbox(hop, { net: ["localhost"] }),
    };
    const emptyDir = await makeTestDir("synth-fetch-");
    try {
      const result = await invokeTool(bypass, { url: "http://example.com/" }, {
        config,
        workspace: null,
        emptyDir,
      });
      assert.equal(!result.ok && result.error.code, "TOOLS_NET_BLOCKED_ADDRESS");
      assert.match(
        !result.ok ? result.error.message : "",
        /resolves to .*(127\.0\.0\.0\/8|::1\/128)/,
      );
      assert.equal(site.seen.headers, null);
    } finally {
      await Deno.remove(emptyDir, { recursive: true });
    }
  });
});
