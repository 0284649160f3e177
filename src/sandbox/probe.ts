/**
 * The `sandbox` health check (spec/server.md §11, tools.md §3.2): a trivial
 * program run in the sandbox at start and at most every five minutes after.
 * Without `prlimit` the sandbox still works but has no memory cap: degraded.
 * Without permission to start subprocesses it fails.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import type { CheckResult } from "../telemetry/health.ts";
import { runSandboxed, type SandboxRuntime } from "./host.ts";

/** Re-probe after this long. */
const INTERVAL_MS = 5 * 60_000;

/** Options for {@link createSandboxProbe}. */
export interface SandboxProbeOptions {
  clock: Clock;
  /** The empty folder probe calls run in. */
  cwd: string;
  /** null: the operator turned the memory cap off. */
  prlimitPath: string | null;
  /** The deno executable; null = the server's own. */
  denoPath?: string | null;
  /** Sandbox mode without deno (a compiled binary); see `SandboxRuntime.selfExec`. */
  selfExec?: readonly string[] | null;
  /** A copy of the runner (compiled binary with `denoPath`). */
  runnerDir?: string | null;
}

/** The sandbox probe. */
export interface SandboxProbe {
  /**
   * The health check: the last probe's result, never waiting for a child
   * (a stale or missing result starts a probe; until the first one ends the
   * check is degraded, "first probe running").
   */
  check(): CheckResult;
  /** Starts a probe unless a fresh result exists. */
  warm(): void;
  /** Probes now (unless fresh) and resolves with the result. */
  probeNow(): Promise<CheckResult>;
}

/** Creates the probe. */
export function createSandboxProbe(options: SandboxProbeOptions): SandboxProbe {
  let last: { at: number; result: CheckResult } | null = null;
  let running: Promise<CheckResult> | null = null;

  async function probe(): Promise<CheckResult> {
    const prlimit = options.prlimitPath === null
      ? null
      : await Deno.permissions.query({ name: "run", command: options.prlimitPath });
    const capped = prlimit?.state === "granted";
    const runtime: SandboxRuntime = {
      cwd: options.cwd,
      prlimitPath: capped ? options.prlimitPath : null,
      denoPath: options.denoPath ?? null,
      selfExec: options.selfExec ?? null,
      runnerDir: options.runnerDir ?? null,
    };
    try {
      await Deno.mkdir(options.cwd, { recursive: true });
      const outcome = await runSandboxed({ mode: "code", code: "return 6 * 7;" }, {}, {
        timeoutMs: 10_000,
      }, runtime);
      if (!outcome.ok || outcome.data !== 42) {
        return { status: "fail", reason: "the probe call gave a wrong answer" };
      }
      return capped ? { status: "ok", reason: "probe call ok" } : {
        status: "degraded",
        reason: options.prlimitPath === null
          ? "probe call ok; no memory cap (tools.sandbox.prlimitPath is null)"
          : `probe call ok; no memory cap (${options.prlimitPath} not allowed)`,
      };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && capped) {
        return { status: "degraded", reason: `no memory cap: ${options.prlimitPath} is missing` };
      }
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        return { status: "fail", reason: "the server may not start the sandbox (run permission)" };
      }
      return { status: "fail", reason: `the probe call failed: ${errorMessage(error)}` };
    }
  }

  const fresh = () => last !== null && options.clock.now() - last.at < INTERVAL_MS;

  async function probeNow(): Promise<CheckResult> {
    if (fresh()) return last!.result;
    running ??= probe().then((result) => {
      last = { at: options.clock.now(), result };
      return result;
    }).finally(() => {
      running = null;
    });
    return await running;
  }

  return {
    check() {
      if (!fresh()) void probeNow();
      return last?.result ?? { status: "degraded", reason: "first probe running" };
    },
    warm() {
      void probeNow();
    },
    probeNow,
  };
}
