import assert from "node:assert/strict";
import { type Kysely, sql } from "kysely";
import { withTempStore } from "../testing/temp_store.ts";
import { DbError } from "./errors.ts";
import { listValues, prepare, prepareByCount, slotList } from "./prepared.ts";
import type { Database } from "./schema.ts";
import type { Store } from "./store.ts";

const withStore = (fn: (store: Store) => Promise<void>) => withTempStore("synth-prepared-", fn);

/** Writes a `test` row under the given key. */
const putTest = prepare((db: Kysely<Database>, slot) =>
  db.insertInto("kv").values({
    namespace: "test",
    key: slot("key"),
    value: "v",
    version: 1,
    updated_at: 0,
  })
);

/** The committed `test` rows, counted without a prepared query. */
async function testRows(store: Store): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM kv WHERE namespace = 'test'`
    .execute(store.db);
  return rows[0]!.n;
}

Deno.test("a prepared query is built once and binds each run's values, null included", async () => {
  await withStore(async (store) => {
    let builds = 0;
    const put = prepare((db: Kysely<Database>, slot) => {
      builds++;
      return db.insertInto("kv").values({
        namespace: "test",
        key: slot("key"),
        value: slot<string>("value"),
        version: 1,
        updated_at: slot<number>("at"),
      });
    });
    const get = prepare((db: Kysely<Database>, slot) =>
      db.selectFrom("kv").select(["key", "value", "updated_at"])
        .where("namespace", "=", "test").where("key", "=", slot("key"))
    );
    assert.deepEqual(await put.executeWrite(store.db, { key: "a", value: "1", at: 10 }), 1n);
    await put.execute(store.db, { key: "b", value: "2", at: 20 });
    assert.deepEqual(builds, 1);
    assert.deepEqual({ ...await get.executeTakeFirst(store.db, { key: "b" }) }, {
      key: "b",
      value: "2",
      updated_at: 20,
    });
    assert.deepEqual(await get.executeTakeFirst(store.db, { key: "missing" }), undefined);
    const limited = prepare((db: Kysely<Database>, slot) =>
      db.selectFrom("kv").select("key").where("namespace", "=", "test").orderBy("key")
        .limit(slot<number>("n"))
    );
    assert.deepEqual((await limited.execute(store.db, { n: 1 })).map((row) => row.key), ["a"]);
    const nullable = prepare((db: Kysely<Database>, slot) =>
      db.selectFrom("threads").select("id").where("title", "is", slot<null>("title"))
    );
    assert.deepEqual(await nullable.execute(store.db, { title: null }), []);
  });
});

Deno.test("a prepared query runs inside the transaction it is given and rolls back with it", async () => {
  await withStore(async (store) => {
    await assert.rejects(
      () =>
        store.transaction(async (trx) => {
          await putTest.execute(trx, { key: "gone" });
          throw new Error("undo");
        }),
      /undo/,
    );
    // A failing statement rolls back the transaction's earlier ones too.
    await assert.rejects(
      () =>
        store.transaction(async (trx) => {
          await putTest.execute(trx, { key: "a" });
          await putTest.execute(trx, { key: "a" });
        }),
      /UNIQUE constraint failed/,
    );
    assert.deepEqual(await testRows(store), 0);
    // Outside any transaction afterwards: a write commits at once and stays.
    await putTest.execute(store.db, { key: "a" });
    await assert.rejects(() => store.transaction(() => Promise.reject(new Error("undo"))), /undo/);
    assert.deepEqual(await testRows(store), 1);
  });
});

Deno.test("a slot that is not a parameter, or a missing value, is a DB_PREPARED_QUERY error", async () => {
  await withStore(async (store) => {
    const inlined = prepare((db: Kysely<Database>, slot) =>
      db.selectFrom("kv").select(sql.lit(slot("x")).as("x"))
    );
    await assert.rejects(
      () => inlined.execute(store.db, { x: "1" }),
      (error) =>
        error instanceof DbError && error.code === "DB_PREPARED_QUERY" &&
        error.message.includes("slot 'x' did not become a parameter"),
    );
    const get = prepare((db: Kysely<Database>, slot) =>
      db.selectFrom("kv").select("value").where("key", "=", slot("key"))
    );
    await assert.rejects(
      () => get.execute(store.db, {}),
      (error) =>
        error instanceof DbError && error.code === "DB_PREPARED_QUERY" &&
        error.message.includes("no value for slot 'key'"),
    );
  });
});

Deno.test("a query shaped by a count is prepared once per count: IN lists and multi-row inserts", async () => {
  await withStore(async (store) => {
    let builds = 0;
    const putAll = prepareByCount((db: Kysely<Database>, slot, count) => {
      builds++;
      return db.insertInto("kv").values(
        slotList(slot, "key", count).map((key) => ({
          namespace: "test",
          key,
          value: slot("value"),
          version: 1,
          updated_at: 0,
        })),
      );
    });
    const someOf = prepareByCount((db: Kysely<Database>, slot, count) =>
      db.selectFrom("kv").select("key").where("key", "in", slotList(slot, "key", count))
        .orderBy("key")
    );
    assert.equal(putAll(3), putAll(3));
    await putAll(3).execute(store.db, listValues("key", ["a", "b", "c"], { value: "v" }));
    await putAll(2).execute(store.db, listValues("key", ["d", "e"], { value: "v" }));
    await putAll(2).execute(store.db, listValues("key", ["f", "g"], { value: "v" }));
    assert.equal(builds, 2);
    const keys = async (wanted: string[]) =>
      (await someOf(wanted.length).execute(store.db, listValues("key", wanted))).map((row) =>
        row.key
      );
    assert.deepEqual(await keys(["g", "a", "zz"]), ["a", "g"]);
    assert.deepEqual(await keys(["e"]), ["e"]);
  });
});

Deno.test("a prepared query outside a transaction waits for one in progress and never reads its rows before the commit", async () => {
  await withStore(async (store) => {
    const count = prepare((db: Kysely<Database>) =>
      db.selectFrom("kv").select((eb) => eb.fn.countAll<number>().as("n"))
        .where("namespace", "=", "test")
    );
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    const seen: number[] = [];
    let wrote!: () => void;
    const firstRow = new Promise<void>((resolve) => wrote = resolve);
    const writing = store.transaction(async (trx) => {
      await putTest.execute(trx, { key: "a" });
      // Inside its own transaction, a prepared query reads the uncommitted row.
      seen.push(Number((await count.executeTakeFirst(trx, {}))!.n));
      wrote();
      await gate;
      await putTest.execute(trx, { key: "b" });
    });
    await firstRow;
    let outside: number | undefined;
    const reading = count.executeTakeFirst(store.db, {}).then((row) => outside = Number(row!.n));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(outside, undefined, "the read ran inside another transaction");
    open();
    await writing;
    await reading;
    assert.deepEqual(seen, [1]);
    assert.deepEqual(outside, 2);
    // With no transaction open, a read and a failing write answer as through Kysely.
    assert.deepEqual(Number((await count.executeTakeFirst(store.db, {}))!.n), 2);
    await assert.rejects(() => putTest.execute(store.db, { key: "a" }), /UNIQUE constraint failed/);
  });
});
