/// <reference lib="deno.worker" />
/**
 * Copies the database with SQLite's online backup on its own connection:
 * one step (`rate: -1`) from one snapshot, so the copy is consistent while
 * the server keeps writing, and the main thread's timers keep running.
 *
 * @module
 */
import { backup, DatabaseSync } from "node:sqlite";

self.onmessage = async (event: MessageEvent<{ source: string; target: string }>) => {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(event.data.source, { readOnly: true, timeout: 5_000 });
    const pages = await backup(db, event.data.target, { rate: -1 });
    self.postMessage({ ok: true, pages });
  } catch (error) {
    self.postMessage({
      ok: false,
      message: error instanceof Error ? error.message : String(error),
    });
  } finally {
    db?.close();
  }
};
