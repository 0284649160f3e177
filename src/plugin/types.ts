import type { OpenAPIHono } from "@hono/zod-openapi";
import type { z } from "zod";
import type { EventBus } from "../bus.ts";
import type { Clock } from "../clock.ts";
import type { IdFactory } from "../ids.ts";
import type { Random } from "../random.ts";
import type { Store } from "../store/store.ts";
import type { HealthRegistrar } from "../telemetry/health.ts";
import type { AppEnv } from "../http/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { ModuleLlm } from "../llm/gateway.ts";
import type { Profile } from "../mind/profile.ts";
import type { AnyHook, HookHandler, HookHandlerOptions, HookRegistry } from "./hooks.ts";
import type { ToolDefinition, ToolResult } from "../tools/types.ts";
import type { WorkerRun } from "../tools/service.ts";
import type { ToolSpec } from "../llm/types.ts";
import type { SubmitInput, TurnHandle } from "../mind/mind.ts";

/**
 * Marks a plugin made by `defineTool`: isolation `sandbox`, yet set up by
 * the host, because its setup only registers the tool whose worker runs in
 * the sandbox.
 */
export const TOOL_PLUGIN: unique symbol = Symbol("synth.toolPlugin");

/** Where tool plugins register their tools (spec/tools.md §1), and plugins run them. */
export interface ToolRegistrar {
  /** The enabled tools (or those named) as the model sees them. */
  specs(names?: readonly string[]): ToolSpec[];
  /**
   * Runs a tool for a plugin (a project step's file tools): recorded,
   * approvals applied by risk; failures are results.
   */
  run(
    name: string,
    args: unknown,
    request: {
      requestedBy: string;
      threadId?: string | null;
      turnId?: string | null;
      projectId?: string | null;
      workspaceDir?: string;
      signal?: AbortSignal;
    },
  ): Promise<{ runId: string | null; result: ToolResult }>;
  /**
   * Runs the plugin's own worker module (a self-contained module exporting
   * `run(args, ctx)`) in a fresh sandbox child with exactly `grants` — for
   * work that must not run in the server process, such as a project's git.
   * Resolves with what `run` returned.
   *
   * @throws {ToolError} `TOOLS_TIMEOUT`, `TOOLS_SANDBOX_*`, `TOOLS_FAILED`.
   */
  sandbox(job: WorkerRun): Promise<unknown>;
  /**
   * Adds a tool, attributed to the registering plugin.
   *
   * @throws {AppError} `TOOLS_NAME_TAKEN` when another plugin registered the name.
   */
  // deno-lint-ignore no-explicit-any
  register(tool: ToolDefinition<any>): void;
}

/**
 * What a sandboxed plugin asks for; the operator grants it in config and
 * Deno enforces it in the sandbox process (see `spec/tools.md`).
 */
export interface SandboxPermissions {
  /** Hosts (`host` or `host:port`) it may connect to. */
  net?: string[];
  /** Paths it may read. */
  read?: string[];
  /** Paths it may write. */
  write?: string[];
  /** Environment variables it may read. */
  env?: string[];
  /** Programs it may run. */
  run?: string[];
}

/** Static facts about a plugin, checked before it is set up. */
export interface PluginManifest<Config = unknown> {
  /** snake_case; equals the folder name; also the config section and `/api/<id>`. */
  id: string;
  /** Semantic version of the plugin. */
  version: string;
  /** Plugin ids that must be set up first; the only ids `use()` accepts. */
  dependsOn?: readonly string[];
  /** `in_process` for first-party logic; `sandbox` for tools and third-party code. */
  isolation: "in_process" | "sandbox";
  /** Requested grants of a sandboxed plugin. */
  permissions?: SandboxPermissions;
  /**
   * Where `ctx.http` is mounted: `/api/<id>` by default; first-party plugins
   * serving the paths of the HTTP API (`/api/memories`…) set `"/api"`.
   */
  httpBase?: "/api";
  /** Validates the plugin's config section; must reject unknown keys (z.strictObject). */
  // deno-lint-ignore no-explicit-any
  configSchema?: z.ZodType<Config, any>;
}

/**
 * A plugin's hooks: register handlers (attributed to the plugin) and run
 * the hooks it owns, with the kernel's signal unless the caller passes one.
 */
export interface PluginHooks extends Pick<HookRegistry, "first" | "sequential" | "parallel"> {
  /** Adds a handler, attributed to this plugin. */
  on<H extends AnyHook>(hook: H, handler: HookHandler<H>, options?: HookHandlerOptions): void;
}

/** Everything the kernel hands one plugin. */
export interface PluginContext<Config = unknown> {
  /** The plugin's id. */
  readonly id: string;
  /** The plugin's validated, frozen config section. */
  readonly config: Readonly<Config>;
  /** A logger whose records carry `scope: <id>`. */
  readonly log: Logger;
  /** Routes added here are served under `/api/<id>`. */
  readonly http: OpenAPIHono<AppEnv>;
  /** The shared database (every table, typed); reach it through repositories. */
  readonly db: Store;
  /** The language model gateway; calls are attributed to this plugin in the ledger and its budget. */
  readonly llm: ModuleLlm;
  /** The mind's personality profile (`mind.profile`), loaded before plugins are set up. */
  readonly profile: Profile;
  /** Publishes events attributed to this plugin; subscribes to anyone's. */
  readonly bus: EventBus;
  /** The injectable clock; use it for every timestamp and timer. */
  readonly clock: Clock;
  /** The injectable random source; use it for every random choice. */
  readonly random: Random;
  /** Makes `<prefix>_<ULID>` ids from the clock and the random source. */
  readonly ids: IdFactory;
  /** Aborted when the server shuts down. */
  readonly signal: AbortSignal;
  /** Health checks shown by `/health` and gating `/health/ready`. */
  readonly health: HealthRegistrar;
  /** The turn pipeline's and other plugins' extension points. */
  readonly hooks: PluginHooks;
  /** Registers tools (the `tool_*` plugins) and runs them. */
  readonly tools: ToolRegistrar;
  /** The data directory (absolute): a plugin's own folders live under it. */
  readonly dataDir: string;
  /**
   * Queues a turn on the mind (a project step): it runs through the whole
   * pipeline; set `origin` so the plugin's `mind.reply` handler claims it.
   */
  submitTurn(input: SubmitInput): Promise<TurnHandle>;
  /**
   * The API a dependency returned from its `setup`.
   *
   * @throws {PluginError} `PLUGIN_USE_UNDECLARED` when `id` is not in `dependsOn`.
   */
  use<T>(id: string): T;
}

/**
 * A first-party plugin. Declare one with `definePlugin` in the plugin
 * folder's `mod.ts`.
 */
export interface Plugin<Config = unknown, Api = unknown> {
  /** Static facts checked before setup. */
  manifest: PluginManifest<Config>;
  /** Registers routes, hooks and checks; returns the API dependents get from `use()`. No long work. */
  setup(context: PluginContext<Config>): Api | Promise<Api>;
  /** Runs after every plugin is set up, in dependency order. */
  start?(context: PluginContext<Config>): void | Promise<void>;
  /** Runs on shutdown, in reverse dependency order. */
  stop?(context: PluginContext<Config>): void | Promise<void>;
}

/** Any plugin, as the host stores them. */
// deno-lint-ignore no-explicit-any
export type AnyPlugin = Plugin<any, any>;
