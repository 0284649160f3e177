/**
 * The tool model (spec/tools.md §1): a manifest with a zod argument schema,
 * a risk level, grants and limits, and a worker module that runs in the
 * sandbox. Built-in tools are plugins (`plugins/tool_<name>/`) that declare
 * one with {@link defineTool}.
 *
 * @module
 */
import type { z } from "zod";
import type { Grants } from "../sandbox/host.ts";
import type { ToolsConfig } from "./config.ts";

/** Risk levels, ordered. */
export const TOOL_RISKS = ["safe", "network", "write", "execute"] as const;
/** How much harm a call can do. */
export type ToolRisk = (typeof TOOL_RISKS)[number];

/** A tool's limits. */
export interface ToolLimits {
  /** The sandbox process is killed after this long. */
  timeoutMs: number;
  /** The worker's result is cut (by the tool) to stay under this. */
  maxOutputChars: number;
}

/** What a tool's host half gets for one call. */
export interface ToolHostContext {
  /** The call's workspace (absolute real path, created), or null when the tool has none. */
  workspace: string | null;
  /** The `tools` config section. */
  config: ToolsConfig;
  /** Reads an environment variable the operator named in config (secrets of calls). */
  env(name: string): string | undefined;
  /**
   * Runs the tool's worker once in the sandbox with these arguments and
   * grants (the workspace is the child's working directory). Resolves with
   * what `run` returned; a coded throw becomes a {@link ToolError}. Codes
   * only the host decides (`TOOLS_CANCELLED`, `TOOLS_SANDBOX_OOM`, …) and,
   * with `workerCodes`, every code not listed become `TOOLS_FAILED`: a
   * worker that runs untrusted code (`code_execute`) lists none. Arguments
   * holding a key frames refuse (`__proto__`, `constructor`, `prototype`)
   * are `TOOLS_ARGS_INVALID` before anything starts.
   */
  sandbox(
    args: unknown,
    grants: Grants,
    options?: {
      timeoutMs?: number;
      secrets?: Record<string, string>;
      workerCodes?: readonly string[];
    },
  ): Promise<unknown>;
  /** Aborted when the run is cancelled or the server stops. */
  signal: AbortSignal;
}

/** A tool as the registry holds it. */
export interface ToolDefinition<Schema extends z.ZodObject = z.ZodObject> {
  /** `/^[a-z][a-z0-9_]{0,47}$/`. */
  name: string;
  /** Shown to the model and in `/tools`. */
  description: string;
  /** Validates arguments before anything runs; must be strict. */
  args: Schema;
  risk: ToolRisk;
  limits: ToolLimits;
  /** The grants a plain call gets (shown in `GET /api/tools`; `${workspace}` = the call's workspace). */
  grants: Grants;
  /** Whether the call runs in a workspace (file tools, shell). @default false */
  workspace?: boolean;
  /** Whether the warm pool may run it (no grants, no workspace). @default false */
  pool?: boolean;
  /**
   * Whether it can run now (a third-party plugin's process is up): an unavailable tool is not
   * offered to the model, and `GET /api/tools` says `available: false`. @default always
   */
  available?: () => boolean;
  /**
   * The module that runs in the sandbox (see `src/sandbox/worker_types.ts`);
   * absent for a third-party plugin's tool, whose `run` calls its process.
   */
  worker?: URL;
  /**
   * The host half: checks arguments (paths, options, addresses) and runs the
   * worker, possibly more than once. @default one sandbox call with the
   * tool's grants, `${workspace}` replaced
   */
  run?(args: z.output<Schema>, ctx: ToolHostContext): Promise<unknown>;
}

/** A tool call's outcome as the model sees it (spec/tools.md §1). */
export type ToolResult =
  | { ok: true; data: unknown; truncated: boolean }
  | { ok: false; error: { code: string; message: string } };
