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
