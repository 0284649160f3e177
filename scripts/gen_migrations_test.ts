import assert from "node:assert/strict";
import { migrationFiles, renderMigrationIndex } from "./gen_migrations.ts";

Deno.test("migrations/sqlite/mod.ts lists exactly the .sql files (deno task build:migrations)", async () => {
  const files = await migrationFiles();
  const onDisk = await Deno.readTextFile(new URL("../migrations/sqlite/mod.ts", import.meta.url));
  assert.equal(onDisk, renderMigrationIndex(files));
});

Deno.test("migration files are numbered contiguously from 0001", async () => {
  const files = await migrationFiles();
  assert.ok(files.length > 0);
  files.forEach((file, index) => {
    assert.match(file, /^\d{4}_[a-z0-9_]+\.sql$/);
    assert.equal(Number(file.slice(0, 4)), index + 1, `${file} should be number ${index + 1}`);
  });
});
