/// <reference lib="deno.worker" />
/**
 * Copies the database with SQLite's online backup on its own connection:
 * one step (`rate: -1`) from one snapshot, so the copy is consistent while
 * the server keeps writing. The integrity check and hashing of the copy
 * run here too, so the main thread's timers keep running throughout.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { backup, DatabaseSync } from "node:sqlite";

/** What the worker answers. */
export type BackupWorkerResult =
  | { ok: true; pages: number; integrity: string[]; schemaVersion: number; sha256: string }
  | { ok: false; message: string };

self.onmessage = async (event: MessageEvent<{ source: string; target: string }>) => {
  let source: DatabaseSync | undefined;
  let copy: DatabaseSync | undefined;
  try {
    source = new DatabaseSync(event.data.source, { readOnly: true, timeout: 5_000 });
    // node:sqlite resolves with the page count, though its types say void.
    const pages = (await backup(source, event.data.target, { rate: -1 })) as unknown as number;
    // The copy keeps the source's WAL mode, which would leave -wal and -shm files beside it
    // whenever it is opened; a backup is one file.
    copy = new DatabaseSync(event.data.target);
    copy.exec("PRAGMA journal_mode=DELETE");
    const integrity =
      (copy.prepare("PRAGMA integrity_check").all() as Array<{ integrity_check: string }>)
        .map((row) => row.integrity_check);
    const schema = copy.prepare("SELECT max(version) AS version FROM schema_migrations").get() as
      | { version: number | null }
      | undefined;
    copy.close();
    copy = undefined;
    await Deno.chmod(event.data.target, 0o600);
    const sha256 = createHash("sha256").update(await Deno.readFile(event.data.target)).digest(
      "hex",
    );
    self.postMessage(
      {
        ok: true,
        pages,
        integrity,
        schemaVersion: schema?.version ?? 0,
        sha256,
      } satisfies BackupWorkerResult,
    );
  } catch (error) {
    self.postMessage(
      {
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      } satisfies BackupWorkerResult,
    );
  } finally {
    source?.close();
    copy?.close();
  }
};
