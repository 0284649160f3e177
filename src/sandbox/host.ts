/**
 * The sandbox host (spec/tools.md §3.2): every call runs in a child process
 * started as
 *
 * ```
 * prlimit --data=<bytes> --cpu=<s> -- <deno> run --no-prompt --no-remote --no-npm
 *   --no-config --no-lock --quiet --unstable-worker-options
 *   --v8-flags=--max-old-space-size=<MiB> --allow-read=<runtime>[,grants] … runner.ts
 * ```
 *
 * with a cleared environment, and inside it in a Worker whose permissions
 * equal the grants. A timer SIGKILLs the child (ending a Worker does not
 * stop a busy loop, platform_facts §3); a heap or buffer allocation failure
 * is `TOOLS_SANDBOX_OOM`, another death `TOOLS_SANDBOX_CRASHED`, a broken
 * frame `TOOLS_SANDBOX_PROTOCOL`. The child's frames must carry the random
 * token the host sent first.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { AppError } from "../errors.ts";
import { encodeFrame, FrameError, readFrames } from "./frames.ts";

/** What a call may touch; every other kind is denied. */
export interface Grants {
  read?: string[];
  write?: string[];
  /** host[:port] entries. */
  net?: string[];
  /** Variable names passed through (and readable). */
  env?: string[];
  run?: string[];
}

/** Limits of one call. */
export interface SandboxLimits {
  timeoutMs: number;
  /**
   * RLIMIT_DATA of the child. @default 2 GiB — Deno needs about 512 MiB to
   * start, and the tool's Worker reserves its own code range: under 1 GiB
   * creating it failed ("Failed to reserve virtual memory for CodeRange"),
   * 1.5 GiB worked (measured on Deno 2.9.6).
   */
  memoryBytes?: number;
  /** V8 old-space limit. @default 64 */
  heapMiB?: number;
}

/** Where the child's executables are. */
export interface SandboxRuntime {
  /** The deno executable. @default Deno.execPath() */
  denoPath?: string;
  /** prlimit; null runs without a memory cap. @default "/usr/bin/prlimit" */
  prlimitPath?: string | null;
  /** The child's working directory (the workspace or an empty folder). */
  cwd: string;
  /** Extra environment (granted variables' values). */
  env?: Record<string, string>;
}

/** One sandboxed call. */
export type SandboxJob =
  | { mode: "code"; code: string; args?: unknown }
  | { mode: "tool"; /** Module path relative to `src/sandbox/`. */ tool: string; args?: unknown };

/** A call's outcome as the tool reported it. */
export type SandboxOutcome =
  | { ok: true; data: unknown }
  | { ok: false; error: { name: string; message: string } };

const RUNTIME_DIR = fromFileUrl(new URL(".", import.meta.url));
const RUNNER = fromFileUrl(new URL("./runner.ts", import.meta.url));
const STDERR_CAP = 64 * 1024;
/** The default memory cap of a sandboxed call. */
export const DEFAULT_MEMORY_BYTES = 2 * 1024 * 1024 * 1024;

function sandboxError(code: string, message: string): AppError {
  return new AppError(code, message, { status: code === "TOOLS_TIMEOUT" ? 504 : 500 });
}

/** The child's command line (exported for the test that checks it). */
export function childCommand(
  grants: Grants,
  limits: SandboxLimits,
  runtime: SandboxRuntime,
): { command: string; args: string[] } {
  const flag = (name: string, values: string[] | undefined) =>
    values && values.length > 0 ? [`--allow-${name}=${values.join(",")}`] : [];
  const deno = runtime.denoPath ?? Deno.execPath();
  const denoArgs = [
    "run",
    "--no-prompt",
    "--no-remote",
    "--no-npm",
    "--no-config",
    "--no-lock",
    "--quiet",
    "--unstable-worker-options",
    `--v8-flags=--max-old-space-size=${limits.heapMiB ?? 64}`,
    `--allow-read=${[RUNTIME_DIR, ...(grants.read ?? [])].join(",")}`,
    ...flag("write", grants.write),
    ...flag("net", grants.net),
    ...flag("env", grants.env),
    ...flag("run", grants.run),
    RUNNER,
  ];
  if (runtime.prlimitPath === null) return { command: deno, args: denoArgs };
  return {
    command: runtime.prlimitPath ?? "/usr/bin/prlimit",
    args: [
      `--data=${limits.memoryBytes ?? DEFAULT_MEMORY_BYTES}`,
      `--cpu=${Math.ceil(limits.timeoutMs / 1000) + 5}`,
      "--",
      deno,
      ...denoArgs,
    ],
  };
}

/**
 * Runs one job in a fresh child. Resolves with the tool's outcome (its own
 * errors, including denied permissions, are outcomes); rejects with
 * `TOOLS_TIMEOUT`, `TOOLS_SANDBOX_OOM`, `TOOLS_SANDBOX_CRASHED` or
 * `TOOLS_SANDBOX_PROTOCOL`.
 */
export async function runSandboxed(
  job: SandboxJob,
  grants: Grants,
  limits: SandboxLimits,
  runtime: SandboxRuntime,
): Promise<SandboxOutcome> {
  const { command, args } = childCommand(grants, limits, runtime);
  const child = new Deno.Command(command, {
    args,
    cwd: runtime.cwd,
    clearEnv: true,
    env: { NO_COLOR: "1", ...runtime.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const token = crypto.randomUUID().replaceAll("-", "");
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, limits.timeoutMs);

  // stderr: only its tail is kept, for classifying a death.
  let stderr = "";
  const stderrDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr = (stderr + chunk).slice(-STDERR_CAP);
    }
  })();

  const writer = child.stdin.getWriter();
  let outcome: SandboxOutcome | undefined;
  let protocolError: string | undefined;
  try {
    await writer.write(encodeFrame({
      type: "sandbox.init",
      protocol: 1,
      token,
      mode: job.mode,
      grants,
      ...(job.mode === "code" ? { code: job.code } : { tool: job.tool }),
    }));
    const callId = crypto.randomUUID();
    for await (const frame of readFrames(child.stdout)) {
      const message = frame as Record<string, unknown>;
      if (message === null || typeof message !== "object" || message.token !== token) {
        protocolError = "a frame without the session token";
        break;
      }
      if (message.type === "sandbox.ready") {
        await writer.write(encodeFrame({
          type: "tool.call",
          callId,
          args: job.args ?? null,
          deadlineMs: limits.timeoutMs,
        }));
      } else if (message.type === "tool.result" && message.callId === callId) {
        outcome = message.ok === true ? { ok: true, data: message.data ?? null } : {
          ok: false,
          error: {
            name: String((message.error as Record<string, unknown>)?.name ?? "Error"),
            message: String((message.error as Record<string, unknown>)?.message ?? ""),
          },
        };
        await writer.write(encodeFrame({ type: "sandbox.shutdown" }));
        break;
      } else {
        protocolError = `an unexpected frame of type ${String(message.type)}`;
        break;
      }
    }
  } catch (error) {
    if (error instanceof FrameError) protocolError = error.message;
    else if (!timedOut) protocolError ??= undefined;
  }
  if (protocolError !== undefined) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  clearTimeout(timer);
  await stderrDone.catch(() => {});

  if (timedOut && outcome === undefined) {
    throw sandboxError("TOOLS_TIMEOUT", `The tool ran longer than ${limits.timeoutMs} ms`);
  }
  if (protocolError !== undefined) {
    throw sandboxError("TOOLS_SANDBOX_PROTOCOL", "The sandboxed tool broke the frame protocol");
  }
  if (outcome !== undefined) {
    // A tool that ran out of buffer memory reports a RangeError: the same as a heap death.
    if (!outcome.ok && /Array buffer allocation failed/.test(outcome.error.message)) {
      throw sandboxError("TOOLS_SANDBOX_OOM", "The tool ran out of memory");
    }
    return outcome;
  }
  if (status.code === 133 || /out of memory|allocation failed/i.test(stderr)) {
    throw sandboxError("TOOLS_SANDBOX_OOM", "The tool ran out of memory");
  }
  throw sandboxError(
    "TOOLS_SANDBOX_CRASHED",
    `The sandbox ended unexpectedly (exit ${status.code})`,
  );
}
