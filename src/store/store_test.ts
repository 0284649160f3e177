import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { FakeClock } from "../testing/fake_clock.ts";
import { createMemoryLogger } from "../testing/memory_log.ts";
import { makeTestDir } from "../testing/paths.ts";
import { SQLITE_MIGRATIONS } from "../../migrations/sqlite/mod.ts";
import { DB_ERROR_CODES, DbError } from "./errors.ts";
import { migrationChecksum } from "./migrations.ts";
import { openStore, type OpenStoreOptions } from "./store.ts";

async function withDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await makeTestDir("synth-store-");
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function options(dataDir: string, extra: Partial<OpenStoreOptions> = {}): OpenStoreOptions {
  return {
    dataDir,
    busyTimeoutMs: 1000,
    clock: new FakeClock({ start: 1_700_000_000_000 }),
    log: createMemoryLogger().log,
    migrate: true,
    ...extra,
  };
}

Deno.test("a fresh store is a WAL SQLite file with every migration and its checksum", async () => {
  await withDir(async (dir) => {
    const store = openStore(options(dir));
    await store.ping();
    assert.deepEqual(
      store.migrations().map((m) => [m.version, m.state]),
      SQLITE_MIGRATIONS.map((m) => [m.version, "applied"]),
    );
    await store.close();
    const raw = new DatabaseSync(`${dir}/synth.db`);
    assert.equal(
      (raw.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    const rows = raw.prepare("SELECT version, checksum, applied_at FROM schema_migrations").all();
    assert.deepEqual(
      rows.map((row) => ({ ...row })),
      SQLITE_MIGRATIONS.map((m) => ({
        version: m.version,
        checksum: migrationChecksum(m.sql),
        applied_at: 1_700_000_000_000,
      })),
    );
    raw.close();
  });
});

Deno.test("Kysely queries run on node:sqlite with booleans bound as 0/1 and RETURNING", async () => {
  await withDir(async (dir) => {
    const store = openStore(options(dir));
    const inserted = await store.db.insertInto("threads").values({
      id: "thr_1",
      created_by: "usr_1",
      title: "Plans",
      project_id: null,
      created_at: 1,
      updated_at: 1,
    }).returning(["id", "archived"]).executeTakeFirstOrThrow();
    assert.deepEqual({ ...inserted }, { id: "thr_1", archived: 0 });
    await store.db.updateTable("threads").set({ archived: true as unknown as number }).execute();
    const row = await store.db.selectFrom("threads").select("archived").executeTakeFirstOrThrow();
    assert.equal(row.archived, 1);
    await assert.rejects(
      () =>
        store.db.updateTable("threads").set({ title: undefined as unknown as string }).execute(),
    );
    await store.close();
  });
});

Deno.test("a failing transaction rolls back everything it wrote", async () => {
  await withDir(async (dir) => {
    const store = openStore(options(dir));
    await assert.rejects(() =>
      store.transaction(async (trx) => {
        await trx.insertInto("kv").values({
          namespace: "t",
          key: "a",
          value: "1",
          version: 1,
          updated_at: 1,
        }).execute();
        throw new Error("abort");
      })
    );
    assert.equal((await store.db.selectFrom("kv").selectAll().execute()).length, 0);
    await store.close();
  });
});

/**
 * The write-ahead log's frames so far and how many of them are copied into the database file,
 * from the shared-memory index (`-shm`): `mxFrame` in the index header, `nBackfill` in the
 * checkpoint information after the header's two copies (SQLite's WAL format, native byte order).
 */
function walProgress(path: string): { frames: number; copied: number } {
  const shm = new DataView(Deno.readFileSync(`${path}-shm`).buffer);
  return { frames: shm.getUint32(16, true), copied: shm.getUint32(96, true) };
}

Deno.test("a passive checkpoint copies the log back on a worker's connection, not the store's", async () => {
  await withDir(async (dir) => {
    const store = openStore(options(dir));
    for (let i = 0; i < 20; i++) {
      await store.db.insertInto("kv").values({
        namespace: "t",
        key: `k${i}`,
        value: "x".repeat(2_000),
        version: 1,
        updated_at: 1,
      }).execute();
    }
    const before = walProgress(store.path);
    assert.ok(before.frames > before.copied, `frames wait in the log: ${JSON.stringify(before)}`);
    // Every statement this thread's connections prepare or run while the checkpoint runs.
    const seen: string[] = [];
    const { prepare, exec } = DatabaseSync.prototype;
    DatabaseSync.prototype.prepare = function (this: DatabaseSync, text: string) {
      seen.push(text);
      return prepare.call(this, text);
    };
    DatabaseSync.prototype.exec = function (this: DatabaseSync, text: string) {
      seen.push(text);
      return exec.call(this, text);
    };
    try {
      await store.checkpoint("passive");
    } finally {
      Object.assign(DatabaseSync.prototype, { prepare, exec });
    }
    assert.deepEqual(seen, [], "the store's own connection ran nothing");
    const after = walProgress(store.path);
    assert.equal(after.copied, after.frames, `every frame is copied: ${JSON.stringify(after)}`);
    assert.equal(after.frames, before.frames);
    // The next write starts the log over, as after a checkpoint on the store's connection.
    await store.db.updateTable("kv").set({ version: 2 }).where("key", "=", "k0").execute();
    assert.ok(walProgress(store.path).frames < before.frames);
    await store.close();
    await assert.rejects(() => store.checkpoint("passive"), /The store is closed/);
  });
});

Deno.test("an edited applied migration stops the store with the file named", async () => {
  await withDir(async (dir) => {
    await openStore(options(dir)).close();
    const edited = SQLITE_MIGRATIONS.map((m, i) =>
      i === 0 ? { ...m, sql: m.sql + "\n-- edited" } : m
    );
    assert.throws(
      () => openStore(options(dir, { migrationList: edited })),
      (error: unknown) =>
        error instanceof DbError && error.code === DB_ERROR_CODES.MIGRATION_CHECKSUM_MISMATCH &&
        error.message.includes("migrations/sqlite/0001_memory.sql changed after it was applied"),
    );
  });
});

Deno.test("a missing applied migration file and a newer database are refused", async () => {
  await withDir(async (dir) => {
    const next = SQLITE_MIGRATIONS.length + 1;
    const file = (version: number, name: string) =>
      `${String(version).padStart(4, "0")}_${name}.sql`;
    const extra = { version: next, name: "later", sql: "CREATE TABLE later_table (id INTEGER);" };
    await openStore(options(dir, { migrationList: [...SQLITE_MIGRATIONS, extra] })).close();
    assert.throws(
      () => openStore(options(dir)),
      (error: unknown) =>
        error instanceof DbError && error.code === DB_ERROR_CODES.NEWER_THAN_APP &&
        error.message.includes(file(next, "later")),
    );
    const withGap = [{ ...extra, version: next + 1, name: "third", sql: "SELECT 1;" }];
    assert.throws(
      () => openStore(options(dir, { migrationList: [...SQLITE_MIGRATIONS, ...withGap] })),
      (error: unknown) =>
        error instanceof DbError && error.code === DB_ERROR_CODES.MIGRATION_MISSING &&
        error.message.includes(`migrations/sqlite/${file(next, "later")} was applied`),
    );
  });
});

Deno.test("a failing migration rolls back and names its file", async () => {
  await withDir((dir) => {
    const next = SQLITE_MIGRATIONS.length + 1;
    const broken = {
      version: next,
      name: "broken",
      sql: "CREATE TABLE ok_table (id INTEGER); SELEKT;",
    };
    assert.throws(
      () => openStore(options(dir, { migrationList: [...SQLITE_MIGRATIONS, broken] })),
      (error: unknown) =>
        error instanceof DbError && error.code === DB_ERROR_CODES.MIGRATION_FAILED &&
        error.message.startsWith(
          `Cannot start: migrations/sqlite/${
            String(next).padStart(4, "0")
          }_broken.sql failed and was rolled back`,
        ),
    );
    const raw = new DatabaseSync(`${dir}/synth.db`);
    assert.equal(
      raw.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'ok_table'").get()?.n,
      0,
    );
    assert.equal(raw.prepare("SELECT max(version) AS v FROM schema_migrations").get()?.v, next - 1);
    raw.close();
  });
});

Deno.test("memories are add-only: changing text fails with the immutability error", async () => {
  await withDir(async (dir) => {
    const store = openStore(options(dir));
    await store.db.insertInto("memories").values({
      uid: "mem_1",
      kind: "semantic",
      owner_user_id: "usr_1",
      thread_id: null,
      text: "The user's daughter is called Mia.",
      source: "user",
      source_ref: null,
      trust: "high",
      importance: 0.8,
      content_hash: "h",
      created_at: 1,
      expires_at: null,
      last_recalled_at: null,
      last_reinforced_at: null,
    }).execute();
    await assert.rejects(
      () => store.db.updateTable("memories").set({ text: "changed" }).execute(),
      /memories content is immutable/,
    );
    await store.db.updateTable("memories").set({ importance: 0.9 }).execute();
    await store.close();
  });
});

Deno.test("a database built to each earlier version and upgraded equals a fresh one", async () => {
  const schemaOf = (path: string) => {
    const raw = new DatabaseSync(path, { readOnly: true });
    const rows = raw.prepare(
      "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    ).all();
    raw.close();
    return rows.map((row) => ({ ...row, sql: String(row.sql ?? "").replace(/\s+/g, " ").trim() }));
  };
  await withDir(async (freshDir) => {
    await openStore(options(freshDir)).close();
    const fresh = schemaOf(`${freshDir}/synth.db`);
    for (let version = 1; version < SQLITE_MIGRATIONS.length; version++) {
      await withDir(async (dir) => {
        await openStore(options(dir, { migrationList: SQLITE_MIGRATIONS.slice(0, version) }))
          .close();
        await openStore(options(dir)).close();
        assert.deepEqual(schemaOf(`${dir}/synth.db`), fresh, `upgraded from version ${version}`);
      });
    }
  });
});

Deno.test("migration 22 retitles the project milestones stored before it; other milestones keep their titles", async () => {
  await withDir(async (dir) => {
    const before = SQLITE_MIGRATIONS.findIndex((migration) => migration.version === 22);
    const old = openStore(options(dir, { migrationList: SQLITE_MIGRATIONS.slice(0, before) }));
    await old.db.insertInto("psyche_purpose_milestones").values([
      { id: "mls_1", kind: "project_completed", title: "Q3 layoffs", ref_id: "prj_1", at: 1 },
      { id: "mls_2", kind: "project_milestone", title: "Draft the list", ref_id: "prj_1", at: 2 },
      { id: "mls_3", kind: "narrative_version", title: "Narrative v2", ref_id: null, at: 3 },
    ]).execute();
    await old.close();
    const store = openStore(options(dir));
    const titles = await store.db.selectFrom("psyche_purpose_milestones").select(["id", "title"])
      .orderBy("id").execute();
    await store.close();
    assert.deepEqual(titles.map((row) => [row.id, row.title]), [
      ["mls_1", "Completed a project"],
      ["mls_2", "A project reached a milestone"],
      ["mls_3", "Narrative v2"],
    ]);
  });
});
