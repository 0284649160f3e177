import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { FakeClock } from "../testing/fake_clock.ts";
import { makeTestDir } from "../testing/paths.ts";
import { acquireDataDirLock } from "../store/lock.ts";
import { createTestCliIo } from "../testing/cli_io.ts";
import { EXIT } from "./io.ts";
import { runCli } from "./main.ts";

function io(dataDir: string) {
  const test = createTestCliIo({
    env: { SYNTH_DATA_DIR: dataDir },
    clock: new FakeClock({ start: Date.UTC(2026, 10, 25, 9, 30) }),
  });
  return { cliIo: test.io, stdout: test.stdout, stderr: test.stderr };
}

Deno.test("migrate status lists pending migrations, migrate up applies them with durations", async () => {
  const dataDir = await makeTestDir("synth-migrate-");
  try {
    const before = io(dataDir);
    assert.equal(await runCli(["migrate", "status"], before.cliIo), EXIT.OK);
    assert.match(before.stdout(), /0001_memory\.sql {2}pending/);

    const up = io(dataDir);
    assert.equal(await runCli(["migrate", "up"], up.cliIo), EXIT.OK);
    assert.match(up.stdout(), /^applied 0001_memory\.sql in \d+ ms$/m);

    const after = io(dataDir);
    assert.equal(await runCli(["migrate", "status"], after.cliIo), EXIT.OK);
    assert.match(
      after.stdout(),
      /0001_memory\.sql {2}applied 2026-11-25T09:30:00\.000Z \(\d+ ms\)/,
    );

    const again = io(dataDir);
    assert.equal(await runCli(["migrate", "up"], again.cliIo), EXIT.OK);
    assert.equal(again.stdout(), "Nothing to apply: the database is up to date.\n");

    // An edited applied migration, and one no file knows: listed, and exit 78 as the server's.
    const db = new DatabaseSync(`${dataDir}/synth.db`);
    db.exec("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
    db.exec(
      "INSERT INTO schema_migrations (version, name, checksum, applied_at, duration_ms) VALUES (9999, 'future', 'x', 0, 0)",
    );
    db.close();
    const broken = io(dataDir);
    assert.equal(await runCli(["migrate", "status"], broken.cliIo), EXIT.CONFIG);
    assert.match(broken.stdout(), /0001_memory\.sql {2}CHANGED/);
    assert.match(broken.stdout(), /9999_future\.sql {2}MISSING FILE/);
    assert.match(broken.stderr(), /2 applied migration\(s\) CHANGED or MISSING FILE/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("migrate up is refused with exit 75 while a server holds the data directory", async () => {
  const dataDir = await makeTestDir("synth-migrate-locked-");
  const lock = await acquireDataDirLock(dataDir);
  try {
    const run = io(dataDir);
    assert.equal(await runCli(["migrate", "up"], run.cliIo), EXIT.DATA_DIR_IN_USE);
    assert.match(run.stderr(), /another Synth Mind process is using it/);
  } finally {
    lock.release();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("migrate without status or up prints its usage and exits 64", async () => {
  const run = io("/unused");
  assert.equal(await runCli(["migrate", "down"], run.cliIo), EXIT.USAGE);
  assert.match(run.stderr(), /usage: synth-mind migrate status\|up/);
});
