import { AppError } from "../errors.ts";

/** Stable codes of the plugin host's failures. */
export const PLUGIN_ERROR_CODES = {
  /** The manifest is malformed (id, version, isolation). */
  INVALID_MANIFEST: "PLUGIN_INVALID_MANIFEST",
  /** Two plugins have the same id. */
  DUPLICATE_ID: "PLUGIN_DUPLICATE_ID",
  /** A plugin lists a dependency that is not loaded. */
  DEPENDENCY_MISSING: "PLUGIN_DEPENDENCY_MISSING",
  /** Plugins depend on each other in a cycle. */
  DEPENDENCY_CYCLE: "PLUGIN_DEPENDENCY_CYCLE",
  /** `setup` threw or rejected. */
  SETUP_FAILED: "PLUGIN_SETUP_FAILED",
  /** `setup` did not settle within `pluginHost.setupTimeoutMs`. */
  SETUP_TIMEOUT: "PLUGIN_SETUP_TIMEOUT",
  /** `start` threw, rejected or exceeded `pluginHost.startTimeoutMs`. */
  START_FAILED: "PLUGIN_START_FAILED",
  /** `stop` threw, rejected or exceeded `pluginHost.stopTimeoutMs`. */
  STOP_FAILED: "PLUGIN_STOP_FAILED",
  /** `ctx.use(id)` named a plugin missing from `dependsOn`. */
  USE_UNDECLARED: "PLUGIN_USE_UNDECLARED",
  /** A hook handler threw or rejected. */
  HOOK_FAILED: "PLUGIN_HOOK_FAILED",
  /** A sandboxed plugin was given to the in-process host. */
  ISOLATION_UNSUPPORTED: "PLUGIN_ISOLATION_UNSUPPORTED",
} as const;

/** One of {@link PLUGIN_ERROR_CODES}. */
export type PluginErrorCode = typeof PLUGIN_ERROR_CODES[keyof typeof PLUGIN_ERROR_CODES];

/** Options for {@link PluginError}. */
export interface PluginErrorOptions {
  /** Id of the plugin at fault. */
  plugin: string;
  /** The hook or lifecycle step that failed (`setup`, `mind.reply`…). */
  hook?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * A failure attributed to one plugin. The message starts with
 * `[plugin <id>]` so logs and start-up errors always say whose it was. It
 * may carry arbitrary exception text, so HTTP callers never see it: the
 * error handler answers `INTERNAL` and logs it.
 */
export class PluginError extends AppError {
  /** Id of the plugin at fault. */
  readonly plugin: string;
  /** The hook or lifecycle step that failed, if any. */
  readonly hook: string | undefined;

  /** Creates the error; the message gets the `[plugin <id>]` prefix. */
  constructor(code: PluginErrorCode, message: string, options: PluginErrorOptions) {
    super(code, `[plugin ${options.plugin}] ${message}`, {
      status: 500,
      cause: options.cause,
      expose: false,
    });
    this.name = "PluginError";
    this.plugin = options.plugin;
    this.hook = options.hook;
  }
}
