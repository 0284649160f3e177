/**
 * The mind's lists page by cursor (spec/server.md §2 `Page<T>`, §4.2 "Lists take `limit`,
 * `cursor`"): concerns, forecast sets and reflection runs newest first, narrative versions oldest
 * first. Walking the pages gives every item once, in order, even where items share a time.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { mindHost } from "./helpers.ts";

type Host = Awaited<ReturnType<typeof mindHost>>;

/** Every item of a list, page after page of `limit`, and how many pages it took. */
async function walk(host: Host, path: string, limit: number) {
  const ids: string[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const response = await host.request(
      `${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    assert.equal(response.status, 200, path);
    const body = await response.json();
    ids.push(
      ...body.items.map((item: { id?: string; version?: number }) =>
        String(item.id ?? item.version)
      ),
    );
    cursor = body.next_cursor;
    pages++;
  } while (cursor !== null && pages < 20);
  return { ids, pages };
}

Deno.test("concerns, forecasts, reflections and narrative versions page by cursor: each item once, in order, ties by id", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const thread = await host.kernel.mind.conversations!.createThread({ ownerUserId: "local" });
  const db = host.kernel.store.db;
  // Times with a tie (two items at 3_000), ids out of time order.
  const seeds = [["c", 1_000], ["a", 3_000], ["e", 3_000], ["b", 2_000], ["d", 4_000]] as const;
  for (const [id, at] of seeds) {
    await db.insertInto("psyche_assurance_concerns").values({
      id: `cn_${id}`,
      thread_id: thread.id,
      turn_id: "turn_x",
      kind: "reply",
      u: 0.5,
      signals: "{}",
      opened_at: at,
      opened_thread_turn: 1,
      status: "open",
      opening_impulse: "{}",
    }).execute();
    await db.insertInto("psyche_dreaming_sets").values({
      id: `fs_${id}`,
      turn_id: "turn_x",
      thread_id: thread.id,
      created_at: at,
      model: "m",
      status: "expired",
      embedder_id: "lexical",
      quality: "lexical",
    }).execute();
    await db.insertInto("psyche_reflection_runs").values({
      id: `rf_${id}`,
      at,
      thread_id: thread.id,
      triggers: "[]",
      primary_trigger: "manual",
      status: "failed",
      error: "x",
    }).execute();
  }
  // Newest first; the tie at 3_000 by id, descending.
  const order = ["d", "e", "a", "b", "c"];
  for (
    const [path, prefix] of [["/api/concerns", "cn_"], ["/api/forecasts", "fs_"], [
      "/api/reflections",
      "rf_",
    ]] as const
  ) {
    const { ids, pages } = await walk(host, path, 2);
    assert.deepEqual(ids, order.map((id) => `${prefix}${id}`), path);
    assert.equal(pages, 3, path);
    const bad = await host.request(`${path}?cursor=somewhere`);
    assert.equal(bad.status, 400, path);
    assert.equal((await bad.json()).error.field, "cursor");
  }

  // Versions 2 to 5 after the profile's first: oldest first, by number.
  for (let version = 2; version <= 5; version++) {
    await db.insertInto("psyche_purpose_versions").values({
      version,
      text: `Version ${version}.`,
      words: 2,
      created_at: version * 1_000,
      reason: "manual",
      diff: "[]",
      statements: "[]",
    }).execute();
  }
  const versions = await walk(host, "/api/narrative/versions", 2);
  assert.deepEqual(versions.ids, ["1", "2", "3", "4", "5"]);
  assert.equal(versions.pages, 3);
  const all = await (await host.request("/api/narrative/versions")).json();
  assert.equal(all.items.length, 5);
  assert.equal(all.next_cursor, null);
});
