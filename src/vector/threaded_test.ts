import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { createVectorIndex, type SlotFilter, type SlotMeta } from "./index.ts";
import { clusteredVectors, randomUnit } from "./testdata.ts";
import { createThreadedVectorIndex } from "./threaded.ts";

const meta = (owner: string, kind = 0, flagged = false): SlotMeta => ({
  owner,
  kind,
  createdAt: 0,
  expiresAt: null,
  flagged,
});

Deno.test("the index on a worker answers every search as the index on this thread does, through upserts, removals and flag changes", async () => {
  const vectors = clusteredVectors({ count: 3_040, dims: 384, clusters: 60, seed: 11 });
  const data = vectors.slice(0, 3_000);
  const queries = vectors.slice(3_000);
  const here = createVectorIndex({ dims: 384 });
  const there = createThreadedVectorIndex({ dims: 384 });
  try {
    const owners = ["usr_a", "usr_b", null];
    data.forEach((vector, id) => {
      const row = { id, vector, meta: meta(owners[id % 3] as string, id % 4) };
      assert.equal(here.upsert(row), true);
      assert.equal(there.upsert(row), true);
    });
    for (let id = 0; id < 3_000; id += 7) {
      here.remove(id);
      there.remove(id);
    }
    for (let id = 1; id < 3_000; id += 11) {
      assert.equal(there.updateMeta(id, { flagged: true }), here.updateMeta(id, { flagged: true }));
    }
    assert.equal(there.size, here.size);
    assert.equal(there.has(7), false);
    assert.equal(there.has(8), true);
    const filters: SlotFilter[] = [
      { owners: [{ owner: "usr_a", kinds: 0xff }] },
      { owners: [{ owner: "usr_b", kinds: 0b0101 }, { owner: null, kinds: 0xff }] },
      {
        owners: [{ owner: "usr_a", kinds: 0xff }],
        includeFlagged: true,
        excludeIds: new Set([1, 4]),
      },
    ];
    for (const [i, query] of queries.entries()) {
      const filter = filters[i % filters.length]!;
      assert.deepEqual(await there.search(query, 10, filter), here.search(query, 10, filter));
    }
    assert.ok(there.memoryBytes > 0, "the worker reports its memory");
  } finally {
    await there.close();
  }
});

Deno.test("a search on the worker sees the writes made just before it, in order", async () => {
  const random = seededRandom(5);
  const index = createThreadedVectorIndex({ dims: 32 });
  try {
    const query = randomUnit(random, 32);
    const all = { owners: [{ owner: "usr_a", kinds: 0xff }] };
    for (let id = 0; id < 20; id++) {
      index.upsert({ id, vector: randomUnit(random, 32), meta: meta("usr_a") });
    }
    index.upsert({ id: 99, vector: query, meta: meta("usr_a") });
    assert.equal((await index.search(query, 1, all))[0]?.id, 99);
    index.remove(99);
    assert.notEqual((await index.search(query, 1, all))[0]?.id, 99);
    index.upsert({ id: 100, vector: query, meta: meta("usr_a") });
    index.updateMeta(100, { flagged: true });
    assert.notEqual((await index.search(query, 1, all))[0]?.id, 100, "flagged items are skipped");
    // A zero vector removes.
    index.upsert({ id: 100, vector: new Float32Array(32), meta: meta("usr_a") });
    assert.equal(index.has(100), false);
    assert.equal(index.size, 20);
    assert.equal(index.updateMeta(100, { flagged: false }), false, "an unknown id");
  } finally {
    await index.close();
  }
});

Deno.test("the worker's index refuses past maxVectors, and a wrong dimension throws at once", async () => {
  const random = seededRandom(8);
  const index = createThreadedVectorIndex({ dims: 16, maxVectors: 3 });
  try {
    for (let id = 0; id < 3; id++) {
      assert.equal(index.upsert({ id, vector: randomUnit(random, 16), meta: meta("usr_a") }), true);
    }
    assert.equal(
      index.upsert({ id: 3, vector: randomUnit(random, 16), meta: meta("usr_a") }),
      false,
    );
    assert.equal(
      index.upsert({ id: 0, vector: randomUnit(random, 16), meta: meta("usr_a") }),
      true,
    );
    assert.equal(index.size, 3);
    assert.throws(
      () => index.upsert({ id: 9, vector: new Float32Array(8), meta: meta("usr_a") }),
      /a vector of 8 dimensions in an index of 16/,
    );
    const hits = await index.search(randomUnit(random, 16), 10, {
      owners: [{ owner: "usr_a", kinds: 0xff }],
    });
    assert.deepEqual(hits.map((hit) => hit.id).sort(), [0, 1, 2]);
  } finally {
    await index.close();
  }
});

Deno.test("a failed search rejects with the index's message and the next one works; after close searches fail", async () => {
  const random = seededRandom(9);
  const index = createThreadedVectorIndex({ dims: 16 });
  const all = { owners: [{ owner: "usr_a", kinds: 0xff }] };
  index.upsert({ id: 1, vector: randomUnit(random, 16), meta: meta("usr_a") });
  await assert.rejects(
    index.search(new Float32Array(4).fill(1), 1, all),
    /The vector search failed: Cannot index a vector of 4 dimensions in an index of 16/,
  );
  assert.equal((await index.search(randomUnit(random, 16), 1, all))[0]?.id, 1);
  const pending = index.search(randomUnit(random, 16), 1, all);
  await index.close();
  await assert.rejects(pending, /The vector index is closed/);
  await assert.rejects(index.search(randomUnit(random, 16), 1, all), /The vector index is closed/);
});

Deno.test("when the worker's thread fails, onFailure is told once, searches reject with its message and writes are refused", async () => {
  const told: string[] = [];
  const failed = Promise.withResolvers<void>();
  // An index the worker cannot create: the error is uncaught on its thread, as a crash would be.
  const index = createThreadedVectorIndex({
    dims: 0,
    onFailure: (message) => {
      told.push(message);
      failed.resolve();
    },
  });
  await failed.promise;
  assert.equal(told.length, 1);
  assert.match(told[0]!, /^The vector index's thread failed: .*dims must be a positive integer/);
  const all = { owners: [{ owner: "usr_a", kinds: 0xff }] };
  await assert.rejects(index.search(new Float32Array(0), 1, all), /thread failed/);
  assert.equal(index.upsert({ id: 1, vector: new Float32Array(0), meta: meta("usr_a") }), false);
  await index.close();
  assert.equal(told.length, 1, "closing after a failure tells no one again");
});
