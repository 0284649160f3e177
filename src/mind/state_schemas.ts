/**
 * The shapes of the mind's state and influence routes for the OpenAPI
 * document: `SystemState` (`GET /api/state`, spec/server.md §4.3, the
 * earlier project's keys kept), a thread's state (`GET
 * /api/threads/{id}/state`) and the influence record (`GET
 * /api/turns/{id}/influence`, spec/mind.md §14), as `system_state.ts`,
 * the plugins' `mind.state` hooks and `influence.ts` build them.
 *
 * The state records are keyed by plugin id: the built-in plugins' keys are
 * listed, and any other loaded plugin may add its own record under its id.
 *
 * @module
 */
import { z } from "zod";
import { MOODS } from "./affect.ts";

const PAD = z.strictObject({ p: z.number(), a: z.number(), d: z.number() });
const DELTA = z.strictObject({ dp: z.number(), da: z.number(), dd: z.number() });
const FLOW = z.enum(["bored", "flow", "overloaded"]);

/** `AffectSnapshot` (affect.ts) with snake_case keys; `updated_at` as `time` says. */
function affectSnapshot(time: z.ZodType, note: string) {
  return z.strictObject({
    p: z.number().describe("Pleasure, -1 to 1"),
    a: z.number().describe("Arousal, -1 to 1"),
    d: z.number().describe("Dominance, -1 to 1"),
    updated_at: time.describe(note),
    baseline: PAD.describe("Where affect decays back to (the profile's)"),
    mood: z.enum(MOODS),
    intensity: z.number().describe("‖(p, a, d)‖ / √3"),
  });
}

/** What a plugin's record is when its state hook failed. */
const HOOK_FAILED = z.strictObject({ error: z.string() })
  .describe("The plugin's state hook failed: its message");
/** A plugin's record, or the hook's failure. */
const orFailed = <T extends z.ZodType>(record: T, description: string) =>
  z.union([record, HOOK_FAILED]).optional().describe(
    `${description} (present when the plugin is loaded)`,
  );
/** A record whose listed keys are known; the plugin may add others. */
const record = <T extends z.ZodRawShape>(shape: T) => z.object(shape).catchall(z.unknown());

/** How a forecast set compared with the message that came (`psyche_dreaming`'s records). */
export const FORECAST_RESOLUTION = z.strictObject({
  turn_id: z.string(),
  alignment: z.number(),
  surprise: z.number(),
  best: z.number().int(),
  intent_hit: z.boolean(),
});
/** One forecast of a set: the text, its probability, intent and similarity to what came. */
export const FORECAST_ITEM = z.strictObject({
  text: z.string(),
  p: z.number(),
  intent: z.string(),
  sim: z.number().nullable(),
});
/** Forecast accuracy over the newest resolved sets of one embedder quality, or null without any. */
export const FORECAST_ACCURACY = z.strictObject({
  sets: z.number().int(),
  alignment: z.number(),
  surprise: z.number(),
  intent_hit_rate: z.number(),
}).nullable();
const RESOLUTION = FORECAST_RESOLUTION.extend({ set_id: z.string() });
const ACCURACY = FORECAST_ACCURACY;

/** The mind scope (`mind.state("mind")`), snake_case. */
const MIND_SCOPE = z.object({
  profile: z.string().describe("The profile's id"),
  affect: affectSnapshot(z.number(), "Epoch ms"),
  queue: z.number().int().describe("Turns waiting"),
  background: z.strictObject({ pending: z.number().int() }).describe("Background jobs waiting"),
  psyche_dreaming: orFailed(
    record({
      embedder: z.enum(["semantic", "lexical"]),
      note: z.string().optional().describe("Why lexical scores are rough"),
      semantic: ACCURACY,
      lexical: ACCURACY,
      counts: z.record(z.string(), z.number().int()).describe(
        "The newest forecast sets by status",
      ),
      parse_failure_rate: z.number().nullable(),
    }),
    "Forecast accuracy over the newest resolved sets",
  ),
  psyche_calibration: orFailed(
    record({
      state: FLOW,
      ema: z.number().nullable(),
      reward: z.number().nullable(),
      outputs: z.record(z.string(), z.number()).nullable().describe(
        "temperature_offset, verbosity, question_rate; null before the first update",
      ),
    }),
    "Difficulty calibration",
  ),
  psyche_assurance: orFailed(
    record({
      ece: z.number().nullable(),
      brier: z.number().nullable(),
      samples: z.number().int(),
      reliability: z.array(z.strictObject({
        n: z.number().int(),
        confidence: z.number().nullable(),
        accuracy: z.number().nullable(),
      })).nullable().describe(
        "Ten confidence bins: samples, mean predicted confidence, observed accuracy (null below the minimum samples)",
      ),
      ece_concerns: z.number().nullable(),
      brier_concerns: z.number().nullable(),
      concern_precision: z.number().nullable(),
      tag_missing_rate: z.number().nullable(),
      open_concerns: z.number().int(),
      last_u_post: z.number().nullable(),
    }),
    "Confidence calibration scores and open concerns",
  ),
  psyche_reflection: orFailed(
    record({
      runs: z.number().int(),
      failure_rate: z.number().nullable(),
      insights: z.number().int(),
      last: record({ id: z.string(), at: z.iso.datetime(), coherence: z.number() }).nullable()
        .describe("The last reflection that finished, with its output"),
      next_periodic_in: z.number().int().describe("Turns until the next periodic reflection"),
      active_instructions: z.strictObject({
        reflection_id: z.string(),
        trigger: z.string(),
        instructions: z.array(z.string()),
        turns_left: z.number().int(),
      }).nullable().describe("The last reflection's instructions while they are in force"),
    }),
    "Reflections",
  ),
  psyche_purpose: orFailed(
    record({
      narrative: record({
        version: z.number().int(),
        text: z.string(),
        words: z.number().int(),
      }),
      milestones: z.array(z.record(z.string(), z.unknown())).describe("The latest 5"),
      drift: record({ available: z.boolean() }),
      growth: z.strictObject({ last: z.number().nullable(), delta: z.number().nullable() }),
      sessions_completed: z.number().int(),
    }),
    "The narrative, milestones, drift and growth",
  ),
}).catchall(z.unknown()).describe(
  "The whole mind scope: the profile, affect, queue and each plugin's record under its id (the built-in ones listed; another plugin's record may appear under its id)",
);

/** What each plugin keeps for one thread (`mind.state("thread")`), snake_case. */
const THREAD_SCOPE = {
  psyche_dreaming: orFailed(
    z.strictObject({
      pending: z.strictObject({
        id: z.string(),
        items: z.array(FORECAST_ITEM),
      }).nullable().describe("The forecast of the user's next message, while it waits"),
      latest_status: z.string().optional().describe("The newest forecast set's status"),
      last_resolution: RESOLUTION.nullable().describe("How the last forecast compared"),
    }),
    "Forecasts of the user's next message",
  ),
  psyche_calibration: orFailed(
    z.strictObject({
      recent_sentiments: z.array(z.number()).describe("The user's last messages, newest last"),
      recent_latencies_ms: z.array(z.number()).describe("Reply → user latencies, newest last"),
    }),
    "The evidence calibration reads",
  ),
  psyche_assurance: orFailed(
    z.strictObject({
      open_concerns: z.array(
        record({
          id: z.string(),
          thread_id: z.string(),
          turn_id: z.string(),
          kind: z.string(),
          u: z.number(),
          status: z.string(),
          opened_at: z.iso.datetime(),
        }),
      ).describe("Concerns, as GET /api/concerns/{id} shows them"),
    }),
    "Open concerns about earlier replies",
  ),
  gdil: orFailed(
    z.strictObject({
      project: z.strictObject({
        id: z.string(),
        name: z.string(),
        phase: z.string(),
        progress: z.number(),
      }),
      current_subtask: z.string().nullable(),
    }),
    "The thread's focused project (absent when none)",
  ),
};

/** `GET /api/threads/{id}/state`. */
export const THREAD_STATE = z.object({ thread_id: z.string(), ...THREAD_SCOPE })
  .catchall(z.unknown()).describe(
    "Each plugin's record for this thread under its id (the built-in ones listed; another plugin's record may appear under its id)",
  );

/** `SystemState` (spec/server.md §4.3): the earlier project's keys, then `state_version`, `mind`. */
export const SYSTEM_STATE = z.strictObject({
  timestamp: z.iso.datetime(),
  turn_count: z.number().int(),
  valence: z.number().describe("Affect's pleasure, -1 to 1"),
  mood_tags: z.array(z.enum(MOODS)).describe("The current mood"),
  dream_alignment: z.number().nullable().describe("The last scored forecast's accuracy"),
  dream_buffer_size: z.number().int(),
  dream_buffer: z.array(z.strictObject({ text: z.string(), probability: z.number() })).max(5)
    .describe("Pending forecasts of the caller's latest thread (≤ 5, ≤ 80 characters)"),
  difficulty: z.number(),
  flow_state: FLOW,
  temperature: z.number().describe("The reply temperature affect and calibration make now"),
  persistence: z.null().describe("Kept for the earlier project's clients; always null"),
  uncertainty: z.number().describe("The last reply's uncertainty"),
  pending_concerns: z.number().int(),
  assurance_success_rate: z.number().nullable(),
  coherence: z.number().nullable().describe("The last reflection's score"),
  next_reflection: z.number().nullable().describe("Turns until the next periodic reflection"),
  total_insights: z.number().int(),
  sessions_completed: z.number().int(),
  growth_delta: z.number(),
  narrative: z.string(),
  metrics: z.strictObject({
    predictive_alignment: z.number().nullable(),
    user_sentiment: z.number().nullable(),
  }),
  project: z.strictObject({
    id: z.string(),
    name: z.string(),
    phase: z.string(),
    progress: z.number(),
  }).nullable().describe("The focused project of the caller's latest thread"),
  current_subtask: z.string().nullable(),
  state_version: z.number().int(),
  mind: MIND_SCOPE,
});

/** `InfluenceRecord` (influence.ts) as the API shows it. */
export const INFLUENCE_RECORD = z.strictObject({
  turn_id: z.string(),
  thread_id: z.string(),
  seq: z.number().int(),
  degraded: z.array(z.string()).describe("Plugins whose hook failed or timed out in this turn"),
  sections: z.array(z.strictObject({
    id: z.string(),
    module: z.string(),
    key: z.string(),
    section: z.enum(["persona", "memory", "state", "instructions"]),
    priority: z.number(),
    reason: z.string().describe("Why the fragment was in the prompt"),
    chars: z.number().int(),
    tokens: z.number().int(),
    dropped: z.literal("budget").optional().describe("Left out: over the prompt's budget"),
  })).describe("The prompt's fragments"),
  memories: z.array(z.strictObject({
    memory_id: z.string(),
    kind: z.string(),
    score: z.number(),
    section_id: z.string(),
    source: z.enum(["recall", "prefetch"]),
    components: z.strictObject({
      vector: z.number().optional(),
      bm25: z.number().optional(),
      recency: z.number().optional(),
    }),
  })).describe("Memories recalled into the prompt"),
  state_before: affectSnapshot(z.iso.datetime(), "RFC 3339"),
  state_after: affectSnapshot(z.iso.datetime(), "RFC 3339"),
  impulses: z.array(z.strictObject({
    label: z.string(),
    source: z.string().describe("kernel or the plugin id"),
    reason: z.string(),
    requested: DELTA,
    applied: DELTA,
    before: PAD,
    after: PAD,
  })).describe("Changes of affect in this turn"),
  reply_policy: z.strictObject({
    tone: z.string(),
    caveat: z.boolean(),
    clarifying_question: z.boolean(),
  }),
  forecast: z.strictObject({
    status: z.enum(["resolved", "not_ready", "parse_failed", "expired", "none"]),
    set_id: z.string().optional(),
    alignment: z.number().optional(),
    surprise: z.number().optional(),
    items: z.array(z.strictObject({
      text: z.string(),
      p: z.number(),
      intent: z.string(),
      sim: z.number().nullable(),
    })).optional(),
  }).describe("How the forecast of this message compared"),
  assurance: z.strictObject({
    policy: z.strictObject({
      mode: z.enum(["proceed", "clarify"]),
      u_pre: z.number(),
      reasons: z.array(z.string()),
    }).nullable(),
    u_post: z.number().nullable(),
    signals: z.record(z.string(), z.number().nullable()),
    concern_opened: z.string().optional(),
    concerns_resolved: z.array(z.string()),
  }),
  calibration: z.strictObject({
    state: z.string(),
    ema: z.number().nullable(),
    reward: z.number().nullable(),
    outputs: z.record(z.string(), z.number()),
  }),
  generation: z.strictObject({
    model: z.string(),
    temperature: z.number().nullable(),
    temperature_note: z.string().optional().describe("Why the temperature is absent"),
    max_tokens: z.number().int(),
    components: z.strictObject({
      base: z.number(),
      affect: z.number(),
      calibration: z.number(),
      clamped: z.boolean(),
    }),
  }),
});
