/**
 * The storage layer through the real start and migrate commands: one
 * server per data directory, migrations at start, refusal of an edited
 * migration.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { makeTestDir, spawnServer } from "@synth/testing";

Deno.test("start creates synth.db with every migration; a second server on it exits 75", async () => {
  const dataDir = await makeTestDir("synth-two-servers-");
  try {
    await using first = await spawnServer({ dataDir });
    const health = await (await fetch(`${first.url}/health/ready`)).json();
    assert.equal(health.checks.database.status, "ok");
    assert.equal(health.checks.migrations.status, "ok");

    const second = await spawnServer({ dataDir, waitForListening: false });
    const status = await second.status;
    await second.stop();
    assert.equal(status.code, 75);
    assert.match(second.stderr.join("\n"), /another Synth Mind process is using it/);
    assert.equal(
      (await fetch(`${first.url}/health/live`)).status,
      200,
      "the first one is unaffected",
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("an edited applied migration stops start-up with exit 78 naming the file", async () => {
  const dataDir = await makeTestDir("synth-edited-migration-");
  try {
    const first = await spawnServer({ dataDir });
    await first.stop();
    const db = new DatabaseSync(`${dataDir}/synth.db`);
    db.exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
    db.close();
    const again = await spawnServer({ dataDir, waitForListening: false });
    const status = await again.status;
    await again.stop();
    assert.equal(status.code, 78);
    assert.match(
      again.stderr.join("\n"),
      /migrations\/sqlite\/0001_memory\.sql changed after it was applied/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("with migrateOnStart off, readiness fails until migrate up ran", async () => {
  const dataDir = await makeTestDir("synth-no-migrate-");
  try {
    await using server = await spawnServer({
      dataDir,
      env: { SYNTH_DB_MIGRATE_ON_START: "false" },
    });
    const ready = await fetch(`${server.url}/health/ready`);
    assert.equal(ready.status, 503);
    assert.match(
      (await ready.json()).reason,
      /^migrations: 1 not applied \(1 pending\); run deno task migrate up$/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
