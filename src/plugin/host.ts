import { OpenAPIHono } from "@hono/zod-openapi";
import { Hono } from "hono";
import type { createEventBus } from "../bus.ts";
import { type Clock, withTimeout } from "../clock.ts";
import type { IdFactory } from "../ids.ts";
import type { Random } from "../random.ts";
import { errorMessage } from "../errors.ts";
import type { AppEnv } from "../http/types.ts";
import type { Store } from "../store/store.ts";
import type { HealthRegistry } from "../telemetry/health.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { ModuleLlm } from "../llm/gateway.ts";
import type { Profile } from "../mind/profile.ts";
import { PLUGIN_ERROR_CODES, PluginError, type PluginErrorCode } from "./errors.ts";
import type { HookRegistry, RunHookOptions } from "./hooks.ts";
import { orderPlugins } from "./order.ts";
import {
  type AnyPlugin,
  type PluginContext,
  type PluginHooks,
  TOOL_PLUGIN,
  type ToolRegistrar,
} from "./types.ts";

/** Where the host is in its lifecycle. */
export type PluginHostState =
  | "created"
  | "setting_up"
  | "set_up"
  | "starting"
  | "running"
  | "stopping"
  | "stopped"
  | "failed";

/** Time limits of the lifecycle steps, in milliseconds. */
export interface PluginTimeouts {
  setupMs: number;
  startMs: number;
  stopMs: number;
}

/** Options for {@link createPluginHost}. */
export interface CreatePluginHostOptions {
  plugins: readonly AnyPlugin[];
  /** The resolved config; each plugin gets the section named by its id. */
  config: Readonly<Record<string, unknown>>;
  log: Logger;
  clock: Clock;
  random: Random;
  ids: IdFactory;
  bus: ReturnType<typeof createEventBus>;
  hooks: HookRegistry;
  health: HealthRegistry;
  /** The shared store handed to every plugin. */
  store: Store;
  /** The app that each plugin's sub-app is mounted on at `/api/<id>`. */
  app: Hono<AppEnv>;
  timeouts: PluginTimeouts;
  /** The gateway view a plugin gets, attributed to its id. */
  llmFor: (pluginId: string) => ModuleLlm;
  /** The tool registry a plugin registers into. @default one that refuses every tool */
  toolsFor?: (pluginId: string) => ToolRegistrar;
  /** The data directory. @default "" (no files) */
  dataDir?: string;
  /** Queues a turn on the mind. @default refuses (no mind in this host) */
  submitTurn?: PluginContext["submitTurn"];
  /** The mind's profile (loaded before setup). */
  profile: () => Profile;
}

/** The lifecycle of the loaded plugins. */
export interface PluginHost {
  /** Plugin ids in dependency order (filled by `setup`). */
  readonly order: readonly string[];
  readonly state: PluginHostState;
  /** Aborted when shutdown begins; every plugin's `ctx.signal`. */
  readonly signal: AbortSignal;
  /**
   * Orders the plugins and runs each `setup` under the time limit, mounting
   * its routes. On failure, plugins already set up are stopped.
   *
   * @throws {PluginError} Naming the failing plugin.
   */
  setup(): Promise<void>;
  /** Runs each `start` in dependency order; on failure stops them again. */
  start(): Promise<void>;
  /** Aborts {@link PluginHost.signal} at once, without stopping anything yet. */
  abort(reason: string): void;
  /** Aborts the signal and runs `stop` in reverse order. Never throws. */
  stop(): Promise<PluginError[]>;
  /**
   * The API a plugin returned from `setup` (for the kernel and tests;
   * plugins use `ctx.use`).
   *
   * @throws {TypeError} When the plugin is not set up.
   */
  api<T>(id: string): T;
}

interface Loaded {
  plugin: AnyPlugin;
  context: PluginContext<unknown>;
  api: unknown;
}

const TIMEOUT_CODES = {
  setup: PLUGIN_ERROR_CODES.SETUP_TIMEOUT,
  start: PLUGIN_ERROR_CODES.START_FAILED,
  stop: PLUGIN_ERROR_CODES.STOP_FAILED,
} as const;

const ID_REGEXP = /^[a-z][a-z0-9_]{0,63}$/;
const VERSION_REGEXP = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

/** Creates the host for a fixed list of first-party plugins. */
export function createPluginHost(options: CreatePluginHostOptions): PluginHost {
  const controller = new AbortController();
  const loaded = new Map<string, Loaded>();
  const order: string[] = [];
  let state: PluginHostState = "created";

  function fail(code: PluginErrorCode, plugin: string, step: string, error: unknown) {
    if (error instanceof PluginError && error.plugin === plugin) return error;
    return new PluginError(code, `${step} failed: ${errorMessage(error)}`, {
      plugin,
      hook: step,
      cause: error,
    });
  }

  /** Runs one lifecycle step of one plugin under its time limit. */
  function step<T>(
    plugin: string,
    name: keyof typeof TIMEOUT_CODES,
    ms: number,
    run: () => T | Promise<T>,
  ) {
    return withTimeout(Promise.resolve().then(run), {
      clock: options.clock,
      ms,
      error: () =>
        new PluginError(
          TIMEOUT_CODES[name],
          `${name} did not finish within ${ms} ms (pluginHost.${name}TimeoutMs)`,
          { plugin, hook: name },
        ),
    });
  }

  function checkManifest(plugin: AnyPlugin) {
    const { id, version, isolation } = plugin.manifest ?? {};
    const name = typeof id === "string" ? id : "(no id)";
    if (typeof id !== "string" || !ID_REGEXP.test(id)) {
      throw new PluginError(
        PLUGIN_ERROR_CODES.INVALID_MANIFEST,
        `Cannot load: manifest.id must be snake_case, start with a letter and have at most 64 characters (got ${
          JSON.stringify(id)
        })`,
        { plugin: name },
      );
    }
    if (typeof version !== "string" || !VERSION_REGEXP.test(version)) {
      throw new PluginError(
        PLUGIN_ERROR_CODES.INVALID_MANIFEST,
        `Cannot load: manifest.version must be a semantic version like 1.0.0 (got ${
          JSON.stringify(version)
        })`,
        { plugin: id },
      );
    }
    // A built-in tool's plugin only declares its tool; the tool's code runs in the sandbox.
    if (isolation !== "in_process" && !(TOOL_PLUGIN in plugin)) {
      throw new PluginError(
        PLUGIN_ERROR_CODES.ISOLATION_UNSUPPORTED,
        `Cannot load in the server process: its isolation is ${
          JSON.stringify(isolation)
        }; sandboxed plugins are loaded by the sandbox host`,
        { plugin: id },
      );
    }
  }

  function withKernelSignal(runOptions: RunHookOptions = {}): RunHookOptions {
    const signal = runOptions.signal
      ? AbortSignal.any([controller.signal, runOptions.signal])
      : controller.signal;
    return { ...runOptions, signal };
  }

  function contextFor(plugin: AnyPlugin): PluginContext<unknown> {
    const { id } = plugin.manifest;
    const declared = new Set(plugin.manifest.dependsOn ?? []);
    const hooks: PluginHooks = {
      on: (hook, handler, handlerOptions) =>
        options.hooks.on(hook, handler, { ...handlerOptions, plugin: id }),
      first: (hook, arg, runOptions) =>
        options.hooks.first(hook, arg, withKernelSignal(runOptions)),
      sequential: (hook, value, runOptions) =>
        options.hooks.sequential(hook, value, withKernelSignal(runOptions)),
      parallel: (hook, arg, runOptions) =>
        options.hooks.parallel(hook, arg, withKernelSignal(runOptions)),
    };
    return {
      id,
      config: options.config[id] ?? Object.freeze({}),
      log: options.log.child(id),
      http: new OpenAPIHono<AppEnv>(),
      db: options.store,
      llm: options.llmFor(id),
      get profile() {
        return options.profile();
      },
      bus: options.bus.scoped(id),
      clock: options.clock,
      random: options.random,
      ids: options.ids,
      signal: controller.signal,
      health: options.health,
      hooks,
      submitTurn: (input) => {
        if (!options.submitTurn) {
          return Promise.reject(
            new PluginError(PLUGIN_ERROR_CODES.SETUP_FAILED, "This host has no mind", {
              plugin: id,
            }),
          );
        }
        return options.submitTurn(input);
      },
      dataDir: options.dataDir ?? "",
      tools: options.toolsFor?.(id) ?? {
        specs: () => [],
        run: () => Promise.reject(new Error("This host has no tools")),
        sandbox: () => Promise.reject(new Error("This host has no sandbox")),
        register() {
          throw new PluginError(
            PLUGIN_ERROR_CODES.SETUP_FAILED,
            "This host has no tool registry",
            { plugin: id },
          );
        },
      },
      use<T>(dependency: string): T {
        if (!declared.has(dependency)) {
          throw new PluginError(
            PLUGIN_ERROR_CODES.USE_UNDECLARED,
            `use("${dependency}") needs "${dependency}" in manifest.dependsOn`,
            { plugin: id },
          );
        }
        return loaded.get(dependency)!.api as T;
      },
    };
  }

  async function stopLoaded(): Promise<PluginError[]> {
    if (!controller.signal.aborted) controller.abort(new Error("The server is shutting down"));
    const failures: PluginError[] = [];
    for (const id of [...order].reverse()) {
      const entry = loaded.get(id);
      if (!entry?.plugin.stop) continue;
      try {
        await step(id, "stop", options.timeouts.stopMs, () => entry.plugin.stop!(entry.context));
        options.log.debug("plugin stopped", { plugin: id });
      } catch (error) {
        const failure = fail(PLUGIN_ERROR_CODES.STOP_FAILED, id, "stop", error);
        failures.push(failure);
        options.log.error("plugin stop failed", { plugin: id, error: failure });
      }
    }
    return failures;
  }

  return {
    get order() {
      return order;
    },
    get state() {
      return state;
    },
    get signal() {
      return controller.signal;
    },

    async setup() {
      if (state !== "created") throw new Error(`Cannot set up plugins twice (state ${state})`);
      state = "setting_up";
      try {
        options.plugins.forEach(checkManifest);
        const sorted = orderPlugins(options.plugins.map((plugin) => ({
          id: plugin.manifest.id,
          dependsOn: plugin.manifest.dependsOn ?? [],
          plugin,
        })));
        for (const { id, plugin } of sorted) {
          const context = contextFor(plugin);
          let api: unknown;
          try {
            api = await step(id, "setup", options.timeouts.setupMs, () => plugin.setup(context));
          } catch (error) {
            throw fail(PLUGIN_ERROR_CODES.SETUP_FAILED, id, "setup", error);
          }
          loaded.set(id, { plugin, context, api });
          order.push(id);
          options.app.route(plugin.manifest.httpBase ?? `/api/${id}`, context.http);
          options.log.debug("plugin set up", { plugin: id, version: plugin.manifest.version });
        }
        state = "set_up";
      } catch (error) {
        state = "failed";
        await stopLoaded();
        throw error;
      }
    },

    async start() {
      if (state !== "set_up") throw new Error(`Cannot start plugins in state ${state}`);
      state = "starting";
      for (const id of order) {
        const entry = loaded.get(id)!;
        try {
          if (controller.signal.aborted) throw new Error("shutdown began during start-up");
          await step(
            id,
            "start",
            options.timeouts.startMs,
            () => entry.plugin.start?.(entry.context),
          );
        } catch (error) {
          state = "failed";
          const failure = fail(PLUGIN_ERROR_CODES.START_FAILED, id, "start", error);
          await stopLoaded();
          throw failure;
        }
      }
      state = "running";
      options.bus.publish("plugin.started", { plugins: [...order] });
      options.log.info("plugins started", { plugins: order });
    },

    api<T>(id: string): T {
      const entry = loaded.get(id);
      if (!entry) throw new TypeError(`Cannot get the API of plugin "${id}": it is not set up`);
      return entry.api as T;
    },

    abort(reason) {
      if (!controller.signal.aborted) controller.abort(new Error(reason));
    },

    async stop() {
      // After a failed setup or start, the plugins were already stopped.
      if (state === "stopping" || state === "stopped" || state === "failed") return [];
      state = "stopping";
      options.bus.publish("plugin.stopping", { plugins: [...order] });
      const failures = await stopLoaded();
      state = "stopped";
      return failures;
    },
  };
}
