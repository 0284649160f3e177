/**
 * The condition of a keyset page on a list ordered newest first by (time, id): the rows after
 * the previous page's last (spec/server.md §2). One place, so every such list breaks ties the same
 * way.
 *
 * @module
 */
import type { Expression, ExpressionBuilder, ReferenceExpression, SqlBool } from "kysely";
import type { TimeIdKey } from "../http/paging.ts";

/** Rows whose (time, id) comes after `key` in (time desc, id desc) order. */
export function afterKey<DB, TB extends keyof DB>(
  eb: ExpressionBuilder<DB, TB>,
  columns: { at: ReferenceExpression<DB, TB>; id: ReferenceExpression<DB, TB> },
  key: TimeIdKey,
): Expression<SqlBool> {
  const at = eb.val(key.at);
  return eb.or([
    eb(columns.at, "<", at),
    eb.and([eb(columns.at, "=", at), eb(columns.id, "<", eb.val(key.id))]),
  ]);
}
