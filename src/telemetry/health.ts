import { type Clock, withTimeout } from "../clock.ts";
import { errorMessage } from "../errors.ts";

/** The state of one check. */
export type CheckStatus = "ok" | "degraded" | "fail";

/** What a check function returns. */
export interface CheckResult {
  /** `ok`, `degraded` (shown, does not fail readiness) or `fail`. */
  status: CheckStatus;
  /** A fixed sentence with values, e.g. `free 120 MiB < 512 MiB`. */
  reason?: string;
}

/** A check's result as reported by `/health`. */
export interface CheckReport extends CheckResult {
  /** Whether this check gates readiness (`health.readyRequires`). */
  required: boolean;
  latency_ms: number;
}

/** A health check; it may be sync or async and may throw (= fail). */
export type HealthCheck = () => CheckResult | Promise<CheckResult>;

/** Registers checks; what plugins get as `ctx.health`. */
export interface HealthRegistrar {
  /**
   * Adds a check under a unique name (`database`, `llm`…).
   *
   * @throws {TypeError} When the name is taken or malformed.
   */
  register(name: string, check: HealthCheck): void;
}

/** The kernel's view of all checks. */
export interface HealthRegistry extends HealthRegistrar {
  /** Runs every check at once, each under the timeout. */
  run(): Promise<Record<string, CheckReport>>;
  /** Names of the registered checks. */
  names(): string[];
}

/** Options for {@link createHealthRegistry}. */
export interface CreateHealthRegistryOptions {
  clock: Clock;
  /** A check slower than this fails. */
  timeoutMs: number;
  /** Checks that gate readiness; null = all. */
  readyRequires: readonly string[] | null;
}

/** Creates an empty registry. */
export function createHealthRegistry(options: CreateHealthRegistryOptions): HealthRegistry {
  const checks = new Map<string, HealthCheck>();

  async function runOne(name: string, check: HealthCheck): Promise<CheckReport> {
    const started = performance.now();
    let result: CheckResult;
    try {
      result = await withTimeout(Promise.resolve().then(check), {
        clock: options.clock,
        ms: options.timeoutMs,
        error: () => new Error(`no answer within ${options.timeoutMs} ms`),
      });
    } catch (error) {
      result = { status: "fail", reason: errorMessage(error) };
    }
    const report: CheckReport = {
      status: result.status,
      required: options.readyRequires === null || options.readyRequires.includes(name),
      latency_ms: Math.round((performance.now() - started) * 100) / 100,
    };
    if (result.reason !== undefined) report.reason = result.reason;
    return report;
  }

  return {
    register(name, check) {
      if (!/^[a-z][a-z0-9_]*$/.test(name)) {
        throw new TypeError(`Cannot register health check "${name}": use a snake_case name`);
      }
      if (checks.has(name)) {
        throw new TypeError(`Cannot register health check "${name}": the name is taken`);
      }
      checks.set(name, check);
    },
    async run() {
      const entries = await Promise.all(
        [...checks].map(async ([name, check]) => [name, await runOne(name, check)] as const),
      );
      // A required check nobody registered fails, so a typo in
      // health.readyRequires cannot make readiness pass unchecked.
      const missing = (options.readyRequires ?? []).filter((name) => !checks.has(name));
      return Object.fromEntries([
        ...entries,
        ...missing.map((name) =>
          [
            name,
            {
              status: "fail",
              required: true,
              reason: "no check with this name is registered",
              latency_ms: 0,
            } satisfies CheckReport,
          ] as const
        ),
      ]);
    },
    names() {
      return [...checks.keys()];
    },
  };
}

/** The first required check that failed, as `name: reason`, or null. Degraded checks do not fail readiness. */
export function firstFailure(checks: Record<string, CheckReport>): string | null {
  for (const [name, check] of Object.entries(checks)) {
    if (check.required && check.status === "fail") {
      return `${name}: ${check.reason ?? "failed"}`;
    }
  }
  return null;
}
