/**
 * `psyche_calibration`: keeps the conversation in the flow band (spec/mind.md
 * §10). Stage 9 updates the difficulty estimate from the user's turn;
 * the outputs shape the next turn's temperature, length and questions.
 *
 * @module
 */
import {
  BoundedMap,
  definePlugin,
  MIND_HOOKS,
  type Plugin,
  pluginState,
  type TurnView,
} from "@synth/kernel";
import {
  type CalibrationState,
  evidence,
  initialState,
  noisyOr,
  type ThreadWindow,
  transitionImpulse,
  update,
} from "./calibration.ts";

export type { CalibrationState, FlowState } from "./calibration.ts";

/** The plugin. */
export const psycheCalibrationPlugin: Plugin<unknown, void> = definePlugin({
  manifest: { id: "psyche_calibration", version: "1.0.0", isolation: "in_process" },
  setup(ctx) {
    const store = pluginState(ctx.db, ctx.clock, "psyche_calibration");
    let cached: CalibrationState | undefined;
    const pending = new BoundedMap<
      string,
      { state: CalibrationState; windowKey: string; window: ThreadWindow }
    >(64); // a failed turn never reaches stage 10
    const load = async (view: TurnView) =>
      cached ??= (await store.get<CalibrationState>("state")) ??
        initialState(view.profile, ctx.clock.now());

    ctx.hooks.on(MIND_HOOKS.generation, async ({ view, params }) => {
      const state = await load(view);
      return {
        ...params,
        calibrationOffset: state.outputs.temperatureOffset,
        verbosity: state.outputs.verbosity,
      };
    });

    ctx.hooks.on(MIND_HOOKS.fragments, async (view) => {
      const { outputs } = await load(view);
      const fragments = [];
      const v = outputs.verbosity;
      if (v <= -0.33 || v >= 0.33) {
        fragments.push({
          module: "calibration",
          key: "verbosity",
          section: "instructions" as const,
          priority: 55,
          text: v <= -0.33
            ? "Be concise: short answers, one idea at a time."
            : "Be detailed: explain the reasoning and give examples.",
          reason: `verbosity v=${v.toFixed(2)} ${v <= -0.33 ? "≤ -0.33" : "≥ 0.33"}`,
        });
      }
      const q = outputs.questionRate;
      if (q >= 0.5 || q <= 0.15) {
        fragments.push({
          module: "calibration",
          key: "questions",
          section: "instructions" as const,
          priority: 50,
          text: q >= 0.5
            ? "End with one short check-in question."
            : "No follow-up questions unless they are needed.",
          reason: `questionRate=${q.toFixed(2)} ${q >= 0.5 ? "≥ 0.5" : "≤ 0.15"}`,
        });
      }
      return fragments;
    });

    ctx.hooks.on(MIND_HOOKS.calibrate, async (view) => {
      const previous = await load(view);
      const windowKey = `thread:${view.threadId}`;
      const window = (await store.get<ThreadWindow>(windowKey)) ??
        { sentiments: [], latencies: [] };
      const weight = view.signals["dreaming.weight"];
      const surprise = view.signals["dreaming.surprise"];
      const found = evidence(
        {
          clarificationRequest: view.appraisal.clarificationRequest,
          correction: view.appraisal.correction,
          feedback: view.appraisal.feedback,
          s: view.appraisal.sentiment.s,
          latencyMs: view.appraisal.latencyMs,
          tokens: view.appraisal.tokens,
          lengthRatio: view.appraisal.lengthRatio,
          text: view.message.text,
          weightedSurprise: weight !== undefined && surprise !== undefined
            ? weight * surprise
            : null,
        },
        window,
        view.profile,
      );
      const next = update(
        previous,
        {
          overload: noisyOr(found.overload),
          boredom: noisyOr(found.boredom),
        },
        view.profile,
        ctx.clock.now(),
      );
      cached = next;
      // Written with the turn in stage 10, in its transaction.
      pending.set(view.turnId, {
        state: next,
        windowKey,
        window: {
          sentiments: [...window.sentiments, view.appraisal.sentiment.s].slice(-6),
          latencies: view.appraisal.latencyMs === null
            ? window.latencies
            : [...window.latencies, view.appraisal.latencyMs].slice(-10),
        },
      });
      const impulse = transitionImpulse(previous.state, next.state, view.profile);
      return {
        signals: { "calibration.state": next.state },
        ...(impulse ? { impulses: [impulse] } : {}),
        events: [
          ...(impulse
            ? [{
              type: "calibration.transition",
              data: { from: previous.state, to: next.state, ema: next.ema },
            }]
            : []),
          {
            type: "calibration.updated",
            data: {
              ema: next.ema,
              state: next.state,
              reward: next.reward,
              overload: found.overload.map(([weight, reason]) => ({ weight, reason })),
              boredom: found.boredom.map(([weight, reason]) => ({ weight, reason })),
              outputs: next.outputs,
            },
          },
        ],
      };
    });

    ctx.hooks.on(MIND_HOOKS.persist, async ({ view, db }) => {
      const entry = pending.get(view.turnId);
      pending.delete(view.turnId);
      if (!entry) return;
      await store.set("state", entry.state, db);
      await store.set(entry.windowKey, entry.window, db);
    });

    // A thread's recent sentiments and latencies go with it.
    ctx.hooks.on(MIND_HOOKS.forget, async ({ threadId }) => {
      if (!threadId) return { deleted: 0 };
      const had = await store.get(`thread:${threadId}`);
      await store.delete(`thread:${threadId}`);
      return { deleted: had === undefined ? 0 : 1 };
    });

    ctx.hooks.on(MIND_HOOKS.export, async ({ threadIds }) => {
      const windows: Record<string, ThreadWindow> = {};
      for (const threadId of threadIds) {
        const window = await store.get<ThreadWindow>(`thread:${threadId}`);
        if (window) windows[threadId] = window;
      }
      return { thread_windows: windows };
    });

    ctx.hooks.on(MIND_HOOKS.state, async ({ scope, threadId }) => {
      if (scope === "thread" && threadId) {
        const window = await store.get<ThreadWindow>(`thread:${threadId}`);
        return {
          recent_sentiments: window?.sentiments ?? [],
          recent_latencies_ms: window?.latencies ?? [],
        };
      }
      if (scope !== "mind") return;
      const state = cached ?? await store.get<CalibrationState>("state");
      return state ? { ...state } : { state: "flow", ema: null, reward: null, outputs: null };
    });
  },
});
