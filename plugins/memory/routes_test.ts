import assert from "node:assert/strict";
import { createTestHost, type TestHost } from "@synth/testing";
import { z } from "zod";
import { type MemoryApi, memoryPlugin } from "./mod.ts";

const json = (body: unknown, method = "POST"): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

async function count(host: TestHost): Promise<number> {
  const row = await host.kernel.store.db.selectFrom("memories")
    .select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

Deno.test("POST /api/memories adds a fact (201 + Location), again reinforces it (200)", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  const created = await host.request("/api/memories", json({ text: "I am allergic to peanuts." }));
  assert.equal(created.status, 201);
  const memory = await created.json();
  assert.equal(created.headers.get("location"), `/api/memories/${memory.id}`);
  assert.match(memory.id, /^mem_[0-9A-Z]{26}$/);
  assert.deepEqual(
    {
      kind: memory.kind,
      source: memory.source,
      trust: memory.trust,
      importance: memory.importance,
    },
    { kind: "semantic", source: "user", trust: "high", importance: 0.8 },
  );
  assert.equal(memory.owner_user_id, "local");
  assert.match(memory.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const again = await host.request("/api/memories", json({ text: "i am allergic to peanuts" }));
  assert.equal(again.status, 200);
  assert.equal((await again.json()).id, memory.id);
  const fetched = await host.request(`/api/memories/${memory.id}`);
  assert.equal(fetched.status, 200);
  assert.equal((await fetched.json()).text, "I am allergic to peanuts.");
});

Deno.test("bad input gets a 4xx naming the field and leaves the store unchanged", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  const before = await count(host);
  const cases: Array<[RequestInit, number, string, string | undefined]> = [
    [json({ text: "x".repeat(8_001) }), 400, "MEMORY_TEXT_TOO_LONG", "text"],
    [json({ text: "fine", importance: 2 }), 400, "VALIDATION_FAILED", "importance"],
    [json({ text: "fine", colour: "red" }), 400, "VALIDATION_FAILED", undefined],
    [
      { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" },
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      undefined,
    ],
    [
      { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" },
      400,
      "MALFORMED_JSON",
      undefined,
    ],
  ];
  for (const [init, status, code, field] of cases) {
    const response = await host.request("/api/memories", init);
    assert.equal(response.status, status, code);
    const body = await response.json();
    assert.equal(body.error.code, code);
    if (field) assert.equal(body.error.field, field);
  }
  const unknownKind = await host.request("/api/memories?kind=dream");
  assert.equal(unknownKind.status, 400);
  assert.equal((await unknownKind.json()).error.field, "kind");
  const badSearch = await host.request("/api/memories/search", json({ query: "x", limit: 51 }));
  assert.equal(badSearch.status, 400);
  assert.equal((await badSearch.json()).error.field, "limit");
  const emptyForget = await host.request("/api/memories/forget", json({}));
  assert.equal(emptyForget.status, 400);
  assert.equal(await count(host), before);
});

Deno.test("GET /api/memories pages newest first; search returns scores; stats label the embedder, in snake_case", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  const memory = host.api<MemoryApi>("memory");
  memory.episodes.register({
    type: "release.shipped",
    schema: z.strictObject({ version: z.string() }),
    summarize: (payload) => `shipped ${payload.version}`,
    importance: 0.5,
    ttlDays: 30,
  });
  for (let i = 0; i < 5; i++) {
    await host.request(
      "/api/memories",
      json({ text: `Distinct fact number ${i} about sailing boats ${"x".repeat(i)}` }),
    );
    await host.clock.tick(1_000);
  }
  const first = await (await host.request("/api/memories?limit=2")).json();
  assert.equal(first.items.length, 2);
  assert.match(first.items[0].text, /number 4/);
  const second = await (await host.request(`/api/memories?limit=2&cursor=${first.next_cursor}`))
    .json();
  assert.match(second.items[0].text, /number 2/);
  const searched = await (await host.request("/api/memories?q=sailing&limit=2")).json();
  assert.equal(searched.items.length, 2);
  assert.equal(searched.next_cursor, null, "a search is one ranked page");
  const pagedSearch = await host.request(`/api/memories?q=sailing&cursor=${first.next_cursor}`);
  assert.equal(pagedSearch.status, 400, "a cursor is refused with q, not ignored");
  assert.equal((await pagedSearch.json()).error.field, "cursor");
  const emptyQuery = await host.request(`/api/memories?q=&limit=2&cursor=${first.next_cursor}`);
  assert.equal(emptyQuery.status, 200, "an empty q is the plain list, which pages");
  await memory.flushEmbeddings();
  const search = await host.request(
    "/api/memories/search",
    json({ query: "sailing boats", limit: 3 }),
  );
  assert.equal(search.status, 200);
  const found = await search.json();
  assert.equal(found.items.length, 3);
  for (const item of found.items) assert.ok(item.score > 0 && item.score <= 1 && item.memory.id);
  const stats = await (await host.request("/api/memories/stats")).json();
  assert.equal(stats.counts.semantic, 5);
  assert.equal(stats.embedder.label, "lexical");
  assert.equal(stats.embedder.id, "lexical/lexical-hash-v1/384");
  assert.deepEqual(Object.keys(stats.index).sort(), [
    "kind",
    "memory_bytes",
    "size",
    "state",
    "thread",
  ]);
  assert.ok(stats.index.memory_bytes > 0);
  assert.deepEqual(stats.episode_types, [
    { type: "release.shipped", importance: 0.5, ttl_days: 30 },
  ]);
});

Deno.test("a text over 8,000 characters is MEMORY_TEXT_TOO_LONG and changes nothing, not even a near-equal fact", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  const memory = host.api<MemoryApi>("memory");
  const limit = await host.request("/api/memories", json({ text: "y".repeat(8_000) }));
  assert.equal(limit.status, 201, "8,000 characters are allowed");
  // Characters as a reader counts them, in every layer: 8,000 emoji are 16,000 UTF-16 units.
  const emoji = await host.request("/api/memories", json({ text: "\u{1F600}".repeat(8_000) }));
  assert.equal(emoji.status, 201, "8,000 emoji are allowed");
  const emojiOver = await host.request(
    "/api/memories",
    json({ text: "\u{1F600}".repeat(8_001) }),
  );
  assert.equal(emojiOver.status, 400);
  assert.equal((await emojiOver.json()).error.code, "MEMORY_TEXT_TOO_LONG");
  const fact = await (await host.request("/api/memories", json({ text: "I like green tea." })))
    .json();
  const before = await count(host);
  const tooLong = await host.request("/api/memories", json({ text: "z".repeat(8_001) }));
  assert.equal(tooLong.status, 400);
  const body = await tooLong.json();
  assert.deepEqual(
    [body.success, body.error.code, body.error.field],
    [false, "MEMORY_TEXT_TOO_LONG", "text"],
  );
  assert.match(body.error.message, /at most 8,000 characters/);
  // The same fact padded past the limit: normalised, it equals the stored one, which must not be
  // reinforced by input that is refused.
  const padded = `I like ${" ".repeat(8_000)}green tea.`;
  await assert.rejects(
    memory.semantic.add({ ownerUserId: "local", text: padded, importance: 0.5, source: "user" }),
    (error: Error & { code?: string }) => error.code === "MEMORY_TEXT_TOO_LONG",
  );
  const row = await host.kernel.store.db.selectFrom("memories").select("reinforced_count")
    .where("uid", "=", fact.id).executeTakeFirstOrThrow();
  assert.equal(row.reinforced_count, 0);
  assert.equal(await count(host), before);
});

Deno.test("PATCH changes only importance, expiry and the suspicious flag", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  const { id } = await (await host.request("/api/memories", json({ text: "The car is blue." })))
    .json();
  const events: unknown[] = [];
  host.kernel.bus.subscribe("memory.update", (event) => void events.push(event.data));
  const patched = await host.request(
    `/api/memories/${id}`,
    json({ importance: 0.3, expires_at: "2030-01-01T00:00:00.000Z", suspicious: true }, "PATCH"),
  );
  assert.equal(patched.status, 200);
  const body = await patched.json();
  assert.deepEqual([body.importance, body.expires_at, body.suspicious], [
    0.3,
    "2030-01-01T00:00:00.000Z",
    true,
  ]);
  assert.deepEqual(events, [{ op: "updated", ids: [id], kind: "semantic", ownerUserId: "local" }]);
  // The text never changes (memories are add-only), whatever its length.
  for (const text of ["changed", "x".repeat(8_001)]) {
    const refused = await host.request(`/api/memories/${id}`, json({ text }, "PATCH"));
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error.code, "VALIDATION_FAILED");
  }
  assert.equal((await (await host.request(`/api/memories/${id}`)).json()).text, "The car is blue.");
  assert.equal(events.length, 1, "a refused PATCH announces nothing");
});

Deno.test("DELETE and forget make a memory 404 and absent from search", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  const one =
    await (await host.request("/api/memories", json({ text: "Wifi password is on the fridge." })))
      .json();
  const two =
    await (await host.request("/api/memories", json({ text: "The spare key is under the plant." })))
      .json();
  assert.equal((await host.request(`/api/memories/${one.id}`, { method: "DELETE" })).status, 204);
  assert.equal((await host.request(`/api/memories/${one.id}`)).status, 404);
  assert.equal((await host.request(`/api/memories/${one.id}`, { method: "DELETE" })).status, 404);
  const preview = await (await host.request(
    "/api/memories/forget",
    json({ match: "spare key plant", dry_run: true }),
  )).json();
  assert.deepEqual(preview, { forgotten: 0, ids: [two.id] });
  const done = await (await host.request("/api/memories/forget", json({ ids: preview.ids })))
    .json();
  assert.deepEqual(done, { forgotten: 1, ids: [two.id] });
  const search = await (await host.request("/api/memories/search", json({ query: "spare key" })))
    .json();
  assert.deepEqual(search.items, []);
});
