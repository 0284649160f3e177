/**
 * The storage layer through the real start and migrate commands: one
 * server per data directory, migrations at start, refusal of an edited
 * migration.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { makeTestDir, REPO_DIR, spawnServer } from "@synth/testing";

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

Deno.test("readiness fails while the database cannot be written, naming why, and recovers", async () => {
  await using server = await spawnServer({
    env: {
      // The probe waits for the lock half of this (its first run also starts the worker thread).
      SYNTH_HEALTH_CHECK_TIMEOUT_MS: "2000",
      // Not gated on the LLM: no provider is configured here.
      SYNTH_HEALTH_READY_REQUIRES: "database,migrations",
    },
  });
  const ready = async () => {
    const response = await fetch(`${server.url}/health/ready`);
    return { status: response.status, body: await response.json() };
  };
  // Another process holds the write lock (before any check: a good write stands for 5 s): reads
  // still work, writes cannot.
  const other = new DatabaseSync(`${server.dataDir}/synth.db`);
  other.exec("BEGIN IMMEDIATE");
  try {
    const locked = await ready();
    assert.equal(locked.status, 503, JSON.stringify(locked.body));
    assert.equal(locked.body.checks.database.status, "fail");
    assert.match(locked.body.reason, /database/);
    assert.match(locked.body.checks.database.reason, /^writes fail: database is locked/);
  } finally {
    other.exec("ROLLBACK");
    other.close();
  }
  const again = await ready();
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.checks.database.status, "ok");
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

Deno.test("with migrateOnStart off, pending migrations stop start-up until migrate up ran", async () => {
  const dataDir = await makeTestDir("synth-no-migrate-");
  try {
    const env = { SYNTH_DB_MIGRATE_ON_START: "false" };
    const refused = await spawnServer({ dataDir, env, waitForListening: false });
    const status = await refused.status;
    await refused.stop();
    assert.equal(status.code, 78);
    assert.match(
      refused.stderr.join("\n"),
      /Cannot start: \d+ migration\(s\) not applied \(0001_memory\.sql pending, .*\) and db\.migrateOnStart is false\. Run "deno task migrate up"/,
    );
    const migrate = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=server", "--no-prompt", "src/main.ts", "migrate", "up"],
      cwd: REPO_DIR,
      env: { SYNTH_DATA_DIR: dataDir, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(migrate.code, 0, new TextDecoder().decode(migrate.stderr));
    await using server = await spawnServer({ dataDir, env });
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.equal(health.checks.migrations.status, "ok");
    assert.equal(health.checks.database.status, "ok");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
