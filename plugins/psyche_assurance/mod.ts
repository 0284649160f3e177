/**
 * `psyche_assurance` (spec/mind.md §7): says when the mind is unsure.
 * Before the reply it decides to clarify or proceed; after it, hedges,
 * absolutes, unsupported claims, verbal confidence and surprise give uPost,
 * which may add a caveat and open a concern that only later evidence
 * resolves; resolved replies feed calibration scores (ECE, Brier).
 *
 * @module
 */
import {
  afterKey,
  AppError,
  BoundedMap,
  cosine,
  type Database,
  definePlugin,
  describe,
  type Impulse,
  isoTime,
  MIND_HOOKS,
  type MindEventInput,
  type Operation,
  type Plugin,
  type PluginContext,
  type Policy,
  prepare,
  type Profile,
  queryInt,
  readJson,
  readQuery,
  readTimeIdCursor,
  requireRole,
  threadReader,
  timeIdCursor,
  timeIdPage,
  toApiShape,
  type TurnView,
} from "@synth/kernel";
import type { Kysely } from "kysely";
import { z } from "zod";
import {
  calibrationScores,
  claims,
  clarifyImpulse,
  combine,
  concernImpulse,
  lexicalSignals,
  type PostSignals,
  preassess,
  unsupported,
} from "./features.ts";

/** A concern as the API shows it (snake_case keys, RFC 3339 times; spec/server.md §2). */
export interface Concern {
  id: string;
  thread_id: string;
  turn_id: string;
  kind: "reply" | "ambiguity" | "tool";
  u: number;
  signals: Record<string, number | null>;
  opened_at: string;
  resolved_at: string | null;
  status: "open" | "confirmed" | "refuted" | "expired" | "superseded";
  resolved_by_turn_id: string | null;
  opening_impulse: { dp: number; da: number; dd: number };
  evidence: { type: string; ref: string } | null;
}

type Db = PluginContext["db"]["db"];

/** The scores' window (spec/mind.md §7.4: "over the last 500"): samples and assessed turns. */
const SCORE_WINDOW = 500;
type Row = Awaited<ReturnType<typeof openConcerns>>[number];

const openConcernRows = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("psyche_assurance_concerns").selectAll().where("thread_id", "=", slot("threadId"))
    .where("status", "=", "open").orderBy("opened_at").orderBy("id")
);
/** Whether each of the thread's last turns clarified, newest first. */
const recentClarified = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("psyche_assurance_turns").select("clarified")
    .where("thread_id", "=", slot("threadId")).orderBy("at", "desc").orderBy("turn_id", "desc")
    .limit(slot<number>("limit"))
);
const insertTurnRow = prepare((db: Kysely<Database>, slot) =>
  db.insertInto("psyche_assurance_turns").values({
    turn_id: slot("turnId"),
    thread_id: slot("threadId"),
    at: slot<number>("at"),
    u_pre: slot<number | null>("uPre"),
    u_post: slot<number | null>("uPost"),
    policy: slot<string | null>("policy"),
    signals: slot("signals"),
    tag_missing: slot<number>("tagMissing"),
    clarified: slot<number>("clarified"),
  })
);

function openConcerns(db: Db, threadId: string) {
  return openConcernRows.execute(db, { threadId });
}

function toConcern(row: Row): Concern {
  return {
    id: row.id,
    thread_id: row.thread_id,
    turn_id: row.turn_id,
    kind: row.kind,
    u: row.u,
    signals: JSON.parse(row.signals),
    opened_at: isoTime(row.opened_at),
    resolved_at: row.resolved_at === null ? null : isoTime(row.resolved_at),
    status: row.status,
    resolved_by_turn_id: row.resolved_by_turn_id,
    opening_impulse: JSON.parse(row.opening_impulse),
    evidence: row.evidence ? JSON.parse(row.evidence) : null,
  };
}

const STATUSES = ["open", "confirmed", "refuted", "expired", "superseded"] as const;

/** {@link Concern} for the OpenAPI document. */
const CONCERN = z.strictObject({
  id: z.string(),
  thread_id: z.string(),
  turn_id: z.string(),
  kind: z.enum(["reply", "ambiguity", "tool"]),
  u: z.number(),
  signals: z.record(z.string(), z.number().nullable()),
  opened_at: z.iso.datetime(),
  resolved_at: z.iso.datetime().nullable(),
  status: z.enum(STATUSES),
  resolved_by_turn_id: z.string().nullable(),
  opening_impulse: z.strictObject({ dp: z.number(), da: z.number(), dd: z.number() }),
  evidence: z.strictObject({ type: z.string(), ref: z.string() }).nullable(),
});
/** The impulse a resolution applied. */
const IMPULSE = z.strictObject({
  label: z.string(),
  dp: z.number().optional(),
  da: z.number().optional(),
  dd: z.number().optional(),
  reason: z.string(),
});

/** What a turn prepared for stage 10. */
interface Pending {
  policy?: Policy;
  uPre?: number;
  uPost?: number | null;
  signals?: PostSignals;
  tagMissing?: boolean;
  concerns: Array<{
    id: string;
    kind: "reply" | "ambiguity" | "tool";
    u: number;
    signals: Record<string, number | null>;
    impulse: { dp: number; da: number; dd: number };
    tool?: string;
    argsHash?: string;
  }>;
}

const resolveBody = z.strictObject({
  resolution: z.enum(["confirmed", "refuted"]),
  note: z.string().max(1_000).optional(),
});
const listQuery = z.strictObject({
  status: z.enum(STATUSES).optional(),
  thread_id: z.string().optional(),
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: timeIdCursor("The next page holds the concerns opened before this one's last"),
});

/** The plugin. */
export const psycheAssurancePlugin: Plugin<unknown, void> = definePlugin({
  manifest: { id: "psyche_assurance", version: "1.0.0", isolation: "in_process", httpBase: "/api" },
  setup(ctx) {
    const { db } = ctx.db;
    const pending = new BoundedMap<string, Pending>(64); // a failed turn never reaches stage 10
    const pendingOf = (turnId: string) => {
      let entry = pending.get(turnId);
      if (!entry) pending.set(turnId, entry = { concerns: [] });
      return entry;
    };

    /**
     * The change the concern's opening actually made (caps and saturation may
     * have cut the requested one): a confirmation returns at most 80% of it,
     * so uncertainty never nets a rise in valence.
     */
    async function appliedOpening(row: Row): Promise<{ dp: number; dd: number }> {
      const label = row.kind === "reply"
        ? "assurance.concern"
        : row.kind === "ambiguity"
        ? "assurance.clarify"
        : null;
      if (!label) return { dp: 0, dd: 0 };
      const events = await db.selectFrom("mind_events").select("data").where(
        "turn_id",
        "=",
        row.turn_id,
      )
        .where("type", "=", "affect.impulse").execute();
      for (const event of events) {
        const data = JSON.parse(event.data) as {
          label: string;
          applied: { dp: number; dd: number };
        };
        if (data.label === label) return data.applied;
      }
      return { dp: 0, dd: 0 };
    }

    /** Resolves a concern with evidence; returns the impulse and event. */
    async function settle(
      row: Row,
      status: "confirmed" | "refuted",
      evidence: { type: string; ref: string },
      turnId: string | null,
      profile: Profile,
    ): Promise<{ impulse: Impulse; event: MindEventInput }> {
      const now = ctx.clock.now();
      await db.updateTable("psyche_assurance_concerns").set({
        status,
        resolved_at: now,
        resolved_by_turn_id: turnId,
        evidence: JSON.stringify(evidence),
      }).where("id", "=", row.id).execute();
      if (row.kind !== "ambiguity") {
        await db.insertInto("psyche_assurance_samples").values({
          turn_id: row.turn_id,
          concern_id: row.id,
          kind: row.kind,
          confidence: 1 - row.u,
          outcome: status === "confirmed" ? 1 : 0,
          at: now,
        }).execute();
      }
      const opening = await appliedOpening(row);
      const impulse: Impulse = status === "confirmed"
        ? {
          label: "assurance.confirmed",
          dp: 0.8 * Math.abs(opening.dp),
          dd: 0.8 * Math.abs(opening.dd),
          reason: `concern ${row.id} confirmed (${evidence.type})`,
        }
        : {
          label: "assurance.refuted",
          dd: -0.5 * profile.affect.gains.uncertainty,
          reason: `concern ${row.id} refuted (${evidence.type})`,
        };
      return {
        impulse,
        event: {
          type: `concern.${status}`,
          data: { concern_id: row.id, kind: row.kind, evidence },
        },
      };
    }

    /** The thread's last assessed reply gets a sample from this evidence. */
    async function sampleReply(threadId: string, outcome: 0 | 1, beforeTurn?: string) {
      let query = db.selectFrom("psyche_assurance_turns").selectAll().where(
        "thread_id",
        "=",
        threadId,
      )
        .where("u_post", "is not", null).orderBy("at", "desc").orderBy("turn_id", "desc");
      if (beforeTurn) query = query.where("turn_id", "!=", beforeTurn);
      const last = await query.executeTakeFirst();
      if (!last || last.u_post === null) return;
      const existing = await db.selectFrom("psyche_assurance_samples").select("id")
        .where("turn_id", "=", last.turn_id).where("concern_id", "is", null).executeTakeFirst();
      if (existing) {
        await db.updateTable("psyche_assurance_samples").set({ outcome }).where(
          "id",
          "=",
          existing.id,
        )
          .execute();
        return;
      }
      await db.insertInto("psyche_assurance_samples").values({
        turn_id: last.turn_id,
        concern_id: null,
        kind: null,
        confidence: 1 - last.u_post,
        outcome,
        at: ctx.clock.now(),
      }).execute();
    }

    // Stage 3: this message is evidence for the thread's open concerns.
    ctx.hooks.on(MIND_HOOKS.resolve, async (view) => {
      const { appraisal } = view;
      const refutes = appraisal.correction || appraisal.feedback === "bad";
      const confirms = !refutes && (appraisal.confirmation || appraisal.feedback === "good");
      const impulses: Impulse[] = [];
      const events: MindEventInput[] = [];
      if (refutes || confirms) {
        await sampleReply(view.threadId, confirms ? 1 : 0, view.turnId);
      }
      for (const row of await openConcerns(db, view.threadId)) {
        let outcome: { status: "confirmed" | "refuted"; type: string } | null = null;
        if (refutes) {
          outcome = {
            status: "refuted",
            type: appraisal.feedback === "bad" ? "feedback" : "user_correction",
          };
        } else if (confirms) {
          outcome = {
            status: "confirmed",
            type: appraisal.feedback === "good" ? "feedback" : "user_confirmation",
          };
        } else if (row.kind === "ambiguity" && !appraisal.clarificationRequest) {
          outcome = { status: "confirmed", type: "user_confirmation" };
        }
        if (outcome) {
          const settled = await settle(
            row,
            outcome.status,
            {
              type: outcome.type,
              ref: view.message.messageId ?? view.turnId,
            },
            view.turnId,
            view.profile,
          );
          impulses.push(settled.impulse);
          events.push(settled.event);
          continue;
        }
        if (view.threadTurn - row.opened_thread_turn >= view.profile.assurance.concernTtlTurns) {
          await db.updateTable("psyche_assurance_concerns").set({
            status: "expired",
            resolved_at: ctx.clock.now(),
          }).where("id", "=", row.id).execute();
          events.push({ type: "concern.expired", data: { concern_id: row.id, kind: row.kind } });
        }
      }
      return { impulses, events };
    });

    // Stage 5: clarify or proceed.
    ctx.hooks.on(MIND_HOOKS.preassess, async (view) => {
      const surprise = view.signals["dreaming.surprise"];
      const weight = view.signals["dreaming.weight"] ?? 1;
      const found = preassess({
        text: view.message.text,
        hadEarlierReply: view.hadEarlierReply,
        referencesPast: view.appraisal.referencesPast,
        support: view.recall?.items[0]?.score ?? 0,
        weightedSurprise: surprise === undefined ? 0 : weight * surprise,
        profile: view.profile,
      });
      const settings = view.profile.assurance;
      let coolingDown = false;
      if (settings.clarifyCooldownTurns > 0) {
        const recent = await recentClarified.execute(db, {
          threadId: view.threadId,
          limit: settings.clarifyCooldownTurns,
        });
        coolingDown = recent.some((row) => row.clarified === 1);
      }
      const clarify = found.uPre >= settings.clarifyThreshold && !coolingDown;
      const policy: Policy = {
        mode: clarify ? "clarify" : "proceed",
        uPre: found.uPre,
        reasons: clarify
          ? found.reasons
          : found.uPre >= settings.clarifyThreshold
          ? [...found.reasons, "clarified recently (cooldown)"]
          : found.reasons,
      };
      const entry = pendingOf(view.turnId);
      entry.policy = policy;
      entry.uPre = found.uPre;
      const impulses: Impulse[] = [];
      const concernId = ctx.ids.next("cnc");
      if (clarify) {
        const impulse = clarifyImpulse(found.uPre, view.profile);
        impulses.push(impulse);
        entry.concerns.push({
          id: concernId,
          kind: "ambiguity",
          u: found.uPre,
          signals: { amb: found.amb, ls: found.ls },
          impulse: { dp: 0, da: 0, dd: impulse.dd ?? 0 },
        });
      }
      return {
        policy,
        signals: { "assurance.uPre": found.uPre },
        impulses,
        events: clarify
          ? [{
            type: "concern.opened",
            data: {
              concern_id: concernId,
              kind: "ambiguity",
              u: found.uPre,
              reasons: found.reasons,
            },
          }]
          : [],
      };
    });

    // Stage 6: what the prompt says about uncertainty.
    ctx.hooks.on(MIND_HOOKS.fragments, async (view) => {
      const fragments = [];
      const settings = view.profile.assurance;
      if (view.policy?.mode === "clarify") {
        fragments.push({
          module: "assurance",
          key: "clarify",
          section: "instructions" as const,
          priority: 95,
          text: `Before answering, ask exactly one short question about: ${
            view.policy.reasons[0] ?? "what the user means"
          }. Do not answer speculatively.`,
          reason: `uPre=${view.policy.uPre.toFixed(3)} ≥ ${settings.clarifyThreshold}`,
        });
      }
      if (settings.verbalizedConfidence) {
        fragments.push({
          module: "assurance",
          key: "confidence_tag",
          section: "instructions" as const,
          priority: 90,
          text:
            "End each final answer with <confidence>X</confidence>, where X is your probability (0 to 1) that the answer is correct and complete.",
          reason: "assurance.verbalizedConfidence",
        });
      }
      const open = await openConcerns(db, view.threadId);
      if (open.length > 0) {
        fragments.push({
          module: "assurance",
          key: "open_concerns",
          section: "state" as const,
          priority: 50,
          text: [
            "Earlier replies you were unsure about (seek confirmation if it fits):",
            ...open.map((row) =>
              `- ${row.kind} concern from turn ${row.turn_id} (uncertainty ${row.u.toFixed(2)})`
            ),
          ].join("\n"),
          reason: `${open.length} open concern(s)`,
        });
      }
      return fragments;
    });

    // Stage 8: how unsure the reply is.
    ctx.hooks.on(MIND_HOOKS.postassess, async (view) => {
      const reply = view.reply!;
      const settings = view.profile.assurance;
      const lexical = lexicalSignals(reply.text, view.profile);
      const signals: PostSignals = {
        hedge: lexical.hedge,
        risk: lexical.risk,
        unsupported: await unsupportedSignal(view),
        verbal: settings.verbalizedConfidence && reply.confidence !== null
          ? 1 - reply.confidence
          : null,
        surprise: view.signals["dreaming.surprise"] === undefined
          ? null
          : (view.signals["dreaming.weight"] ?? 1) * view.signals["dreaming.surprise"],
      };
      const uPost = combine(signals, view.profile);
      const entry = pendingOf(view.turnId);
      entry.uPost = uPost;
      entry.signals = signals;
      entry.tagMissing = settings.verbalizedConfidence && reply.tagMissing;
      const impulses: Impulse[] = [];
      const events: MindEventInput[] = [{
        type: "assurance.assessed",
        data: {
          u_post: uPost,
          signals,
          policy: entry.policy ?? null,
          tag_missing: entry.tagMissing,
        },
      }];
      if (uPost !== null && uPost >= settings.concernThreshold) {
        const impulse = concernImpulse(uPost, view.profile);
        impulses.push(impulse);
        const concernId = ctx.ids.next("cnc");
        entry.concerns.push({
          id: concernId,
          kind: "reply",
          u: uPost,
          signals: { ...signals },
          impulse: { dp: impulse.dp ?? 0, da: impulse.da ?? 0, dd: impulse.dd ?? 0 },
        });
        events.push({
          type: "concern.opened",
          data: { concern_id: concernId, kind: "reply", u: uPost },
        });
      }
      for (const failure of reply.toolErrors) {
        const concernId = ctx.ids.next("cnc");
        entry.concerns.push({
          id: concernId,
          kind: "tool",
          u: 1,
          signals: {},
          impulse: { dp: 0, da: 0, dd: 0 },
          tool: failure.tool,
          argsHash: failure.argsHash,
        });
        events.push({
          type: "concern.opened",
          data: { concern_id: concernId, kind: "tool", tool: failure.tool },
        });
      }
      const uncertain = uPost !== null && uPost >= settings.caveatThreshold;
      return {
        signals: { "assurance.uPost": uPost },
        impulses,
        events,
        ...(uncertain ? { flags: { uncertain: true }, caveat: settings.caveatText } : {}),
      };
    });

    async function unsupportedSignal(view: TurnView): Promise<number | null> {
      const found = claims(view.reply!.text);
      const evidence = [
        ...(view.recall?.items ?? []).map((item) => item.text),
        ...view.reply!.toolSuccesses.map((success) => success.output),
        ...view.history.filter((message) => message.role === "user").map((message) =>
          message.content
        ),
        view.message.text,
      ].filter((text) => text.trim() !== "");
      if (found.length === 0 || evidence.length === 0) return null;
      const vectors = await ctx.llm.embedder.embed([...found, ...evidence]);
      const claimVectors = vectors.slice(0, found.length);
      const evidenceVectors = vectors.slice(found.length);
      return unsupported(
        claimVectors.map((claim) =>
          Math.max(0, ...evidenceVectors.map((item) => cosine(claim, item)))
        ),
      );
    }

    // Stage 10: the turn's assessment and the concerns it opened.
    ctx.hooks.on(MIND_HOOKS.persist, async ({ view, db: trx }) => {
      const entry = pending.get(view.turnId);
      pending.delete(view.turnId);
      if (!entry) return;
      const now = ctx.clock.now();
      await insertTurnRow.execute(trx, {
        turnId: view.turnId,
        threadId: view.threadId,
        at: now,
        uPre: entry.uPre ?? null,
        uPost: entry.uPost ?? null,
        policy: entry.policy ? JSON.stringify(entry.policy) : null,
        signals: JSON.stringify(entry.signals ?? {}),
        tagMissing: entry.tagMissing ? 1 : 0,
        clarified: entry.policy?.mode === "clarify" ? 1 : 0,
      });
      for (const concern of entry.concerns) {
        await trx.insertInto("psyche_assurance_concerns").values({
          id: concern.id,
          thread_id: view.threadId,
          turn_id: view.turnId,
          kind: concern.kind,
          u: concern.u,
          signals: JSON.stringify(concern.signals),
          opened_at: now,
          opened_thread_turn: view.threadTurn,
          status: "open",
          opening_impulse: JSON.stringify(concern.impulse),
          tool: concern.tool ?? null,
          args_hash: concern.argsHash ?? null,
        }).execute();
      }
      // Only an opened concern can take the thread past its limit.
      if (entry.concerns.length === 0) return;
      const open = await trx.selectFrom("psyche_assurance_concerns").select("id")
        .where("thread_id", "=", view.threadId).where("status", "=", "open")
        .orderBy("opened_at", "desc").orderBy("id", "desc").execute();
      const excess = open.slice(view.profile.assurance.maxOpenConcerns).map((row) => row.id);
      if (excess.length > 0) {
        await trx.updateTable("psyche_assurance_concerns").set({
          status: "superseded",
          resolved_at: now,
        })
          .where("id", "in", excess).execute();
      }
    });

    // Feedback outside a turn, and /reset.
    ctx.hooks.on(MIND_HOOKS.event, async (event) => {
      if (!event.threadId) return;
      if (event.type === "thread.reset") {
        await db.updateTable("psyche_assurance_concerns").set({
          status: "expired",
          resolved_at: ctx.clock.now(),
        }).where("thread_id", "=", event.threadId).where("status", "=", "open").execute();
        return;
      }
      if (event.type !== "feedback.given") return;
      const value = event.data.value as "good" | "bad";
      const status = value === "good" ? "confirmed" : "refuted";
      const evidence = { type: "feedback", ref: String(event.data.turn_id ?? event.turnId) };
      await sampleReply(event.threadId, value === "good" ? 1 : 0);
      if (event.data.replaced) {
        // The outcome changes (§4): the concerns the first feedback settled, and their samples,
        // take the new one; no new impulse.
        const settled = await db.selectFrom("psyche_assurance_concerns").select("id")
          .where("thread_id", "=", event.threadId).where("status", "in", ["confirmed", "refuted"])
          .where("evidence", "=", JSON.stringify(evidence)).execute();
        const ids = settled.map((row) => row.id);
        if (ids.length === 0) return;
        await db.updateTable("psyche_assurance_concerns").set({
          status,
          resolved_at: ctx.clock.now(),
        }).where("id", "in", ids).execute();
        await db.updateTable("psyche_assurance_samples").set({ outcome: value === "good" ? 1 : 0 })
          .where("concern_id", "in", ids).execute();
        return;
      }
      const impulses: Impulse[] = [];
      for (const row of await openConcerns(db, event.threadId)) {
        if (row.kind === "ambiguity") continue;
        const settled = await settle(row, status, evidence, null, ctx.profile);
        impulses.push(settled.impulse);
      }
      return { impulses };
    });

    ctx.hooks.on(MIND_HOOKS.forget, async ({ threadId }) => {
      if (!threadId) return { deleted: 0 };
      const concerns = await db.deleteFrom("psyche_assurance_concerns").where(
        "thread_id",
        "=",
        threadId,
      )
        .executeTakeFirst();
      const turns = await db.selectFrom("psyche_assurance_turns").select("turn_id")
        .where("thread_id", "=", threadId).execute();
      if (turns.length > 0) {
        await db.deleteFrom("psyche_assurance_samples")
          .where("turn_id", "in", turns.map((row) => row.turn_id)).execute();
      }
      await db.deleteFrom("psyche_assurance_turns").where("thread_id", "=", threadId).execute();
      return { deleted: Number(concerns.numDeletedRows) + turns.length };
    });

    ctx.hooks.on(MIND_HOOKS.export, async ({ threadIds }) => {
      if (threadIds.length === 0) return { concerns: [], assessments: [], samples: [] };
      const concerns = await db.selectFrom("psyche_assurance_concerns").selectAll()
        .where("thread_id", "in", threadIds).orderBy("opened_at").execute();
      const turns = await db.selectFrom("psyche_assurance_turns").selectAll()
        .where("thread_id", "in", threadIds).orderBy("at").execute();
      const samples = turns.length
        ? await db.selectFrom("psyche_assurance_samples").selectAll()
          .where("turn_id", "in", turns.map((turn) => turn.turn_id)).orderBy("id").execute()
        : [];
      // Rows as the code wrote them, in the API's conventions (snake_case, RFC 3339 times).
      return toApiShape({
        concerns: concerns.map(toConcern),
        assessments: turns.map((turn) => ({
          ...turn,
          signals: JSON.parse(turn.signals),
          policy: turn.policy === null ? null : JSON.parse(turn.policy),
        })),
        samples,
      }) as Record<string, unknown>;
    });

    ctx.hooks.on(MIND_HOOKS.state, async ({ scope, threadId }) => {
      if (scope === "thread" && threadId) {
        return { open_concerns: (await openConcerns(db, threadId)).map(toConcern) };
      }
      if (scope !== "mind") return;
      return await scores(ctx.profile.assurance.minCalibrationSamples);
    });

    async function scores(minimum: number) {
      const samples = await db.selectFrom("psyche_assurance_samples").select([
        "confidence",
        "outcome",
        "concern_id",
        "kind",
      ]).orderBy("id", "desc").limit(SCORE_WINDOW).execute();
      const all = calibrationScores(
        samples.filter((sample) => sample.concern_id === null),
        minimum,
      );
      const resolved = samples.filter((sample) => sample.concern_id !== null);
      const concerns = calibrationScores(resolved, minimum);
      // A concern confirmed (outcome 1) or refuted (0), ambiguity aside, left a sample: the
      // precision counts those among the same newest samples, not every resolved concern.
      const refuted = resolved.filter((sample) => sample.outcome === 0).length;
      // The assessed turns grow with every turn: the newest SCORE_WINDOW of them, like the samples.
      const turns = await db.selectFrom(
        db.selectFrom("psyche_assurance_turns").select("tag_missing")
          .orderBy("at", "desc").orderBy("turn_id", "desc").limit(SCORE_WINDOW).as("recent"),
      )
        .select((eb) => [
          eb.fn.countAll<number>().as("n"),
          eb.fn.sum<number>("tag_missing").as("missing"),
        ])
        .executeTakeFirstOrThrow();
      const last = await db.selectFrom("psyche_assurance_turns").select("u_post")
        .orderBy("at", "desc").orderBy("turn_id", "desc").limit(1).executeTakeFirst();
      const open = await db.selectFrom("psyche_assurance_concerns")
        .select((eb) => eb.fn.countAll<number>().as("n")).where("status", "=", "open")
        .executeTakeFirstOrThrow();
      return {
        ece: all.ece,
        brier: all.brier,
        samples: all.n,
        // Predicted vs observed per confidence bin (null below the minimum, like ECE).
        reliability: all.bins,
        ece_concerns: concerns.ece,
        brier_concerns: concerns.brier,
        concern_precision: resolved.length ? refuted / resolved.length : null,
        tag_missing_rate: Number(turns.n) ? Number(turns.missing) / Number(turns.n) : null,
        open_concerns: Number(open.n),
        last_u_post: last?.u_post ?? null,
      };
    }

    // The concerns API (spec/server.md §4.2).
    describe(
      ctx.http,
      [
        {
          method: "get",
          path: "/concerns",
          summary: "Concerns on the caller's threads (everyone's for administrators)",
          tags: ["mind"],
          role: "viewer",
          query: listQuery,
          responses: {
            200: {
              description: "Concerns, newest first",
              schema: z.strictObject({
                items: z.array(CONCERN),
                next_cursor: z.string().nullable(),
              }),
            },
          },
        },
        {
          method: "get",
          path: "/concerns/:id",
          summary: "One concern",
          tags: ["mind"],
          role: "viewer",
          responses: {
            200: { description: "The concern", schema: CONCERN },
          },
        },
        {
          method: "post",
          path: "/concerns/:id/resolve",
          summary: "Resolve a concern (confirmed or refuted); 409 once resolved",
          tags: ["mind"],
          role: "operator",
          body: resolveBody,
          responses: {
            200: {
              description: "Resolved, with the impulse it applied",
              schema: z.strictObject({ concern: CONCERN, impulse: IMPULSE }),
            },
          },
        },
      ] satisfies readonly Operation[],
    );
    ctx.http.get("/concerns", async (c) => {
      requireRole(c, "viewer");
      const query = readQuery(c, listQuery);
      let select = db.selectFrom("psyche_assurance_concerns").selectAll()
        .orderBy("opened_at", "desc").orderBy("id", "desc").limit(query.limit + 1);
      if (query.status) select = select.where("status", "=", query.status);
      if (query.thread_id) select = select.where("thread_id", "=", query.thread_id);
      const before = readTimeIdCursor(query.cursor);
      if (before) {
        select = select.where((eb) => afterKey(eb, { at: "opened_at", id: "id" }, before));
      }
      const reader = threadReader(c);
      if (reader !== null) select = select.where("thread_id", "in", threadsOf(reader));
      const { page, nextCursor } = timeIdPage(
        await select.execute(),
        query.limit,
        (row) => ({ at: row.opened_at, id: row.id }),
      );
      return c.json({ items: page.map(toConcern), next_cursor: nextCursor });
    });

    /** Another user's concern is "not found", like their thread. */
    async function visibleConcern(id: string, reader: string | null) {
      let select = db.selectFrom("psyche_assurance_concerns").selectAll().where("id", "=", id);
      if (reader !== null) select = select.where("thread_id", "in", threadsOf(reader));
      const row = await select.executeTakeFirst();
      if (!row) throw new AppError("CONCERN_NOT_FOUND", "No such concern", { status: 404 });
      return row;
    }

    function threadsOf(userId: string) {
      return db.selectFrom("threads").select("id").where("created_by", "=", userId);
    }

    ctx.http.get("/concerns/:id", async (c) => {
      requireRole(c, "viewer");
      return c.json(toConcern(await visibleConcern(c.req.param("id"), threadReader(c))));
    });

    ctx.http.post("/concerns/:id/resolve", async (c) => {
      requireRole(c, "operator");
      const body = await readJson(c, resolveBody);
      const row = await visibleConcern(c.req.param("id"), threadReader(c));
      if (row.status !== "open") {
        throw new AppError("CONCERN_CLOSED", `This concern is already ${row.status}`, {
          status: 409,
        });
      }
      const settled = await settle(
        row,
        body.resolution,
        {
          type: "feedback",
          ref: `operator:${c.get("principal")?.userId ?? "unknown"}`,
        },
        null,
        ctx.profile,
      );
      // The kernel applies it: plugins never change affect themselves.
      ctx.bus.publish("mind.impulses", {
        impulses: [settled.impulse],
        events: [settled.event],
        threadId: row.thread_id,
      });
      const updated = await db.selectFrom("psyche_assurance_concerns").selectAll()
        .where("id", "=", row.id).executeTakeFirstOrThrow();
      return c.json({ concern: toConcern(updated), impulse: settled.impulse });
    });
  },
});
