/**
 * `GET /api/state` (spec/server.md §4.3 `SystemState`): the legacy keys
 * the original dashboard read, each computed from a real source — the
 * affect state, the plugins' mind-scope state records and the caller's
 * latest thread — and the whole mind scope under `mind`.
 *
 * @module
 */
import { clipText } from "../text.ts";
import type { AffectSnapshot } from "./affect.ts";
import { toSnakeCase } from "./influence.ts";
import type { Mind } from "./mind.ts";
import type { Profile } from "./profile.ts";

/** What {@link systemState} reads. */
export interface SystemStateInput {
  now: number;
  affect: AffectSnapshot;
  profile: Profile;
  turnCount: number;
  /** `mind.state("mind")`: plugin records keyed by plugin id. */
  mind: Record<string, unknown>;
  /** `mind.state("thread")` of the caller's latest thread, if any. */
  thread: Record<string, unknown> | null;
  queue: number;
  pendingJobs: number;
}

type Loose = Record<string, unknown> | undefined;

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}

/** The `SystemState` body (snake_case). */
export function systemState(input: SystemStateInput): Record<string, unknown> {
  const { affect, profile, mind } = input;
  const dreaming = mind.psyche_dreaming as Loose;
  const calibration = mind.psyche_calibration as Loose;
  const assurance = mind.psyche_assurance as Loose;
  const reflection = mind.psyche_reflection as Loose;
  const purpose = mind.psyche_purpose as Loose;
  const threadDreaming = input.thread?.psyche_dreaming as Loose;
  const threadCalibration = input.thread?.psyche_calibration as Loose;

  const accuracy = (dreaming?.semantic ?? dreaming?.lexical) as Loose;
  const pending = threadDreaming?.pending as
    | { items: Array<{ text: string; p: number }> }
    | null
    | undefined;
  const buffer = (pending?.items ?? []).slice(0, 5).map((item) => ({
    text: clipText(item.text, 80),
    probability: item.p,
  }));
  const outputs = calibration?.outputs as Loose;
  const [tLo, tHi] = profile.generation.temperatureBounds;
  const temperature = clamp(
    profile.generation.temperature +
      profile.affect.temperatureGain * (affect.a - profile.affect.baseline.a) +
      (num(outputs?.temperatureOffset) ?? 0),
    tLo,
    tHi,
  );
  const resolved = num(assurance?.concern_precision);
  const last = reflection?.last as Loose;
  const narrative = purpose?.narrative as Loose;
  const growth = purpose?.growth as Loose;
  const sentiments = threadCalibration?.recent_sentiments as number[] | undefined;
  const flow = calibration?.state;

  return {
    timestamp: new Date(input.now).toISOString(),
    turn_count: input.turnCount,
    valence: affect.p,
    mood_tags: [affect.mood],
    dream_alignment: num(
      threadDreaming?.last_resolution &&
        (threadDreaming.last_resolution as Loose)?.alignment,
    ) ?? num(accuracy?.alignment),
    dream_buffer_size: buffer.length,
    dream_buffer: buffer,
    difficulty: num(calibration?.ema) ?? 0.5,
    flow_state: flow === "bored" || flow === "overloaded" ? flow : "flow",
    temperature,
    // The earlier project computed it and nothing read it: kept as a key for its clients, null
    // (spec/server.md §4.1: synthetic values become real or null).
    persistence: null,
    uncertainty: num(assurance?.last_u_post) ?? 0,
    pending_concerns: num(assurance?.open_concerns) ?? 0,
    // Share of the replies it was unsure about that later evidence confirmed.
    assurance_success_rate: resolved === null ? null : 1 - resolved,
    coherence: num(last?.coherence),
    next_reflection: num(reflection?.next_periodic_in),
    total_insights: num(reflection?.insights) ?? 0,
    sessions_completed: num(purpose?.sessions_completed) ?? 0,
    growth_delta: num(growth?.delta) ?? 0,
    narrative: typeof narrative?.text === "string" ? narrative.text : "",
    metrics: {
      predictive_alignment: num(accuracy?.alignment),
      user_sentiment: sentiments?.length ? sentiments.at(-1)! : null,
    },
    // The caller's focused project in their latest thread (the gdil plugin's thread state).
    project: (input.thread?.gdil as { project?: unknown } | undefined)?.project ?? null,
    current_subtask:
      (input.thread?.gdil as { current_subtask?: unknown } | undefined)?.current_subtask ??
        null,
    state_version: input.turnCount,
    mind: toSnakeCase({
      profile: profile.id,
      affect,
      queue: input.queue,
      background: { pending: input.pendingJobs },
      ...Object.fromEntries(
        Object.entries(mind).filter(([key]) => !["affect", "profile", "turn_count"].includes(key)),
      ),
    }),
  };
}

/**
 * The `SystemState` now. With a user, their latest thread adds the pending
 * forecasts (`dream_buffer`); without one it is the mind scope only, the
 * same for everyone (WebSocket snapshots and deltas).
 */
export async function currentSystemState(
  mind: Mind,
  userId: string | null,
  cache?: MindStateCache,
): Promise<Record<string, unknown>> {
  const latest = userId === null ? null : await latestThreadId(mind, userId);
  return systemState({
    now: mind.clock.now(),
    affect: mind.affect(),
    profile: mind.profile,
    turnCount: mind.turnCount,
    mind: await (cache ? cache.get() : mind.state("mind")),
    thread: latest !== null && userId !== null
      ? await mind.state("thread", { threadId: latest, userId })
      : null,
    queue: mind.queueLength,
    pendingJobs: mind.scheduler.pending,
  });
}

/** The id of the user's thread with the newest activity, through the lean read when there is one. */
async function latestThreadId(mind: Mind, userId: string): Promise<string | null> {
  const port = mind.conversations;
  if (!port) return null;
  if (port.latestThreadId) return await port.latestThreadId(userId);
  const [latest] = await port.listThreads(userId, { limit: 1 });
  return latest?.id ?? null;
}

/**
 * The modules' mind-scope records, kept until something may have changed
 * them: the kernel calls `invalidate()` on every bus event and after every
 * mutating request, so a read never sees a record older than the last
 * change. Affect, time and the caller's thread are computed per request.
 */
export interface MindStateCache {
  get(): Promise<Record<string, unknown>>;
  invalidate(): void;
}

/** Creates the cache over `mind`'s `mind.state("mind")`. */
export function createMindStateCache(mind: () => Mind): MindStateCache {
  let epoch = 0;
  let cached: { epoch: number; value: Promise<Record<string, unknown>> } | null = null;
  return {
    get() {
      if (cached?.epoch === epoch) return cached.value;
      const value = mind().state("mind");
      const entry = { epoch, value };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = null;
      });
      return value;
    },
    invalidate() {
      epoch++;
      cached = null;
    },
  };
}
