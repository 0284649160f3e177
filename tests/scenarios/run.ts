/**
 * The state-dynamics scenario runner (spec/mind.md §16): a YAML file of
 * turns (`{user, advance?}` or `{command}`) and expectations
 * (`{after, path, lt|le|gt|ge|eq|approx|contains|not_contains}`), run on a
 * test host with the fake clock, a fixed seed and the wire-level fake LLM.
 */
import { parse } from "yaml";
import { z } from "zod";
import type { TestHost } from "@synth/testing";
import { type FakeLlm, startFakeLlm } from "../fakes/llm/mod.ts";
import { chatRequests } from "../llm/helpers.ts";
import { chat, mindHost } from "../mind/helpers.ts";

const turnSchema = z.union([
  z.strictObject({
    user: z.string().min(1),
    /** Fake-clock milliseconds to move before this turn. */
    advance: z.number().int().min(0).optional(),
    thread: z.string().optional(),
    /** The model's reply for this turn (chunks as a list). */
    reply: z.union([z.string(), z.array(z.string())]).optional(),
  }),
  z.strictObject({
    command: z.string().startsWith("/"),
    advance: z.number().int().min(0).optional(),
  }),
  z.strictObject({ advance: z.number().int().min(0), restart: z.boolean().optional() }),
]);

const expectation = z.strictObject({
  /** After this step (1-based); `every` checks after each step. */
  after: z.union([z.number().int().min(1), z.literal("every")]),
  path: z.string().min(1),
  lt: z.number().optional(),
  le: z.number().optional(),
  gt: z.number().optional(),
  ge: z.number().optional(),
  eq: z.unknown().optional(),
  approx: z.number().optional(),
  tolerance: z.number().positive().default(1e-9),
  contains: z.string().optional(),
  not_contains: z.string().optional(),
  one_of: z.array(z.string()).optional(),
  /** Compare value ÷ (the same path after that step) instead of the value. */
  ratio_to_step: z.number().int().min(1).optional(),
});

/** A scenario file. */
export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  /** Purpose → reply text (every call of that purpose). */
  replies: z.record(z.string(), z.string()).optional(),
  steps: z.array(turnSchema).min(1),
  expect: z.array(expectation).min(1),
});

/** A parsed scenario. */
export type Scenario = z.output<typeof scenarioSchema>;

/** What expectations can read after a step. */
interface Observation {
  affect: Record<string, unknown>;
  baseline: { p: number; a: number; d: number };
  /** The step's system prompt (last LLM reply request). */
  prompt: { system: string; temperature: number | null; max_tokens: number | null };
  impulses: {
    count: number;
    max_dp: number;
    min_dp: number;
    labels: string;
    /** The applied deltas by label, dots replaced by underscores. */
    by_label: Record<string, { dp: number; da: number; dd: number }>;
    /** The requested deltas (before clamping, the turn cap and saturation) by label, likewise. */
    requested_by_label: Record<string, { dp: number; da: number; dd: number }>;
  };
  turn: Record<string, unknown>;
  influence: { reasons: string; dropped: string };
  /**
   * The reply's temperature against its parts (spec/mind.md §6): `sent_minus_parts` is the sent
   * temperature minus clamp(base + affect + calibration) to the profile's bounds (0 when right),
   * `calibration_minus_previous` the calibration part minus the previous step's calibration output
   * `temperatureOffset` (0 when the offset reached the next turn as it was).
   */
  temperature: { sent_minus_parts: number | null; calibration_minus_previous: number | null };
  calibration: Record<string, unknown>;
  assurance: Record<string, unknown>;
  concerns: {
    open: number;
    last_status: string | null;
    last_kind: string | null;
    last_evidence: string | null;
    /** Opening dp of the last resolved concern plus its resolution's dp. */
    net_dp: number | null;
    /** The resolution's requested dp over the opening's applied |dp| (0.8 for a confirmation). */
    resolution_ratio: number | null;
  };
  samples: { count: number; last_outcome: number | null };
  reflection: {
    runs: number;
    last_primary: string | null;
    last_triggers: string[];
    last_status: string | null;
  };
  response: string;
}

function read(observation: Observation, path: string): unknown {
  let value: unknown = observation;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Checks one expectation; returns a failure message or null. */
export function check(
  observation: Observation,
  rule: z.output<typeof expectation>,
  earlier: readonly Observation[] = [],
): string | null {
  let value = read(observation, rule.path);
  if (rule.ratio_to_step !== undefined) {
    const base = read(earlier[rule.ratio_to_step - 1]!, rule.path);
    value = Number(value) / Number(base);
  }
  const fail = (what: string) => `${rule.path} = ${JSON.stringify(value)}: ${what}`;
  if (rule.lt !== undefined && !(Number(value) < rule.lt)) return fail(`expected < ${rule.lt}`);
  if (rule.le !== undefined && !(Number(value) <= rule.le)) return fail(`expected ≤ ${rule.le}`);
  if (rule.gt !== undefined && !(Number(value) > rule.gt)) return fail(`expected > ${rule.gt}`);
  if (rule.ge !== undefined && !(Number(value) >= rule.ge)) return fail(`expected ≥ ${rule.ge}`);
  if (rule.approx !== undefined && !(Math.abs(Number(value) - rule.approx) <= rule.tolerance)) {
    return fail(`expected ${rule.approx} ± ${rule.tolerance}`);
  }
  if (rule.eq !== undefined && JSON.stringify(value) !== JSON.stringify(rule.eq)) {
    return fail(`expected ${JSON.stringify(rule.eq)}`);
  }
  if (rule.contains !== undefined && !String(value).includes(rule.contains)) {
    return fail(`expected to contain ${JSON.stringify(rule.contains)}`);
  }
  if (rule.not_contains !== undefined && String(value).includes(rule.not_contains)) {
    return fail(`expected not to contain ${JSON.stringify(rule.not_contains)}`);
  }
  if (rule.one_of !== undefined && !rule.one_of.includes(String(value))) {
    return fail(`expected one of ${rule.one_of.join(", ")}`);
  }
  return null;
}

/** Loads a scenario file. */
export async function loadScenario(path: string): Promise<Scenario> {
  return scenarioSchema.parse(parse(await Deno.readTextFile(path)));
}

/** Runs a scenario; returns the failures (empty when it passes). */
export async function runScenario(scenario: Scenario): Promise<string[]> {
  await using fake = await startFakeLlm();
  if (scenario.replies) {
    fake.script(Object.fromEntries(
      Object.entries(scenario.replies).map((
        [purpose, text],
      ) => [purpose, { reply: { text }, times: 1_000 }]),
    ));
  }
  const dataDir = await Deno.makeTempDir({ dir: "data/.test", prefix: "scenario-" }).catch(
    async () => {
      await Deno.mkdir("data/.test", { recursive: true });
      return await Deno.makeTempDir({ dir: "data/.test", prefix: "scenario-" });
    },
  );
  const failures: string[] = [];
  let host: TestHost | undefined;
  try {
    const open = async (clockStart?: number) => {
      const { FakeClock } = await import("@synth/testing");
      return await mindHost(fake, {
        dataDir,
        ...(clockStart !== undefined ? { clock: new FakeClock({ start: clockStart }) } : {}),
        config: { ...scenario.config },
      });
    };
    host = await open();
    const threads = new Map<string, string>();
    const observations: Observation[] = [];
    for (const [index, step] of scenario.steps.entries()) {
      if ("restart" in step && step.restart) {
        // Stopped first: the time passes while no server runs.
        const later = host.clock.now() + step.advance;
        await host.close();
        host = await open(later);
      } else if (step.advance) await host.clock.tick(step.advance);
      let response = "";
      let turnId: string | null = null;
      const key = "thread" in step && step.thread ? step.thread : "main";
      if ("user" in step) {
        if (step.reply !== undefined) {
          fake.sceneFirst({ match: { purpose: "reply" }, reply: { text: step.reply } });
        }
        const result = await chat(host, step.user, threads.get(key));
        if (result.status !== 200) {
          failures.push(`step ${index + 1}: HTTP ${result.status} ${JSON.stringify(result.body)}`);
        }
        threads.set(key, result.body.thread_id as string);
        response = String(result.body.response ?? "");
        turnId = result.body.turn_id as string | null;
      } else if ("command" in step) {
        const result = await chat(host, step.command, threads.get("main"));
        response = String(result.body.response ?? "");
      }
      await host.kernel.mind.scheduler.idle();
      const observation = await observe(host, fake, turnId, response, observations.at(-1));
      observations.push(observation);
      for (const rule of scenario.expect) {
        if (rule.after !== "every" && rule.after !== index + 1) continue;
        const problem = check(observation, rule, observations);
        if (problem) failures.push(`after step ${index + 1}: ${problem}`);
      }
    }
  } finally {
    await host?.close();
    await Deno.remove(dataDir, { recursive: true });
  }
  return failures;
}

async function observe(
  host: TestHost,
  fake: FakeLlm,
  turnId: string | null,
  response: string,
  previous: Observation | undefined,
): Promise<Observation> {
  const affect = host.kernel.mind.affect();
  const request = chatRequests(fake).filter((item) => item.headers["x-synth-purpose"] === "reply")
    .at(-1);
  const body = (request?.body ?? {}) as {
    messages?: Array<{ role: string; content: string }>;
    temperature?: number;
    max_tokens?: number;
    max_completion_tokens?: number;
  };
  const rows = turnId
    ? await host.kernel.store.db.selectFrom("mind_events").select("data")
      .where("turn_id", "=", turnId).where("type", "=", "affect.impulse").execute()
    : [];
  const impulses = rows.map((row) =>
    JSON.parse(row.data) as {
      label: string;
      requested: { dp: number; da: number; dd: number };
      applied: { dp: number; da: number; dd: number };
    }
  );
  const db = host.kernel.store.db;
  const concerns = await db.selectFrom("psyche_assurance_concerns").selectAll()
    .orderBy("opened_at", "desc").orderBy("id", "desc").execute();
  const resolvedLast = [...concerns].filter((row) => row.resolved_at !== null)
    .sort((a, b) => b.resolved_at! - a.resolved_at!)[0] ?? concerns[0];
  const samples = await db.selectFrom("psyche_assurance_samples").selectAll().orderBy("id", "desc")
    .execute();
  const runs = await db.selectFrom("psyche_reflection_runs").selectAll().orderBy("at", "desc")
    .orderBy("id", "desc").execute();
  const turn = turnId ? await host.kernel.mind.turn(turnId) : null;
  const influence = turnId ? await host.kernel.mind.influence(turnId) : null;
  const sections = influence?.record.sections ?? [];
  return {
    affect: {
      ...affect,
      dp: affect.p - affect.baseline.p,
      da: affect.a - affect.baseline.a,
      dd: affect.d - affect.baseline.d,
    },
    baseline: affect.baseline,
    prompt: {
      system: body.messages?.find((message) => message.role === "system")?.content ?? "",
      temperature: body.temperature ?? null,
      max_tokens: body.max_tokens ?? body.max_completion_tokens ?? null,
    },
    impulses: {
      count: impulses.length,
      max_dp: Math.max(0, ...impulses.map((item) => item.applied.dp)),
      min_dp: Math.min(0, ...impulses.map((item) => item.applied.dp)),
      labels: impulses.map((item) => item.label).join(","),
      by_label: Object.fromEntries(
        impulses.map((item) => [item.label.replaceAll(".", "_"), item.applied]),
      ),
      requested_by_label: Object.fromEntries(
        impulses.map((item) => [item.label.replaceAll(".", "_"), item.requested]),
      ),
    },
    assurance: (influence?.record.assurance ?? {}) as unknown as Record<string, unknown>,
    concerns: {
      open: concerns.filter((row) => row.status === "open").length,
      last_status: resolvedLast?.status ?? null,
      last_kind: resolvedLast?.kind ?? null,
      last_evidence: resolvedLast?.evidence ? JSON.parse(resolvedLast.evidence).type : null,
      ...(resolvedLast
        ? await netDp(host, resolvedLast.id, resolvedLast.turn_id)
        : { net_dp: null, resolution_ratio: null }),
    },
    samples: { count: samples.length, last_outcome: samples[0]?.outcome ?? null },
    reflection: {
      runs: runs.length,
      last_primary: runs[0]?.primary_trigger ?? null,
      last_triggers: runs[0]
        ? (JSON.parse(runs[0].triggers) as Array<{ trigger: string }>).map((item) => item.trigger)
        : [],
      last_status: runs[0]?.status ?? null,
    },
    turn: (turn ?? {}) as unknown as Record<string, unknown>,
    calibration: (influence?.record.calibration ?? {}) as unknown as Record<string, unknown>,
    temperature: temperatureParts(
      influence?.record.generation,
      body.temperature,
      host.kernel.mind.profile.generation.temperatureBounds,
      previous,
    ),
    influence: {
      reasons: sections.map((section) => `${section.id}: ${section.reason}`).join("\n"),
      dropped: sections.filter((section) => section.dropped).map((section) => section.id).join(","),
    },
    response,
  };
}

/** See {@link Observation.temperature}. */
function temperatureParts(
  generation:
    | { components: { base: number; affect: number; calibration: number } }
    | undefined,
  sent: number | undefined,
  [low, high]: readonly [number, number],
  previous: Observation | undefined,
): Observation["temperature"] {
  if (!generation || sent === undefined) {
    return { sent_minus_parts: null, calibration_minus_previous: null };
  }
  const { base, affect, calibration } = generation.components;
  const previousOffset =
    (previous?.calibration.outputs as { temperatureOffset?: number } | undefined)
      ?.temperatureOffset ?? 0;
  return {
    sent_minus_parts: sent - Math.min(high, Math.max(low, base + affect + calibration)),
    calibration_minus_previous: calibration - previousOffset,
  };
}

/**
 * The dp a concern's opening applied plus the dp its resolution applied, and the resolution's
 * requested dp over the opening's applied |dp| (saturation damps what a resolution applies, so
 * only the requested dp shows its coefficient).
 */
async function netDp(
  host: TestHost,
  concernId: string,
  openedBy: string,
): Promise<{ net_dp: number; resolution_ratio: number | null }> {
  const rows = await host.kernel.store.db.selectFrom("mind_events").select(["data", "turn_id"])
    .where("type", "=", "affect.impulse").execute();
  const impulses = rows.map((row) => ({
    turnId: row.turn_id,
    ...(JSON.parse(row.data) as {
      label: string;
      reason: string;
      requested: { dp: number };
      applied: { dp: number };
    }),
  }));
  const opening = impulses.find((item) =>
    item.turnId === openedBy && item.label === "assurance.concern"
  );
  const resolution = impulses.find((item) => item.reason.includes(concernId));
  return {
    net_dp: (opening?.applied.dp ?? 0) + (resolution?.applied.dp ?? 0),
    resolution_ratio: opening && resolution && opening.applied.dp !== 0
      ? resolution.requested.dp / Math.abs(opening.applied.dp)
      : null,
  };
}
