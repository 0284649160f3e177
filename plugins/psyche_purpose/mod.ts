/**
 * `psyche_purpose` (spec/mind.md §9): the mind's self-narrative in immutable
 * versions (rewritten from reflection insights through a sanitiser and a
 * provenance gate, rolled back by operators), milestones, sessions with
 * growth, and drift — a warning when replies wander from the narrative,
 * never a reward.
 *
 * @module
 */
import {
  AppError,
  type BackgroundJob,
  cosine,
  type Database,
  definePlugin,
  describe,
  type Embedder,
  type Impulse,
  isoTime,
  type JobContext,
  MIND_HOOKS,
  type MindEventInput,
  type Operation,
  type Plugin,
  pluginState,
  prepare,
  type Profile,
  queryInt,
  readJson,
  readQuery,
  redactPersonal,
  requireRole,
  sentences,
  toApiShape,
} from "@synth/kernel";
import type { Kysely } from "kysely";
import { z } from "zod";
import { growth, jaccard, sanitiseNarrative, statements, wordDiff } from "./narrative.ts";

// Run by every turn, compiled once.
const openSession = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("psyche_purpose_sessions").selectAll()
    .where("thread_id", "=", slot("threadId")).where("ended_at", "is", null)
);
const countSessionTurn = prepare((db: Kysely<Database>, slot) =>
  db.updateTable("psyche_purpose_sessions").set({
    last_turn_at: slot<number>("now"),
    turns: slot<number>("turns"),
    stats: slot("stats"),
  }).where("id", "=", slot("id"))
);

export { growth, sanitiseNarrative, wordDiff } from "./narrative.ts";

/** Options for {@link createPurposePlugin}. */
export interface PurposeOptions {
  /** The embedder for drift and provenance. @default the gateway's embedding role */
  embedder?: Embedder;
}

/** A narrative version (times in epoch ms; {@link versionView} is what the API shows). */
export interface NarrativeVersion {
  version: number;
  text: string;
  words: number;
  createdAt: number;
  reason: "initial" | "reflection" | "manual" | "rollback";
  sourceReflectionId: string | null;
  /** The version a rollback restored; null for every other reason. */
  restoredFrom: number | null;
  diff: Array<{ op: "=" | "+" | "-"; text: string }>;
  statements: string[];
}

/** A narrative version as the API shows it (snake_case keys, RFC 3339 times). */
export interface NarrativeVersionView {
  version: number;
  text: string;
  words: number;
  created_at: string;
  reason: NarrativeVersion["reason"];
  source_reflection_id: string | null;
  restored_from: number | null;
  diff: NarrativeVersion["diff"];
  statements: string[];
}

/** The wire form of a version. */
export function versionView(version: NarrativeVersion): NarrativeVersionView {
  return {
    version: version.version,
    text: version.text,
    words: version.words,
    created_at: isoTime(version.createdAt),
    reason: version.reason,
    source_reflection_id: version.sourceReflectionId,
    restored_from: version.restoredFrom,
    diff: version.diff,
    statements: version.statements,
  };
}

/** {@link NarrativeVersionView} for the OpenAPI document. */
const VERSION = z.strictObject({
  version: z.number().int(),
  text: z.string(),
  words: z.number().int(),
  created_at: z.iso.datetime(),
  reason: z.enum(["initial", "reflection", "manual", "rollback"]),
  source_reflection_id: z.string().nullable(),
  restored_from: z.number().int().nullable().describe("The version a rollback restored"),
  diff: z.array(z.strictObject({ op: z.enum(["=", "+", "-"]), text: z.string() })),
  statements: z.array(z.string()),
});

interface DriftState {
  drifting: boolean;
}

interface SessionStats {
  sSum: number;
  feedbackGood: number;
  feedbackBad: number;
  confirmations: number;
  corrections: number;
  turnIds: string[];
}

function toBlob(vector: Float32Array): Uint8Array {
  return new Uint8Array(
    vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength),
  );
}

function fromBlob(blob: Uint8Array): Float32Array {
  const copy = new Uint8Array(blob);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

const mean = (values: readonly number[]) =>
  values.reduce((sum, value) => sum + value, 0) / values.length;

const diffQuery = z.strictObject({ diff_from: queryInt({ min: 1 }).optional() });
const versionsQuery = z.strictObject({
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: z.string().regex(/^\d{1,9}$/, "a next_cursor from the previous page").optional()
    .describe("The next page holds the versions after this one (oldest first)"),
});

/** Builds the plugin (tests may give a scripted embedder). */
export function createPurposePlugin(options: PurposeOptions = {}): Plugin<unknown, void> {
  return definePlugin({
    manifest: { id: "psyche_purpose", version: "1.0.0", isolation: "in_process", httpBase: "/api" },
    setup(ctx) {
      const { db } = ctx.db;
      const embedder = () => options.embedder ?? ctx.llm.embedder;
      const state = pluginState(ctx.db, ctx.clock, "psyche_purpose");
      const narrativeVectors = new Map<number, Float32Array>();

      // This plugin is the only writer of versions: the newest is kept in memory.
      let latest: NarrativeVersion | undefined;

      async function current(): Promise<NarrativeVersion> {
        if (latest) return latest;
        const row = await db.selectFrom("psyche_purpose_versions").selectAll().orderBy(
          "version",
          "desc",
        )
          .limit(1).executeTakeFirst();
        latest = row ? toVersion(row) : await createInitial(ctx.profile);
        return latest;
      }

      function toVersion(row: {
        version: number;
        text: string;
        words: number;
        created_at: number;
        reason: NarrativeVersion["reason"];
        source_reflection_id: string | null;
        restored_from: number | null;
        diff: string;
        statements: string;
      }): NarrativeVersion {
        return {
          version: row.version,
          text: row.text,
          words: row.words,
          createdAt: row.created_at,
          reason: row.reason,
          sourceReflectionId: row.source_reflection_id,
          restoredFrom: row.restored_from,
          diff: JSON.parse(row.diff),
          statements: JSON.parse(row.statements),
        };
      }

      async function createInitial(profile: Profile): Promise<NarrativeVersion> {
        const text = profile.identity.narrative.replace(/\s+/g, " ").trim();
        const version: NarrativeVersion = {
          version: 1,
          text,
          words: text.split(" ").length,
          createdAt: ctx.clock.now(),
          reason: "initial",
          sourceReflectionId: null,
          restoredFrom: null,
          diff: [{ op: "+", text }],
          statements: statements(text),
        };
        await writeVersion(version, true);
        return version;
      }

      /**
       * Stores a version. Two writers that started from the same version
       * (a rewrite job and a rollback) cannot both win: the second gets
       * 409 `NARRATIVE_CONFLICT`, never a silent no-op.
       */
      async function insertVersion(version: NarrativeVersion) {
        try {
          await writeVersion(version, false);
        } catch (error) {
          const taken = await db.selectFrom("psyche_purpose_versions").select("version")
            .where("version", "=", version.version).executeTakeFirst();
          if (!taken) throw error;
          throw new AppError(
            "NARRATIVE_CONFLICT",
            `The narrative changed meanwhile (v${version.version} exists); try again`,
            { status: 409 },
          );
        }
      }

      async function writeVersion(version: NarrativeVersion, initial: boolean) {
        const insert = db.insertInto("psyche_purpose_versions").values({
          version: version.version,
          text: version.text,
          words: version.words,
          created_at: version.createdAt,
          reason: version.reason,
          source_reflection_id: version.sourceReflectionId,
          restored_from: version.restoredFrom,
          diff: JSON.stringify(version.diff),
          statements: JSON.stringify(version.statements),
          embedding: null,
        });
        // Two first reads may both create v1, with the same text.
        await (initial
          ? insert.onConflict((conflict) => conflict.column("version").doNothing())
          : insert)
          .execute();
        if (!latest || version.version > latest.version) latest = version;
      }

      async function narrativeVector(version: NarrativeVersion): Promise<Float32Array> {
        const cached = narrativeVectors.get(version.version);
        if (cached) return cached;
        const row = await db.selectFrom("psyche_purpose_versions").select("embedding")
          .where("version", "=", version.version).executeTakeFirst();
        let vector = row?.embedding ? fromBlob(row.embedding) : undefined;
        if (!vector || vector.length !== embedder().dims) {
          [vector] = await embedder().embed([version.text]);
          await db.updateTable("psyche_purpose_versions").set({ embedding: toBlob(vector!) })
            .where("version", "=", version.version).execute();
        }
        narrativeVectors.set(version.version, vector!);
        return vector!;
      }

      async function addMilestone(
        kind:
          | "narrative_version"
          | "session_summary"
          | "growth"
          | "project_completed"
          | "project_milestone",
        title: string,
        refId: string | null,
      ) {
        const id = ctx.ids.next("mls");
        await db.insertInto("psyche_purpose_milestones").values({
          id,
          kind,
          title,
          ref_id: refId,
          at: ctx.clock.now(),
        })
          .execute();
        return id;
      }

      // The narrative is part of the persona, never dropped.
      ctx.hooks.on(MIND_HOOKS.fragments, async () => {
        const version = await current();
        return [{
          module: "purpose",
          key: "narrative",
          section: "persona" as const,
          priority: 100,
          text: version.text,
          reason: `narrative v${version.version} (${version.reason})`,
        }];
      });

      // Drift: how far the reply is from the narrative (semantic embedders only).
      ctx.hooks.on(MIND_HOOKS.postassess, async (view) => {
        if (embedder().quality !== "semantic" || !view.reply?.text.trim()) return {};
        const version = await current();
        const [reply] = await embedder().embed([view.reply.text]);
        const similarity = cosine(reply!, await narrativeVector(version));
        await db.insertInto("psyche_purpose_drift").values({
          turn_id: view.turnId,
          at: ctx.clock.now(),
          similarity,
        }).onConflict((conflict) => conflict.column("turn_id").doNothing()).execute();
        const recentRows = await db.selectFrom("psyche_purpose_drift").select("similarity")
          .orderBy("at", "desc").orderBy("turn_id", "desc").limit(55).execute();
        const sims = recentRows.map((row) => row.similarity);
        const settings = view.profile.purpose;
        const previous = (await state.get<DriftState>("drift")) ?? { drifting: false };
        if (sims.length < 25) return {};
        const recent = mean(sims.slice(0, 5));
        const reference = mean(sims.slice(5, 55));
        const drifting = recent < reference - settings.driftMargin || recent < settings.driftFloor;
        await state.set("drift", { drifting, recent, reference });
        if (!drifting || previous.drifting) return {};
        const impulse: Impulse = {
          label: "purpose.drift",
          da: view.profile.affect.gains.drift,
          dd: -view.profile.affect.gains.drift,
          reason: `replies drift from the narrative: recent ${recent.toFixed(2)} vs reference ${
            reference.toFixed(2)
          }`,
        };
        return {
          signals: { "purpose.drifting": true },
          impulses: [impulse],
          events: [{ type: "purpose.drift", data: { recent, reference, onset: true } }],
        };
      });

      // Sessions: every completed turn belongs to its thread's open session.
      ctx.hooks.on(MIND_HOOKS.persist, async ({ view, db: trx }) => {
        const now = ctx.clock.now();
        const open = await openSession.executeTakeFirst(trx, { threadId: view.threadId });
        const a = view.appraisal;
        const add = (stats: SessionStats): SessionStats => ({
          sSum: stats.sSum + a.sentiment.s,
          feedbackGood: stats.feedbackGood + (a.feedback === "good" ? 1 : 0),
          feedbackBad: stats.feedbackBad + (a.feedback === "bad" ? 1 : 0),
          confirmations: stats.confirmations + (a.confirmation && a.feedback !== "good" ? 1 : 0),
          corrections: stats.corrections + (a.correction && a.feedback !== "bad" ? 1 : 0),
          turnIds: [...stats.turnIds, view.turnId],
        });
        if (!open) {
          await trx.insertInto("psyche_purpose_sessions").values({
            id: ctx.ids.next("ses"),
            thread_id: view.threadId,
            started_at: now,
            last_turn_at: now,
            turns: 1,
            stats: JSON.stringify(add({
              sSum: 0,
              feedbackGood: 0,
              feedbackBad: 0,
              confirmations: 0,
              corrections: 0,
              turnIds: [],
            })),
          }).execute();
          return;
        }
        await countSessionTurn.execute(trx, {
          now,
          turns: open.turns + 1,
          stats: JSON.stringify(add(JSON.parse(open.stats))),
          id: open.id,
        });
      });

      /** Closes idle sessions; a session of 3 turns or more gets its growth and maybe a summary job. */
      async function closeSessions(now: number, profile: Profile): Promise<BackgroundJob[]> {
        const idleMs = profile.purpose.sessionIdleMinutes * 60_000;
        const stale = await db.selectFrom("psyche_purpose_sessions").selectAll().where(
          "ended_at",
          "is",
          null,
        )
          .where("last_turn_at", "<=", now - idleMs).orderBy("last_turn_at").execute();
        const jobs: BackgroundJob[] = [];
        for (const session of stale) {
          if (session.turns < 3) {
            await db.updateTable("psyche_purpose_sessions").set({ ended_at: now }).where(
              "id",
              "=",
              session.id,
            )
              .execute();
            continue;
          }
          const stats = JSON.parse(session.stats) as SessionStats;
          const evidenced = [
            ...Array(stats.feedbackGood + stats.confirmations).fill(1),
            ...Array(stats.feedbackBad + stats.corrections).fill(0),
          ] as number[];
          const helpfulness = evidenced.length
            ? mean(evidenced)
            : (stats.sSum / session.turns + 1) / 2;
          const resolved = stats.turnIds.length
            ? await db.selectFrom("mind_events").select("data").where(
              "type",
              "=",
              "forecast.resolved",
            )
              .where("turn_id", "in", stats.turnIds).execute()
            : [];
          const alignments = resolved.map((row) =>
            JSON.parse(row.data) as { alignment: number; quality: string }
          )
            .filter((data) => data.quality === "semantic").map((data) => data.alignment);
          const samples = stats.turnIds.length
            ? await db.selectFrom("psyche_assurance_samples").select(["confidence", "outcome"])
              .where("turn_id", "in", stats.turnIds).execute()
            : [];
          const brier = samples.length
            ? mean(samples.map((sample) => (sample.confidence - sample.outcome) ** 2))
            : null;
          const g = growth({
            helpfulness,
            alignment: alignments.length ? mean(alignments) : null,
            brier,
          });
          const previous = await db.selectFrom("psyche_purpose_sessions").select("growth")
            .where("ended_at", "is not", null).where("growth", "is not", null)
            .orderBy("ended_at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
          const delta = g !== null && previous?.growth !== null && previous?.growth !== undefined
            ? g - previous.growth
            : null;
          await db.updateTable("psyche_purpose_sessions").set({
            ended_at: now,
            growth: g,
            growth_delta: delta,
            stats: JSON.stringify({
              ...stats,
              meanS: stats.sSum / session.turns,
              helpfulness,
              alignment: alignments.length ? mean(alignments) : null,
              brier,
            }),
          }).where("id", "=", session.id).execute();
          if (delta !== null && delta >= profile.purpose.growthMilestoneDelta) {
            await addMilestone(
              "growth",
              `Growth +${delta.toFixed(2)} over the previous session`,
              session.id,
            );
          }
          if (profile.purpose.sessionSummaries) {
            jobs.push(summaryJob(session.id, session.thread_id, stats.turnIds.length));
          }
        }
        return jobs;
      }

      function summaryJob(sessionId: string, threadId: string, turns: number): BackgroundJob {
        return {
          module: "psyche_purpose",
          kind: "session_summary",
          priority: 4,
          threadId,
          run: async (job: JobContext) => {
            const messages = await job.messages(threadId, turns * 2);
            const transcript = messages.filter((message) => message.role !== "tool").map((
              message,
            ) => ({
              role: message.role as "user" | "assistant",
              content: message.content,
            }));
            while (transcript.length > 0 && transcript[0]!.role !== "user") transcript.shift();
            if (transcript.length === 0) return { note: "nothing to summarise" };
            const completion = await job.llm.complete({
              purpose: "session_summary",
              role: "background",
              temperature: 0.3,
              maxTokens: 200,
              system:
                "Summarise this conversation session in one short paragraph, in the first person, as a note for yourself.",
              messages: [...transcript, { role: "user", content: "Summarise the session now." }],
            });
            const summary = completion.text.trim().slice(0, 1_500);
            await db.updateTable("psyche_purpose_sessions").set({ summary }).where(
              "id",
              "=",
              sessionId,
            ).execute();
            // Milestones are shown to every viewer: no personal details in the title.
            const owner = await db.selectFrom("threads").select("created_by").where(
              "id",
              "=",
              threadId,
            ).executeTakeFirst();
            await addMilestone(
              "session_summary",
              redactPersonal(
                summary.split(/(?<=[.!?])\s/)[0]!,
                owner?.created_by ? [owner.created_by] : [],
              ).slice(0, 120),
              sessionId,
            );
            return { note: `session ${sessionId} summarised` };
          },
        };
      }

      ctx.hooks.on(MIND_HOOKS.tick, ({ now }) => closeSessions(now, ctx.profile));

      /** The rewrite job (priority 3). */
      function rewriteJob(input: {
        insight: string | null;
        selfStatement: string | null;
        reflectionId: string | null;
        force: boolean;
      }): BackgroundJob {
        return {
          module: "psyche_purpose",
          kind: "narrative",
          priority: 3,
          run: async (job: JobContext) => {
            const profile = ctx.profile;
            const before = await current();
            const milestones = await db.selectFrom("psyche_purpose_milestones").select([
              "kind",
              "title",
            ])
              .orderBy("at", "desc").limit(5).execute();
            const completion = await job.llm.complete({
              purpose: "narrative",
              role: "background",
              temperature: 0.6,
              maxTokens: 600,
              system:
                "You rewrite your own self-narrative: plain prose in the first person, no headings or lists, keeping what is still true.",
              messages: [{
                role: "user",
                content: JSON.stringify(
                  {
                    narrative: before.text,
                    insight: input.insight,
                    self_statement: input.selfStatement,
                    recent_milestones: milestones,
                    values: profile.identity.values,
                    max_words: profile.purpose.maxWords,
                  },
                  null,
                  2,
                ) + "\n\nWrite the updated narrative now.",
              }],
            });
            const cleaned = sanitiseNarrative(completion.text, profile.purpose);
            const reject = (
              reason: string,
            ): { failed: string; events: MindEventInput[] } => ({
              failed: `narrative rejected: ${reason}`,
              events: [{
                type: "narrative.rejected",
                data: {
                  reason,
                  candidate: completion.text.slice(0, 2_000),
                  reflection_id: input.reflectionId,
                },
              }],
            });
            if (!cleaned.ok) return reject(cleaned.reason);
            // The same text again would be a version that changes nothing.
            if (cleaned.text === before.text) {
              return reject("it is the current narrative unchanged");
            }
            const old = before.statements;
            const fresh = sentences(cleaned.text);
            let retained = 0;
            if (embedder().quality === "semantic") {
              const vectors = await embedder().embed([...old, ...fresh]);
              const oldVectors = vectors.slice(0, old.length);
              const newVectors = vectors.slice(old.length);
              retained = oldVectors.filter((vector) =>
                newVectors.some((other) =>
                  cosine(vector, other) >= 0.8
                )
              )
                .length;
            } else {
              retained = old.filter((statement) =>
                fresh.some((other) => jaccard(statement, other) >= 0.5)
              ).length;
            }
            const dropped = old.length ? 1 - retained / old.length : 0;
            if (dropped > profile.purpose.maxDropFraction && !input.force) {
              return reject(
                `it drops ${(dropped * 100).toFixed(0)}% of the statements (at most ${
                  (profile.purpose.maxDropFraction * 100).toFixed(0)
                }%)`,
              );
            }
            const version: NarrativeVersion = {
              version: before.version + 1,
              text: cleaned.text,
              words: cleaned.words,
              createdAt: ctx.clock.now(),
              reason: input.reflectionId ? "reflection" : "manual",
              sourceReflectionId: input.reflectionId,
              restoredFrom: null,
              diff: wordDiff(before.text, cleaned.text),
              statements: fresh,
            };
            await insertVersion(version);
            const milestone = await addMilestone(
              "narrative_version",
              `Narrative v${version.version}`,
              String(version.version),
            );
            return {
              note: `narrative v${version.version}`,
              events: [{
                type: "narrative.versioned",
                data: {
                  version: version.version,
                  reason: version.reason,
                  milestone_id: milestone,
                  dropped,
                },
              }],
            };
          },
        };
      }

      async function rollback(to: number): Promise<NarrativeVersion> {
        const source = await db.selectFrom("psyche_purpose_versions").selectAll().where(
          "version",
          "=",
          to,
        )
          .executeTakeFirst();
        if (!source) {
          throw new AppError("NARRATIVE_VERSION_NOT_FOUND", `No narrative version ${to}`, {
            status: 404,
          });
        }
        const before = await current();
        if (source.text === before.text) {
          throw new AppError(
            "NARRATIVE_UNCHANGED",
            `v${to}'s text is the current narrative (v${before.version}) already`,
            { status: 409 },
          );
        }
        const version: NarrativeVersion = {
          version: before.version + 1,
          text: source.text,
          words: source.words,
          createdAt: ctx.clock.now(),
          reason: "rollback",
          sourceReflectionId: null,
          restoredFrom: to,
          diff: wordDiff(before.text, source.text),
          statements: JSON.parse(source.statements),
        };
        await insertVersion(version);
        await addMilestone(
          "narrative_version",
          `Narrative v${version.version} (back to v${to})`,
          String(version.version),
        );
        return version;
      }

      ctx.hooks.on(MIND_HOOKS.event, async (event) => {
        if (event.type === "reflection.completed" && typeof event.data.insight === "string") {
          return {
            jobs: [rewriteJob({
              insight: event.data.insight,
              selfStatement: typeof event.data.self_statement === "string"
                ? event.data.self_statement
                : null,
              reflectionId: String(event.data.reflection_id),
              force: false,
            })],
          };
        }
        if (event.type === "outcome.project") {
          const kind = event.data.kind === "completed"
            ? "project_completed"
            : event.data.kind === "milestone"
            ? "project_milestone"
            : null;
          // Milestones are every viewer's, and the narrative that reads them is in everyone's
          // prompt: a project's name stays with the project, where its owner reads it.
          if (kind) {
            await addMilestone(
              kind,
              kind === "project_completed"
                ? "Completed a project"
                : "A project reached a milestone",
              String(event.data.projectId ?? ""),
            );
          }
        }
        return undefined;
      });

      async function overview() {
        const version = await current();
        const milestones = await db.selectFrom("psyche_purpose_milestones").selectAll().orderBy(
          "at",
          "desc",
        )
          .limit(5).execute();
        const drift = embedder().quality === "semantic"
          ? {
            available: true,
            ...(await state.get<Record<string, unknown>>("drift") ?? { drifting: false }),
          }
          : { available: false, reason: "lexical embedder" };
        const last = await db.selectFrom("psyche_purpose_sessions").select([
          "growth",
          "growth_delta",
        ])
          .where("ended_at", "is not", null).where("growth", "is not", null).orderBy(
            "ended_at",
            "desc",
          )
          .limit(1).executeTakeFirst();
        const completed = await db.selectFrom("psyche_purpose_sessions")
          .select((eb) => eb.fn.countAll<number>().as("n")).where("ended_at", "is not", null)
          .where("growth", "is not", null).executeTakeFirstOrThrow();
        return {
          narrative: {
            version: version.version,
            text: version.text,
            words: version.words,
            reason: version.reason,
          },
          milestones,
          drift,
          growth: { last: last?.growth ?? null, delta: last?.growth_delta ?? null },
          sessions_completed: Number(completed.n),
        };
      }

      ctx.hooks.on(
        MIND_HOOKS.state,
        async ({ scope }) => scope === "mind" ? await overview() : undefined,
      );

      // `/forget thread`: its sessions, their milestones and its drift samples.
      ctx.hooks.on(MIND_HOOKS.forget, async ({ threadId }) => {
        if (!threadId) return { deleted: 0 };
        const sessions = (await db.selectFrom("psyche_purpose_sessions").select("id")
          .where("thread_id", "=", threadId).execute()).map((row) => row.id);
        const turns = (await db.selectFrom("mind_turns").select("id")
          .where("thread_id", "=", threadId).execute()).map((row) => row.id);
        if (sessions.length > 0) {
          await db.deleteFrom("psyche_purpose_milestones").where("ref_id", "in", sessions)
            .where("kind", "in", ["session_summary", "growth"]).execute();
          await db.deleteFrom("psyche_purpose_sessions").where("id", "in", sessions).execute();
        }
        if (turns.length > 0) {
          await db.deleteFrom("psyche_purpose_drift").where("turn_id", "in", turns).execute();
        }
        // A version keeps its text but no longer names a reflection the forget removes (a run
        // on this thread) or removed already: whichever module's forget runs first.
        await db.updateTable("psyche_purpose_versions").set({ source_reflection_id: null })
          .where("source_reflection_id", "is not", null)
          .where((eb) =>
            eb.or([
              eb("source_reflection_id", "in", (runs) =>
                runs.selectFrom("psyche_reflection_runs").select("id")
                  .where("thread_id", "=", threadId)),
              eb("source_reflection_id", "not in", (runs) =>
                runs.selectFrom("psyche_reflection_runs").select("id")),
            ])
          ).execute();
        return { deleted: sessions.length };
      });

      ctx.hooks.on(MIND_HOOKS.export, async ({ threadIds, scope }) => {
        // Rows as the code wrote them, in the API's conventions (snake_case, RFC 3339 times); the
        // versions as the API shows them.
        const sessions = threadIds.length
          ? toApiShape(
            (await db.selectFrom("psyche_purpose_sessions").selectAll()
              .where("thread_id", "in", threadIds).orderBy("started_at").execute())
              .map((row) => ({ ...row, stats: JSON.parse(row.stats) })),
          )
          : [];
        if (scope !== "mind") return { sessions };
        await current(); // the initial version exists from the first read on
        const versions = await db.selectFrom("psyche_purpose_versions")
          .select([
            "version",
            "text",
            "words",
            "created_at",
            "reason",
            "source_reflection_id",
            "restored_from",
            "diff",
            "statements",
          ])
          .orderBy("version").execute();
        const milestones = await db.selectFrom("psyche_purpose_milestones").selectAll()
          .orderBy("at").execute();
        return {
          sessions,
          narrative_versions: versions.map((row) => versionView(toVersion(row))),
          milestones: toApiShape(milestones),
        };
      });

      ctx.hooks.on(MIND_HOOKS.commands, () => [{
        name: "purpose",
        usage: "/purpose [history | diff <v> | rewrite --force | rollback <v>]",
        description: "the narrative and milestones; rewrite --force (admin), rollback (operator)",
        role: "viewer" as const,
      }]);

      ctx.hooks.on(MIND_HOOKS.command, async (command) => {
        if (command.name !== "purpose") return;
        const [sub, arg] = command.args;
        const rank = { viewer: 0, operator: 1, admin: 2 }[command.role];
        const answer = (ok: boolean, text: string, data?: unknown) => ({
          command: "purpose",
          ok,
          output: { text, ...(data !== undefined ? { data } : {}) },
        });
        if (!sub) {
          const data = await overview();
          return answer(
            true,
            [
              `Narrative v${data.narrative.version}:`,
              data.narrative.text,
              ...(data.milestones.length
                ? ["Milestones:", ...data.milestones.map((item) => `- ${item.title}`)]
                : []),
            ].join("\n"),
            data,
          );
        }
        if (sub === "history") {
          const rows = await db.selectFrom("psyche_purpose_versions").selectAll().orderBy("version")
            .execute();
          return answer(
            true,
            rows.map((row) =>
              `v${row.version} ${row.reason}${
                row.restored_from === null ? "" : ` of v${row.restored_from}`
              } ${row.words} words`
            ).join("\n"),
            rows.map((row) => versionView(toVersion(row))),
          );
        }
        if (sub === "diff") {
          const n = Number(arg);
          if (!Number.isInteger(n) || n < 1) return answer(false, "Usage: /purpose diff <version>");
          const row = await db.selectFrom("psyche_purpose_versions").selectAll().where(
            "version",
            "=",
            n,
          )
            .executeTakeFirst();
          if (!row) return answer(false, `No narrative version ${arg}`);
          const diff = JSON.parse(row.diff) as NarrativeVersion["diff"];
          return answer(
            true,
            diff.map((part) => part.op === "=" ? part.text : `[${part.op}${part.text}]`).join(" "),
            diff,
          );
        }
        if (sub === "rewrite") {
          if (!command.args.includes("--force")) {
            return answer(false, "Usage: /purpose rewrite --force");
          }
          if (rank < 2) {
            return answer(false, "/purpose rewrite --force needs the admin role", {
              code: "FORBIDDEN",
            });
          }
          return {
            ...answer(true, "Rewriting the narrative…"),
            jobs: [
              rewriteJob({ insight: null, selfStatement: null, reflectionId: null, force: true }),
            ],
            await: true,
          };
        }
        if (sub === "rollback") {
          if (rank < 1) {
            return answer(false, "/purpose rollback needs the operator role", {
              code: "FORBIDDEN",
            });
          }
          const n = Number(arg);
          if (!Number.isInteger(n) || n < 1) {
            return answer(false, "Usage: /purpose rollback <version>");
          }
          try {
            const version = await rollback(n);
            return answer(
              true,
              `Narrative v${version.version} restores v${n}.`,
              versionView(version),
            );
          } catch (error) {
            // A refusal is the command's answer with its code, as the REST route's (docs/mind.md);
            // a fault stays an error.
            if (!(error instanceof AppError)) throw error;
            return answer(false, error.message, { code: error.code });
          }
        }
        return answer(
          false,
          "Usage: /purpose [history | diff <v> | rewrite --force | rollback <v>]",
        );
      });

      describe(
        ctx.http,
        [
          {
            method: "get",
            path: "/narrative",
            summary: "The current self-narrative",
            tags: ["mind"],
            role: "viewer",
            responses: {
              200: { description: "The narrative", schema: VERSION },
            },
          },
          {
            method: "get",
            path: "/narrative/versions",
            summary: "The narrative's versions, oldest first",
            tags: ["mind"],
            role: "viewer",
            query: versionsQuery,
            responses: {
              200: {
                description: "Versions",
                schema: z.strictObject({
                  items: z.array(VERSION),
                  next_cursor: z.string().nullable(),
                }),
              },
            },
          },
          {
            method: "get",
            path: "/narrative/versions/:n",
            summary: "One version, with a diff from another (?diff_from=m)",
            tags: ["mind"],
            role: "viewer",
            query: diffQuery,
            responses: {
              200: {
                description: "The version (with diff_from, its diff from that version)",
                schema: VERSION.extend({ diff_from: z.number().int().optional() }),
              },
            },
          },
          {
            method: "post",
            path: "/narrative/versions/:n/restore",
            summary:
              "Restore a version as a new one (409 when another writer won, or when its text is the current one)",
            tags: ["mind"],
            role: "operator",
            responses: {
              201: { description: "The new version", schema: VERSION },
              409: {
                description:
                  "NARRATIVE_CONFLICT: another writer made a version meanwhile; NARRATIVE_UNCHANGED: that version's text is the current one",
              },
            },
          },
        ] satisfies readonly Operation[],
      );
      ctx.http.get("/narrative", async (c) => {
        requireRole(c, "viewer");
        return c.json(versionView(await current()));
      });
      ctx.http.get("/narrative/versions", async (c) => {
        requireRole(c, "viewer");
        const query = readQuery(c, versionsQuery);
        let select = db.selectFrom("psyche_purpose_versions").selectAll().orderBy("version")
          .limit(query.limit + 1);
        if (query.cursor) select = select.where("version", ">", Number(query.cursor));
        const rows = await select.execute();
        const page = rows.slice(0, query.limit);
        return c.json({
          items: page.map((row) => versionView(toVersion(row))),
          next_cursor: rows.length > query.limit ? String(page.at(-1)!.version) : null,
        });
      });
      ctx.http.get("/narrative/versions/:n", async (c) => {
        requireRole(c, "viewer");
        const n = versionParam(c.req.param("n"));
        const row = await db.selectFrom("psyche_purpose_versions").selectAll().where(
          "version",
          "=",
          n,
        )
          .executeTakeFirst();
        if (!row) {
          throw new AppError("NARRATIVE_VERSION_NOT_FOUND", `No narrative version ${n}`, {
            status: 404,
          });
        }
        const query = readQuery(c, diffQuery);
        const version = versionView(toVersion(row));
        if (query.diff_from === undefined) return c.json(version);
        const from = await db.selectFrom("psyche_purpose_versions").select("text").where(
          "version",
          "=",
          query.diff_from,
        )
          .executeTakeFirst();
        if (!from) {
          throw new AppError(
            "NARRATIVE_VERSION_NOT_FOUND",
            `No narrative version ${query.diff_from}`,
            {
              status: 404,
              field: "diff_from",
            },
          );
        }
        return c.json({
          ...version,
          diff: wordDiff(from.text, version.text),
          diff_from: query.diff_from,
        });
      });
      ctx.http.post("/narrative/versions/:n/restore", async (c) => {
        requireRole(c, "operator");
        const n = versionParam(c.req.param("n"));
        // No body, or `{}`: a field it does not know is refused, as everywhere else.
        await readJson(c, z.strictObject({}));
        const version = await rollback(n);
        c.header("Location", `/api/narrative/versions/${version.version}`);
        return c.json(versionView(version), 201);
      });
    },
  });
}

/** A version number in a path: a positive integer, else 400 naming it. */
function versionParam(raw: string): number {
  const n = Number(raw);
  if (!/^[1-9][0-9]{0,8}$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new AppError("VALIDATION_FAILED", `The version must be a positive integer (got ${raw})`, {
      status: 400,
      field: "n",
    });
  }
  return n;
}

/** The plugin with the configured embedder. */
export const psychePurposePlugin: Plugin<unknown, void> = createPurposePlugin();
