import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { memoryPlugin } from "../../plugins/memory/mod.ts";
import { FakeClock } from "../testing/fake_clock.ts";
import { makeTestDir } from "../testing/paths.ts";
import { createTestHost } from "../testing/test_host.ts";
import { acquireDataDirLock } from "../store/lock.ts";
import { createTestCliIo } from "../testing/cli_io.ts";
import { EXIT } from "./io.ts";
import { runCli } from "./main.ts";

function io(dataDir: string, now = Date.UTC(2026, 10, 25, 12)) {
  const test = createTestCliIo({
    env: { SYNTH_DATA_DIR: dataDir },
    clock: new FakeClock({ start: now }),
  });
  return { cliIo: test.io, stdout: test.stdout, stderr: test.stderr };
}

const post = (text: string): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ text }),
});

Deno.test("a backup taken during continuous inserts is consistent and holds every row committed before it", async () => {
  const dataDir = await makeTestDir("synth-backup-");
  try {
    await using host = await createTestHost({ plugins: [memoryPlugin], dataDir });
    for (let i = 0; i < 200; i++) {
      await host.request("/api/memories", post(`Committed fact number ${i} before the backup.`));
    }
    const committed = await host.kernel.store.db.selectFrom("memories").select("uid").execute();
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await (await host.request("/api/memories", post(`Fact ${i} written during the backup.`)))
          .body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    })();
    const run = io(dataDir);
    const code = await runCli(["backup"], run.cliIo);
    writing = false;
    await writer;
    assert.equal(code, EXIT.OK, run.stderr());
    assert.match(
      run.stdout(),
      /backup written to .*backups\/20261125T120000Z \(schema \d+, \d+ pages, integrity ok\)/,
    );

    const copy = new DatabaseSync(`${dataDir}/backups/20261125T120000Z/synth.db`, {
      readOnly: true,
    });
    assert.equal(
      (copy.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
      "ok",
    );
    const uids = new Set(
      (copy.prepare("SELECT uid FROM memories").all() as Array<{ uid: string }>).map((row) =>
        row.uid
      ),
    );
    copy.close();
    assert.ok(committed.every((row) => uids.has(row.uid)));
    const manifest = JSON.parse(
      await Deno.readTextFile(`${dataDir}/backups/20261125T120000Z/manifest.json`),
    );
    assert.equal(manifest.created_at, "2026-11-25T12:00:00.000Z");
    assert.match(manifest.files["synth.db"], /^[0-9a-f]{64}$/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("restore is refused while the server runs, then puts the backup back and keeps the old file", async () => {
  const dataDir = await makeTestDir("synth-restore-");
  try {
    let backupDir: string;
    {
      await using host = await createTestHost({ plugins: [memoryPlugin], dataDir });
      await host.request("/api/memories", post("Kept by the backup."));
      const run = io(dataDir);
      assert.equal(await runCli(["backup"], run.cliIo), EXIT.OK);
      backupDir = `${dataDir}/backups/20261125T120000Z`;
      await host.request("/api/memories", post("Written after the backup."));
      const lock = await acquireDataDirLock(dataDir); // what a running server holds
      const refused = io(dataDir);
      assert.equal(await runCli(["restore", backupDir], refused.cliIo), EXIT.DATA_DIR_IN_USE);
      assert.match(refused.stderr(), /Stop the server before restoring/);
      lock.release();
    }
    const run = io(dataDir, Date.UTC(2026, 10, 26));
    assert.equal(await runCli(["restore", backupDir], run.cliIo), EXIT.OK, run.stderr());
    assert.match(
      run.stdout(),
      /previous database is kept as .*synth\.db\.pre-restore-20261126T000000Z/,
    );
    await Deno.stat(`${dataDir}/synth.db.pre-restore-20261126T000000Z`);
    await using restarted = await createTestHost({ plugins: [memoryPlugin], dataDir });
    const texts = (await (await restarted.request("/api/memories")).json()).items.map((
      item: { text: string },
    ) => item.text);
    assert.deepEqual(texts, ["Kept by the backup."]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("restore refuses a backup whose file does not match its manifest", async () => {
  const dataDir = await makeTestDir("synth-restore-bad-");
  try {
    {
      await using host = await createTestHost({ plugins: [memoryPlugin], dataDir });
      await host.request("/api/memories", post("Some fact."));
    }
    assert.equal(await runCli(["backup"], io(dataDir).cliIo), EXIT.OK);
    const backupDir = `${dataDir}/backups/20261125T120000Z`;
    await Deno.writeTextFile(`${backupDir}/synth.db`, "tampered", { append: true });
    const run = io(dataDir);
    assert.equal(await runCli(["restore", backupDir], run.cliIo), EXIT.FAILURE);
    assert.match(run.stderr(), /does not match its manifest hash/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("backup --keep prunes older backups", async () => {
  const dataDir = await makeTestDir("synth-prune-");
  try {
    {
      await using host = await createTestHost({ plugins: [memoryPlugin], dataDir });
      await host.request("/api/memories", post("Some fact."));
    }
    for (let day = 1; day <= 3; day++) {
      assert.equal(
        await runCli(["backup", "--keep", "2"], io(dataDir, Date.UTC(2026, 10, day)).cliIo),
        EXIT.OK,
      );
    }
    const names = [];
    for await (const entry of Deno.readDir(`${dataDir}/backups`)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["20261102T000000Z", "20261103T000000Z"]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
