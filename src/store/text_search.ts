import { type Kysely, type RawBuilder, sql } from "kysely";
import { codePoints, contentTokens } from "../text.ts";
import { executeCompiled } from "./dialect.ts";
import { prepare } from "./prepared.ts";
import type { Database, MemoryKind } from "./schema.ts";

/** Which memories a search may return; applied inside the query, before the limit. */
export interface MemoryFilter {
  /** Allowed owners and their allowed kinds (owner null = agent-wide). */
  owners: ReadonlyArray<{ owner: string | null; kinds: readonly MemoryKind[] }>;
  /** `created_at` ≥ this. */
  createdFrom?: number;
  /** `created_at` < this. */
  createdBefore?: number;
  /** Items with `expires_at` ≤ this are skipped. */
  now: number;
  /** Include items flagged suspicious. @default false */
  includeSuspicious?: boolean;
  /** Leave out this thread's messages from `fromSeq` on (they are in the prompt already). */
  excludeThreadWindow?: { threadId: string; fromSeq: number };
}

/** One full-text hit. */
export interface TextHit {
  id: number;
  /** SQLite's `bm25()`: lower (more negative) is better. */
  bm25: number;
}

/** Full-text search over memory text. */
export interface TextSearch {
  /** The best `limit` memories matching any of the query's content words. */
  search(query: string, options: { limit: number; filter: MemoryFilter }): Promise<TextHit[]>;
  /** The `"t1" OR "t2"` expression sent to the engine, or null when the query has no usable word. */
  matchExpression(query: string): string | null;
  /** Merges index segments (after large forgets). */
  optimize(): Promise<void>;
  /**
   * One slice of upkeep: when the index has more than `maxSegments` segments, merges up to
   * `pages` pages of them toward one. Every insert adds a segment and a search reads each one,
   * so a merged index answers about twice as fast. `merged`: this call merged; `more`: more
   * merging is due.
   */
  tidy(
    options: { maxSegments: number; pages: number },
  ): Promise<{ merged: boolean; more: boolean }>;
}

/** The `memory_fts_data` row holding FTS5's structure record (its segments). */
const FTS_STRUCTURE_ROWID = 10;

/** Reads an SQLite varint (as FTS5 writes them) at `at`: the value and the next offset. */
function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  for (let n = 0; n < 8; n++) {
    const byte = bytes[at++] ?? 0;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return [value, at];
  }
  return [value * 256 + (bytes[at++] ?? 0), at];
}

/**
 * The segment count in an FTS5 structure record: a 4-byte cookie, an optional
 * 4-byte version-2 marker (`ff 00 00 01`), then varints: levels, segments, ….
 */
export function ftsSegmentCount(structure: Uint8Array): number {
  let at = 4;
  if (
    structure[4] === 0xff && structure[5] === 0 && structure[6] === 0 && structure[7] === 1
  ) at += 4;
  const [, afterLevels] = readVarint(structure, at);
  return readVarint(structure, afterLevels)[0];
}

/** At most this many words of a query are searched. */
const MAX_QUERY_TOKENS = 32;

/**
 * Builds the FTS5 expression: content words of two or more characters,
 * each double-quoted (inner quotes doubled) and joined with OR, so no text
 * a user types is ever parsed as FTS syntax (`AND (`, `*`, `NEAR`).
 */
export function ftsMatchExpression(query: string): string | null {
  const tokens = queryTokens(query);
  return tokens.length === 0 ? null : quoteTerms(tokens);
}

function queryTokens(query: string): string[] {
  return [...new Set(contentTokens(query).filter((token) => codePoints(token) >= 2))]
    .slice(0, MAX_QUERY_TOKENS);
}

function quoteTerms(tokens: readonly string[]): string {
  return tokens.map((token) => `"${token.replaceAll('"', '""')}"`).join(" OR ");
}

/**
 * Above this many memories, the query keeps its rarest words only while
 * their document counts add up to at most {@link MATCH_BUDGET_SHARE} of the
 * memories (the rarest word always stays): ranking cost grows with the
 * documents matched, and the most common words tell BM25 the least.
 */
export const COMMON_TERM_MIN_DOCS = 1_000;
/** Share of memories the kept words may match in total. */
export const MATCH_BUDGET_SHARE = 0.05;
/** Words whose document counts are kept between searches. */
const DOC_COUNT_CACHE_SIZE = 4_096;
/** A kept document count is read again once the memories grew by this share. */
const DOC_COUNT_STALE_GROWTH = 0.05;

/** The SQL condition of a {@link MemoryFilter} on the `memories` alias `m`. */
export function memoryFilterSql(filter: MemoryFilter): RawBuilder<unknown> {
  const owners = filter.owners.filter((entry) => entry.kinds.length > 0);
  const ownerCondition = owners.length === 0 ? sql`0` : sql.join(
    owners.map(({ owner, kinds }) =>
      sql`(${
        owner === null ? sql`m.owner_user_id IS NULL` : sql`m.owner_user_id = ${owner}`
      } AND m.kind IN (${sql.join(kinds)}))`
    ),
    sql` OR `,
  );
  const conditions = [
    sql`(${ownerCondition})`,
    sql`(m.expires_at IS NULL OR m.expires_at > ${filter.now})`,
  ];
  if (filter.createdFrom !== undefined) conditions.push(sql`m.created_at >= ${filter.createdFrom}`);
  if (filter.createdBefore !== undefined) {
    conditions.push(sql`m.created_at < ${filter.createdBefore}`);
  }
  if (!filter.includeSuspicious) conditions.push(sql`m.suspicious = 0`);
  if (filter.excludeThreadWindow) {
    const { threadId, fromSeq } = filter.excludeThreadWindow;
    conditions.push(
      sql`NOT EXISTS (SELECT 1 FROM memory_messages mm WHERE mm.memory_id = m.id AND mm.thread_id = ${threadId} AND mm.seq >= ${fromSeq})`,
    );
  }
  return sql.join(conditions, sql` AND `);
}

const largestMemoryId = prepare((db: Kysely<Database>) =>
  db.selectFrom("memories").select((eb) => eb.fn.max("id").as("n"))
);

/** The FTS5 implementation over `memory_fts` (SQLite only). */
export function createSqliteTextSearch(db: Kysely<Database>): TextSearch {
  /**
   * Document counts by word, with the memory count they were read at: the
   * choice of rare words tolerates counts a little old, and each read costs a
   * query per word. Emptied by `optimize()`, which follows large forgets.
   */
  const docCounts = new Map<string, { doc: number; total: number }>();
  async function docCount(token: string, total: number): Promise<number> {
    const known = docCounts.get(token);
    if (known && total <= known.total * (1 + DOC_COUNT_STALE_GROWTH)) {
      // Least recently used words leave first.
      docCounts.delete(token);
      docCounts.set(token, known);
      return known.doc;
    }
    const { rows } = await sql<{ doc: number }>`
      SELECT doc FROM memory_fts_vocab WHERE term = ${token}`.execute(db);
    const doc = rows[0]?.doc ?? 0;
    docCounts.delete(token);
    docCounts.set(token, { doc, total });
    if (docCounts.size > DOC_COUNT_CACHE_SIZE) docCounts.delete(docCounts.keys().next().value!);
    return doc;
  }
  return {
    matchExpression: ftsMatchExpression,
    async search(query, { limit, filter }) {
      let tokens = queryTokens(query);
      if (tokens.length === 0) return [];
      // The largest id stands in for the count (memories are add-only, ids ascend): one
      // index probe, where count(*) scans the whole table on every search.
      const total = (await largestMemoryId.executeTakeFirst(db, {}))!;
      if (Number(total.n) >= COMMON_TERM_MIN_DOCS && tokens.length > 1) {
        const frequencies = await Promise.all(
          tokens.map(async (token) => ({ token, doc: await docCount(token, Number(total.n)) })),
        );
        const budget = Number(total.n) * MATCH_BUDGET_SHARE;
        const kept: string[] = [];
        let matched = 0;
        for (const { token, doc } of frequencies.sort((a, b) => a.doc - b.doc)) {
          if (kept.length > 0 && matched + doc > budget) break;
          kept.push(token);
          matched += doc;
        }
        tokens = kept;
      }
      const { rows } = await executeCompiled(
        db,
        sql<TextHit>`
        SELECT m.id AS id, bm25(memory_fts) AS bm25
        FROM memory_fts JOIN memories m ON m.id = memory_fts.rowid
        WHERE memory_fts MATCH ${quoteTerms(tokens)} AND ${memoryFilterSql(filter)}
        ORDER BY bm25 ASC, m.created_at DESC
        LIMIT ${limit}`.compile(db),
      );
      return rows.map((row) => ({ id: row.id, bm25: row.bm25 }));
    },
    async optimize() {
      docCounts.clear();
      await sql`INSERT INTO memory_fts (memory_fts) VALUES ('optimize')`.execute(db);
    },
    async tidy({ maxSegments, pages }) {
      const segments = async () => {
        const { rows } = await sql<{ block: Uint8Array }>`
          SELECT block FROM memory_fts_data WHERE id = ${FTS_STRUCTURE_ROWID}`.execute(db);
        return rows[0] ? ftsSegmentCount(rows[0].block) : 0;
      };
      if (await segments() <= maxSegments) return { merged: false, more: false };
      // A negative page count lets FTS5 merge segments of any level together, toward one.
      await sql`INSERT INTO memory_fts (memory_fts, rank) VALUES ('merge', ${-pages})`.execute(db);
      return { merged: true, more: await segments() > maxSegments };
    },
  };
}
