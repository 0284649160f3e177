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
import { issuePath } from "../http/validate.ts";
import {
  type Grants,
  type KillReason,
  runSandboxed,
  type SandboxOutcome,
  type SandboxPool,
  selfExecCommand,
} from "../sandbox/host.ts";
import type { ToolsConfig } from "./config.ts";
import { reportedCode, ToolError } from "./errors.ts";
import type { ToolDefinition, ToolHostContext, ToolResult } from "./types.ts";
import { plainIssueMessage } from "../issue_text.ts";

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
  /** A copy of the sandbox runner (a compiled binary with `denoPath`). */
  runnerDir?: string | null | undefined;
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

/** One worker module in a fresh child with exactly `grants` (see {@link runWorker}). */
interface WorkerJob {
  code: string;
  args: unknown;
  ctx: Record<string, unknown>;
  grants: Grants;
  timeoutMs: number;
  /** The child's working directory. */
  cwd: string;
  sandbox: ToolsConfig["sandbox"];
  signal?: AbortSignal | undefined;
  onKill?: ((reason: KillReason) => void) | undefined;
  runnerDir?: string | null | undefined;
}

function sandboxOutcome(job: WorkerJob): Promise<SandboxOutcome> {
  return runSandboxed(
    { mode: "module", code: job.code, args: job.args, ctx: job.ctx },
    job.grants,
    {
      timeoutMs: job.timeoutMs,
      memoryBytes: job.sandbox.memoryLimitBytes,
      heapMiB: job.sandbox.heapMiB,
      maxFrameBytes: job.sandbox.maxFrameBytes,
    },
    {
      cwd: job.cwd,
      prlimitPath: job.sandbox.prlimitPath,
      denoPath: job.sandbox.denoPath,
      selfExec: selfExecCommand(job.sandbox),
      runnerDir: job.runnerDir ?? null,
    },
    {
      ...(job.signal ? { signal: job.signal } : {}),
      ...(job.onKill ? { onKill: job.onKill } : {}),
    },
  );
}

/**
 * Runs a plugin's own worker module (not a tool: a project's git, say) in a
 * fresh sandbox child with exactly `grants`, under the tool sandbox's limits.
 * Resolves with what the worker's `run` returned.
 *
 * @throws {ToolError} with the `TOOLS_*` code the worker threw,
 * `TOOLS_TIMEOUT`, `TOOLS_CANCELLED`, `TOOLS_SANDBOX_*`, else `TOOLS_FAILED`.
 */
export async function runWorker(
  label: string,
  job: Omit<WorkerJob, "code" | "ctx"> & { worker: URL; workspace: string | null },
): Promise<unknown> {
  const code = await workerSource(job.worker);
  refuseFrameKeys(label, job.args);
  const outcome = await sandboxOutcome({
    ...job,
    code,
    ctx: { workspace: job.workspace, secrets: {}, limits: { maxOutputChars: 1_000_000 } },
  });
  return unwrap(label, outcome);
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

/** Keys that frame parsing refuses (spec/tools.md §3.3): a value holding one cannot cross a frame. */
const FRAME_FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  "__proto__",
  "constructor",
  "prototype",
]);

/**
 * The path of the first key in `value` that a sandbox frame would refuse
 * (`__proto__`, `constructor`, `prototype`), e.g. `options.constructor` or
 * `items[2].__proto__`; null when there is none.
 */
export function forbiddenKeyPath(value: unknown): string | null {
  // Iterative, so deep nesting cannot overflow the stack; `seen` guards against cycles.
  const stack: Array<[unknown, string]> = [[value, ""]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    if (current === null || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        stack.push([current[index], `${path}[${index}]`]);
      }
      continue;
    }
    const keys = Object.keys(current);
    const child = (key: string) => (path ? `${path}.${key}` : key);
    const found = keys.find((key) => FRAME_FORBIDDEN_KEYS.has(key));
    if (found !== undefined) return child(found);
    for (let index = keys.length - 1; index >= 0; index--) {
      stack.push([(current as Record<string, unknown>)[keys[index]!], child(keys[index]!)]);
    }
  }
  return null;
}

/** Throws `TOOLS_ARGS_INVALID` naming the path of a key no frame may carry. */
function refuseFrameKeys(tool: string, value: unknown): void {
  const path = forbiddenKeyPath(value);
  if (path === null) return;
  const key = /(__proto__|constructor|prototype)$/.exec(path)![1];
  throw new ToolError(
    "TOOLS_ARGS_INVALID",
    `Invalid arguments for ${tool}: ${path}: the key "${key}" is not allowed in tool arguments`,
    { field: path },
  );
}

/**
 * Validates arguments. Arguments of a tool without a worker module (a
 * third-party plugin's) go to its process as they are, so a key that frames
 * refuse (`__proto__`, `constructor`, `prototype`, at any depth) is refused
 * here, before anything starts; a built-in tool's worker arguments are
 * checked the same way when its host half sends them (`json_parse` sends
 * such documents as text).
 *
 * @throws {ToolError} `TOOLS_ARGS_INVALID` naming the first issue's path.
 */
export function parseToolArgs<S extends z.ZodObject>(
  tool: ToolDefinition<S>,
  args: unknown,
): z.output<S> {
  if (!tool.worker) refuseFrameKeys(tool.name, args);
  const parsed = tool.args.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issuePath(issue);
  throw new ToolError(
    "TOOLS_ARGS_INVALID",
    `Invalid arguments for ${tool.name}: ${field ? `${field}: ` : ""}${plainIssueMessage(issue)}`,
    { ...(field ? { field } : {}) },
  );
}

/**
 * Turns a worker's outcome into data, or throws its coded error. A code the
 * host alone decides (`TOOLS_CANCELLED`, `TOOLS_SANDBOX_OOM`, …), or one
 * outside `accepted` when given, becomes `TOOLS_FAILED`.
 */
function unwrap(tool: string, outcome: SandboxOutcome, accepted?: readonly string[]): unknown {
  if (outcome.ok) return outcome.data;
  const { message, name } = outcome.error;
  const code = reportedCode(outcome.error.code, accepted);
  if (code) throw new ToolError(code, message);
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
        refuseFrameKeys(tool.name, workerArgs);
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
          : await sandboxOutcome({
            code,
            args: workerArgs,
            ctx: workerCtx,
            grants,
            timeoutMs,
            cwd: options.workspace ?? options.emptyDir,
            sandbox: sandboxConfig,
            signal,
            onKill: options.onKill,
            runnerDir: options.runnerDir,
          });
        return unwrap(tool.name, outcome, callOptions.workerCodes);
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
