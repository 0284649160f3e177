/**
 * Whether a statement reads a table that grows with the history from end to
 * end, judged by SQLite's own query plan: the evidence of the bounded-reads
 * tests (tests/mind/bounded_reads_test.ts, and user deletion in
 * forget_test.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { DATABASE_FILE } from "../../src/store/store.ts";

/** Tables that gain rows with every turn (or every model call, job, tool call or sign-in). */
const GROWING = new Set([
  "memories",
  "memory_messages",
  "mind_turns",
  "mind_events",
  "mind_influence",
  "mind_jobs",
  "mind_ledger",
  "mind_state_history",
  "psyche_assurance_turns",
  "psyche_assurance_samples",
  "psyche_assurance_concerns",
  "psyche_dreaming_sets",
  "psyche_dreaming_items",
  "psyche_purpose_drift",
  "tool_runs",
  "auth_refresh_tokens",
]);

/** Columns that narrow a read to one thread, turn, user, job or row. */
const SCOPING = new Set([
  "thread_id",
  "turn_id",
  "user_id",
  "owner_user_id",
  "job_id",
  "memory_id",
  "id",
  "uid",
  "rowid",
]);

/** One row of `EXPLAIN QUERY PLAN`. */
export interface PlanRow {
  id: number;
  parent: number;
  detail: string;
}

/**
 * Why a plan reads a growing table from end to end, or null: a `SCAN` of one
 * in a statement without a `LIMIT`, or a read of one whose rows are all
 * sorted before the limit applies (a temporary B-tree for ORDER BY beside
 * it), unless a search narrowed them to one thread, turn, user, job or row.
 */
export function unboundedRead(sql: string, plan: readonly PlanRow[]): string | null {
  const limited = /\blimit\b/i.test(sql);
  for (const row of plan) {
    const read = row.detail.match(/^(SCAN|SEARCH) (\w+)/);
    if (!read || !GROWING.has(read[2]!)) continue;
    if (read[1] === "SCAN" && !limited) return `${row.detail} (no LIMIT)`;
    const sorted = plan.some((other) =>
      other.parent === row.parent && other.detail === "USE TEMP B-TREE FOR ORDER BY"
    );
    // Sorting one thread's, turn's or user's rows is bounded by them; sorting every row of a
    // status or a module is not.
    const key = row.detail.match(/\((\w+)[=<>]/)?.[1];
    if (sorted && !(read[1] === "SEARCH" && key && SCOPING.has(key))) {
      return `${row.detail} (all its rows sorted)`;
    }
  }
  return null;
}

/** What {@link recordPrepared} returns; disposing it stops the recording. */
export interface PlanRecording extends Disposable {
  /**
   * Stops recording, and fails listing each with its plan if a recorded
   * statement reads a growing table of `dataDir`'s database from end to end.
   */
  assertBounded(dataDir: string): void;
}

/**
 * Records every SQL text prepared on any connection until it is checked or
 * disposed. Statements are cached per connection: start before the store opens.
 */
export function recordPrepared(): PlanRecording {
  const statements = new Set<string>();
  const prepare = DatabaseSync.prototype.prepare;
  DatabaseSync.prototype.prepare = function (
    this: DatabaseSync,
    ...args: Parameters<typeof prepare>
  ) {
    statements.add(args[0]);
    return prepare.apply(this, args);
  } as typeof prepare;
  const stop = () => void (DatabaseSync.prototype.prepare = prepare);
  return {
    assertBounded(dataDir) {
      stop();
      const found = unboundedReads(dataDir, statements);
      assert.deepEqual(found, [], found.join("\n"));
    },
    [Symbol.dispose]: stop,
  };
}

/** The reads among `statements` that read a growing table from end to end, with their plans. */
function unboundedReads(dataDir: string, statements: Iterable<string>): string[] {
  const db = new DatabaseSync(join(dataDir, DATABASE_FILE), { readOnly: true });
  try {
    const found: string[] = [];
    for (const sql of statements) {
      // Reads, and the writes that find their rows first (an insert of values reads nothing).
      if (!/^\s*(select|with)\b/i.test(sql) && !/\bwhere\b/i.test(sql)) continue;
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as unknown as PlanRow[];
      const why = unboundedRead(sql, plan);
      if (why) found.push(`${why}\n    ${sql.replace(/\s+/g, " ")}`);
    }
    return found;
  } finally {
    db.close();
  }
}
