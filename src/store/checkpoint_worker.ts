/// <reference lib="deno.worker" />
/**
 * Runs the store's passive checkpoints on a connection of its own, on this
 * thread: copying the write-ahead log back into the database file, and the
 * file syncs that follow, never hold the server's thread (4.6 ms after each
 * turn on the 2-core machine of docs/benchmarks.md, most of it waiting for
 * the disk). The readiness check's write probe runs here too: waiting for a
 * lock another process holds never holds the server's thread either.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { openSqlite } from "./sqlite.ts";

/** What the store asks: one checkpoint, one write probe, or to close the connection. */
export type CheckpointRequest =
  | { type: "checkpoint" | "probe"; path: string; busyTimeoutMs: number; at: number }
  | { type: "close" };

/** What the worker answers, one reply per request. */
export type CheckpointReply = { ok: true } | { ok: false; message: string };

let connection: DatabaseSync | undefined;

/** Takes the write lock, changes a page and commits: what every write of the server needs. */
function probe(db: DatabaseSync, at: number): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    const { changes } = db.prepare("UPDATE health_probe SET at = ? WHERE id = 1").run(at);
    // No row, no page written: nothing would be proven.
    if (Number(changes) !== 1) throw new Error("the health_probe row is missing");
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

self.onmessage = (event: MessageEvent<CheckpointRequest>) => {
  const request = event.data;
  let reply: CheckpointReply;
  try {
    if (request.type === "close") {
      connection?.close();
      connection = undefined;
    } else {
      connection ??= openSqlite(request.path, { busyTimeoutMs: request.busyTimeoutMs });
      // Each request waits for a lock as long as it says (this connection is this thread's alone).
      connection.exec(`PRAGMA busy_timeout = ${Math.max(1, Math.trunc(request.busyTimeoutMs))}`);
      if (request.type === "probe") probe(connection, request.at);
      // Never waits: it copies what no reader still needs (the rest goes with the next one).
      else connection.exec("PRAGMA wal_checkpoint(PASSIVE)");
    }
    reply = { ok: true };
  } catch (error) {
    reply = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
