/**
 * What a third-party plugin's module sees (spec/tools.md §9). It exports a
 * `manifest` and `activate(api)`; the kernel bundles it, runs it in its own
 * sandbox process and talks to it over frames.
 *
 * @module
 */

/** Events a plugin may ask for in `manifest.events`. */
export type PluginEventName = "turn.completed" | "tool.ran" | "memory.update" | "tick";

/** A tool a third-party plugin offers (exposed as `<pluginId>__<name>`). */
export interface PluginToolManifest {
  name: string;
  description: string;
  risk: "safe" | "network" | "write" | "execute";
  /** @default 10000 */
  timeoutMs?: number;
  /** JSON Schema of the arguments: an object schema. */
  parameters: Record<string, unknown>;
}

/** The `manifest` export of a third-party plugin. */
export interface PluginModuleManifest {
  id: string;
  version: string;
  /** Semver range of the plugin API this plugin works with, e.g. `^1.0.0`. */
  host: string;
  /** What it needs; each must be within the config file's grants. */
  permissions?: {
    net?: string[];
    read?: string[];
    write?: string[];
    env?: string[];
    run?: string[];
  };
  tools?: PluginToolManifest[];
  events?: PluginEventName[];
  /** Whether it contributes notes to prompts. */
  promptFragments?: boolean;
}

/** A prompt note: text ≤ 2,000 characters, priority 0–10. */
export interface PluginFragment {
  text: string;
  priority?: number;
}

/** The API `activate` receives. */
export interface PluginApi {
  /** The entry's `config` from the config file. */
  readonly config: Record<string, unknown>;
  /**
   * Implements a tool of the manifest. A throw with a `code` property of the form `PLUGIN_…` or
   * `TOOLS_…` is that error code, except the codes the host alone decides (`TOOLS_TIMEOUT`,
   * `TOOLS_CANCELLED`, `TOOLS_SANDBOX_*`, `PLUGIN_DISABLED`, …); any other throw is
   * `PLUGIN_TOOL_FAILED` with its message.
   */
  tool(name: string, fn: (args: Record<string, unknown>) => unknown): void;
  /** Receives a manifest-listed event (metadata only, never message content). */
  on(event: PluginEventName, fn: (data: Record<string, unknown>) => void | Promise<void>): void;
  /** Answers the prompt-notes request of a turn (within `pluginHost.fragmentDeadlineMs`). */
  fragments(
    fn: (context: { turn_id: string; thread_id: string }) =>
      | PluginFragment[]
      | Promise<PluginFragment[]>,
  ): void;
  /** Writes to the server's log (at most 50 lines a second, 2 KiB each). */
  log(level: "info" | "warn" | "error", message: string): void;
}
