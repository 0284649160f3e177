import type { Clock } from "../clock.ts";
import type { IdFactory } from "../ids.ts";
import type { Store } from "../store/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { ModuleLlm } from "../llm/gateway.ts";

/** What a plugin command gets: its config section, the store and the terminal. */
export interface PluginCommandContext<Config = unknown> {
  /** The plugin's validated config section. */
  config: Readonly<Config>;
  /** The store, opened without applying migrations (pending ones are refused). */
  store: Store;
  clock: Clock;
  ids: IdFactory;
  log: Logger;
  /** The gateway (no background probing), attributed to the plugin. */
  llm: ModuleLlm;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdout is a terminal (progress bars redraw in place). */
  isTerminal: boolean;
  /** Aborted on SIGINT/SIGTERM; the command should stop resumably. */
  signal: AbortSignal;
}

/**
 * A CLI subcommand a first-party plugin contributes (`deno task reembed`).
 * It runs in its own process beside or without the server.
 */
export interface PluginCommand<Config = unknown> {
  /** The plugin whose config section the command reads. */
  plugin: string;
  /** One line for `--help`. */
  description: string;
  /** Runs the command; resolves with the exit code. */
  run(context: PluginCommandContext<Config>, args: readonly string[]): Promise<number>;
}

/** Any plugin command. */
// deno-lint-ignore no-explicit-any
export type AnyPluginCommand = PluginCommand<any>;
