/**
 * `GET /api/threads` and `GET /api/threads/{id}/messages` page with `next_cursor` (spec/server.md
 * §2, `Page<T>`): following the cursors reaches every item once, in order.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { mindHost } from "./helpers.ts";

Deno.test("threads page by last activity: the cursors reach every thread once, in the order of one page", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const get = async (query: string) => {
    const response = await host.request(`/api/threads${query}`);
    return { status: response.status, body: await response.json() };
  };
  for (let i = 0; i < 5; i++) {
    const created = await host.request("/api/threads", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: `Thread ${i}` }),
    });
    assert.equal(created.status, 201);
    await created.body?.cancel();
    // Threads 2 and 3 share a time, and the first page ends between them: the id orders them.
    if (i !== 2) await host.clock.tick(1_000);
  }
  const whole = (await get("?limit=50")).body;
  assert.equal(whole.items.length, 5);
  assert.equal(whole.next_cursor, null);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const { status, body } = await get(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    assert.equal(status, 200, JSON.stringify(body));
    assert.ok(body.items.length <= 2);
    seen.push(...body.items.map((thread: { id: string }) => thread.id));
    cursor = body.next_cursor;
    pages++;
  } while (cursor !== null);
  assert.equal(pages, 3);
  assert.deepEqual(seen, whole.items.map((thread: { id: string }) => thread.id));

  const bad = await get("?cursor=nonsense");
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, "cursor");
});

Deno.test("messages page backwards from the newest; next_cursor leads to the older ones in either order", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const port = host.kernel.mind.conversations!;
  const thread = await port.createThread({ ownerUserId: "local", title: "Long" });
  for (let i = 1; i <= 7; i++) {
    await port.addMessage({
      threadId: thread.id,
      role: i % 2 ? "user" : "assistant",
      text: `m${i}`,
    });
  }
  const walk = async (order: "asc" | "desc") => {
    const pages: number[][] = [];
    let cursor: string | null = null;
    do {
      const response = await host.request(
        `/api/threads/${thread.id}/messages?limit=3&order=${order}${
          cursor ? `&cursor=${cursor}` : ""
        }`,
      );
      assert.equal(response.status, 200);
      const body = await response.json();
      pages.push(body.items.map((message: { seq: number }) => message.seq));
      cursor = body.next_cursor;
    } while (cursor !== null);
    return pages;
  };
  assert.deepEqual(await walk("asc"), [[5, 6, 7], [2, 3, 4], [1]]);
  assert.deepEqual(await walk("desc"), [[7, 6, 5], [4, 3, 2], [1]]);
  const exact = await (await host.request(`/api/threads/${thread.id}/messages?limit=7`)).json();
  assert.equal(exact.items.length, 7);
  assert.equal(exact.next_cursor, null, "no cursor when nothing older remains");
  const bad = await host.request(`/api/threads/${thread.id}/messages?cursor=0`);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.field, "cursor");
  // Pages as every list does (server.md §2): limit 1..200, 50 by default.
  const over = await host.request(`/api/threads/${thread.id}/messages?limit=201`);
  assert.equal(over.status, 400);
  assert.equal((await over.json()).error.field, "limit");
  for (let i = 8; i <= 52; i++) {
    await port.addMessage({
      threadId: thread.id,
      role: i % 2 ? "user" : "assistant",
      text: `m${i}`,
    });
  }
  const byDefault = await (await host.request(`/api/threads/${thread.id}/messages`)).json();
  assert.equal(byDefault.items.length, 50);
  assert.equal(byDefault.items[0].seq, 3, "the newest 50 of 52");
  assert.equal(byDefault.next_cursor, "3");
});
