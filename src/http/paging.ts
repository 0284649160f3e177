/**
 * Keyset pages for lists ordered newest first by (time, id) (spec/server.md §2, `Page<T>`): the
 * cursor is the last item's time in Unix milliseconds and its id, `<ms>~<id>`, so items that share
 * a time are ordered by id and none is skipped or shown twice across a page boundary.
 *
 * @module
 */
import { z } from "zod";

/** What a cursor that this server did not give is refused with. */
export const PREVIOUS_PAGE = "a next_cursor from the previous page";

/** A position in a (time desc, id desc) list: the last item of the previous page. */
export interface TimeIdKey {
  /** Unix milliseconds. */
  at: number;
  id: string;
}

/** The `cursor` query parameter of a (time, id) keyset list. */
export function timeIdCursor(describe: string): z.ZodOptional<z.ZodString> {
  return z.string().regex(/^\d{1,16}~[A-Za-z0-9_-]{1,100}$/, PREVIOUS_PAGE).optional()
    .describe(describe);
}

/** The key a {@link timeIdCursor} names (the schema has checked its form). */
export function readTimeIdCursor(cursor: string | undefined): TimeIdKey | undefined {
  if (cursor === undefined) return undefined;
  const split = cursor.indexOf("~");
  return { at: Number(cursor.slice(0, split)), id: cursor.slice(split + 1) };
}

/**
 * One page from `limit + 1` rows read in order after the cursor: the first `limit`, and a cursor
 * when the extra row shows that more remain.
 */
export function timeIdPage<T>(
  rows: readonly T[],
  limit: number,
  key: (row: T) => TimeIdKey,
): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  if (rows.length <= limit || !last) return { page, nextCursor: null };
  const { at, id } = key(last);
  return { page, nextCursor: `${at}~${id}` };
}
