/**
 * Probes of the profile key-coverage test (spec/mind.md §12 "Key coverage
 * (I5)", §17 item 35): every leaf path of the profile schema names a
 * scripted scenario and one observable of it (a prompt fragment, a
 * generation parameter of the request the fake LLM received, a state field,
 * a ledger row, a `mind_events` row, a job's status, or when a probe
 * plugin's `mind.tick` hook is called).
 *
 * A scenario runs on a test host whose `mind.profile` is a YAML file written
 * into a temporary `mind.profilesDir`; the coverage test runs it once with
 * the built-in's values and once per probe with that one key perturbed, and
 * asserts the observable moved.
 */
import { type BackgroundJob, definePlugin, MIND_HOOKS, type Plugin } from "@synth/kernel";
import { FakeClock, scriptedEmbedder, type TestHost } from "@synth/testing";
import { z } from "zod";
import { createDreamingPlugin } from "../../plugins/psyche_dreaming/mod.ts";
import type { MemoryApi } from "../../plugins/memory/mod.ts";
import { createPurposePlugin } from "../../plugins/psyche_purpose/mod.ts";
import { calculatorTool } from "../../plugins/tool_calculator/mod.ts";
import type { Profile } from "../../src/mind/profile.ts";
import { profileSchema } from "../../src/mind/profile.ts";
import { type FakeLlm, type RecordedRequest, startFakeLlm } from "../fakes/llm/mod.ts";
import { chatRequests } from "../llm/helpers.ts";
import { answer, api, planOf, turnEnd } from "../projects/helpers.ts";
import { chat, mindHost } from "./helpers.ts";

// --- leaf paths --------------------------------------------------------------

/** Every leaf path of a zod schema (objects recurse; arrays, tuples, records, scalars are leaves). */
export function leafPaths(schema: z.ZodType = profileSchema, prefix = ""): string[] {
  let current = schema as z.ZodType;
  // Optional wrappers carry the leaf underneath.
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault) {
    current = (current as z.ZodOptional<z.ZodType>).unwrap() as z.ZodType;
  }
  if (current instanceof z.ZodObject) {
    return Object.entries(current.shape as Record<string, z.ZodType>).flatMap(([key, inner]) =>
      leafPaths(inner, prefix ? `${prefix}.${key}` : key)
    );
  }
  return [prefix];
}

/** The value at a dotted path. */
export function getPath(value: unknown, path: string): unknown {
  let out: unknown = value;
  for (const part of path.split(".")) {
    if (out === null || typeof out !== "object") return undefined;
    out = (out as Record<string, unknown>)[part];
  }
  return out;
}

/** A copy of `value` with `path` set. */
export function setPath<T>(value: T, path: string, next: unknown): T {
  const copy = structuredClone(value) as Record<string, unknown>;
  const parts = path.split(".");
  let at = copy;
  for (const part of parts.slice(0, -1)) {
    at[part] = { ...(at[part] as Record<string, unknown> ?? {}) };
    at = at[part] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = next;
  return copy as T;
}

// --- perturbation --------------------------------------------------------------

/** The §12 perturbation rule: numbers ±25 % within validity, booleans flip, strings and lists altered. */
export function perturb(
  profile: Profile,
  path: string,
  direction: "up" | "down" = "up",
): { value: unknown; profile: Profile } {
  const current = getPath(profile, path);
  const candidates: unknown[] = [];
  if (typeof current === "number") {
    const integer = Number.isInteger(current) && !/temperature|Threshold|Radius|Gain/i.test(path);
    const factors = direction === "up" ? [1.25, 0.75] : [0.75, 1.25];
    for (const factor of factors) {
      let next: number = current === 0 ? (factor > 1 ? 0.25 : -0.25) : current * factor;
      if (integer) {
        next = Math.round(next);
        if (next === current) next = current + (factor > 1 ? 1 : -1);
      }
      candidates.push(next);
    }
  } else if (typeof current === "boolean") {
    candidates.push(!current);
  } else if (typeof current === "string") {
    candidates.push(`${current} probealtered`);
  } else if (current === undefined) {
    candidates.push(1_000); // an optional budget limit the built-in leaves unset
  } else if (Array.isArray(current) && current.every((item) => typeof item === "string")) {
    candidates.push(["zzprobealtered"]);
  }
  for (const value of candidates) {
    const next = setPath(profile, path, value);
    if (profileSchema.safeParse(next).success) return { value, profile: next };
  }
  throw new Error(`no valid generic perturbation of ${path} (${JSON.stringify(current)})`);
}

// --- the environment of a scenario -------------------------------------------

/** What a scenario works with. */
export interface Env {
  host: TestHost;
  fake: FakeLlm;
  /** The built-in's resolved values: scenarios size their inputs from them, never from the perturbed profile. */
  base: Profile;
  /** Restarts the host on the same data with the clock at `start` (no timers fire in between). */
  reopen(start: number): Promise<TestHost>;
}

/** A scenario: fake scripts, optional plugins, a run that returns named observations. */
export interface Scenario {
  script?: (base: Profile) => Parameters<FakeLlm["script"]>[0];
  /** Extra host options (plugins replacing built-ins), made for the built-in's values. */
  plugins?: (base: Profile) => NonNullable<NonNullable<Parameters<typeof mindHost>[1]>["plugins"]>;
  run(env: Env): Promise<Record<string, unknown>>;
}

const replies = (fake: FakeLlm) =>
  chatRequests(fake).filter((request) => request.headers["x-synth-purpose"] === "reply");
const byPurpose = (fake: FakeLlm, purpose: string) =>
  chatRequests(fake).filter((request) => request.headers["x-synth-purpose"] === purpose);

interface Body {
  messages?: Array<{ role: string; content: string }>;
  temperature?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
}

/** System prompt, temperature, max tokens and message count of a request the fake received. */
export function requestFacts(request: RecordedRequest | undefined): {
  system: string;
  temperature: number | null;
  maxTokens: number | null;
  messages: number;
  user: string;
} {
  const body = (request?.body ?? {}) as Body;
  return {
    system: body.messages?.filter((message) => message.role === "system")
      .map((message) => message.content).join("\n") ?? "",
    temperature: body.temperature ?? null,
    maxTokens: body.max_tokens ?? body.max_completion_tokens ?? null,
    messages: (body.messages ?? []).filter((message) => message.role !== "system").length,
    user: body.messages?.filter((message) => message.role === "user").at(-1)?.content ?? "",
  };
}

async function turn(host: TestHost, text: string, threadId?: string | null) {
  const result = await chat(host, text, threadId);
  if (result.status !== 200) {
    throw new Error(`chat: ${result.status} ${JSON.stringify(result.body)}`);
  }
  await host.kernel.mind.scheduler.idle();
  const turnId = result.body.turn_id as string;
  const influence = (await host.kernel.mind.influence(turnId))!.record;
  return {
    threadId: result.body.thread_id as string,
    turnId,
    response: String(result.body.response ?? ""),
    influence,
  };
}

type Influence = Awaited<ReturnType<typeof turn>>["influence"];

const impulsesOf = (influence: Influence) =>
  influence.impulses.map((item) => ({
    label: item.label,
    requested: item.requested,
    applied: item.applied,
  }));

async function events(host: TestHost, type: string) {
  const rows = await host.kernel.store.db.selectFrom("mind_events").select([
    "type",
    "data",
    "turn_id",
  ])
    .where("type", "like", type).orderBy("id").execute();
  return rows.map((row) => ({ type: row.type, data: JSON.parse(row.data) }));
}

async function state(host: TestHost): Promise<Record<string, unknown>> {
  return await (await host.request("/api/state")).json();
}

// --- scenarios -------------------------------------------------------------------

const NEUTRAL = "Tell me about the deployment pipeline for the web service.";
const WARM = "Thank you so much, this is wonderful and amazing, I love it!";
const FRUSTRATED = "No, that's wrong. This is terrible, awful and horrible.";
const OVERLOAD = "I don't understand, what do you mean?";
const FORECAST_TEXT = "How do I deploy the web service to the staging cluster?";

/** The dreaming plugin with a semantic embedder of scripted 4-dimensional vectors. */
function semanticDreaming(vectors: Record<string, number[]>) {
  return createDreamingPlugin({
    embedder: scriptedEmbedder({ quality: "semantic", dims: 4, vectors }),
  });
}

/** Every forecast call of a run answers these items (text, probability, intent). */
function forecasts(items: Array<[string, number, string]>) {
  return [{ reply: { text: forecastJson(items) }, times: 100 }];
}

/** Scripted forecast: the first item is the message the scenario then sends. */
function forecastJson(items: Array<[string, number, string]>): string {
  return JSON.stringify(
    items.map(([text, probability, intent]) => ({ text, probability, intent })),
  );
}

const REFLECTION = JSON.stringify({
  coherence: 0.8,
  alignment: 0.7,
  issues: ["I answered too long."],
  instructions: ["Keep answers short."],
  insight: "Short answers land better.",
  selfStatement: "I am learning to be brief.",
});

/** A hedged reply: about 2 hedges and 1 absolute per 100 tokens, a low confidence tag. */
function hedgedReply(confidence: number): string {
  const sentence =
    "The release pipeline builds the image, runs the tests and pushes the result to the registry.";
  const filler = Array.from({ length: 8 }, () => sentence).join(" "); // 8 × 16 = 128 tokens
  return `Maybe the cache is stale and perhaps a restart helps. It will definitely work. ${filler} <confidence>${confidence}</confidence>`;
}

export const SCENARIOS: Record<string, Scenario> = {
  /** One neutral turn: the persona and generation of its reply, and the mind's state after it. */
  persona: {
    script: () => ({ reply: [{ reply: { text: "Happy to help." }, times: 10 }] }),
    async run({ host, fake }) {
      const done = await turn(host, NEUTRAL);
      const request = requestFacts(replies(fake).at(-1));
      const snapshot = await state(host);
      const mind = snapshot.mind as Record<string, Record<string, unknown>>;
      const budgets = await (await host.request("/api/budgets")).json();
      return {
        system: request.system,
        temperature: request.temperature,
        maxTokens: request.maxTokens,
        profileId: mind.profile,
        baseline: host.kernel.mind.affect().baseline,
        nextPeriodic: mind.psyche_reflection?.next_periodic_in,
        calibration: mind.psyche_calibration,
        budgets: budgets.items,
        uPost: done.influence.assurance.uPost,
      };
    },
  },

  /** One warm turn: sentiment impulses, their caps, and the temperature the arousal gives. */
  warm: {
    async run({ host, fake }) {
      const done = await turn(host, WARM);
      return {
        impulses: impulsesOf(done.influence),
        temperature: requestFacts(replies(fake).at(-1)).temperature,
      };
    },
  },

  /** A tool call the model gets wrong (invalid arguments): the outcome.tool_failure impulse. */
  tool_failure: {
    script: () => ({
      reply: [{ reply: { toolCalls: [{ name: "calculator", args: { formula: "1+1" } }] } }],
      tool_loop: [{ reply: { text: "Sorry, that did not work." } }],
    }),
    plugins: () => [calculatorTool],
    async run({ host }) {
      const done = await turn(host, NEUTRAL);
      return {
        impulses: impulsesOf(done.influence).filter((item) =>
          item.label === "outcome.tool_failure"
        ),
      };
    },
  },

  /** A four-task project run to its end: the last task's milestone and the completed exit (outcome.project). */
  project: {
    script: () => ({
      clarify: [
        answer({ acknowledgment: "Nice.", questions: ["Which language?"], uncertainties: [] }),
      ],
      plan: [answer(planOf(4))],
      execute: Array.from(
        { length: 4 },
        () =>
          answer({
            output: "Done.",
            explanation: "",
            questions: [],
            taskProgress: 1,
            blockers: [],
          }),
      ),
    }),
    async run({ host }) {
      const created = await api(host, "POST", "/api/projects", { description: "Build a greeter" });
      const id = created.body.project.id as string;
      await turnEnd(host, created.body.turn.turn_id);
      const inputs = [{ text: "TypeScript" }, { text: "yes" }, { intent: "continue", steps: 4 }];
      for (const body of inputs) {
        const accepted = await api(host, "POST", `/api/projects/${id}/input`, body);
        await turnEnd(host, accepted.body.turn_id);
      }
      await host.kernel.mind.settled();
      const outcomes = (await events(host, "affect.impulse")).filter((event) =>
        event.data.label === "outcome.project"
      );
      return {
        outcomes: outcomes.map((event) => [event.data.reason, event.data.requested]).toSorted(),
      };
    },
  },

  /** Six failing tool calls in one reply: six tool concerns, the oldest past the limit superseded. */
  concernLimit: {
    script: () => ({
      reply: [{
        reply: {
          toolCalls: Array.from({ length: 6 }, (_, i) => ({
            name: "calculator",
            args: { formula: `${i} + 1` },
          })),
        },
      }],
      tool_loop: [{ reply: { text: "None of those worked." } }],
    }),
    plugins: () => [calculatorTool],
    async run({ host }) {
      await turn(host, NEUTRAL);
      const rows = await host.kernel.store.db.selectFrom("psyche_assurance_concerns")
        .select(["kind", "status"]).execute();
      return {
        statuses: rows.map((row) => `${row.kind}:${row.status}`).toSorted(),
      };
    },
  },

  /** A sentiment override: "error", "failed", "bug" are neutral unless the profile says otherwise. */
  overrides: {
    async run({ host }) {
      const done = await turn(host, "The deploy failed with an error and a fatal bug.");
      return { impulses: impulsesOf(done.influence) };
    },
  },

  /**
   * Frustrated turns one minute apart: correction and sentiment impulses,
   * the turn cap, and the distress reflections they trigger.
   */
  frustration: {
    script: () => ({ reflection: [{ reply: { text: REFLECTION }, times: 100 }] }),
    async run({ host }) {
      const turns = [];
      let threadId: string | undefined;
      for (let i = 0; i < 8; i++) {
        if (i > 0) await host.clock.tick(60_000);
        const done = await turn(host, FRUSTRATED, threadId);
        threadId = done.threadId;
        turns.push({
          impulses: impulsesOf(done.influence),
          delta: ["p", "a", "d"].map((dim) =>
            (done.influence.stateAfter as unknown as Record<string, number>)[dim]! -
            (done.influence.stateBefore as unknown as Record<string, number>)[dim]!
          ),
        });
      }
      const runs = await host.kernel.store.db.selectFrom("psyche_reflection_runs")
        .select(["turn_id", "primary_trigger", "triggers"]).orderBy("at").orderBy("id").execute();
      return {
        first: turns[0],
        turns,
        reflections: runs.map((run) => [run.turn_id, run.primary_trigger, run.triggers]),
      };
    },
  },

  /** One frustrated turn, then affect read after 2, 10 and 30 minutes of decay. */
  decay: {
    async run({ host }) {
      await turn(host, FRUSTRATED);
      const series = [];
      for (const minutes of [2, 8, 20]) {
        await host.clock.tick(minutes * 60_000);
        const affect = host.kernel.mind.affect();
        series.push({ p: affect.p, a: affect.a, d: affect.d });
      }
      return {
        p: series.map((item) => item.p),
        a: series.map((item) => item.a),
        d: series.map((item) => item.d),
      };
    },
  },

  /** `/feedback bad` on a reply: the feedback impulse. */
  feedback: {
    async run({ host }) {
      const done = await turn(host, NEUTRAL);
      await chat(host, "/feedback bad", done.threadId);
      const found = await events(host, "affect.impulse");
      return {
        feedback: found.filter((event) => event.data.label === "appraisal.feedback")
          .map((event) => event.data.requested),
      };
    },
  },

  /**
   * Clarify: "fix it" as a first message, a neutral turn, then an ambiguous
   * message within the cooldown, then a vague one.
   */
  clarify: {
    async run({ host, fake }) {
      const first = await turn(host, "fix it");
      const second = await turn(host, NEUTRAL, first.threadId);
      const third = await turn(host, "last time stuff", first.threadId);
      const vague = await turn(host, "do something with the stuff somehow");
      return {
        first: { policy: first.influence.assurance.policy, impulses: impulsesOf(first.influence) },
        policies: [first, second, third].map((item) => item.influence.assurance.policy?.mode),
        vague: vague.influence.assurance.policy,
        system: requestFacts(replies(fake)[0]).system,
      };
    },
  },

  /**
   * One thread of replies with falling confidence and a hedge/absolute mix:
   * post-assessment signals, uPost, caveats, concerns and their lifecycle.
   */
  uncertain: {
    script: () => ({
      reply: [0.9, 0.6, 0.4, 0.2, 0.0, 0.0].map((confidence) => ({
        reply: { text: hedgedReply(confidence) },
      })),
    }),
    async run({ host }) {
      const out = [];
      let threadId: string | undefined;
      for (let i = 0; i < 6; i++) {
        const done = await turn(host, `${NEUTRAL} Step ${i + 1}.`, threadId);
        threadId = done.threadId;
        out.push({
          uPost: done.influence.assurance.uPost,
          signals: done.influence.assurance.signals,
          caveat: done.influence.replyPolicy.caveat,
          response: done.response,
          impulses: impulsesOf(done.influence),
        });
      }
      const concerns = await host.kernel.store.db.selectFrom("psyche_assurance_concerns")
        .select(["status", "kind"]).orderBy("opened_at").orderBy("id").execute();
      return {
        turns: out,
        uPost: out.map((item) => item.uPost),
        signals: out.map((item) => item.signals),
        caveats: out.map((item) => item.caveat),
        responses: out.map((item) => item.response),
        concernImpulses: out.map((item) =>
          item.impulses.filter((impulse) => impulse.label === "assurance.concern")
        ),
        concerns: concerns.map((row) => `${row.kind}:${row.status}`),
      };
    },
  },

  /** Samples and calibration scores: a hedged reply, then confirmations. */
  samples: {
    script: () => ({ reply: [{ reply: { text: hedgedReply(0.3) }, times: 100 }] }),
    async run({ host }) {
      let threadId: string | undefined;
      const scores = [];
      for (let i = 0; i < 17; i++) {
        const done = await turn(host, i === 0 ? NEUTRAL : "yes, exactly", threadId);
        threadId = done.threadId;
        const mind = (await state(host)).mind as Record<string, Record<string, unknown>>;
        scores.push(mind.psyche_assurance?.ece ?? null);
      }
      return { ece: scores };
    },
  },

  /** Overload then neutral turns: calibration outputs and what they do to the reply. */
  overload: {
    script: () => ({ reply: [{ reply: { text: "Let me explain it differently." }, times: 100 }] }),
    async run({ host, fake }) {
      let threadId: string | undefined;
      const calibration = [];
      const impulses = [];
      for (let i = 0; i < 10; i++) {
        const done = await turn(host, i < 6 ? OVERLOAD : NEUTRAL, threadId);
        threadId = done.threadId;
        calibration.push(done.influence.calibration);
        impulses.push(
          impulsesOf(done.influence).filter((item) => item.label === "calibration.transition"),
        );
      }
      const requests = replies(fake).map(requestFacts);
      return {
        calibration,
        ema: calibration.map((item) => item.ema),
        outputs: calibration.map((item) => item.outputs),
        transitions: impulses,
        temperatures: requests.map((item) => item.temperature),
        maxTokens: requests.map((item) => item.maxTokens),
        systems: requests.map((item) => item.system),
      };
    },
  },

  /** An acknowledgement ("ok"): boredom evidence. */
  ack: {
    async run({ host }) {
      const first = await turn(host, NEUTRAL);
      const done = await turn(host, "ok", first.threadId);
      return { ema: done.influence.calibration.ema };
    },
  },

  /** Lexical forecasts: three turns, then a message equal to the top forecast. */
  forecast: {
    script: () => ({
      forecast: forecasts([
        [FORECAST_TEXT, 0.8, "question"],
        ["Thanks, that helps a lot.", 0.15, "thank"],
        ["That is wrong.", 0.05, "correct"],
        ["Something else entirely.", 0.01, "other"],
      ]),
    }),
    async run({ host, fake }) {
      let threadId: string | undefined;
      for (const text of [NEUTRAL, "Which registry do we push to?", "And the tests run where?"]) {
        threadId = (await turn(host, text, threadId)).threadId;
      }
      const forecast = requestFacts(byPurpose(fake, "forecast").at(-1));
      const done = await turn(host, FORECAST_TEXT, threadId);
      const resolved = (await events(host, "forecast.resolved")).at(-1)?.data;
      return {
        forecastSystem: forecast.system,
        forecastTemperature: forecast.temperature,
        forecastMessages: forecast.messages,
        resolved: resolved
          ? { alignment: resolved.alignment, surprise: resolved.surprise, weight: resolved.weight }
          : null,
        items: resolved?.items?.length ?? null,
        impulses: impulsesOf(done.influence).filter((item) => item.label.startsWith("dreaming.")),
      };
    },
  },

  /** 22 resolved forecast sets: how many of them the accuracy counts. */
  accuracy: {
    script: () => ({
      forecast: forecasts([
        [FORECAST_TEXT, 0.6, "question"],
        ["Thanks, that helps a lot.", 0.4, "thank"],
      ]),
    }),
    async run({ host }) {
      let threadId: string | undefined;
      for (let i = 0; i < 23; i++) {
        threadId = (await turn(host, `${NEUTRAL} Part ${i}.`, threadId)).threadId;
      }
      const mind = (await state(host)).mind as Record<string, Record<string, unknown>>;
      const accuracy = mind.psyche_dreaming as Record<string, { sets: number } | null>;
      return { sets: (accuracy.semantic ?? accuracy.lexical)?.sets ?? null };
    },
  },

  /** Drift from the narrative in small steps: when it begins, and its impulse. */
  driftMargin: driftScenario(1),

  /** Replies only 0.2 similar to the narrative from the start: the floor decides the onset. */
  driftFloor: driftScenario(0.2),

  /**
   * Prefetch: each turn's forecast has three items (p 0.45, 0.28, 0.27) with a memory each; the
   * next message matches the first at 0.8, then the second, then the third, exactly. Which
   * memories join the turns as prefetched.
   */
  prefetch: {
    plugins: () => [semanticDreaming({
      [PREFETCH_ITEMS[0]]: [1, 0, 0, 0],
      [PREFETCH_ITEMS[1]]: [0, 0, 1, 0],
      [PREFETCH_ITEMS[2]]: [0, 0, 0, 1],
      "ship it how": [0.8, 0.6, 0, 0],
      "the copies of our data, where": [0, 0, 1, 0],
      "the money screen person": [0, 0, 0, 1],
    })],
    script: () => ({
      forecast: forecasts([
        [PREFETCH_ITEMS[0], 0.45, "question"],
        [PREFETCH_ITEMS[1], 0.28, "question"],
        [PREFETCH_ITEMS[2], 0.27, "question"],
      ]),
    }),
    async run({ host }) {
      const memory = host.api<MemoryApi>("memory");
      const uids: string[] = [];
      for (
        const text of [
          "Deploys run from the ops deploy script on the bastion.",
          "Database backups are kept in the cold storage bucket.",
          "The billing dashboard is owned by the finance team.",
        ]
      ) {
        const { uid } = await memory.semantic.add({
          ownerUserId: "local",
          text,
          importance: 0.8,
          source: "user",
        });
        uids.push(uid);
      }
      await memory.flushEmbeddings();
      let threadId = (await turn(host, "Let us go through operations.")).threadId;
      const prefetched = [];
      for (
        const text of ["ship it how", "the copies of our data, where", "the money screen person"]
      ) {
        const done = await turn(host, text, threadId);
        threadId = done.threadId;
        prefetched.push(
          done.influence.memories.filter((item) => item.source === "prefetch")
            .map((item) => uids.indexOf(item.memoryId)),
        );
      }
      return { prefetched };
    },
  },

  /** Semantic forecasts (scripted vectors): a message 0.45 similar to the top item. */
  forecastSemantic: {
    plugins: () => [semanticDreaming({
      [FORECAST_TEXT]: [1, 0, 0, 0],
      "Thanks, that helps a lot.": [0, 1, 0, 0],
      "That is wrong.": [0, 0, 1, 0],
      "What about the database migrations then?": [0.45, 0, 0, Math.sqrt(1 - 0.45 ** 2)],
    })],
    script: () => ({
      forecast: forecasts([
        [FORECAST_TEXT, 0.7, "question"],
        ["Thanks, that helps a lot.", 0.2, "thank"],
        ["That is wrong.", 0.1, "correct"],
      ]),
      reply: [{ reply: { text: hedgedReply(0.5) }, times: 10 }],
    }),
    async run({ host, fake }) {
      const first = await turn(host, NEUTRAL);
      const done = await turn(host, "What about the database migrations then?", first.threadId);
      return {
        system: requestFacts(replies(fake).at(-1)).system,
        uPost: done.influence.assurance.uPost,
      };
    },
  },

  /** A forecast that waits most of its allowed age before the next message. */
  forecastAge: {
    script: () => ({
      forecast: [{
        reply: { text: forecastJson([[FORECAST_TEXT, 0.8, "question"], ["Ok.", 0.2, "other"]]) },
        times: 100,
      }],
    }),
    async run({ host, base, reopen }) {
      const first = await turn(host, NEUTRAL);
      const later = await reopen(
        host.clock.now() + Math.round(base.dreaming.maxAgeHours * 0.9 * 3_600_000),
      );
      await turn(later, FORECAST_TEXT, first.threadId);
      return { outcome: (await events(later, "forecast.%")).map((event) => event.type) };
    },
  },

  /** Reflections: a long thread, `/reflect` twice, then two more turns. */
  reflection: {
    script: () => ({
      reflection: [{ reply: { text: REFLECTION }, times: 100 }],
      narrative: [
        { reply: { text: "I am Synth. I help people." } },
        {
          reply: {
            text: Array.from(
              { length: 6 },
              (_, i) =>
                `I enjoy painting landscapes number ${i} with bright colours on quiet mornings by the sea.`,
            ).join(" "),
          },
        },
      ],
    }),
    async run({ host, fake }) {
      let threadId: string | undefined;
      for (let i = 0; i < 13; i++) {
        threadId = (await turn(host, `${NEUTRAL} Part ${i + 1}.`, threadId)).threadId;
      }
      await chat(host, "/reflect", threadId);
      await host.kernel.mind.scheduler.idle();
      await chat(host, "/reflect", threadId);
      await host.kernel.mind.scheduler.idle();
      const reflection = requestFacts(byPurpose(fake, "reflection").at(0));
      const narrative = requestFacts(byPurpose(fake, "narrative").at(0));
      const impulses = (await events(host, "affect.impulse")).filter((event) =>
        event.data.label === "reflection.issues"
      ).map((event) => event.data.requested);
      const rejected = (await events(host, "narrative.rejected")).map((event) => event.data.reason);
      const active = [];
      for (let i = 0; i < 6; i++) {
        await turn(host, `${NEUTRAL} More ${i}.`, threadId);
        const mind = (await state(host)).mind as Record<string, Record<string, unknown>>;
        const instructions = mind.psyche_reflection?.active_instructions as
          | { turns_left?: number }
          | null;
        active.push(instructions?.turns_left ?? null);
      }
      return {
        reflectionMessages: reflection.messages,
        narrativeRequest: narrative.user,
        impulses,
        rejected,
        active,
      };
    },
  },

  /** Sessions: a neutral session, then a mildly positive one, each closed by idleness. */
  sessions: {
    script: () => ({
      session_summary: [{ reply: { text: "We talked about releases." }, times: 10 }],
    }),
    async run({ host, fake, base }) {
      const idle = Math.round(base.purpose.sessionIdleMinutes * 1.1 * 60_000);
      let threadId: string | undefined;
      for (let i = 0; i < 3; i++) {
        threadId = (await turn(host, `${NEUTRAL} Item ${i}.`, threadId)).threadId;
      }
      await host.clock.tick(idle);
      await host.kernel.mind.scheduler.idle();
      const closedEarly = await host.kernel.store.db.selectFrom("psyche_purpose_sessions")
        .select(["ended_at"]).execute();
      for (let i = 0; i < 3; i++) {
        threadId = (await turn(host, "I agree with the plan.", threadId)).threadId;
      }
      await host.clock.tick(idle + 10 * 60_000);
      await host.kernel.mind.scheduler.idle();
      const sessions = await host.kernel.store.db.selectFrom("psyche_purpose_sessions")
        .select(["ended_at", "growth_delta"]).orderBy("started_at").execute();
      const milestones = await host.kernel.store.db.selectFrom("psyche_purpose_milestones")
        .select(["kind"]).orderBy("at").execute();
      return {
        closedEarly: closedEarly.map((row) => row.ended_at),
        endedAt: sessions.map((row) => row.ended_at),
        summaries: byPurpose(fake, "session_summary").length,
        milestones: milestones.map((row) => row.kind),
      };
    },
  },
};

/**
 * A plugin that, in each turn's last contributing stage, asks for the impulse that takes affect to
 * the origin: from there the decay back to baseline passes every intensity below the baseline's.
 */
const towardOrigin: Plugin<unknown, void> = definePlugin({
  manifest: { id: "probe_origin", version: "1.0.0", isolation: "in_process" },
  setup(ctx) {
    ctx.hooks.on(MIND_HOOKS.calibrate, (view) => ({
      impulses: [{
        label: "probe.origin",
        dp: -view.affect.p,
        da: -view.affect.a,
        dd: -view.affect.d,
        reason: "probe: toward the origin",
      }],
    }));
  },
});

/** What {@link idleProbe} saw. */
interface IdleProbeApi {
  /** `idleMs` of every `mind.tick`. */
  ticks: number[];
}

/**
 * A plugin whose ticks are recorded, and whose first tick at least `jobAtIdleMs` after the last
 * activity queues one LLM job (as a tick-driven module would): the job meets the idle stop.
 */
function idleProbe(jobAtIdleMs: number): Plugin<unknown, IdleProbeApi> {
  return definePlugin({
    manifest: { id: "probe_idle", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      const ticks: number[] = [];
      let queued = false;
      ctx.hooks.on(MIND_HOOKS.tick, ({ idleMs }): BackgroundJob[] => {
        ticks.push(idleMs);
        if (queued || idleMs < jobAtIdleMs) return [];
        queued = true;
        return [{
          module: "probe_idle",
          kind: "probe",
          priority: 5,
          async run(job) {
            await job.llm.complete({
              purpose: "social_topic",
              role: "background",
              messages: [{ role: "user", content: "One abstract topic, please." }],
            });
            return { note: "asked" };
          },
        }];
      });
      return { ticks };
    },
  });
}

const MINUTE = 60_000;

/** Idle-dependent scenarios, appended to {@link SCENARIOS}. */
const IDLE_SCENARIOS: Record<string, Scenario> = {
  /**
   * Affect steered to the origin, then the mood shown each minute of the decay back to baseline:
   * intensity rises through every value below the baseline's, so the neutral radius shows.
   */
  mood: {
    plugins: () => [towardOrigin],
    async run({ host }) {
      for (let i = 0; i < 3; i++) await turn(host, NEUTRAL); // a new thread each: no forecast
      const moods = [];
      for (let minute = 1; minute <= 40; minute++) {
        await host.clock.tick(MINUTE);
        moods.push(((await state(host)).mood_tags as string[])[0]);
      }
      return { moods };
    },
  },

  /**
   * One turn, then 90 minutes minute by minute: when `mind.tick` fires (its back-off, capped at
   * 5 minutes before the idle stop and at maxTickSeconds after it), and the fate of one LLM job
   * queued by a tick 5 % after the idle stop.
   */
  idle: {
    plugins: (base) => [idleProbe(base.background.idleStopMinutes * 1.05 * MINUTE)],
    async run({ host }) {
      await turn(host, NEUTRAL);
      for (let minute = 0; minute < 90; minute++) {
        await host.clock.tick(MINUTE);
        await host.kernel.mind.ticked();
        await host.kernel.mind.scheduler.idle();
      }
      const jobs = await host.kernel.store.db.selectFrom("mind_jobs").select(["status", "reason"])
        .where("module", "=", "probe_idle").execute();
      const calls = await host.kernel.llm.ledger.list({ limit: 10, module: "probe_idle" });
      return {
        ticks: [...host.api<IdleProbeApi>("probe_idle").ticks],
        idleJob: { jobs: jobs.map((job) => [job.status, job.reason]), calls: calls.items.length },
      };
    },
  },
};
Object.assign(SCENARIOS, IDLE_SCENARIOS);

/** Scenarios keyed `intent:<message>`: the appraised intent, seen as the forecast's intent hit. */
export function intentScenario(
  message: string,
  intent: string,
  others: [string, string],
): Scenario {
  return {
    script: () => ({
      forecast: forecasts([
        ["A first guess at the next message.", 0.4, intent],
        ["A second guess at the next message.", 0.3, others[0]],
        ["A third guess at the next message.", 0.3, others[1]],
      ]),
    }),
    async run({ host }) {
      const first = await turn(host, NEUTRAL);
      await turn(host, message, first.threadId);
      const resolved = (await events(host, "forecast.resolved")).at(-1)?.data;
      return { intentHit: resolved?.intent_hit ?? null };
    },
  };
}

/** The forecast items of the prefetch scenario, each recalling one memory by its words. */
const PREFETCH_ITEMS = [
  "How do I deploy the service?",
  "Where are the database backups kept?",
  "Who owns the billing dashboard?",
] as const;

/**
 * 25 replies `start` similar to the narrative, then replies 0.05 less similar each (scripted
 * vectors, a semantic embedder): the turn drift begins at, and the drift impulse.
 */
function driftScenario(start: number): Scenario {
  const replyAt = (i: number) => `Reply number ${i}.`;
  const similarity = (i: number) => Math.max(0, i < 25 ? start : start - 0.05 * (i - 24));
  const vectorOf = (sim: number) => [sim, Math.sqrt(1 - sim ** 2), 0, 0];
  const TURNS = 45;
  return {
    plugins: (base) => {
      const vectors: Record<string, number[]> = { [base.identity.narrative]: [1, 0, 0, 0] };
      for (let i = 0; i < TURNS; i++) vectors[replyAt(i)] = vectorOf(similarity(i));
      const embedder = scriptedEmbedder({ quality: "semantic", dims: 4, vectors });
      return [createPurposePlugin({ embedder }), createDreamingPlugin({ embedder })];
    },
    script: () => ({
      reply: Array.from({ length: TURNS }, (_, i) => ({ reply: { text: replyAt(i) } })),
    }),
    async run({ host }) {
      let threadId: string | undefined;
      for (let i = 0; i < TURNS; i++) {
        const done = await turn(host, `Question ${i}`, threadId);
        threadId = done.threadId;
        const drift = impulsesOf(done.influence).filter((item) => item.label === "purpose.drift");
        if (drift.length > 0) return { onset: i, impulses: drift };
      }
      return { onset: null, impulses: [] };
    },
  };
}

// --- running ---------------------------------------------------------------------

let dirCount = 0;

/** Runs a scenario on a host whose profile is `profile` (written as a file under data/.test). */
export async function runScenario(
  scenario: Scenario,
  base: Profile,
  raw: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  await Deno.mkdir("data/.test", { recursive: true });
  const dir = await Deno.makeTempDir({ dir: "data/.test", prefix: `profile-${++dirCount}-` });
  try {
    // JSON is YAML: the loader parses it with the `yaml` package like any profile.
    await Deno.writeTextFile(`${dir}/probe.yaml`, JSON.stringify(raw, null, 2));
    await using fake = await startFakeLlm();
    if (scenario.script) fake.script(scenario.script(base));
    const open = (start?: number) =>
      mindHost(fake, {
        dataDir: `${dir}/data`,
        ...(start !== undefined ? { clock: new FakeClock({ start }) } : {}),
        config: { mind: { profile: String(raw.id), profilesDir: dir } },
        ...(scenario.plugins ? { plugins: scenario.plugins(base) } : {}),
      });
    let host = await open();
    try {
      return await scenario.run({
        host,
        fake,
        base,
        reopen: async (start) => {
          await host.close();
          return host = await open(start);
        },
      });
    } finally {
      await host.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
