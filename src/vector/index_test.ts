import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { createVectorIndex, type SlotMeta } from "./index.ts";
import { clusteredVectors, exactTopK, randomUnit } from "./testdata.ts";

const META: SlotMeta = { owner: "usr_a", kind: 0, createdAt: 0, expiresAt: null, flagged: false };
const ALL_A = { owners: [{ owner: "usr_a", kinds: 0xff }] };

Deno.test("WASM search matches an exact float64 scan on 5,000 vectors for ≥ 99% of 200 queries", () => {
  const vectors = clusteredVectors({ count: 5_200, dims: 384, clusters: 100, seed: 7 });
  const data = vectors.slice(0, 5_000);
  const queries = vectors.slice(5_000);
  const index = createVectorIndex({ dims: 384, initialCapacity: 1_024 });
  data.forEach((vector, id) => assert.ok(index.upsert({ id, vector, meta: META })));
  assert.equal(index.size, 5_000);
  let same = 0;
  for (const query of queries) {
    const expected = exactTopK(data, query, 10);
    const got = index.search(query, 10, ALL_A).map((hit) => hit.id);
    if (JSON.stringify(got) === JSON.stringify(expected)) same++;
  }
  assert.ok(same >= 198, `only ${same} of 200 queries had the exact top-10`);
});

Deno.test("cosines come from the exact re-rank and hits are best first", () => {
  const index = createVectorIndex({ dims: 4 });
  index.upsert({ id: 1, vector: new Float32Array([1, 0, 0, 0]), meta: META });
  index.upsert({ id: 2, vector: new Float32Array([3, 4, 0, 0]), meta: META }); // normalised to 0.6, 0.8
  const hits = index.search(new Float32Array([0, 2, 0, 0]), 2, ALL_A);
  assert.deepEqual(hits.map((hit) => hit.id), [2, 1]);
  assert.ok(Math.abs(hits[0]!.cosine - 0.8) < 1e-6);
  assert.ok(Math.abs(hits[1]!.cosine) < 1e-6);
});

Deno.test("upserts and removals show in the next search", () => {
  const random = seededRandom(3);
  const index = createVectorIndex({ dims: 64 });
  const query = randomUnit(random, 64);
  for (let id = 0; id < 50; id++) index.upsert({ id, vector: randomUnit(random, 64), meta: META });
  index.upsert({ id: 999, vector: query, meta: META });
  assert.equal(index.search(query, 1, ALL_A)[0]?.id, 999);
  index.remove(999);
  assert.equal(index.has(999), false);
  assert.notEqual(index.search(query, 1, ALL_A)[0]?.id, 999);
  index.upsert({ id: 7, vector: query, meta: META }); // replace id 7's vector
  assert.equal(index.search(query, 1, ALL_A)[0]?.id, 7);
  assert.equal(index.size, 50);
});

Deno.test("a changed flag or expiry shows in the next search without re-adding the vector", () => {
  const random = seededRandom(4);
  const index = createVectorIndex({ dims: 32 });
  const query = randomUnit(random, 32);
  index.upsert({ id: 1, vector: query, meta: META });
  index.upsert({ id: 2, vector: randomUnit(random, 32), meta: META });
  assert.equal(index.search(query, 1, ALL_A)[0]?.id, 1);
  assert.equal(index.updateMeta(1, { flagged: true }), true);
  assert.notEqual(index.search(query, 1, ALL_A)[0]?.id, 1, "flagged: left out");
  assert.equal(index.search(query, 1, { ...ALL_A, includeFlagged: true })[0]?.id, 1);
  index.updateMeta(1, { flagged: false, expiresAt: 10 });
  assert.notEqual(index.search(query, 1, { ...ALL_A, now: 20 })[0]?.id, 1, "expired: left out");
  index.updateMeta(1, { expiresAt: null });
  assert.equal(index.search(query, 1, { ...ALL_A, now: 20 })[0]?.id, 1);
  assert.equal(index.updateMeta(42, { flagged: true }), false, "unknown id");
});

Deno.test("filters apply before the top-k cut: owner, kind, time, expiry, flag, excluded ids", () => {
  const index = createVectorIndex({ dims: 8 });
  const base = new Float32Array([1, 0, 0, 0, 0, 0, 0, 0]);
  const near = (t: number) => new Float32Array([1, t, 0, 0, 0, 0, 0, 0]);
  // 200 of user A's items are nearer to the query than user B's one item.
  for (let id = 0; id < 200; id++) {
    index.upsert({ id, vector: near(0.001 * id), meta: META });
  }
  index.upsert({ id: 500, vector: near(0.9), meta: { ...META, owner: "usr_b" } });
  const onlyB = index.search(base, 1, { owners: [{ owner: "usr_b", kinds: 0xff }] });
  assert.deepEqual(onlyB.map((hit) => hit.id), [500]);

  index.upsert({ id: 600, vector: near(0), meta: { ...META, owner: null, kind: 3 } });
  index.upsert({ id: 601, vector: near(0), meta: { ...META, owner: null, kind: 2 } });
  const agentSelf = index.search(base, 5, { owners: [{ owner: null, kinds: 1 << 3 }] });
  assert.deepEqual(agentSelf.map((hit) => hit.id), [600]);

  index.upsert({ id: 700, vector: near(0), meta: { ...META, owner: "usr_c", createdAt: 50 } });
  index.upsert({ id: 701, vector: near(0), meta: { ...META, owner: "usr_c", createdAt: 150 } });
  index.upsert({ id: 702, vector: near(0), meta: { ...META, owner: "usr_c", expiresAt: 10 } });
  index.upsert({ id: 703, vector: near(0), meta: { ...META, owner: "usr_c", flagged: true } });
  const c = [{ owner: "usr_c", kinds: 0xff }];
  const ids = (filter: Parameters<typeof index.search>[2]) =>
    index.search(base, 10, filter).map((hit) => hit.id).sort();
  assert.deepEqual(ids({ owners: c }), [700, 701, 702]);
  assert.deepEqual(ids({ owners: c, createdFrom: 100 }), [701]);
  assert.deepEqual(
    ids({ owners: c, createdBefore: 100 }),
    [700, 702, 703].filter((id) => id !== 703),
  );
  assert.deepEqual(ids({ owners: c, now: 20 }), [700, 701]);
  assert.deepEqual(ids({ owners: c, includeFlagged: true }), [700, 701, 702, 703]);
  assert.deepEqual(ids({ owners: c, excludeIds: new Set([700]) }), [701, 702]);
});

Deno.test("capacity grows past the first allocation and keeps every vector", () => {
  const vectors = clusteredVectors({ count: 300, dims: 48, clusters: 10, seed: 11 });
  const index = createVectorIndex({ dims: 48, initialCapacity: 16 });
  const before = index.memoryBytes;
  vectors.forEach((vector, id) => index.upsert({ id, vector, meta: META }));
  assert.ok(index.memoryBytes > before);
  for (const id of [0, 17, 150, 299]) {
    assert.equal(index.search(vectors[id]!, 1, ALL_A)[0]?.id, id);
  }
});

Deno.test("a full index refuses new vectors; zero vectors and wrong dimensions are not indexed", () => {
  const index = createVectorIndex({ dims: 4, maxVectors: 2, initialCapacity: 2 });
  const meta = META;
  assert.equal(index.upsert({ id: 1, vector: new Float32Array([1, 0, 0, 0]), meta }), true);
  assert.equal(index.upsert({ id: 2, vector: new Float32Array([0, 1, 0, 0]), meta }), true);
  assert.equal(index.upsert({ id: 3, vector: new Float32Array([0, 0, 1, 0]), meta }), false);
  assert.equal(index.has(3), false);
  index.upsert({ id: 1, vector: new Float32Array(4), meta });
  assert.equal(index.has(1), false, "a zero vector removes the item");
  assert.throws(
    () => index.upsert({ id: 4, vector: new Float32Array(5), meta }),
    /Cannot index a vector of 5 dimensions in an index of 4/,
  );
});

Deno.test("each index has its own memory", () => {
  const a = createVectorIndex({ dims: 4 });
  const b = createVectorIndex({ dims: 4 });
  a.upsert({ id: 1, vector: new Float32Array([1, 0, 0, 0]), meta: META });
  assert.equal(b.size, 0);
  assert.deepEqual(b.search(new Float32Array([1, 0, 0, 0]), 1, ALL_A), []);
});

Deno.test("a search with the filter of the one before follows every upsert, removal, flag, expiry and time since", () => {
  const random = seededRandom(11);
  const dims = 16;
  const index = createVectorIndex({ dims, initialCapacity: 16 });
  /** What the index should hold: ids 0–59, so every row that passes is re-ranked exactly. */
  const rows = new Map<number, { vector: Float32Array; meta: SlotMeta }>();
  const owners = ["usr_a", "usr_b", null, "usr_late"];
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const filters = [
    { owners: [{ owner: "usr_a", kinds: 0b0011 }, { owner: null, kinds: 0b0100 }] },
    { owners: [{ owner: "usr_late", kinds: 0xff }, { owner: "usr_b", kinds: 0b0001 }] },
    { owners: [{ owner: "usr_a", kinds: 0xff }], createdFrom: 20, includeFlagged: true },
  ];
  const passes = (meta: SlotMeta, filter: (typeof filters)[number], now: number) =>
    filter.owners.some(({ owner, kinds }) => owner === meta.owner && ((kinds >> meta.kind) & 1)) &&
    (("includeFlagged" in filter && filter.includeFlagged) || !meta.flagged) &&
    meta.createdAt >= (("createdFrom" in filter && filter.createdFrom) || -Infinity) &&
    (meta.expiresAt === null || meta.expiresAt > now);
  let now = 0;
  let filter = filters[0]!;
  for (let step = 0; step < 600; step++) {
    const id = Math.floor(random() * 60);
    const roll = random();
    if (roll < 0.45) {
      // The last owner appears only after many searches have been kept.
      const owner = pick(step < 300 ? owners.slice(0, 3) : owners);
      const meta: SlotMeta = {
        owner,
        kind: Math.floor(random() * 4),
        createdAt: Math.floor(random() * 40),
        expiresAt: random() < 0.3 ? now + Math.floor(random() * 30) : null,
        flagged: random() < 0.15,
      };
      const vector = randomUnit(random, dims);
      index.upsert({ id, vector, meta });
      rows.set(id, { vector, meta });
    } else if (roll < 0.6) {
      index.remove(id);
      rows.delete(id);
    } else if (roll < 0.75 && rows.has(id)) {
      const change = random() < 0.5
        ? { flagged: random() < 0.5 }
        : { expiresAt: random() < 0.5 ? null : now + Math.floor(random() * 30) };
      index.updateMeta(id, change);
      Object.assign(rows.get(id)!.meta, change);
    } else {
      // Time mostly moves on, now and then it steps back; the filter changes now and then.
      now += random() < 0.1 ? -5 : Math.floor(random() * 4);
      if (random() < 0.2) filter = pick(filters);
      const query = randomUnit(random, dims);
      const live = [...rows.entries()];
      const expected = exactTopK(
        live.map(([, row]) => row.vector),
        query,
        8,
        (at) => passes(live[at]![1].meta, filter, now),
      ).map((at) => live[at]![0]);
      const got = index.search(query, 8, { ...filter, now }).map((hit) => hit.id);
      assert.deepEqual(got, expected, `step ${step}`);
    }
  }
});

Deno.test("an owner named twice passes the kinds of both entries; a NaN time bound is not an absent one", () => {
  const index = createVectorIndex({ dims: 4 });
  const query = new Float32Array([1, 0, 0, 0]);
  index.upsert({ id: 1, vector: query, meta: { ...META, kind: 1 } });
  index.upsert({ id: 2, vector: query, meta: { ...META, kind: 2 } });
  const ids = (filter: Parameters<typeof index.search>[2]) =>
    index.search(query, 5, filter).map((hit) => hit.id).sort();
  const twice = [{ owner: "usr_a", kinds: 1 << 1 }, { owner: "usr_a", kinds: 1 << 2 }];
  assert.deepEqual(ids({ owners: twice }), [1, 2]);
  assert.deepEqual(ids({ owners: twice, createdFrom: NaN }), []);
  assert.deepEqual(ids({ owners: twice }), [1, 2]);
});
