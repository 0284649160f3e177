/**
 * The sandbox host (spec/tools.md §3.2): calls run in child processes
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
 * stop a busy loop, platform_facts §3); a heap death (V8's fatal
 * out-of-memory trap) or a buffer allocation failure the worker's own
 * dispatch code recorded is `TOOLS_SANDBOX_OOM`, another death
 * `TOOLS_SANDBOX_CRASHED`, a broken frame `TOOLS_SANDBOX_PROTOCOL`. Nothing
 * the sandboxed code can write (an error message, stderr) decides the code.
 * The child's frames must carry the random token the host sent first.
 *
 * The kill timers use real time, not the injected clock: they bound a real
 * operating-system process.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { AppError } from "../errors.ts";
import { encodeFrame, FrameError, MAX_FRAME_BYTES, readFrames } from "./frames.ts";

/** What a call may touch; every other kind is denied. */
export interface Grants {
  read?: string[];
  write?: string[];
  /** host[:port] entries. */
  net?: string[];
  /**
   * IPv4 ranges (CIDR) the child may never connect to, checked by Deno
   * against the address actually connected to (`--deny-net`): a name that
   * resolves to a private address after the check is still refused.
   * Deno 2.9.6 rejects IPv6 ranges here.
   */
  denyNet?: string[];
  /** Variable names passed through (and readable). */
  env?: string[];
  run?: string[];
}

/** Limits of one child process. */
export interface SandboxLimits {
  /** Wall time of a call; also sets `--cpu` unless `cpuSeconds` is given. */
  timeoutMs: number;
  /** RLIMIT_CPU of the process. @default ceil(timeoutMs / 1000) + 5 */
  cpuSeconds?: number;
  /**
   * RLIMIT_DATA of the child. @default 2 GiB — Deno needs about 512 MiB to
   * start, and the tool's Worker reserves its own code range: under 1 GiB
   * creating it failed ("Failed to reserve virtual memory for CodeRange"),
   * 1.5 GiB worked (measured on Deno 2.9.6).
   */
  memoryBytes?: number;
  /** V8 old-space limit. @default 64 */
  heapMiB?: number;
  /** Largest frame the child may send. @default 4 MiB */
  maxFrameBytes?: number;
}

/** Where the child's executables are. */
export interface SandboxRuntime {
  /** The deno executable. @default Deno.execPath() */
  denoPath?: string | null;
  /**
   * Sandbox mode without a deno CLI (a compiled binary, spec/ops.md §5): the
   * program and arguments that start this program's runner (`<binary>
   * __sandbox`). No permission flags are possible; the runner revokes every
   * kind the call is not granted before any Worker exists, and the heap
   * limit goes through `DENO_V8_FLAGS`. Null or absent: `deno run` with flags.
   */
  selfExec?: readonly string[] | null;
  /** prlimit; null runs without a memory cap. @default "/usr/bin/prlimit" */
  prlimitPath?: string | null;
  /** The child's working directory (the workspace or an empty folder). */
  cwd: string;
  /**
   * A folder holding a copy of the runner (see {@link materializeRunner});
   * absent, the runner beside this module.
   */
  runnerDir?: string | null;
  /** Extra environment (granted variables' values). */
  env?: Record<string, string>;
}

/** One call: code and its arguments. */
export interface SandboxCall {
  /** `body`: the body of an async function of `args`; `module`: a worker module exporting `run`. */
  codeType: "body" | "module";
  code: string;
  args?: unknown;
  /** The worker's context (`WorkerContext` without `deadlineMs`). */
  ctx?: Record<string, unknown>;
  timeoutMs: number;
  /** Aborting kills the child: `TOOLS_CANCELLED`. */
  signal?: AbortSignal;
}

/** A call's outcome as the code reported it. */
export type SandboxOutcome =
  | { ok: true; data: unknown }
  | {
    ok: false;
    error: {
      code?: string;
      name: string;
      message: string;
      /**
       * Set by the runner's dispatch code (captured before any tool code ran)
       * when the throw was an engine `RangeError: Array buffer allocation failed`.
       */
      outOfMemory?: true;
    };
  };

/** How {@link SandboxProcess.request} waits. */
export interface SandboxRequestOptions {
  /** How long the answer may take. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /**
   * At the deadline: `kill` the child (`TOOLS_TIMEOUT`), or `late`: resolve
   * `{ type: "__late" }`, keep the child, and drop its answer when it comes.
   * @default "kill"
   */
  onTimeout?: "kill" | "late";
  /**
   * On abort: `kill` the child (`TOOLS_CANCELLED`), or `abandon`: reject
   * with `TOOLS_CANCELLED` at once, keep the child, and drop its answer
   * when it comes (a plugin process serves other calls). The call's
   * deadline stays armed until that answer: a busy-looping call still gets
   * the child killed at its timeout. @default "kill"
   */
  onAbort?: "kill" | "abandon";
}

/** A job of {@link runSandboxed}. */
export type SandboxJob =
  | { mode: "code"; code: string; args?: unknown }
  | { mode: "module"; code: string; args?: unknown; ctx?: Record<string, unknown> };

/** Why the host killed a child (`synth_tool_sandbox_kills_total{reason}`). */
export type KillReason = "timeout" | "cancelled" | "protocol" | "oom" | "idle" | "shutdown";

const RUNTIME_DIR = fromFileUrl(new URL(".", import.meta.url));
/** The runner and the one module it imports: all a sandbox child loads of the app. */
const RUNTIME_FILES = ["runner.ts", "frames.ts"] as const;

/**
 * Copies the runner's files into `dir` (created) and returns it: in a
 * compiled binary with `denoPath`, the embedded sources are not files the
 * external deno could read (spec/ops.md §5), so the children run this copy.
 */
export function materializeRunner(dir: string): string {
  // Synchronous: once, while the kernel is built, before any child starts.
  Deno.mkdirSync(dir, { recursive: true });
  for (const name of RUNTIME_FILES) {
    const source = Deno.readTextFileSync(new URL(`./${name}`, import.meta.url));
    Deno.writeTextFileSync(join(dir, name), source);
  }
  return dir;
}
const STDERR_CAP = 64 * 1024;
/** Requests given up on whose answers may still come (kept to drop them quietly). */
const DROPPED_IDS = 1_024;
/** The default memory cap of a sandboxed call. */
export const DEFAULT_MEMORY_BYTES = 2 * 1024 * 1024 * 1024;

function sandboxError(code: string, message: string): AppError {
  return new AppError(code, message, {
    status: code === "TOOLS_TIMEOUT" ? 504 : code === "TOOLS_CANCELLED" ? 409 : 500,
  });
}

/**
 * Whether this process is a `deno compile` binary: its main module then
 * lives in the binary's embedded file system (`…/deno-compile-<name>/…`).
 */
export function isCompiledBinary(mainModule: string = Deno.mainModule): boolean {
  return /[\\/]deno-compile-/.test(decodeURIComponent(mainModule));
}

/**
 * The sandbox's self-exec command (see {@link SandboxRuntime.selfExec}):
 * none when a deno executable is configured; else the configured
 * `selfCommand`, else `<binary> __sandbox` in a compiled binary, else none
 * (`deno run` of the server's own deno).
 */
export function selfExecCommand(
  sandbox: { denoPath: string | null; selfCommand: readonly string[] | null },
  compiled: boolean = isCompiledBinary(),
): readonly string[] | null {
  if (sandbox.denoPath !== null) return null;
  if (sandbox.selfCommand) return sandbox.selfCommand;
  return compiled ? [Deno.execPath(), "__sandbox"] : null;
}

/** The child's command line (exported for the test that checks it). */
export function childCommand(
  grants: Grants,
  limits: SandboxLimits,
  runtime: SandboxRuntime,
): { command: string; args: string[] } {
  const flag = (name: string, values: string[] | undefined) =>
    values && values.length > 0 ? [`--allow-${name}=${values.join(",")}`] : [];
  const deno = runtime.selfExec?.[0] ?? runtime.denoPath ?? Deno.execPath();
  const runtimeDir = runtime.runnerDir ?? RUNTIME_DIR;
  const denoArgs = runtime.selfExec ? runtime.selfExec.slice(1) : [
    "run",
    "--no-prompt",
    "--no-remote",
    "--no-npm",
    "--no-config",
    "--no-lock",
    "--quiet",
    "--unstable-worker-options",
    `--v8-flags=--max-old-space-size=${limits.heapMiB ?? 64}`,
    `--allow-read=${[runtimeDir, ...(grants.read ?? [])].join(",")}`,
    ...flag("write", grants.write),
    ...flag("net", grants.net),
    ...(grants.denyNet && grants.denyNet.length > 0
      ? [`--deny-net=${grants.denyNet.join(",")}`]
      : []),
    ...flag("env", grants.env),
    ...flag("run", grants.run),
    join(runtimeDir, "runner.ts"),
  ];
  if (runtime.prlimitPath === null) return { command: deno, args: denoArgs };
  return {
    command: runtime.prlimitPath ?? "/usr/bin/prlimit",
    args: [
      `--data=${limits.memoryBytes ?? DEFAULT_MEMORY_BYTES}`,
      `--cpu=${limits.cpuSeconds ?? Math.ceil(limits.timeoutMs / 1000) + 5}`,
      "--",
      deno,
      ...denoArgs,
    ],
  };
}

/** Extra behaviour of a long-lived child (a third-party plugin's). */
export interface SandboxProcessOptions {
  /** Fields added to `sandbox.init` (`mode`, `code`, `config`). */
  init?: Record<string, unknown>;
  /**
   * Frames that answer no request (`tool.log`); return false to treat one
   * as a protocol breach.
   */
  onMessage?: (message: Record<string, unknown>) => boolean;
  onKill?: (reason: KillReason) => void;
}

/**
 * One sandbox child. A tool process serves calls one at a time, each in a
 * fresh Worker; a plugin process keeps its Worker and answers requests by
 * id. A timeout, a cancel, a protocol breach or an out-of-memory error
 * kills it.
 */
export class SandboxProcess {
  /** Calls answered so far. */
  calls = 0;
  /** Why the host killed it, if it did. */
  killedFor: KillReason | null = null;
  /** Resolves with the `sandbox.ready` frame; rejects with the death's error. */
  readonly ready: Promise<Record<string, unknown>>;
  /** Resolves with the exit status once the child has ended. */
  readonly ended: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #token = crypto.randomUUID().replaceAll("-", "");
  readonly #pending = new Map<string, (message: Record<string, unknown> | null) => void>();
  /** Ids of requests given up on → the deadline still armed for an abandoned call. */
  readonly #dropped = new Map<string, ReturnType<typeof setTimeout> | undefined>();
  readonly #onKill: ((reason: KillReason) => void) | undefined;
  #writing: Promise<void> = Promise.resolve();
  #stderr = "";
  #alive = true;
  #busy = false;

  /** Spawns a child with these grants; throws when the executable cannot start. */
  constructor(
    readonly grants: Grants,
    limits: SandboxLimits,
    runtime: SandboxRuntime,
    options: SandboxProcessOptions | ((reason: KillReason) => void) = {},
  ) {
    const settings = typeof options === "function" ? { onKill: options } : options;
    this.#onKill = settings.onKill;
    const selfExec = Boolean(runtime.selfExec);
    // Without flags there is no --deny-net (the address checks could be raced), and the
    // binary's own permissions allow running only prlimit, which no Worker may exceed.
    const needsDeno = (["net", "run"] as const).filter((kind) => (grants[kind]?.length ?? 0) > 0);
    if (selfExec && needsDeno.length > 0) {
      throw sandboxError(
        "TOOLS_SANDBOX_UNSUPPORTED",
        `A tool granted ${
          needsDeno.join(" and ")
        } needs a deno executable for the sandbox: set tools.sandbox.denoPath ` +
          "(SYNTH_TOOLS_SANDBOX_DENO_PATH) to a deno of the server's version",
      );
    }
    const { command, args } = childCommand(grants, limits, runtime);
    const child = new Deno.Command(command, {
      args,
      cwd: runtime.cwd,
      clearEnv: true,
      env: {
        NO_COLOR: "1",
        ...(selfExec ? { DENO_V8_FLAGS: `--max-old-space-size=${limits.heapMiB ?? 64}` } : {}),
        ...runtime.env,
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    const stderrDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr = (this.#stderr + chunk).slice(-STDERR_CAP);
      }
    })().catch(() => {});
    let readyResolve!: (message: Record<string, unknown>) => void;
    let readyReject!: (error: unknown) => void;
    this.ready = new Promise((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    this.ready.catch(() => {});
    this.send({
      ...settings.init,
      type: "sandbox.init",
      protocol: 1,
      token: this.#token,
      grants,
      ...(selfExec ? { revoke: true } : {}),
    });
    this.ended = (async () => {
      try {
        for await (
          const frame of readFrames(child.stdout, limits.maxFrameBytes ?? MAX_FRAME_BYTES)
        ) {
          const message = frame as Record<string, unknown>;
          if (message === null || typeof message !== "object" || message.token !== this.#token) {
            throw new FrameError("a frame without the session token");
          }
          const id = typeof message.callId === "string"
            ? message.callId
            : typeof message.requestId === "string"
            ? message.requestId
            : null;
          const waiting = id === null ? undefined : this.#pending.get(id);
          if (message.type === "sandbox.ready") readyResolve(message);
          else if (waiting) {
            this.#pending.delete(id!);
            waiting(message);
          } else if (id !== null && this.#dropped.has(id)) {
            // A late answer: dropped, and an abandoned call's deadline is over.
            clearTimeout(this.#dropped.get(id));
            this.#dropped.delete(id);
          } else if (message.type === "sandbox.pong") continue;
          else if (!settings.onMessage?.(message)) {
            throw new FrameError(`an unexpected frame of type ${String(message.type)}`);
          }
        }
      } catch (error) {
        // A bad frame, or a read failure of the pipe: either way the child is not trusted further.
        if (error instanceof FrameError || this.killedFor === null) this.kill("protocol");
      }
      this.#alive = false;
      for (const deadline of this.#dropped.values()) clearTimeout(deadline);
      this.#dropped.clear();
      const status = await child.status;
      await stderrDone;
      readyReject(this.#death(status));
      for (const waiting of this.#pending.values()) waiting(null);
      this.#pending.clear();
      return status;
    })();
  }

  /** Whether the child can take another call. */
  get alive(): boolean {
    return this.#alive && this.killedFor === null;
  }

  /** Whether a call is running. */
  get busy(): boolean {
    return this.#busy;
  }

  /** The tail of the child's stderr (for logs only, never for callers). */
  get stderrTail(): string {
    return this.#stderr.slice(-2_048);
  }

  /** SIGKILLs the child; its running calls end with the reason's code. */
  kill(reason: KillReason): void {
    if (this.killedFor === null) {
      this.killedFor = reason;
      this.#onKill?.(reason);
    }
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  /** Writes a frame (in order with every other write); a dead child's frames are dropped. */
  send(message: Record<string, unknown>): void {
    const frame = encodeFrame(message);
    this.#writing = this.#writing.then(() => this.#writer.write(frame)).catch(() => {});
  }

  /** Asks the child to exit and waits for it. */
  async shutdown(): Promise<void> {
    if (this.#alive) {
      this.send({ type: "sandbox.shutdown" });
      await this.#writing;
      await this.#writer.close().catch(() => {});
    }
    const timer = setTimeout(() => this.kill("shutdown"), 2_000);
    await this.ended;
    clearTimeout(timer);
  }

  /**
   * Sends `message` (which carries `id` as its `callId` or `requestId`) and
   * resolves with the answer carrying the same id. Past `timeoutMs` the
   * child is killed (`TOOLS_TIMEOUT`), and an aborted `signal` kills it too
   * (`TOOLS_CANCELLED`), unless `onTimeout` / `onAbort` say to stop waiting
   * instead (see {@link SandboxRequestOptions}). A death rejects with its
   * error.
   */
  async request(
    message: Record<string, unknown>,
    id: string,
    options: SandboxRequestOptions,
  ): Promise<Record<string, unknown>> {
    const { signal } = options;
    // Set from callbacks, so typed by assertion (a declared null would narrow to null).
    let stopped = null as "late" | "cancelled" | null;
    const { promise: answerCame, resolve: answer } = Promise.withResolvers<
      Record<string, unknown> | null
    >();
    const stopWaiting = (why: "late" | "cancelled") => {
      if (stopped !== null) return;
      stopped = why;
      // The child may still answer: that answer is dropped, not taken for a protocol breach.
      // An abandoned call keeps its deadline: still running past it, it is killed as any call.
      if (this.#pending.get(id) === answer) {
        this.#pending.delete(id);
        this.#dropped.set(id, why === "cancelled" ? timer : undefined);
        if (this.#dropped.size > DROPPED_IDS) {
          const [oldest, deadline] = this.#dropped.entries().next().value!;
          clearTimeout(deadline);
          this.#dropped.delete(oldest);
        }
      }
      answer(null);
    };
    const timer = setTimeout(() => {
      if (options.onTimeout === "late") stopWaiting("late");
      else this.kill("timeout");
    }, options.timeoutMs);
    const onAbort = () => {
      if (options.onAbort === "abandon") stopWaiting("cancelled");
      else this.kill("cancelled");
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      await this.ready;
      if (!this.alive) throw this.#death(await this.ended);
      if (stopped === null) {
        this.#pending.set(id, answer);
        this.send(message);
      }
      const answered = await answerCame;
      if (stopped === "late") return { type: "__late" };
      if (stopped === "cancelled") throw sandboxError("TOOLS_CANCELLED", "The run was cancelled");
      if (answered === null) throw this.#death(await this.ended);
      return answered;
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw this.killedFor || !this.#alive ? this.#death(await this.ended) : error;
    } finally {
      if (this.#dropped.get(id) !== timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (this.#pending.get(id) === answer) this.#pending.delete(id);
    }
  }

  /**
   * Runs one call. Resolves with the code's outcome (its own errors,
   * including denied permissions, are outcomes); rejects with
   * `TOOLS_TIMEOUT`, `TOOLS_CANCELLED`, `TOOLS_SANDBOX_OOM`,
   * `TOOLS_SANDBOX_CRASHED` or `TOOLS_SANDBOX_PROTOCOL`.
   */
  async call(call: SandboxCall): Promise<SandboxOutcome> {
    if (this.#busy) throw new Error("A sandbox process runs one call at a time");
    if (!this.alive) throw sandboxError("TOOLS_SANDBOX_CRASHED", "The sandbox process has ended");
    this.#busy = true;
    try {
      const callId = crypto.randomUUID();
      const outcome = outcomeOf(
        await this.request(
          {
            type: "tool.call",
            callId,
            codeType: call.codeType,
            code: call.code,
            args: call.args ?? null,
            ctx: call.ctx ?? {},
            deadlineMs: call.timeoutMs,
          },
          callId,
          { timeoutMs: call.timeoutMs, signal: call.signal },
        ),
      );
      this.calls++;
      // A buffer allocation failure is the same as a heap death, and leaves the child unfit.
      // Only the dispatch code's own flag counts: a message is text the code could have written.
      if (!outcome.ok && outcome.error.outOfMemory === true) {
        this.kill("oom");
        throw sandboxError("TOOLS_SANDBOX_OOM", "The tool ran out of memory");
      }
      return outcome;
    } finally {
      this.#busy = false;
    }
  }

  #death(status: Deno.CommandStatus): AppError {
    switch (this.killedFor) {
      case "timeout":
        return sandboxError("TOOLS_TIMEOUT", "The tool ran longer than its time limit");
      case "cancelled":
        return sandboxError("TOOLS_CANCELLED", "The run was cancelled");
      case "protocol":
        return sandboxError(
          "TOOLS_SANDBOX_PROTOCOL",
          "The sandboxed tool broke the frame protocol",
        );
      case "oom":
        return sandboxError("TOOLS_SANDBOX_OOM", "The tool ran out of memory");
    }
    // V8's fatal out-of-memory ends the process with a trap (exit 133). Sandboxed code can
    // write anything to stderr and end its process in other ways, so stderr decides nothing.
    if (status.code === 133 || status.signal === "SIGTRAP") {
      return sandboxError("TOOLS_SANDBOX_OOM", "The tool ran out of memory");
    }
    return sandboxError(
      "TOOLS_SANDBOX_CRASHED",
      `The sandbox ended unexpectedly (exit ${status.code})`,
    );
  }
}

/** A `tool.result` frame as an outcome. */
export function outcomeOf(message: Record<string, unknown>): SandboxOutcome {
  if (message.ok === true) return { ok: true, data: message.data ?? null };
  const error = (message.error ?? {}) as Record<string, unknown>;
  return {
    ok: false,
    error: {
      ...(typeof error.code === "string" ? { code: error.code } : {}),
      name: String(error.name ?? "Error"),
      message: String(error.message ?? ""),
      ...(error.outOfMemory === true ? { outOfMemory: true as const } : {}),
    },
  };
}

/**
 * Runs one job in a fresh child and ends it. See {@link SandboxProcess.call}
 * for what resolves and what rejects.
 */
export async function runSandboxed(
  job: SandboxJob,
  grants: Grants,
  limits: SandboxLimits,
  runtime: SandboxRuntime,
  options: { signal?: AbortSignal; onKill?: (reason: KillReason) => void } = {},
): Promise<SandboxOutcome> {
  const child = new SandboxProcess(grants, limits, runtime, options.onKill);
  try {
    return await child.call({
      codeType: job.mode === "code" ? "body" : "module",
      code: job.code,
      args: job.args,
      ...(job.mode === "module" && job.ctx ? { ctx: job.ctx } : {}),
      timeoutMs: limits.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await child.shutdown();
  }
}

/** Options of {@link SandboxPool}. */
export interface SandboxPoolOptions {
  /** Processes kept warm. */
  size: number;
  /** A process is replaced after this many calls. */
  maxCallsPerProcess: number;
  /** A process idle this long is stopped. */
  idleMs: number;
  /** Limits of the pooled processes (`timeoutMs` is per call). */
  limits: Omit<SandboxLimits, "timeoutMs">;
  runtime: SandboxRuntime;
  onKill?: (reason: KillReason) => void;
}

/**
 * Warm processes without grants (spec/tools.md §3.2): calls of grantless
 * tools skip the process start, and still get a fresh Worker each. A process
 * that timed out, crashed or was cancelled is dropped; when every process
 * is busy a call gets a process of its own.
 */
export class SandboxPool {
  readonly #idle: Array<{ process: SandboxProcess; timer: ReturnType<typeof setTimeout> }> = [];
  #count = 0;
  #closed = false;

  constructor(private readonly options: SandboxPoolOptions) {}

  #spawn(): SandboxProcess {
    return new SandboxProcess(
      {},
      {
        ...this.options.limits,
        timeoutMs: 0,
        // Many calls share the CPU limit; each call's wall time is bounded by its timer.
        cpuSeconds: 60 + Math.ceil(this.options.idleMs / 1000),
      },
      this.options.runtime,
      this.options.onKill,
    );
  }

  #park(process: SandboxProcess): void {
    const timer = setTimeout(() => {
      const index = this.#idle.findIndex((entry) => entry.process === process);
      if (index >= 0) this.#idle.splice(index, 1);
      this.#count--;
      void process.shutdown();
    }, this.options.idleMs);
    this.#idle.push({ process, timer });
  }

  /**
   * Starts processes up to the pool's size.
   *
   * @throws When a process cannot be started (e.g. the permission set may not run the sandbox's
   * command): the pool stays as it was, and each call then starts its own process and fails alike.
   */
  warm(): void {
    while (!this.#closed && this.#count < this.options.size) {
      this.#count++;
      try {
        this.#park(this.#spawn());
      } catch (error) {
        this.#count--;
        throw error;
      }
    }
  }

  /** Processes alive (idle or running a call). */
  get size(): number {
    return this.#count;
  }

  /** Runs a call on a warm process, or on a new one when all are busy. */
  async call(call: SandboxCall): Promise<SandboxOutcome> {
    let entry = this.#idle.pop();
    while (entry && !entry.process.alive) {
      clearTimeout(entry.timer);
      this.#count--;
      entry = this.#idle.pop();
    }
    let process: SandboxProcess;
    let pooled = true;
    if (entry) {
      clearTimeout(entry.timer);
      process = entry.process;
    } else if (!this.#closed && this.#count < this.options.size) {
      this.#count++;
      process = this.#spawn();
    } else {
      pooled = false;
      process = this.#spawn();
    }
    try {
      return await process.call(call);
    } finally {
      const reusable = pooled && !this.#closed && process.alive &&
        process.calls < this.options.maxCallsPerProcess;
      if (reusable) this.#park(process);
      else {
        if (pooled) this.#count--;
        void process.shutdown();
        // Keep the pool warm for the next call.
        if (pooled && !this.#closed) this.warm();
      }
    }
  }

  /** Stops every idle process; running calls finish on their own. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    for (const entry of idle) clearTimeout(entry.timer);
    this.#count -= idle.length;
    await Promise.all(idle.map((entry) => entry.process.shutdown()));
  }
}
