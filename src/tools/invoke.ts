/**
 * One tool call, from raw arguments to a {@link ToolResult}: validation on
 * the host, the tool's host half (`run`), and its worker in the sandbox —
 * a warm pooled process for grantless pool tools, else a fresh child with
 * exactly the call's grants. Approvals, records and concurrency are the
 * executor's (`executor.ts`); this is the part a test can drive alone.
 *
 * @module
 */
import type { z } from "zod";
import { AppError } from "../errors.ts";
import {
  type Grants,
  type KillReason,
  runSandboxed,
  type SandboxOutcome,
  type SandboxPool,
} from "../sandbox/host.ts";
import type { ToolsConfig } from "./config.ts";
import { ToolError } from "./errors.ts";
import type { ToolDefinition, ToolHostContext, ToolResult } from "./types.ts";

/** How calls reach the sandbox. */
export interface InvokeOptions {
  config: ToolsConfig;
  /** The call's workspace (real path), or null. */
  workspace: string | null;
  /** An empty folder: the working directory of calls without a workspace. */
  emptyDir: string;
  /** Warm processes for pool tools; absent runs every call in a new process. */
  pool?: SandboxPool | undefined;
  /** Environment lookups for configured secrets (`tools.web_search.apiKeyEnv`). */
  env?: ((name: string) => string | undefined) | undefined;
  signal?: AbortSignal | undefined;
  onKill?: ((reason: KillReason) => void) | undefined;
}

const sources = new Map<string, Promise<string>>();
/** A worker module's source, read once. */
export function workerSource(url: URL): Promise<string> {
  let source = sources.get(url.href);
  if (!source) {
    source = Deno.readTextFile(url);
    source.catch(() => sources.delete(url.href));
    sources.set(url.href, source);
  }
  return source;
}

/** The tool's grants with `${workspace}` replaced (entries naming it are dropped without one). */
export function grantsFor(grants: Grants, workspace: string | null): Grants {
  const out: Grants = {};
  for (const [kind, values] of Object.entries(grants) as Array<[keyof Grants, string[]]>) {
    const list = values.flatMap((value) =>
      value.includes("${workspace}")
        ? workspace === null ? [] : [value.replaceAll("${workspace}", workspace)]
        : [value]
    );
    if (list.length > 0) out[kind] = list;
  }
  return out;
}

const hasGrants = (grants: Grants) => Object.values(grants).some((list) => list && list.length);

/**
 * Validates arguments.
 *
 * @throws {ToolError} `TOOLS_ARGS_INVALID` naming the first issue's path.
 */
export function parseToolArgs<S extends z.ZodObject>(
  tool: ToolDefinition<S>,
  args: unknown,
): z.output<S> {
  const parsed = tool.args.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join(".");
  throw new ToolError(
    "TOOLS_ARGS_INVALID",
    `Invalid arguments for ${tool.name}: ${field ? `${field}: ` : ""}${issue.message}`,
    { ...(field ? { field } : {}) },
  );
}

/** Turns a worker's outcome into data, or throws its coded error. */
function unwrap(tool: string, outcome: SandboxOutcome): unknown {
  if (outcome.ok) return outcome.data;
  const { code, message, name } = outcome.error;
  if (code && /^(TOOLS|PLUGIN)_[A-Z0-9_]+$/.test(code)) throw new ToolError(code, message);
  throw new ToolError("TOOLS_FAILED", `${tool} failed: ${name}: ${message}`);
}

/**
 * Runs a tool and resolves with its result; argument and sandbox failures
 * resolve as `ok: false` too, with their codes. Only programming errors
 * reject.
 */
export async function invokeTool(
  // deno-lint-ignore no-explicit-any
  tool: ToolDefinition<any>,
  rawArgs: unknown,
  options: InvokeOptions,
): Promise<ToolResult> {
  try {
    const args = parseToolArgs(tool, rawArgs);
    const { config } = options;
    const signal = options.signal ?? new AbortController().signal;
    const sandboxConfig = config.sandbox;
    const ctx: ToolHostContext = {
      workspace: options.workspace,
      config,
      env: (name) => options.env?.(name),
      signal,
      async sandbox(workerArgs, grants, callOptions = {}) {
        const timeoutMs = callOptions.timeoutMs ?? tool.limits.timeoutMs;
        if (!tool.worker) throw new Error(`${tool.name} has no worker module`);
        const code = await workerSource(tool.worker);
        const workerCtx = {
          workspace: options.workspace,
          secrets: callOptions.secrets ?? {},
          limits: { maxOutputChars: tool.limits.maxOutputChars },
        };
        if (signal.aborted) throw new ToolError("TOOLS_CANCELLED", "The run was cancelled");
        const pooled = tool.pool && options.pool && !hasGrants(grants) &&
          options.workspace === null;
        const outcome = pooled
          ? await options.pool!.call({
            codeType: "module",
            code,
            args: workerArgs,
            ctx: workerCtx,
            timeoutMs,
            signal,
          })
          : await runSandboxed(
            { mode: "module", code, args: workerArgs, ctx: workerCtx },
            grants,
            {
              timeoutMs,
              memoryBytes: sandboxConfig.memoryLimitBytes,
              heapMiB: sandboxConfig.heapMiB,
              maxFrameBytes: sandboxConfig.maxFrameBytes,
            },
            {
              cwd: options.workspace ?? options.emptyDir,
              prlimitPath: sandboxConfig.prlimitPath,
              denoPath: sandboxConfig.denoPath,
            },
            { signal, ...(options.onKill ? { onKill: options.onKill } : {}) },
          );
        return unwrap(tool.name, outcome);
      },
    };
    const data = tool.run
      ? await tool.run(args, ctx)
      : await ctx.sandbox(args, grantsFor(tool.grants, options.workspace));
    const truncated = typeof data === "object" && data !== null &&
      (data as { truncated?: unknown }).truncated === true;
    return { ok: true, data: data ?? null, truncated };
  } catch (error) {
    if (error instanceof AppError && /^(TOOLS|PLUGIN)_/.test(error.code)) {
      return { ok: false, error: { code: error.code, message: error.message } };
    }
    throw error;
  }
}
