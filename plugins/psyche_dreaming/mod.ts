/**
 * `psyche_dreaming` (spec/mind.md §6): after each reply a background job
 * forecasts the user's next message; the next turn scores the forecast
 * (alignment, surprise, intent hit), which moves arousal and, on a hit,
 * valence — down-weighted when the embedder is only lexical. Memories for
 * likely forecasts are prefetched before the user answers.
 *
 * @module
 */
import {
  afterKey,
  AppError,
  type BackgroundJob,
  BoundedMap,
  type ChatMessage,
  clipText,
  cosine,
  type Database,
  definePlugin,
  describe,
  type Embedder,
  FORECAST_ACCURACY,
  FORECAST_ITEM,
  FORECAST_RESOLUTION,
  type Impulse,
  INTENTS,
  MIND_HOOKS,
  type MindEventInput,
  type Operation,
  type Plugin,
  type PluginContext,
  prepare,
  queryInt,
  readQuery,
  readTimeIdCursor,
  type RecalledMemory,
  requireRole,
  type Store,
  threadReader,
  timeIdCursor,
  timeIdPage,
  type TurnView,
} from "@synth/kernel";
import type { Kysely, Selectable } from "kysely";
import { z } from "zod";
import { forecastImpulses, type ForecastItem, parseForecast, resolveForecast } from "./forecast.ts";

/** The thread's newest forecast set no turn has seen yet (read by every turn). */
const unseenSet = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("psyche_dreaming_sets").selectAll()
    .where("thread_id", "=", slot("threadId")).where("status", "in", ["ready", "parse_failed"])
    .where("seen_by_turn_id", "is", null).orderBy("created_at", "desc").orderBy("id", "desc")
    .limit(1)
);
const markSeen = prepare((db: Kysely<Database>, slot) =>
  db.updateTable("psyche_dreaming_sets").set({ seen_by_turn_id: slot("turnId") })
    .where("id", "=", slot("id"))
);

export { parseForecast, resolveForecast } from "./forecast.ts";

/** Options for {@link createDreamingPlugin}. */
export interface DreamingOptions {
  /** The embedder for items and messages. @default the gateway's embedding role */
  embedder?: Embedder;
}

const SET_STATUSES = ["ready", "parse_failed", "resolved", "expired", "discarded", "late"] as const;
const forecastQuery = z.strictObject({
  status: z.enum(SET_STATUSES).optional(),
  thread_id: z.string().optional(),
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: timeIdCursor("The next page holds the sets made before this one's last"),
});
const calibrationQuery = z.strictObject({
  window: queryInt({ min: 1, max: 500 }).default(20),
});

const LEXICAL_NOTE = "forecast scores are lexical overlap; affect impact down-weighted";

function toBlob(vector: Float32Array): Uint8Array {
  return new Uint8Array(
    vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength),
  );
}

function fromBlob(blob: Uint8Array): Float32Array {
  const copy = new Uint8Array(blob);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

type Ctx = PluginContext<unknown>;

/** A set's resolution as stored (`psyche_dreaming_sets.resolution`, camelCase JSON). */
interface StoredResolution {
  turnId: string;
  alignment: number;
  surprise: number;
  best: number;
  intentHit: boolean;
}

/** A set's resolution as the API shows it (spec/server.md §2: snake_case). */
export interface ForecastResolution {
  turn_id: string;
  alignment: number;
  surprise: number;
  best: number;
  intent_hit: boolean;
}

/** The wire form of a stored resolution. */
function resolutionView(json: string): ForecastResolution {
  const stored = JSON.parse(json) as StoredResolution;
  return {
    turn_id: stored.turnId,
    alignment: stored.alignment,
    surprise: stored.surprise,
    best: stored.best,
    intent_hit: stored.intentHit,
  };
}

const RESOLUTION = FORECAST_RESOLUTION;
/** A forecast set for the OpenAPI document (no vectors). */
const FORECAST_SET = z.strictObject({
  id: z.string(),
  thread_id: z.string(),
  turn_id: z.string(),
  created_at: z.iso.datetime(),
  model: z.string(),
  status: z.enum(SET_STATUSES),
  quality: z.enum(["semantic", "lexical"]),
  embedder_id: z.string(),
  items: z.array(FORECAST_ITEM),
  resolution: RESOLUTION.nullable(),
  resolved_at: z.iso.datetime().nullable(),
  seen_by_turn_id: z.string().nullable(),
  error: z.string().nullable(),
  raw: z.string().nullable(),
});
const ACCURACY = FORECAST_ACCURACY;
const CALIBRATION = z.strictObject({
  window: z.number().int(),
  embedder: z.enum(["semantic", "lexical"]),
  note: z.string().optional(),
  semantic: ACCURACY,
  lexical: ACCURACY,
  counts: z.record(z.string(), z.number().int()),
  parse_failure_rate: z.number().nullable(),
});

/** What a resolution left for the rest of the turn. */
interface TurnResolution {
  setId: string;
  status: "resolved";
  alignment: number;
  surprise: number;
  intentHit: boolean;
  q: number;
  top: ForecastItem;
  items: Array<ForecastItem & { sim: number }>;
  bestIndex: number;
}

/** Builds the plugin (tests may give a scripted embedder). */
export function createDreamingPlugin(options: DreamingOptions = {}): Plugin<unknown, void> {
  return definePlugin({
    manifest: {
      id: "psyche_dreaming",
      version: "1.0.0",
      isolation: "in_process",
      httpBase: "/api",
    },
    setup(ctx) {
      const embedder = () => options.embedder ?? ctx.llm.embedder;
      const { db } = ctx.db;
      /** Threads whose forecast job is running → the set it will write. */
      const generating = new BoundedMap<string, { setId: string; late: boolean }>(256);
      /** Prefetched memories per set and item index (rebuilt lazily after a restart). */
      const prefetch = new BoundedMap<string, Map<number, RecalledMemory[]>>(256);
      const resolutions = new BoundedMap<string, TurnResolution>(64);
      /**
       * What stage 3 found out about a set, written with the turn in stage 10 (its
       * transaction), or when the turn fails or is cancelled: never a commit of its own.
       */
      const setWrites = new BoundedMap<
        string,
        { run(db: Store["db"]): Promise<void>; done: boolean }
      >(64);

      ctx.hooks.on(MIND_HOOKS.resolve, async (view) => {
        const events: MindEventInput[] = [];
        const running = generating.get(view.threadId);
        if (running) {
          running.late = true;
          events.push({ type: "forecast.not_ready", data: { set_id: running.setId } });
          return { events };
        }
        const set = await unseenSet.executeTakeFirst(db, { threadId: view.threadId });
        if (!set) return { events: [{ type: "forecast.none", data: {} }] };
        const now = ctx.clock.now();
        if (set.status === "parse_failed") {
          setWrites.set(view.turnId, {
            done: false,
            run: async (db) => {
              await markSeen.execute(db, { turnId: view.turnId, id: set.id });
            },
          });
          return { events: [{ type: "forecast.parse_failed_seen", data: { set_id: set.id } }] };
        }
        const current = embedder();
        if (
          now - set.created_at > view.profile.dreaming.maxAgeHours * 3_600_000 ||
          set.embedder_id !== current.id
        ) {
          const reason = set.embedder_id !== current.id ? "the embedder changed" : "too old";
          setWrites.set(view.turnId, {
            done: false,
            run: async (db) => {
              await db.updateTable("psyche_dreaming_sets").set({
                status: "expired",
                seen_by_turn_id: view.turnId,
                error: reason,
              }).where("id", "=", set.id).execute();
            },
          });
          return { events: [{ type: "forecast.expired", data: { set_id: set.id, reason } }] };
        }
        const rows = await db.selectFrom("psyche_dreaming_items").selectAll().where(
          "set_id",
          "=",
          set.id,
        )
          .orderBy("idx").execute();
        const [message] = await current.embed([view.message.text]);
        const items = rows.map((row) => ({
          text: row.text,
          p: row.p,
          intent: row.intent as ForecastItem["intent"],
          sim: row.embedding ? Math.max(0, cosine(fromBlob(row.embedding), message!)) : 0,
        }));
        const result = resolveForecast(items, view.appraisal.intent);
        const q = set.quality === "semantic" ? 1 : view.profile.dreaming.lexicalWeight;
        const resolution: StoredResolution = {
          turnId: view.turnId,
          alignment: result.alignment,
          surprise: result.surprise,
          best: result.best,
          intentHit: result.intentHit,
        };
        setWrites.set(view.turnId, {
          done: false,
          run: async (db) => {
            await db.updateTable("psyche_dreaming_sets").set({
              status: "resolved",
              resolution: JSON.stringify(resolution),
              resolved_at: now,
              seen_by_turn_id: view.turnId,
            }).where("id", "=", set.id).execute();
            for (const [index, item] of items.entries()) {
              await db.updateTable("psyche_dreaming_items").set({ sim: item.sim })
                .where("set_id", "=", set.id).where("idx", "=", index).execute();
            }
          },
        });
        const top = [...items].sort((a, b) => b.p - a.p)[0]!;
        resolutions.set(view.turnId, {
          setId: set.id,
          status: "resolved",
          alignment: result.alignment,
          surprise: result.surprise,
          intentHit: result.intentHit,
          q,
          top,
          items,
          bestIndex: result.best,
        });
        const impulses: Impulse[] = forecastImpulses(result, q, view.profile);
        events.push({
          type: "forecast.resolved",
          data: {
            set_id: set.id,
            alignment: result.alignment,
            surprise: result.surprise,
            intent_hit: result.intentHit,
            weight: q,
            quality: set.quality,
            items,
          },
        });
        return {
          signals: {
            "dreaming.alignment": result.alignment,
            "dreaming.surprise": result.surprise,
            "dreaming.intentHit": result.intentHit,
            "dreaming.weight": q,
          },
          impulses,
          events,
        };
      });

      ctx.hooks.on(MIND_HOOKS.prefetched, (view) => {
        const resolution = resolutions.get(view.turnId);
        if (!resolution) return [];
        const best = resolution.items[resolution.bestIndex];
        if (!best || best.sim < view.profile.dreaming.prefetchMinSimilarity) return [];
        return prefetch.get(resolution.setId)?.get(resolution.bestIndex) ?? [];
      });

      ctx.hooks.on(MIND_HOOKS.fragments, (view) => {
        const resolution = resolutions.get(view.turnId);
        if (!resolution) return [];
        const settings = view.profile.dreaming;
        const topText = clipText(resolution.top.text, 120);
        let text =
          `Expected: "${topText}" (${resolution.top.intent}); got: the latest message (alignment ${
            resolution.alignment.toFixed(2)
          }, surprise ${resolution.surprise.toFixed(2)}).`;
        if (resolution.surprise >= settings.promptSurpriseMin) {
          text +=
            " The user went somewhere unexpected; drop earlier assumptions about their direction.";
        }
        return [{
          module: "dreaming",
          key: "expectation",
          section: "state" as const,
          priority: 40,
          text,
          reason: `forecast ${resolution.setId}: alignment ${
            resolution.alignment.toFixed(3)
          }, surprise ${resolution.surprise.toFixed(3)}`,
        }];
      });

      ctx.hooks.on(MIND_HOOKS.persist, async ({ view, db }) => {
        resolutions.delete(view.turnId);
        const write = setWrites.get(view.turnId);
        if (!write) return;
        await write.run(db);
        write.done = true;
      });
      // The set a turn saw is marked even if its stage-10 rows were rolled back (a failed or
      // cancelled turn, or this hook's savepoint): the next turn must not resolve it again.
      ctx.bus.subscribe("mind.turn.event", async (event) => {
        const { type, turnId } = event.data.event as { type: string; turnId: string };
        if (type !== "turn.failed" && type !== "turn.cancelled") return;
        resolutions.delete(turnId);
        await markSeenApart(turnId);
      });
      ctx.bus.subscribe("mind.turn.completed", async (event) => {
        if (setWrites.get(event.data.turnId)?.done) setWrites.delete(event.data.turnId);
        else await markSeenApart(event.data.turnId);
      });
      async function markSeenApart(turnId: string) {
        const write = setWrites.get(turnId);
        if (!write) return;
        setWrites.delete(turnId);
        // The writes are updates to fixed values: running them again changes nothing.
        await ctx.db.transaction((trx) => write.run(trx)).catch((error) =>
          ctx.log.warn("recording a seen forecast failed", { error })
        );
      }

      ctx.hooks.on(MIND_HOOKS.background, (view) => [forecastJob(ctx, view)]);

      function forecastJob(ctx: Ctx, view: TurnView): BackgroundJob {
        return {
          module: "psyche_dreaming",
          kind: "forecast",
          priority: 1,
          turnId: view.turnId,
          threadId: view.threadId,
          supersedeKey: `forecast:${view.threadId}`,
          run: async (job) => {
            const settings = view.profile.dreaming;
            const setId = ctx.ids.next("fcs");
            const marker = { setId, late: false };
            generating.set(view.threadId, marker);
            try {
              const context: ChatMessage[] = [
                ...view.history.filter((message) => message.role !== "tool")
                  .map((message) => ({
                    role: message.role as "user" | "assistant",
                    content: message.content,
                  })),
                { role: "user" as const, content: view.message.text },
                { role: "assistant" as const, content: view.reply?.text ?? "" },
              ].slice(-settings.contextMessages);
              while (context.length > 0 && context[0]!.role !== "user") context.shift();
              const completion = await job.llm.complete({
                purpose: "forecast",
                role: "background",
                temperature: settings.temperature,
                maxTokens: 60 + settings.count * 120,
                system: [
                  "You forecast what the user will write next in this conversation.",
                  `Answer with only a JSON array of exactly ${settings.count} distinct possible next user messages,`,
                  'each {"text": "...", "probability": 0..1, "intent": one of ' +
                  INTENTS.map((intent) => `"${intent}"`).join(", ") + "}.",
                ].join(" "),
                messages: [
                  ...context,
                  {
                    role: "user",
                    content: "What will I most likely write next? Answer with the JSON array only.",
                  },
                ],
                context: { threadId: view.threadId, turnId: view.turnId, userId: view.userId },
              });
              const parsed = parseForecast(completion.text, settings.count);
              const current = embedder();
              if (!parsed.ok) {
                await db.insertInto("psyche_dreaming_sets").values({
                  id: setId,
                  turn_id: view.turnId,
                  thread_id: view.threadId,
                  created_at: ctx.clock.now(),
                  model: completion.model,
                  status: marker.late ? "late" : "parse_failed",
                  embedder_id: current.id,
                  quality: current.quality,
                  raw: completion.text.slice(0, 2_000),
                  error: parsed.error,
                }).execute();
                return {
                  note: `parse_failed: ${parsed.error}`,
                  events: [{
                    type: "forecast.parse_failed",
                    data: { set_id: setId, error: parsed.error },
                  }],
                };
              }
              const vectors = await current.embed(parsed.items.map((item) => item.text));
              await ctx.db.transaction(async (trx) => {
                await trx.insertInto("psyche_dreaming_sets").values({
                  id: setId,
                  turn_id: view.turnId,
                  thread_id: view.threadId,
                  created_at: ctx.clock.now(),
                  model: completion.model,
                  status: marker.late ? "late" : "ready",
                  embedder_id: current.id,
                  quality: current.quality,
                  raw: null,
                  error: null,
                }).execute();
                for (const [index, item] of parsed.items.entries()) {
                  await trx.insertInto("psyche_dreaming_items").values({
                    set_id: setId,
                    idx: index,
                    text: item.text,
                    p: item.p,
                    intent: item.intent,
                    embedding: toBlob(vectors[index]!),
                    sim: null,
                  }).execute();
                }
              });
              if (!marker.late) await prefetchFor(setId, parsed.items, view);
              return {
                events: [{
                  type: marker.late ? "forecast.late" : "forecast.ready",
                  data: { set_id: setId, items: parsed.items, quality: current.quality },
                }],
              };
            } finally {
              if (generating.get(view.threadId) === marker) generating.delete(view.threadId);
            }
          },
        };
      }

      /** Memories forgotten or changed while a prefetch runs, one set per prefetch running. */
      const changedDuringPrefetch = new Set<Set<string>>();

      async function prefetchFor(setId: string, items: readonly ForecastItem[], view: TurnView) {
        const settings = view.profile.dreaming;
        const cache = new Map<number, RecalledMemory[]>();
        const changed = new Set<string>();
        changedDuringPrefetch.add(changed);
        const ranked = items.map((item, index) => ({ item, index })).sort((a, b) =>
          b.item.p - a.item.p
        )
          .slice(0, settings.prefetchTop).filter(({ item }) =>
            item.p >= settings.prefetchMinProbability
          );
        try {
          for (const { item, index } of ranked) {
            const answer = await ctx.hooks.first(MIND_HOOKS.recall, {
              view,
              query: item.text,
              limit: 4,
            });
            if (answer?.value.items.length) cache.set(index, answer.value.items);
          }
        } finally {
          changedDuringPrefetch.delete(changed);
        }
        // What changed while the recalls ran is left out too; from here on the cache is where
        // memory.update finds it (no await between).
        dropMemories(cache, changed);
        if (cache.size > 0) prefetch.set(setId, cache);
      }

      /** Takes the memories `ids` out of a set's prefetched recalls. */
      function dropMemories(cache: Map<number, RecalledMemory[]>, ids: ReadonlySet<string>) {
        for (const [index, recalled] of cache) {
          const kept = recalled.filter((memory) => !ids.has(memory.memoryId));
          if (kept.length > 0) cache.set(index, kept);
          else cache.delete(index);
        }
      }

      // A memory forgotten or changed (flagged, its expiry moved) after a set prefetched it leaves
      // the cache: a forgotten one must never come back (memory.md §8.2), and the next turn's own
      // recall finds a changed one again if it may still be recalled.
      ctx.bus.subscribe("memory.update", (event) => {
        const { op, ids } = event.data as { op: string; ids: string[] };
        if (op === "created") return;
        for (const changed of changedDuringPrefetch) for (const id of ids) changed.add(id);
        const gone = new Set(ids);
        for (const cache of prefetch.values()) dropMemories(cache, gone);
      });

      ctx.hooks.on(MIND_HOOKS.event, async (event) => {
        if (event.type !== "thread.reset" || !event.threadId) return;
        const marker = generating.get(event.threadId);
        if (marker) marker.late = true;
        await db.updateTable("psyche_dreaming_sets").set({ status: "discarded" })
          .where("thread_id", "=", event.threadId).where("status", "=", "ready").execute();
      });

      ctx.hooks.on(MIND_HOOKS.forget, async ({ threadId }) => {
        if (!threadId) return { deleted: 0 };
        const sets = await db.selectFrom("psyche_dreaming_sets").select("id")
          .where("thread_id", "=", threadId).execute();
        for (const set of sets) prefetch.delete(set.id);
        await db.deleteFrom("psyche_dreaming_sets").where("thread_id", "=", threadId).execute();
        return { deleted: sets.length };
      });

      type SetRow = Selectable<Database["psyche_dreaming_sets"]>;

      /** Sets with their items, as the API and `/export` show them (no vectors). */
      async function withItems(sets: SetRow[]) {
        const items = sets.length
          ? await db.selectFrom("psyche_dreaming_items")
            .select(["set_id", "idx", "text", "p", "intent", "sim"])
            .where("set_id", "in", sets.map((set) => set.id)).orderBy("set_id").orderBy("idx")
            .execute()
          : [];
        return sets.map((set) => ({
          id: set.id,
          thread_id: set.thread_id,
          turn_id: set.turn_id,
          created_at: new Date(set.created_at).toISOString(),
          model: set.model,
          status: set.status,
          quality: set.quality,
          embedder_id: set.embedder_id,
          items: items.filter((item) => item.set_id === set.id)
            .map(({ text, p, intent, sim }) => ({ text, p, intent, sim })),
          resolution: set.resolution === null ? null : resolutionView(set.resolution),
          resolved_at: set.resolved_at === null ? null : new Date(set.resolved_at).toISOString(),
          seen_by_turn_id: set.seen_by_turn_id,
          error: set.error,
          raw: set.raw,
        }));
      }

      ctx.hooks.on(MIND_HOOKS.export, async ({ threadIds }) => {
        if (threadIds.length === 0) return { forecasts: [] };
        const sets = await db.selectFrom("psyche_dreaming_sets").selectAll()
          .where("thread_id", "in", threadIds).orderBy("created_at").execute();
        return { forecasts: await withItems(sets) };
      });

      // The forecasts API (spec/server.md §4.2): a viewer sees their own threads' sets.
      function visibleSets(reader: string | null) {
        const select = db.selectFrom("psyche_dreaming_sets").selectAll();
        return reader === null ? select : select.where(
          "thread_id",
          "in",
          db.selectFrom("threads").select("id").where("created_by", "=", reader),
        );
      }

      describe(
        ctx.http,
        [
          {
            method: "get",
            path: "/forecasts",
            summary: "Forecast sets of the caller's threads with their items and resolution",
            tags: ["mind"],
            role: "viewer",
            query: forecastQuery,
            responses: {
              200: {
                description: "Forecast sets, newest first",
                schema: z.strictObject({
                  items: z.array(FORECAST_SET),
                  next_cursor: z.string().nullable(),
                }),
              },
            },
          },
          {
            method: "get",
            path: "/forecasts/calibration",
            summary:
              "Alignment, surprise and intent hits over the newest `window` resolved sets, by embedder quality; counts per status over the newest `window` sets",
            tags: ["mind"],
            role: "viewer",
            query: calibrationQuery,
            responses: {
              200: { description: "Calibration", schema: CALIBRATION },
            },
          },
          {
            method: "get",
            path: "/forecasts/:id",
            summary: "One forecast set",
            tags: ["mind"],
            role: "viewer",
            responses: {
              200: { description: "The set", schema: FORECAST_SET },
            },
          },
        ] satisfies readonly Operation[],
      );
      ctx.http.get("/forecasts", async (c) => {
        requireRole(c, "viewer");
        const query = readQuery(c, forecastQuery);
        let select = visibleSets(threadReader(c)).orderBy("created_at", "desc")
          .orderBy("id", "desc").limit(query.limit + 1);
        if (query.status) select = select.where("status", "=", query.status);
        if (query.thread_id) select = select.where("thread_id", "=", query.thread_id);
        const before = readTimeIdCursor(query.cursor);
        if (before) {
          select = select.where((eb) => afterKey(eb, { at: "created_at", id: "id" }, before));
        }
        const { page, nextCursor } = timeIdPage(
          await select.execute(),
          query.limit,
          (row) => ({ at: row.created_at, id: row.id }),
        );
        return c.json({ items: await withItems(page), next_cursor: nextCursor });
      });

      // Before `/:id`, so "calibration" is not taken for an id.
      ctx.http.get("/forecasts/calibration", async (c) => {
        requireRole(c, "viewer");
        const query = readQuery(c, calibrationQuery);
        return c.json({ window: query.window, ...await accuracy(query.window) });
      });

      ctx.http.get("/forecasts/:id", async (c) => {
        requireRole(c, "viewer");
        const set = await visibleSets(threadReader(c)).where("id", "=", c.req.param("id"))
          .executeTakeFirst();
        if (!set) throw new AppError("FORECAST_NOT_FOUND", "No such forecast", { status: 404 });
        return c.json((await withItems([set]))[0]);
      });

      async function accuracy(window: number) {
        const resolved = await db.selectFrom("psyche_dreaming_sets").select([
          "resolution",
          "quality",
        ])
          .where("status", "=", "resolved").orderBy("resolved_at", "desc").limit(window).execute();
        const summarise = (quality: "semantic" | "lexical") => {
          const list = resolved.filter((row) => row.quality === quality)
            .map((row) => resolutionView(row.resolution!));
          if (list.length === 0) return null;
          const mean = (values: number[]) =>
            values.reduce((sum, value) => sum + value, 0) / values.length;
          return {
            sets: list.length,
            alignment: mean(list.map((item) => item.alignment)),
            surprise: mean(list.map((item) => item.surprise)),
            intent_hit_rate: list.filter((item) => item.intent_hit).length / list.length,
          };
        };
        // Counts per status over the newest `window` sets (§6), whatever their status: the table
        // gains a set with every turn, and a state snapshot must not read it whole.
        // A set that came late keeps its answer's text when it could not be parsed either: it
        // counts as a parse failure too.
        const counts = await db.selectFrom(
          db.selectFrom("psyche_dreaming_sets").select((eb) => [
            "status",
            eb.or([
              eb("status", "=", "parse_failed"),
              eb.and([eb("status", "=", "late"), eb("raw", "is not", null)]),
            ]).as("unparsed"),
          ]).orderBy("created_at", "desc").orderBy("id", "desc").limit(window).as("recent"),
        )
          .select((eb) => ["status", "unparsed", eb.fn.countAll<number>().as("n")])
          .groupBy(["status", "unparsed"]).execute();
        const byStatus: Record<string, number> = {};
        let unparsed = 0;
        for (const row of counts) {
          byStatus[row.status] = (byStatus[row.status] ?? 0) + Number(row.n);
          if (row.unparsed) unparsed += Number(row.n);
        }
        const total = Object.values(byStatus).reduce((sum, value) => sum + value, 0);
        const current = embedder();
        return {
          embedder: current.quality,
          ...(current.quality === "lexical" ? { note: LEXICAL_NOTE } : {}),
          semantic: summarise("semantic"),
          lexical: summarise("lexical"),
          counts: byStatus,
          parse_failure_rate: total > 0 ? unparsed / total : null,
        };
      }

      async function pending(threadId: string) {
        const set = await db.selectFrom("psyche_dreaming_sets").selectAll().where(
          "thread_id",
          "=",
          threadId,
        )
          .orderBy("created_at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
        if (!set) return { pending: null, last_resolution: null };
        const items = await db.selectFrom("psyche_dreaming_items").select([
          "text",
          "p",
          "intent",
          "sim",
        ])
          .where("set_id", "=", set.id).orderBy("idx").execute();
        const lastResolved = await db.selectFrom("psyche_dreaming_sets").select([
          "id",
          "resolution",
        ])
          .where("thread_id", "=", threadId).where("status", "=", "resolved")
          .orderBy("resolved_at", "desc").limit(1).executeTakeFirst();
        return {
          pending: set.status === "ready" ? { id: set.id, items } : null,
          latest_status: set.status,
          last_resolution: lastResolved
            ? { set_id: lastResolved.id, ...resolutionView(lastResolved.resolution!) }
            : null,
        };
      }

      ctx.hooks.on(MIND_HOOKS.state, async ({ scope, threadId }) => {
        if (scope === "thread" && threadId) return await pending(threadId);
        if (scope === "mind") return await accuracy(ctx.profile.dreaming.accuracyWindow);
        return undefined;
      });

      ctx.hooks.on(MIND_HOOKS.commands, () => [{
        name: "dream",
        usage: "/dream",
        description: "pending forecasts of your next message, the last resolution, accuracy",
        role: "viewer" as const,
      }]);

      ctx.hooks.on(MIND_HOOKS.command, async (command) => {
        if (command.name !== "dream") return;
        const data = {
          ...(command.threadId ? await pending(command.threadId) : {}),
          accuracy: await accuracy(ctx.profile.dreaming.accuracyWindow),
        };
        const lines: string[] = [];
        const pendingSet = (data as {
          pending?: { items: Array<{ text: string; p: number; intent: string }> } | null;
        })
          .pending;
        if (pendingSet) {
          lines.push("Expected next:");
          for (const item of pendingSet.items) {
            lines.push(`  ${(item.p * 100).toFixed(0)}% ${item.intent}: ${item.text}`);
          }
        } else if (command.threadId) lines.push("No pending forecast.");
        else lines.push("Forecasts are a thread's: send /dream in a conversation to see its own.");
        const semantic = data.accuracy.semantic ?? data.accuracy.lexical;
        if (semantic) {
          lines.push(
            `The mind's accuracy over its last ${semantic.sets} set${
              semantic.sets === 1 ? "" : "s"
            }, in every conversation (${data.accuracy.embedder}): alignment ${
              semantic.alignment.toFixed(2)
            }, surprise ${semantic.surprise.toFixed(2)}, intent hits ${
              (semantic.intent_hit_rate * 100).toFixed(0)
            }%`,
          );
        }
        if (data.accuracy.embedder === "lexical") lines.push(`Note: ${LEXICAL_NOTE}.`);
        return { command: "dream", ok: true, output: { text: lines.join("\n"), data } };
      });
    },
  });
}

/** The plugin with the configured embedder. */
export const psycheDreamingPlugin: Plugin<unknown, void> = createDreamingPlugin();
