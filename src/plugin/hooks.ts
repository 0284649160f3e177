import type { Logger } from "../telemetry/logger.ts";
import { PLUGIN_ERROR_CODES, PluginError } from "./errors.ts";

/**
 * How a hook combines its handlers:
 * - `first`: handlers run in order until one returns a value other than
 *   `undefined`; that answer wins and the rest are skipped.
 * - `sequential`: each handler receives the value the previous one returned
 *   (`undefined` keeps it unchanged); the last value is the result.
 * - `parallel`: every handler observes the argument at the same time; one
 *   handler's failure is recorded and does not stop the others.
 */
export type HookKind = "first" | "sequential" | "parallel";

/** A declared hook. Create one with {@link defineHook}. */
export interface Hook<Kind extends HookKind, Arg, Result> {
  /** `<area>.<point>`, e.g. `mind.prompt`. */
  readonly name: string;
  /** How the handlers combine; fixed for the hook's lifetime. */
  readonly kind: Kind;
  /** Type-only marker carrying the argument and result types. */
  readonly types?: { arg: Arg; result: Result };
}

/** A hook whose first answer wins. */
export type FirstHook<Arg, Result> = Hook<"first", Arg, Result>;
/**
 * A hook whose handlers run in turn. With one type (`Value`) each amends
 * the value; with `Result` too, each returns its own contribution (the
 * turn pipeline's hooks) and the caller combines them.
 */
export type SequentialHook<Value, Result = Value> = Hook<"sequential", Value, Result>;
/** A hook whose handlers all run at once; with `Result`, each returns a contribution. */
export type ParallelHook<Arg, Result = void> = Hook<"parallel", Arg, Result>;
/** Any hook. */
// deno-lint-ignore no-explicit-any
export type AnyHook = Hook<HookKind, any, any>;

/** Passed to every handler. */
export interface HookCallContext {
  /** The hook being run. */
  hook: string;
  /** Aborted when the caller gives up (shutdown, cancelled turn). */
  signal: AbortSignal;
}

/** The handler type for a hook. */
export type HookHandler<H extends AnyHook> = H extends Hook<infer Kind, infer Arg, infer Result>
  ? Kind extends "first"
    ? (arg: Arg, context: HookCallContext) => Result | undefined | Promise<Result | undefined>
  : Kind extends "sequential"
    ? (value: Arg, context: HookCallContext) => Result | undefined | Promise<Result | undefined>
  : (arg: Arg, context: HookCallContext) => Result | Promise<Result>
  : never;

/** Options for registering a handler. */
export interface HookHandlerOptions {
  /** `pre` handlers run before, `post` after the others. @default "normal" */
  order?: "pre" | "normal" | "post";
}

/** Options for {@link HookRegistry.on}. */
export interface RegisterHookOptions extends HookHandlerOptions {
  /** Id of the plugin the handler belongs to. */
  plugin: string;
}

/**
 * Declares a hook. Its name is `<area>.<point>`; its kind is fixed here and
 * can never change, so every caller and handler agrees on it.
 *
 * @example A sequential hook that plugins may amend
 * ```ts
 * import { defineHook, type SequentialHook } from "./hooks.ts";
 * const greeting: SequentialHook<string> = defineHook("hello.greeting", "sequential");
 * ```
 */
export function defineHook<Arg, Result = Arg>(
  name: string,
  kind: "first",
): FirstHook<Arg, Result>;
/** Declares a `sequential` hook whose handlers amend a `Value` (or return a `Result`) in turn. */
export function defineHook<Value, Result = Value>(
  name: string,
  kind: "sequential",
): SequentialHook<Value, Result>;
/** Declares a `parallel` hook whose handlers all observe an `Arg` (and may return a `Result`). */
export function defineHook<Arg, Result = void>(
  name: string,
  kind: "parallel",
): ParallelHook<Arg, Result>;
export function defineHook(name: string, kind: HookKind): AnyHook {
  if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/.test(name)) {
    throw new TypeError(
      `Cannot define hook "${name}": a hook name is "<area>.<point>" in snake_case`,
    );
  }
  return Object.freeze({ name, kind });
}

/** The answer of a `first` hook and the plugin that gave it. */
export interface FirstAnswer<Result> {
  /** The winning answer. */
  value: Result;
  /** Id of the plugin that gave it. */
  plugin: string;
}

/** The outcome of a `parallel` hook. */
export interface ParallelOutcome {
  /** Handlers that threw, each wrapped with its plugin id and the hook name. */
  failures: PluginError[];
}

/** One plugin's handler of a hook, for callers that combine results themselves. */
export interface HookHandlerEntry<Arg, Result> {
  /** Id of the plugin the handler belongs to. */
  plugin: string;
  /** Runs the handler; a throw is the caller's to wrap and record. */
  run(arg: Arg, context: HookCallContext): Result | undefined | Promise<Result | undefined>;
}

/** Options for running a hook. */
export interface RunHookOptions {
  /** Passed to every handler; plugins add the shutdown signal to it. */
  signal?: AbortSignal;
}

interface Registration {
  plugin: string;
  order: number;
  seq: number;
  handler: (arg: unknown, context: HookCallContext) => unknown;
}

const ORDER_RANK = { pre: 0, normal: 1, post: 2 } as const;

/** Registers and runs hook handlers for every plugin. */
export interface HookRegistry {
  /** Adds a plugin's handler to `hook`. */
  on<H extends AnyHook>(hook: H, handler: HookHandler<H>, options: RegisterHookOptions): void;
  /** Runs a `first` hook; `undefined` when no handler answered. */
  first<Arg, Result>(
    hook: FirstHook<Arg, Result>,
    arg: Arg,
    options?: RunHookOptions,
  ): Promise<FirstAnswer<Result> | undefined>;
  /** Runs a `sequential` hook and returns the final value. */
  sequential<Value>(
    hook: SequentialHook<Value, Value>,
    value: Value,
    options?: RunHookOptions,
  ): Promise<Value>;
  /** Runs a `parallel` hook; failures are logged and returned. */
  parallel<Arg, Result>(
    hook: ParallelHook<Arg, Result>,
    arg: Arg,
    options?: RunHookOptions,
  ): Promise<ParallelOutcome>;
  /** Plugin ids with a handler on `hook`, in the order they run. */
  handlersOf(hook: AnyHook): string[];
  /**
   * The handlers of `hook` in the order they run, for a caller that needs
   * each plugin's result apart, its own time limit or its own failure
   * handling (the turn pipeline).
   */
  handlers<Arg, Result>(hook: Hook<HookKind, Arg, Result>): HookHandlerEntry<Arg, Result>[];
}

/** Options for {@link createHookRegistry}. */
export interface CreateHookRegistryOptions {
  log: Logger;
}

/** Creates the registry the plugin host hands to every plugin. */
export function createHookRegistry(options: CreateHookRegistryOptions): HookRegistry {
  const registrations = new Map<string, Registration[]>();
  const kinds = new Map<string, HookKind>();
  let seq = 0;

  function checkKind(hook: AnyHook) {
    const known = kinds.get(hook.name);
    if (known !== undefined && known !== hook.kind) {
      throw new TypeError(
        `Cannot use hook "${hook.name}" as "${hook.kind}": it is declared as "${known}"`,
      );
    }
    kinds.set(hook.name, hook.kind);
  }

  function handlers(hook: AnyHook): Registration[] {
    checkKind(hook);
    return [...(registrations.get(hook.name) ?? [])].sort((a, b) =>
      a.order - b.order || a.seq - b.seq
    );
  }

  function wrap(registration: Registration, hook: AnyHook, error: unknown): PluginError {
    return new PluginError(
      PLUGIN_ERROR_CODES.HOOK_FAILED,
      `Hook "${hook.name}" failed: ${error instanceof Error ? error.message : String(error)}`,
      { plugin: registration.plugin, hook: hook.name, cause: error },
    );
  }

  function contextFor(hook: AnyHook, options: RunHookOptions): HookCallContext {
    return { hook: hook.name, signal: options.signal ?? new AbortController().signal };
  }

  return {
    on(hook, handler, handlerOptions) {
      checkKind(hook);
      const list = registrations.get(hook.name) ?? [];
      list.push({
        plugin: handlerOptions.plugin,
        order: ORDER_RANK[handlerOptions.order ?? "normal"],
        seq: seq++,
        handler: handler as Registration["handler"],
      });
      registrations.set(hook.name, list);
    },

    async first(hook, arg, runOptions = {}) {
      const context = contextFor(hook, runOptions);
      for (const registration of handlers(hook)) {
        let value: unknown;
        try {
          value = await registration.handler(arg, context);
        } catch (error) {
          throw wrap(registration, hook, error);
        }
        // deno-lint-ignore no-explicit-any
        if (value !== undefined) return { value: value as any, plugin: registration.plugin };
      }
      return undefined;
    },

    async sequential(hook, value, runOptions = {}) {
      const context = contextFor(hook, runOptions);
      let current = value;
      for (const registration of handlers(hook)) {
        let next: unknown;
        try {
          next = await registration.handler(current, context);
        } catch (error) {
          throw wrap(registration, hook, error);
        }
        if (next !== undefined) current = next as typeof value;
      }
      return current;
    },

    async parallel(hook, arg, runOptions = {}) {
      const context = contextFor(hook, runOptions);
      const list = handlers(hook);
      const settled = await Promise.allSettled(
        list.map(async (registration) => await registration.handler(arg, context)),
      );
      const failures: PluginError[] = [];
      settled.forEach((result, index) => {
        if (result.status === "rejected") {
          const failure = wrap(list[index]!, hook, result.reason);
          failures.push(failure);
          options.log.error("hook handler failed", {
            plugin: failure.plugin,
            hook: hook.name,
            error: failure,
          });
        }
      });
      return { failures };
    },

    handlersOf(hook) {
      return handlers(hook).map((registration) => registration.plugin);
    },

    handlers<Arg, Result>(hook: Hook<HookKind, Arg, Result>) {
      return handlers(hook).map((registration) => ({
        plugin: registration.plugin,
        run: (arg: Arg, context: HookCallContext) =>
          registration.handler(arg, context) as Result | undefined | Promise<Result | undefined>,
      }));
    },
  };
}
