/**
 * `psyche_reflection` (spec/mind.md §8): the mind looks back at a thread when
 * asked (`/reflect`), when valence stays low, when replies drift from its
 * narrative, or every N turns; the validated result's instructions shape the
 * next prompts, its insight feeds the narrative, its issues lower dominance
 * — never valence. A failed parse is a failure, never a default reflection.
 *
 * @module
 */
import {
  afterKey,
  AppError,
  type BackgroundJob,
  type ChatMessage,
  type Database,
  definePlugin,
  describe,
  type HistoryMessage,
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
  readQuery,
  readTimeIdCursor,
  redactPersonal,
  requireRole,
  threadReader,
  timeIdCursor,
  timeIdPage,
  type TurnView,
} from "@synth/kernel";
import type { Kysely, Selectable } from "kysely";
import { z } from "zod";

/** The affect after each of the last completed turns, newest first (read by every turn). */
const recentStates = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("mind_turns").select("state_after").where("status", "=", "completed")
    .orderBy("seq", "desc").limit(slot<number>("limit"))
);

/** The reflection's output (the original's six keys, renamed). */
export const ReflectionOut = z.object({
  coherence: z.number().min(0).max(1),
  alignment: z.number().min(0).max(1),
  issues: z.array(z.string().min(1).max(200)).max(5),
  instructions: z.array(z.string().min(1).max(200)).max(3),
  insight: z.string().min(1).max(300).nullable(),
  selfStatement: z.string().min(1).max(200),
}).strict();

/** A validated reflection. */
export type Reflection = z.output<typeof ReflectionOut>;

/** A reflection's output as the API shows it (snake_case keys; spec/server.md §2). */
export interface ReflectionView {
  coherence: number;
  alignment: number;
  issues: string[];
  instructions: string[];
  insight: string | null;
  self_statement: string;
}

/** The wire form of a stored output (`psyche_reflection_runs.output`, a {@link Reflection}). */
function outputView(json: string): ReflectionView {
  const output = JSON.parse(json) as Reflection;
  return {
    coherence: output.coherence,
    alignment: output.alignment,
    issues: output.issues,
    instructions: output.instructions,
    insight: output.insight,
    self_statement: output.selfStatement,
  };
}

/** A reflection run for the OpenAPI document. */
const RUN = z.strictObject({
  id: z.string(),
  at: z.iso.datetime(),
  thread_id: z.string().nullable(),
  triggers: z.array(z.strictObject({ trigger: z.string(), value: z.string() })),
  primary_trigger: z.string(),
  status: z.enum(["done", "failed"]),
  output: z.strictObject({
    coherence: z.number(),
    alignment: z.number(),
    issues: z.array(z.string()),
    instructions: z.array(z.string()),
    insight: z.string().nullable(),
    self_statement: z.string(),
  }).nullable(),
  error: z.string().nullable(),
  raw: z.string().nullable(),
  repaired: z.boolean(),
});

/** Why a reflection runs. */
export type Trigger = "explicit" | "distress" | "drift" | "periodic";
const ORDER: readonly Trigger[] = ["explicit", "distress", "drift", "periodic"];

/** Counters kept across restarts. */
interface Counters {
  turns: number;
  lastAttemptTurn: number;
  lastNonExplicitTurn: number | null;
  /** Triggers skipped for budget: still due, rechecked after the cooldown. */
  due: Array<{ trigger: Trigger; value: string }>;
}

/** Instructions in force. */
interface Active {
  reflectionId: string;
  trigger: Trigger;
  instructions: string[];
  turnsLeft: number;
}

/** The instructions if they are still in force: none once their turns are used up. */
function inForce(active: Active | null | undefined): Active | null {
  return active && active.turnsLeft > 0 ? active : null;
}

/** Reads the first JSON object of a reply (fences and prose around it allowed). */
export function parseReflection(
  text: string,
): { ok: true; value: Reflection } | { ok: false; error: string } {
  const unfenced = text.replace(/```(?:json)?/g, "");
  const start = unfenced.indexOf("{");
  const end = unfenced.lastIndexOf("}");
  if (start < 0 || end <= start) return { ok: false, error: "no JSON object in the answer" };
  let value: unknown;
  try {
    value = JSON.parse(unfenced.slice(start, end + 1));
  } catch (error) {
    return { ok: false, error: `not valid JSON: ${(error as Error).message}` };
  }
  const parsed = ReflectionOut.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    error: parsed.error.issues.slice(0, 5).map((issue) =>
      `${issue.path.map(String).join(".") || "object"}: ${issue.message}`
    ).join("; "),
  };
}

const SYSTEM = [
  "You reflect on your own recent conduct in a conversation, as a careful self-review.",
  "Answer with only one JSON object with exactly these keys:",
  '{"coherence": 0..1 (how coherent and consistent your replies were), "alignment": 0..1 (how well they served the user),',
  '"issues": [up to 5 short problems], "instructions": [up to 3 short instructions for your next replies],',
  '"insight": one sentence you learned, or null, "selfStatement": one first-person sentence about who you are becoming}.',
].join(" ");

const listQuery = z.strictObject({
  limit: queryInt({ min: 1, max: 200 }).default(50),
  status: z.enum(["done", "failed"]).optional(),
  cursor: timeIdCursor("The next page holds the runs before this one's last"),
});

/** The plugin. */
export const psycheReflectionPlugin: Plugin<unknown, void> = definePlugin({
  manifest: {
    id: "psyche_reflection",
    version: "1.0.0",
    isolation: "in_process",
    httpBase: "/api",
  },
  setup(ctx) {
    const { db } = ctx.db;
    const state = pluginState(ctx.db, ctx.clock, "psyche_reflection");
    const NO_COUNTERS: Counters = {
      turns: 0,
      lastAttemptTurn: 0,
      lastNonExplicitTurn: null,
      due: [],
    };
    /** The counters, read through `trx` inside a transaction. */
    const counters = async (trx?: Parameters<typeof state.get>[1]): Promise<Counters> =>
      (await state.get<Counters>("counters", trx)) ?? NO_COUNTERS;
    /**
     * Changes the counters in one transaction: a turn's stage 10 (its `turns + 1`) and a job that
     * ends meanwhile cannot overwrite each other's change with a value read before it.
     */
    const updateCounters = (change: (now: Counters) => Counters) =>
      ctx.db.transaction(async (trx) => {
        await state.set("counters", change(await counters(trx)), trx);
      });

    /** Where a reflection looks, and the turn count when it was attempted (its trigger's). */
    type Where = {
      threadId: string | null;
      turnId: string | null;
      userId: string | null;
      attemptTurn: number;
    };

    function job(
      triggers: Array<{ trigger: Trigger; value: string }>,
      where: Where,
      profile: Profile,
    ): BackgroundJob {
      const primary = ORDER.find((trigger) => triggers.some((item) => item.trigger === trigger))!;
      return {
        module: "psyche_reflection",
        kind: "reflection",
        priority: 2,
        turnId: where.turnId,
        threadId: where.threadId,
        run: (context) => run(context, triggers, primary, where, profile),
      };
    }

    async function run(
      context: JobContext,
      triggers: Array<{ trigger: Trigger; value: string }>,
      primary: Trigger,
      where: Where,
      profile: Profile,
    ) {
      const settings = profile.reflection;
      const history: HistoryMessage[] = where.threadId
        ? await context.messages(where.threadId, settings.contextTurns * 2)
        : [];
      const turns: ChatMessage[] = history.filter((message) => message.role !== "tool").map((
        message,
      ) => ({
        role: message.role as "user" | "assistant",
        content: message.content,
      }));
      while (turns.length > 0 && turns[0]!.role !== "user") turns.shift();
      const mindState = await context.state();
      const active = await state.get<Active>("active");
      const brief = {
        triggers,
        affect: mindState.affect,
        forecast_accuracy: mindState.psyche_dreaming ?? null,
        assurance: mindState.psyche_assurance ?? null,
        calibration: mindState.psyche_calibration ?? null,
        narrative:
          (mindState.psyche_purpose as { narrative?: { text?: string } } | undefined)?.narrative
            ?.text ??
            profile.identity.narrative,
        active_instructions: inForce(active)?.instructions ?? [],
      };
      const request = {
        purpose: "reflection",
        role: "background" as const,
        temperature: 0.4,
        maxTokens: 700,
        system: SYSTEM,
        messages: [
          ...turns,
          {
            role: "user" as const,
            content:
              `Reflect on this conversation now. Your state and what triggered this reflection, as data:\n${
                JSON.stringify(brief, null, 2)
              }`,
          },
        ],
        context: {
          ...(where.threadId ? { threadId: where.threadId } : {}),
          ...(where.turnId ? { turnId: where.turnId } : {}),
        },
      };
      const first = await context.llm.complete(request);
      let parsed = parseReflection(first.text);
      let raw = first.text;
      let repaired = false;
      if (!parsed.ok) {
        repaired = true;
        const repair = await context.llm.complete({
          ...request,
          purpose: "reflection_repair",
          temperature: 0,
          messages: [
            ...request.messages,
            { role: "assistant", content: first.text.slice(0, 2_000) },
            {
              role: "user",
              content:
                `That was not the JSON object asked for (${parsed.error}). Answer again with only the JSON object.`,
            },
          ],
        });
        raw = repair.text;
        parsed = parseReflection(repair.text);
      }
      const id = ctx.ids.next("rfl");
      const now = ctx.clock.now();
      // Spacing counts from the attempt, not from the model's answer: turns may come meanwhile.
      await updateCounters((c) => ({
        ...c,
        lastAttemptTurn: Math.max(c.lastAttemptTurn, where.attemptTurn),
        ...(primary === "explicit"
          ? {}
          : { lastNonExplicitTurn: Math.max(c.lastNonExplicitTurn ?? 0, where.attemptTurn) }),
        due: [],
      }));
      // One row per run, whatever its outcome.
      const recordRun = (
        outcome: { status: "failed"; error: string; raw: string } | {
          status: "done";
          output: string;
        },
      ) =>
        db.insertInto("psyche_reflection_runs").values({
          id,
          at: now,
          thread_id: where.threadId,
          turn_id: where.turnId,
          job_id: context.jobId,
          triggers: JSON.stringify(triggers),
          primary_trigger: primary,
          status: outcome.status,
          output: outcome.status === "done" ? outcome.output : null,
          error: outcome.status === "failed" ? outcome.error : null,
          raw: outcome.status === "failed" ? outcome.raw : null,
          repaired: repaired ? 1 : 0,
        }).execute();
      if (!parsed.ok) {
        await recordRun({ status: "failed", error: parsed.error, raw: raw.slice(0, 2_000) });
        return {
          failed: `reflection ${id}: ${parsed.error}`,
          events: [{ type: "reflection.failed", data: { reflection_id: id, error: parsed.error } }],
        };
      }
      const names = where.userId ? [where.userId] : [];
      const clean = (text: string) => redactPersonal(text, names);
      const output: Reflection = {
        ...parsed.value,
        issues: parsed.value.issues.map(clean),
        instructions: parsed.value.instructions.map(clean),
        insight: parsed.value.insight === null ? null : clean(parsed.value.insight),
        selfStatement: clean(parsed.value.selfStatement),
      };
      await recordRun({ status: "done", output: JSON.stringify(output) });
      if (output.insight !== null) {
        await state.set("insights", (await state.get<number>("insights") ?? 0) + 1);
      }
      if (output.instructions.length > 0) {
        await state.set(
          "active",
          {
            reflectionId: id,
            trigger: primary,
            instructions: output.instructions,
            turnsLeft: settings.instructionTurns,
          } satisfies Active,
        );
      }
      const impulses: Impulse[] = output.issues.length > 0
        ? [{
          label: "reflection.issues",
          dd: -profile.affect.gains.reflection,
          reason: `reflection ${id} reported ${output.issues.length} issue(s)`,
        }]
        : [];
      const events: MindEventInput[] = [{
        type: "reflection.completed",
        data: {
          reflection_id: id,
          trigger: primary,
          triggers,
          coherence: output.coherence,
          insight: output.insight,
          self_statement: output.selfStatement,
          issues: output.issues.length,
        },
      }];
      return {
        impulses,
        events,
        note: `reflection ${id} (${primary}): coherence ${
          output.coherence.toFixed(2)
        } (self-rated), ${output.issues.length} issue(s), ${output.instructions.length} instruction(s)`,
      };
    }

    // Stage 11: which triggers hold after this turn.
    ctx.hooks.on(MIND_HOOKS.background, async (view: TurnView) => {
      const settings = view.profile.reflection;
      const c = await counters(); // this turn was counted in stage 10
      const triggers: Array<{ trigger: Trigger; value: string }> = [];
      const recent = await recentStates.execute(db, { limit: settings.distressWindow });
      if (recent.length === settings.distressWindow) {
        const mean = recent.reduce((sum, row) =>
          sum + (JSON.parse(row.state_after!) as { p: number }).p, 0) /
          recent.length;
        if (mean < settings.distressThreshold) {
          triggers.push({
            trigger: "distress",
            value: `mean p ${mean.toFixed(3)} < ${settings.distressThreshold}`,
          });
        }
      }
      if (view.signals["purpose.drifting"] === true) {
        triggers.push({ trigger: "drift", value: "replies drift from the narrative" });
      }
      if (c.turns - c.lastAttemptTurn >= settings.intervalTurns && c.turns > c.lastAttemptTurn) {
        triggers.push({
          trigger: "periodic",
          value: `${c.turns - c.lastAttemptTurn} turns since the last reflection`,
        });
      }
      for (const due of c.due) {
        if (!triggers.some((item) => item.trigger === due.trigger)) triggers.push(due);
      }
      const cooled = c.lastNonExplicitTurn === null ||
        c.turns - c.lastNonExplicitTurn >= settings.cooldownTurns;
      if (triggers.length === 0 || !cooled) return [];
      // Spacing starts at the attempt, so a budget skip is rechecked after the cooldown.
      await updateCounters((now) => ({ ...now, lastNonExplicitTurn: c.turns, due: triggers }));
      return [
        job(
          triggers,
          {
            threadId: view.threadId,
            turnId: view.turnId,
            userId: view.userId,
            attemptTurn: c.turns,
          },
          view.profile,
        ),
      ];
    });

    // Stage 10, in the turn's transaction: one more turn; this prompt used one instruction turn.
    ctx.hooks.on(MIND_HOOKS.persist, async ({ db: trx }) => {
      const c = await counters(trx);
      await state.set("counters", { ...c, turns: c.turns + 1 }, trx);
      const active = inForce(await state.get<Active>("active", trx));
      if (active) {
        await state.set("active", { ...active, turnsLeft: active.turnsLeft - 1 }, trx);
      }
    });

    // Instructions in force, with the turns they have left.
    ctx.hooks.on(MIND_HOOKS.fragments, async () => {
      const active = inForce(await state.get<Active>("active"));
      if (!active) return [];
      return [{
        module: "reflection",
        key: "instructions",
        section: "instructions" as const,
        priority: 80,
        text: ["From your last reflection:", ...active.instructions.map((item) => `- ${item}`)]
          .join("\n"),
        reason: `reflection ${active.reflectionId} (${active.trigger}), ${active.turnsLeft} turn${
          active.turnsLeft === 1 ? "" : "s"
        } left`,
      }];
    });

    ctx.hooks.on(MIND_HOOKS.commands, () => [{
      name: "reflect",
      usage: "/reflect",
      description: "reflect now (explicit; obeys the budget)",
      role: "operator" as const,
    }]);

    ctx.hooks.on(MIND_HOOKS.command, async (command) => {
      if (command.name !== "reflect") return;
      const profile = ctx.profile;
      const { turns } = await counters();
      return {
        command: "reflect",
        ok: true,
        output: { text: "Reflecting…" },
        jobs: [job([{ trigger: "explicit", value: `asked by ${command.userId}` }], {
          threadId: command.threadId,
          turnId: null,
          userId: command.userId,
          attemptTurn: turns,
        }, profile)],
        await: true,
      };
    });

    // `/forget thread`: the reflections run on it (the narrative they shaped stays).
    ctx.hooks.on(MIND_HOOKS.forget, async ({ threadId }) => {
      if (!threadId) return { deleted: 0 };
      // Instructions from a reflection run on the thread go with it.
      const active = await state.get<Active>("active");
      if (active) {
        const fromThread = await db.selectFrom("psyche_reflection_runs").select("id")
          .where("id", "=", active.reflectionId).where("thread_id", "=", threadId)
          .executeTakeFirst();
        if (fromThread) await state.delete("active");
      }
      const result = await db.deleteFrom("psyche_reflection_runs").where("thread_id", "=", threadId)
        .executeTakeFirst();
      return { deleted: Number(result.numDeletedRows) };
    });

    ctx.hooks.on(MIND_HOOKS.export, async ({ threadIds, scope }) => {
      let select = runs().orderBy("psyche_reflection_runs.at");
      if (scope !== "mind") {
        if (threadIds.length === 0) return { reflections: [] };
        select = select.where("psyche_reflection_runs.thread_id", "in", threadIds);
      }
      return { reflections: (await select.execute()).map((row) => view(row, null)) };
    });

    ctx.hooks.on(MIND_HOOKS.state, async ({ scope }) => {
      if (scope !== "mind") return undefined;
      const counts = await db.selectFrom("psyche_reflection_runs")
        .select((eb) => ["status", eb.fn.countAll<number>().as("n")]).groupBy("status").execute();
      const done = Number(counts.find((row) => row.status === "done")?.n ?? 0);
      const failed = Number(counts.find((row) => row.status === "failed")?.n ?? 0);
      const last = await db.selectFrom("psyche_reflection_runs")
        .select(["id", "output", "at", "primary_trigger"]).where("status", "=", "done")
        .orderBy("at", "desc").orderBy("id", "desc").limit(1).executeTakeFirst();
      const c = await counters();
      const interval = ctx.profile.reflection.intervalTurns;
      return {
        runs: done + failed,
        failure_rate: done + failed > 0 ? failed / (done + failed) : null,
        // Reflections that produced an insight (R§2.3 derived it from the turn count).
        insights: await state.get<number>("insights") ?? 0,
        last: last
          ? {
            id: last.id,
            at: isoTime(last.at),
            trigger: last.primary_trigger,
            ...outputView(last.output!),
          }
          : null,
        next_periodic_in: Math.max(0, interval - (c.turns - c.lastAttemptTurn)),
        active_instructions: inForce(await state.get<Active>("active")),
      };
    });

    /** Runs with their thread's owner (the raw text is shown only to them or an admin). */
    function runs() {
      return db.selectFrom("psyche_reflection_runs").leftJoin(
        "threads",
        "threads.id",
        "psyche_reflection_runs.thread_id",
      ).selectAll("psyche_reflection_runs").select("threads.created_by as owner");
    }

    describe(
      ctx.http,
      [
        {
          method: "get",
          path: "/reflections",
          summary:
            "Reflection runs (a failed run's raw text only for its thread's owner and admins; of a run on no thread, admins only)",
          tags: ["mind"],
          role: "viewer",
          query: listQuery,
          responses: {
            200: {
              description: "Runs, newest first",
              schema: z.strictObject({ items: z.array(RUN), next_cursor: z.string().nullable() }),
            },
          },
        },
        {
          method: "get",
          path: "/reflections/:id",
          summary: "One reflection run",
          tags: ["mind"],
          role: "viewer",
          responses: { 200: { description: "The run", schema: RUN } },
        },
      ] satisfies readonly Operation[],
    );
    ctx.http.get("/reflections", async (c) => {
      requireRole(c, "viewer");
      const query = readQuery(c, listQuery);
      let select = runs().orderBy("psyche_reflection_runs.at", "desc")
        .orderBy("psyche_reflection_runs.id", "desc").limit(query.limit + 1);
      if (query.status) select = select.where("psyche_reflection_runs.status", "=", query.status);
      const before = readTimeIdCursor(query.cursor);
      if (before) {
        select = select.where((eb) =>
          afterKey(eb, { at: "psyche_reflection_runs.at", id: "psyche_reflection_runs.id" }, before)
        );
      }
      const { page, nextCursor } = timeIdPage(
        await select.execute(),
        query.limit,
        (row) => ({ at: row.at, id: row.id }),
      );
      const reader = threadReader(c);
      return c.json({ items: page.map((row) => view(row, reader)), next_cursor: nextCursor });
    });

    ctx.http.get("/reflections/:id", async (c) => {
      requireRole(c, "viewer");
      const row = await runs().where("psyche_reflection_runs.id", "=", c.req.param("id"))
        .executeTakeFirst();
      if (!row) throw new AppError("REFLECTION_NOT_FOUND", "No such reflection", { status: 404 });
      return c.json(view(row, threadReader(c)));
    });

    function view(
      row: Selectable<Database["psyche_reflection_runs"]> & { owner: string | null },
      reader: string | null,
    ) {
      // The raw reply may quote the conversations it reflected on: the thread's owner reads it;
      // a run on no one thread (it may quote anyone's) only an administrator.
      const mayReadRaw = reader === null || (row.owner !== null && row.owner === reader);
      return {
        id: row.id,
        at: new Date(row.at).toISOString(),
        thread_id: row.thread_id,
        triggers: JSON.parse(row.triggers),
        primary_trigger: row.primary_trigger,
        status: row.status,
        output: row.output ? outputView(row.output) : null,
        error: row.error,
        raw: mayReadRaw ? row.raw : null,
        repaired: row.repaired === 1,
      };
    }
  },
});
