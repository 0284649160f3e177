/**
 * Property test (issue 7, acceptance 2): generated malformed bodies sent to
 * every JSON route the router knows get a 4xx with the uniform error
 * shape — never a 5xx — and the server keeps serving. fast-check with a
 * fixed seed, so a failure reproduces.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "../mind/helpers.ts";
import { authHost, setupAdmin } from "../security/helpers.ts";
import type { TestHost } from "@synth/testing";
import { connect } from "../ws/client.ts";

/** Bodies no route accepts: not JSON, JSON of the wrong shape, hostile values. */
const malformed = fc.oneof(
  fc.string({ maxLength: 40 }).filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  }).map((text) => ({ raw: text })),
  fc.oneof(
    fc.constant(null),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.string({ maxLength: 20 }),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          "__proto__",
          "constructor",
          "message",
          "content",
          "thread_id",
          "id",
          "role",
        ),
        fc.string({ maxLength: 8 }),
      ),
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constant("x".repeat(40_000)),
        fc.constant(-1),
        fc.constant(1e308),
      ),
      { maxKeys: 4 },
    ),
  ).map((value) => ({ raw: JSON.stringify(value) })),
);

/** Sends `runs` generated malformed bodies to the JSON routes of `host`; returns failures and statuses. */
async function fuzz(
  host: TestHost,
  ids: { threadId?: string; turnId?: string },
  headers: Record<string, string>,
  seed: number,
) {
  const routes = host.app.routes
    .filter((route) => ["POST", "PUT", "PATCH"].includes(route.method) && !route.path.includes("*"))
    .map((route) => ({
      method: route.method,
      path: route.path
        .replace(/\/threads\/:id/, `/threads/${ids.threadId ?? "x"}`)
        .replace(/\/turns\/:id/, `/turns/${ids.turnId ?? "x"}`)
        .replace(/:[A-Za-z_]+/g, "x"),
    }))
    // The NDJSON import takes other bodies (its own tests); logout takes none and would end the session.
    .filter((route) => route.path !== "/api/memories/import" && route.path !== "/api/auth/logout");
  assert.ok(routes.length >= 25, `${routes.length} JSON routes`);
  const failures: string[] = [];
  const statuses: Record<number, number> = {};
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), malformed, async (route, body) => {
      const response = await host.request(route.path, {
        method: route.method,
        headers: { ...headers, "content-type": "application/json" },
        body: body.raw,
      });
      const text = await response.text();
      let shaped = false;
      try {
        const parsed = JSON.parse(text);
        shaped = parsed.success === false && typeof parsed.error?.code === "string" &&
          typeof parsed.error?.message === "string";
      } catch {
        shaped = false;
      }
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      // A body that happens to be valid may succeed; what must never happen is a 5xx or a bare error.
      const ok = response.status < 500 && (response.status < 400 || shaped);
      if (!ok) {
        failures.push(
          `${route.method} ${route.path} ${body.raw.slice(0, 80)} → ${response.status} ${
            text.slice(0, 200)
          }`,
        );
      }
      return ok;
    }),
    { seed, numRuns: 600 },
  ).catch(() => {/* reported below with every failure */});
  return { failures, statuses };
}

function assertClean(result: Awaited<ReturnType<typeof fuzz>>) {
  assert.deepEqual(result.failures.slice(0, 10), []);
  const total = Object.values(result.statuses).reduce((sum, n) => sum + n, 0);
  assert.equal(total, 600, "every generated case was sent");
  assert.ok(
    (result.statuses[400] ?? 0) > 300,
    `mostly validation errors: ${JSON.stringify(result.statuses)}`,
  );
}

Deno.test("malformed bodies to every JSON route get 4xx with the error shape, never 5xx, and the server keeps serving", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const turn = await chat(host, "Hello there, a first message");
  await host.kernel.mind.scheduler.idle();
  assertClean(
    await fuzz(
      host,
      {
        threadId: turn.body.thread_id as string,
        turnId: turn.body.turn_id as string,
      },
      {},
      20261126,
    ),
  );
  const live = await host.request("/health/live");
  assert.equal(live.status, 200, "still serving");
  await live.body?.cancel();
});

Deno.test("with sign-in on, malformed bodies from an administrator get 4xx too, and sign-in routes validate theirs", async () => {
  await using host = await authHost();
  const admin = await setupAdmin(host);
  assertClean(
    await fuzz(host, {}, { authorization: `Bearer ${admin.access_token}` }, 20261127),
  );
  const status = await host.request("/api/auth/status");
  assert.equal(status.status, 200, "still serving");
  await status.body?.cancel();
});

Deno.test("a body that is not JSON is 400 MALFORMED_JSON before sign-in and the rate limit (server.md §1 step 8); too large stays 413", async () => {
  await using host = await authHost({
    rateLimit: { enabled: true, tiers: { chat: { limit: 1 } } },
  });
  const { access_token: token } = await setupAdmin(host);
  // Over a socket, so the body arrives with its length, as from any client.
  const server = host.listen();
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
  const noToken = await post("{not json");
  assert.equal(noToken.status, 400);
  assert.equal((await noToken.json()).error.code, "MALFORMED_JSON");
  // Well-formed JSON without a token still meets sign-in.
  assert.equal((await post(JSON.stringify({ message: "hi" }))).status, 401);
  // The chat tier spent (its one request), a bad body is still named as such.
  const auth = { authorization: `Bearer ${token}` };
  await (await post(JSON.stringify({ message: "/help" }), auth)).body?.cancel();
  const limited = await post(JSON.stringify({ message: "/help" }), auth);
  assert.equal(limited.status, 429);
  await limited.body?.cancel();
  const bad = await post("{not json", auth);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "MALFORMED_JSON");
  // Bytes that are not UTF-8 are refused, not stored as U+FFFD (over fetch, as bytes).
  const latin1 = await fetch(`${server.url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: new Uint8Array([
      ...new TextEncoder().encode('{"message": "na'),
      0xef,
      0x76,
      0x65,
      0x22,
      0x7d,
    ]),
  });
  assert.equal(latin1.status, 400);
  const notUtf8 = (await latin1.json()).error;
  assert.equal(notUtf8.code, "MALFORMED_JSON");
  assert.equal(notUtf8.message, "The body is not valid UTF-8");
  // A body whose size no header announces (chunked here, as any HTTP/2 body may be) is limited
  // just the same, before sign-in.
  const chunk = new TextEncoder().encode("x".repeat(100_000));
  /** 1.2 MB in 12 chunks, its size announced nowhere. */
  const oversized = () =>
    new ReadableStream({
      start(controller) {
        for (let i = 0; i < 12; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
  const streamed = await fetch(`${server.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: oversized(),
    duplex: "half",
  } as RequestInit);
  assert.equal(streamed.status, 413);
  assert.equal((await streamed.json()).error.code, "PAYLOAD_TOO_LARGE");
  // With neither Content-Length nor Transfer-Encoding (HTTP/2 framing; here in process).
  const unannounced = await host.request("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: oversized(),
    duplex: "half",
  } as RequestInit);
  assert.equal(unannounced.status, 413);
  await unannounced.body?.cancel();
  const huge = await post(`{"message": "${"x".repeat(1_100_000)}`);
  assert.equal(huge.status, 413);
  assert.equal((await huge.json()).error.code, "PAYLOAD_TOO_LARGE");
});

Deno.test("text holding a NUL character or half an emoji is refused with 400 naming the field, over HTTP and the WebSocket; nothing is cut or changed and stored", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const server = host.listen();
  const send = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  const cases: Array<[string, string, unknown, string]> = [
    ["POST", "/api/memories", { text: "before\u0000after the NUL" }, "text"],
    ["POST", "/api/threads", { title: "ti\u0000tle" }, "title"],
    ["POST", "/api/chat", { message: "hello\u0000world" }, "message"],
    ["POST", "/api/memories/forget", { ids: ["mem_1", "mem\u00002"] }, "ids.1"],
  ];
  for (const [method, path, body, field] of cases) {
    const answer = await send(method, path, body);
    assert.equal(answer.status, 400, `${path}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.code, "VALIDATION_FAILED");
    assert.equal(answer.body.error.field, field);
    assert.match(answer.body.error.message, /NUL character/);
  }
  // A NUL deep inside 5,000 nested arrays is found without overflowing the stack: 400, not 500.
  const deep = await fetch(`${server.url}/api/memories`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: `${"[".repeat(5_000)}"\\u0000"${"]".repeat(5_000)}`,
  });
  assert.equal(deep.status, 400);
  assert.equal((await deep.json()).error.code, "VALIDATION_FAILED");
  // The same requests through the app directly (no body guard in front) say the same.
  const direct = await host.request("/api/memories", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "before\u0000after" }),
  });
  assert.equal(direct.status, 400);
  assert.equal((await direct.json()).error.field, "text");
  // A backslash followed by "u0000" is ordinary text.
  const literal = await send("POST", "/api/memories", { text: "the escape \\u0000 in C" });
  assert.equal(literal.status, 201, JSON.stringify(literal.body));
  assert.equal(literal.body.text, "the escape \\u0000 in C");
  // Half an emoji (an unpaired surrogate) would be stored as U+FFFD: refused the same way.
  for (
    const [method, path, body, field] of [
      ["POST", "/api/threads", { title: "\ud800" }, "title"],
      ["POST", "/api/chat", { message: "hello \udc00" }, "message"],
      ["POST", "/api/memories", { text: "a fact \ud83d" }, "text"],
    ] as const
  ) {
    const answer = await send(method, path, body);
    assert.equal(answer.status, 400, `${path}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.field, field);
    assert.match(answer.body.error.message, /not valid Unicode \(an unpaired surrogate/);
  }
  const directHalf = await host.request("/api/threads", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: "x\udfff" }),
  });
  assert.equal(directHalf.status, 400);
  assert.equal((await directHalf.json()).error.field, "title");
  // A title of spaces is no title, on creation as on PATCH.
  const spaces = await send("POST", "/api/threads", { title: "   " });
  assert.equal(spaces.status, 400);
  assert.equal(spaces.body.error.field, "title");
  const emoji = await send("POST", "/api/memories", { text: "a whole emoji \u{1F600}" });
  assert.equal(emoji.status, 201, "a whole pair is fine");
  const threads = await host.kernel.store.db.selectFrom("threads").select("id").execute();
  assert.deepEqual(threads, [], "no thread was made, and no turn ran");

  const socket = await connect(server.url);
  socket.send("hello", { topics: ["chat"] });
  await socket.next("welcome");
  socket.send("chat.send", { content: "hi\u0000there" });
  const error = await socket.next("error");
  assert.equal(error.data.code, "VALIDATION_FAILED");
  assert.equal(error.data.field, "data.content");
  socket.send("chat.send", { content: "half \ud800" });
  const half = await socket.next("error");
  assert.deepEqual([half.data.code, half.data.field], ["VALIDATION_FAILED", "data.content"]);
  socket.close();
  await server.shutdown();
});
