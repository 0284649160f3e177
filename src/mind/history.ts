/**
 * `GET /api/state/history` (spec/server.md §4.2): the mind's state over
 * time for the Mind page's charts — the affect after each change
 * (`mind_state_history`) and the flow estimate after each turn
 * (`calibration.updated` events), oldest first.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { type Clock, isoTime } from "../clock.ts";
import { describe } from "../http/openapi.ts";
import type { AppEnv } from "../http/types.ts";
import {
  queryInt,
  RANGE_IN_ORDER,
  rangeInOrder,
  readQuery,
  requireRole,
} from "../http/validate.ts";
import type { Store } from "../store/store.ts";

const FIELDS = ["affect", "calibration"] as const;
const HOUR = 3_600_000;

const QUERY = z.strictObject({
  fields: z.string().default(FIELDS.join(",")).refine(
    (value) => value.split(",").every((field) => (FIELDS as readonly string[]).includes(field)),
    { message: `a comma-separated list of ${FIELDS.join(", ")}` },
  ).describe("Which series: affect, calibration (both by default)"),
  since: z.iso.datetime({ offset: true }).optional().describe("From (default: an hour ago)"),
  until: z.iso.datetime({ offset: true }).optional().describe("Until (default: now)"),
  limit: queryInt({ min: 1, max: 5_000 }).default(1_000).describe(
    "Most points per series; the newest are kept",
  ),
}).refine(rangeInOrder, RANGE_IN_ORDER);

const POINT = z.strictObject({
  at: z.iso.datetime(),
  affect: z.strictObject({ p: z.number(), a: z.number(), d: z.number() }).optional(),
  calibration: z.strictObject({ ema: z.number().nullable(), state: z.string().optional() })
    .optional(),
});
const HISTORY = z.strictObject({ items: z.array(POINT) });
type Point = z.infer<typeof POINT>;

/** The route; `store()` and `clock` are the kernel's. */
export function stateHistoryRoutes(store: () => Store, clock: Clock): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  describe(app, [{
    method: "get",
    path: "/api/state/history",
    summary: "The mind's affect and flow estimate over time, oldest first",
    tags: ["mind"],
    role: "viewer",
    query: QUERY,
    responses: { 200: { description: "Points", schema: HISTORY } },
  }]);

  app.get("/api/state/history", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, QUERY);
    const until = query.until ? Date.parse(query.until) : clock.now();
    const since = query.since ? Date.parse(query.since) : until - HOUR;
    const fields = new Set(query.fields.split(","));
    const db = store().db;
    const items: Point[] = [];
    if (fields.has("affect")) {
      const rows = await db.selectFrom("mind_state_history").select(["at", "p", "a", "d"])
        .where("at", ">=", since).where("at", "<=", until)
        .orderBy("at", "desc").orderBy("id", "desc").limit(query.limit).execute();
      for (const row of rows) {
        items.push({ at: isoTime(row.at), affect: { p: row.p, a: row.a, d: row.d } });
      }
    }
    if (fields.has("calibration")) {
      const rows = await db.selectFrom("mind_events").select(["at", "data"])
        .where("type", "=", "calibration.updated")
        .where("at", ">=", since).where("at", "<=", until)
        .orderBy("at", "desc").orderBy("id", "desc").limit(query.limit).execute();
      for (const row of rows) {
        const data = JSON.parse(row.data) as { ema?: unknown; state?: unknown };
        items.push({
          at: isoTime(row.at),
          calibration: {
            ema: typeof data.ema === "number" ? data.ema : null,
            ...(typeof data.state === "string" ? { state: data.state } : {}),
          },
        });
      }
    }
    items.sort((a, b) => a.at.localeCompare(b.at));
    return c.json({ items });
  });
  return app;
}
