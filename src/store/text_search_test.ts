import assert from "node:assert/strict";
import { sql } from "kysely";
import { withTempStore } from "../testing/temp_store.ts";
import type { MemoryKind } from "./schema.ts";
import type { Store } from "./store.ts";
import {
  createSqliteTextSearch,
  ftsMatchExpression,
  ftsSegmentCount,
  type MemoryFilter,
} from "./text_search.ts";

const withStore = (fn: (store: Store) => Promise<void>) => withTempStore("synth-fts-", fn);

let uid = 0;
async function add(
  store: Store,
  text: string,
  extra: {
    owner?: string | null;
    kind?: MemoryKind;
    createdAt?: number;
    expiresAt?: number;
    suspicious?: number;
  } = {},
) {
  const row = await store.db.insertInto("memories").values({
    uid: `mem_${++uid}`,
    kind: extra.kind ?? "semantic",
    owner_user_id: extra.owner === undefined ? "usr_a" : extra.owner,
    thread_id: null,
    text,
    source: "user",
    source_ref: null,
    trust: "high",
    importance: 0.5,
    suspicious: extra.suspicious ?? 0,
    content_hash: String(uid),
    created_at: extra.createdAt ?? 1_000,
    expires_at: extra.expiresAt ?? null,
    last_recalled_at: null,
    last_reinforced_at: null,
  }).returning("id").executeTakeFirstOrThrow();
  return row.id;
}

const ownerA: MemoryFilter = {
  owners: [{ owner: "usr_a", kinds: ["semantic", "episode", "message", "self"] }],
  now: 5_000,
};

Deno.test("ftsMatchExpression() quotes every word and drops stopwords and 1-character tokens", () => {
  assert.equal(ftsMatchExpression('the "cat" AND (dog*) NEAR x'), '"cat" OR "dog" OR "near"');
  assert.equal(ftsMatchExpression("a the of ?"), null);
});

Deno.test("search ranks by BM25 and never raises on FTS syntax in the query", async () => {
  await withStore(async (store) => {
    const mia = await add(store, "The user's daughter is called Mia and loves cats.");
    await add(store, "The user drives a blue car.");
    const hits = await store.text.search("what is my daughter called?", {
      limit: 5,
      filter: ownerA,
    });
    assert.deepEqual(hits.map((hit) => hit.id), [mia]);
    assert.ok(hits[0]!.bm25 < 0);
    for (const hostile of ['"', "AND (", "*", "NEAR", 'cats" OR "', ") OR 1=1 --", "daughter:*"]) {
      await store.text.search(hostile, { limit: 5, filter: ownerA });
    }
  });
});

Deno.test("the filter applies inside the query, before the limit", async () => {
  await withStore(async (store) => {
    for (let i = 0; i < 30; i++) await add(store, `garden tomatoes note ${i}`);
    const bOnly = await add(store, "garden tomatoes for user b", { owner: "usr_b" });
    const hits = await store.text.search("garden tomatoes", {
      limit: 1,
      filter: { owners: [{ owner: "usr_b", kinds: ["semantic"] }], now: 5_000 },
    });
    assert.deepEqual(hits.map((hit) => hit.id), [bOnly]);

    const agentSelf = await add(store, "garden reflection", { owner: null, kind: "self" });
    await add(store, "garden fact", { owner: null, kind: "semantic" });
    const self = await store.text.search("garden", {
      limit: 50,
      filter: { owners: [{ owner: null, kinds: ["self"] }], now: 5_000 },
    });
    assert.deepEqual(self.map((hit) => hit.id), [agentSelf]);

    const expired = await add(store, "orchid care", { expiresAt: 4_000 });
    const flagged = await add(store, "orchid poison", { suspicious: 1 });
    const old = await add(store, "orchid history", { createdAt: 10 });
    const ids = async (filter: Partial<MemoryFilter>) =>
      (await store.text.search("orchid", { limit: 50, filter: { ...ownerA, ...filter } })).map((
        hit,
      ) => hit.id).sort();
    assert.deepEqual(await ids({}), [old]);
    assert.deepEqual(await ids({ now: 3_000 }), [expired, old].sort());
    assert.deepEqual(await ids({ includeSuspicious: true }), [flagged, old].sort());
    assert.deepEqual(await ids({ createdFrom: 100 }), []);
  });
});

function commonRows(count: number, from = 0) {
  return Array.from({ length: count }, (_, j) => {
    const i = from + j;
    return {
      uid: `mem_common_${i}`,
      kind: "semantic" as const,
      owner_user_id: "usr_a",
      thread_id: null,
      text: i === 7 ? "common words with a rare zebra" : `common words number ${i}`,
      source: "user" as const,
      source_ref: null,
      trust: "high" as const,
      importance: 0.5,
      content_hash: `common${i}`,
      created_at: 1_000,
      expires_at: null,
      last_recalled_at: null,
      last_reinforced_at: null,
    };
  });
}

Deno.test("word document counts are read once, again after 5% growth and after optimize()", async () => {
  await withStore(async (store) => {
    let vocabReads = 0;
    const counted = store.db.withPlugin({
      transformQuery(args) {
        if (JSON.stringify(args.node).includes("memory_fts_vocab")) vocabReads++;
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    });
    const text = createSqliteTextSearch(counted);
    const rows = commonRows(1_200);
    for (let i = 0; i < rows.length; i += 200) {
      await store.db.insertInto("memories").values(rows.slice(i, i + 200)).execute();
    }
    const search = () => text.search("common zebra", { limit: 5, filter: ownerA });
    assert.equal((await search()).length, 1);
    assert.equal(vocabReads, 2, "one read per word");
    await search();
    assert.equal(vocabReads, 2, "kept between searches");
    await store.db.insertInto("memories").values(commonRows(50, 1_200)).execute();
    await search();
    assert.equal(vocabReads, 2, "kept while the memories grew by under 5%");
    await store.db.insertInto("memories").values(commonRows(20, 1_250)).execute();
    await search();
    assert.equal(vocabReads, 4, "read again past 5% growth");
    await text.optimize();
    await search();
    assert.equal(vocabReads, 6, "read again after optimize()");
  });
});

Deno.test("above 1,000 memories, common words are left out of the query while rare ones match few enough", async () => {
  await withStore(async (store) => {
    const values = commonRows(1_200);
    for (let i = 0; i < values.length; i += 200) {
      await store.db.insertInto("memories").values(values.slice(i, i + 200)).execute();
    }
    const hits = await store.text.search("common zebra", { limit: 5, filter: ownerA });
    assert.equal(hits.length, 1, "only the rare word is searched");
    const onlyCommon = await store.text.search("common words", { limit: 5, filter: ownerA });
    assert.equal(onlyCommon.length, 5, "with only common words, the rarest is kept");
  });
});

Deno.test("tidy() merges the index's segments a slice at a time; searches find the same", async () => {
  await withStore(async (store) => {
    const segments = async () => {
      const { rows } = await sql<{ block: Uint8Array }>`
        SELECT block FROM memory_fts_data WHERE id = 10`.execute(store.db);
      return ftsSegmentCount(rows[0]!.block);
    };
    // Each memory written in its own transaction adds a segment (FTS5 merges some on its own).
    const filler = Array.from({ length: 40 }, (_, j) => `word${j}`).join(" ");
    for (let i = 0; i < 300; i++) {
      await add(
        store,
        `note ${i} about ${i % 2 ? "penguins" : "deployments"} and topic${i} ${filler} w${i}x`,
      );
    }
    const query = { limit: 40, filter: ownerA };
    const before = await store.text.search("penguins topic7", query);
    const fragmented = await segments();
    assert.ok(fragmented > 4, `${fragmented} segments`);
    assert.deepEqual(await store.text.tidy({ maxSegments: fragmented, pages: 8 }), {
      merged: false,
      more: false,
    });
    assert.equal(await segments(), fragmented, "nothing merged within the limit");
    let slices = 0;
    for (;;) {
      const { merged, more } = await store.text.tidy({ maxSegments: 4, pages: 1 });
      assert.ok(merged);
      slices++;
      if (!more) break;
    }
    assert.ok(slices > 1, "a page at a time takes several slices");
    assert.ok(await segments() <= 4, `${await segments()} segments after ${slices} slices`);
    assert.deepEqual(await store.text.search("penguins topic7", query), before);
  });
});

Deno.test("ftsSegmentCount() reads version 1 and version 2 structure records", () => {
  // cookie, [v2 marker], levels = 3, segments = 300 (varint 0x82 0x2c), write counter…
  assert.equal(ftsSegmentCount(new Uint8Array([0, 0, 0, 1, 3, 0x82, 0x2c, 5])), 300);
  assert.equal(
    ftsSegmentCount(new Uint8Array([0, 0, 0, 1, 0xff, 0, 0, 1, 3, 0x82, 0x2c, 5])),
    300,
  );
  assert.equal(ftsSegmentCount(new Uint8Array([0, 0, 0, 1, 1, 1, 0])), 1);
});
