/**
 * Runs the mind's hooks the way spec/mind.md §3.3 wants: every handler on
 * its own time limit (`mind.hookTimeoutMs`), a throw or a timeout recorded
 * as `plugin.error` and the contribution dropped, never a failed turn.
 *
 * @module
 */
import { type Clock, DeadlineTimer } from "../clock.ts";
import type { Hook, HookKind, HookRegistry } from "../plugin/hooks.ts";
import type { Logger } from "../telemetry/logger.ts";

/** One handler's outcome. */
export type HookOutcome<Result> =
  | { plugin: string; ok: true; value: Result | undefined }
  | { plugin: string; ok: false; message: string };

/** A failure to record (`plugin.error`). */
export interface HookFailure {
  plugin: string;
  hook: string;
  message: string;
}

/** Options for {@link createHookRunner}. */
export interface HookRunnerOptions {
  hooks: HookRegistry;
  clock: Clock;
  log: Logger;
  timeoutMs: number;
}

/** The mind's hook runner. */
export interface HookRunner {
  /**
   * Runs each handler in order, calling `argFor()` before each (so a
   * sequential handler sees what earlier ones published) and `apply` after
   * each success.
   */
  serial<Arg, Result>(
    hook: Hook<HookKind, Arg, Result>,
    argFor: () => Arg,
    apply: (plugin: string, value: Result) => void,
    failures: HookFailure[],
    signal: AbortSignal,
  ): Promise<void>;
  /** Runs every handler at once; results come back in plugin order. */
  concurrent<Arg, Result>(
    hook: Hook<HookKind, Arg, Result>,
    arg: Arg,
    failures: HookFailure[],
    signal: AbortSignal,
  ): Promise<Array<{ plugin: string; value: Result }>>;
  /** The first handler's answer that is not undefined (failures skipped). */
  first<Arg, Result>(
    hook: Hook<HookKind, Arg, Result>,
    arg: Arg,
    failures: HookFailure[],
    signal: AbortSignal,
  ): Promise<{ plugin: string; value: Result } | undefined>;
  /** A handler's answer within `mind.hookTimeoutMs` (for handlers run by the caller). */
  limit<T>(answer: T | PromiseLike<T>): Promise<T>;
  /** Keeps the time limits' timer armed between hooks until the returned release (a turn). */
  hold(): () => void;
  /** Clears the time limits' timer (the mind stops). */
  stop(): void;
}

/** Creates the runner. */
export function createHookRunner(options: HookRunnerOptions): HookRunner {
  const { hooks, clock, log, timeoutMs } = options;
  // One timer for the time limits of all handlers in flight, not one per handler.
  const deadlines = new DeadlineTimer(clock);
  const limit = <T>(answer: T | PromiseLike<T>) =>
    deadlines.limit(answer, {
      ms: timeoutMs,
      error: () => new Error(`no answer within ${timeoutMs} ms`),
    });

  async function runOne<Arg, Result>(
    hook: Hook<HookKind, Arg, Result>,
    entry: {
      plugin: string;
      run(arg: Arg, context: { hook: string; signal: AbortSignal }): unknown;
    },
    arg: Arg,
    failures: HookFailure[],
    signal: AbortSignal,
  ): Promise<HookOutcome<Result>> {
    try {
      const value = await limit(entry.run(arg, { hook: hook.name, signal })) as Result | undefined;
      return { plugin: entry.plugin, ok: true, value };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push({ plugin: entry.plugin, hook: hook.name, message });
      log.warn("a mind hook failed; its contribution is dropped", {
        plugin: entry.plugin,
        hook: hook.name,
        error,
      });
      return { plugin: entry.plugin, ok: false, message };
    }
  }

  return {
    limit,
    hold: () => deadlines.hold(),
    stop: () => deadlines.stop(),
    async serial(hook, argFor, apply, failures, signal) {
      for (const entry of hooks.handlers(hook)) {
        const outcome = await runOne(hook, entry, argFor(), failures, signal);
        if (outcome.ok && outcome.value !== undefined) apply(outcome.plugin, outcome.value);
      }
    },

    async concurrent(hook, arg, failures, signal) {
      const outcomes = await Promise.all(
        hooks.handlers(hook).map((entry) => runOne(hook, entry, arg, failures, signal)),
      );
      return outcomes.flatMap((outcome) =>
        outcome.ok && outcome.value !== undefined
          ? [{ plugin: outcome.plugin, value: outcome.value }]
          : []
      );
    },

    async first(hook, arg, failures, signal) {
      for (const entry of hooks.handlers(hook)) {
        const outcome = await runOne(hook, entry, arg, failures, signal);
        if (outcome.ok && outcome.value !== undefined) {
          return { plugin: outcome.plugin, value: outcome.value };
        }
      }
      return undefined;
    },
  };
}
