/**
 * Time as a dependency: every timestamp and timer in the kernel and in
 * plugins goes through a {@link Clock}, so tests can drive time with the
 * fake clock from `src/testing/` instead of sleeping.
 *
 * @module
 */

/** Opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = number;

/**
 * The longest delay timers accept (2^31 − 1 ms, about 24.8 days); longer
 * ones fire at once, so config keys holding delays are capped at it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A source of the current time and of timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or already fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock, backed by `Date.now()` and the runtime's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle),
};

/** Options for {@link delay}. */
export interface DelayOptions {
  /** Rejects with the signal's reason when aborted before the delay ends. */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds of the given clock.
 *
 * @example Wait one millisecond of real time
 * ```ts
 * import { delay, systemClock } from "./clock.ts";
 * await delay(systemClock, 1);
 * ```
 */
export function delay(
  clock: Clock,
  ms: number,
  options: DelayOptions = {},
): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Resolves in a later task of the event loop: a zero delay, not clock time.
 * Long work yields with it so that requests get their turn. It is not
 * enough for work queued behind a response: use {@link afterResponse}.
 */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * How long {@link afterResponse} waits, in real milliseconds. A zero-delay
 * timer that is due when a handler hands over its response can run before
 * the server writes it, and its synchronous work (a ledger write, a gauge
 * refresh, a turn's job rows) then holds the response back (docs/benchmarks.md,
 * thirteenth session).
 */
export const AFTER_RESPONSE_MS = 3;

/**
 * Resolves {@link AFTER_RESPONSE_MS} later (real time, not clock time):
 * work queued behind a response awaits it first, so that the response
 * handed to the server just before goes out first.
 */
export function afterResponse(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, AFTER_RESPONSE_MS));
}

/** Formats an epoch-millisecond time as RFC 3339 UTC with milliseconds. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Options for {@link withTimeout}. */
export interface WithTimeoutOptions {
  /** The clock whose time counts. */
  clock: Clock;
  /** Milliseconds to wait. */
  ms: number;
  /** Makes the rejection reason when time runs out. */
  error: () => Error;
}

/**
 * Settles like `promise`, or rejects with `options.error()` when
 * `options.ms` of the clock pass first. The timer is always cleared. A
 * value that is not a promise (a handler that answered at once) resolves
 * with no timer.
 *
 * @example Give up on a slow answer
 * ```ts
 * import { systemClock, withTimeout } from "./clock.ts";
 * const answer = await withTimeout(Promise.resolve(42), {
 *   clock: systemClock,
 *   ms: 1_000,
 *   error: () => new Error("no answer within 1000 ms"),
 * });
 * ```
 */
export function withTimeout<T>(
  promise: T | PromiseLike<T>,
  options: WithTimeoutOptions,
): Promise<T> {
  if (!isPromiseLike(promise)) return Promise.resolve(promise);
  let handle: TimerHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    handle = options.clock.setTimeout(() => reject(options.error()), options.ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    if (handle !== undefined) options.clock.clearTimeout(handle);
  });
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/**
 * Time limits for many operations on one timer. {@link DeadlineTimer.limit}
 * notes a deadline; the one timer, armed for the earliest, fails whatever is
 * due when it fires and re-arms for the next. A deadline later than the armed
 * one sets no timer, and an operation that finishes in time only forgets its
 * deadline; the timer is cleared once nothing is timed, unless {@link
 * DeadlineTimer.hold} keeps it or it `lingers` (then it runs out). Hooks that run side by side (a turn's fragments, its events)
 * share one timer instead of one each.
 */
export class DeadlineTimer {
  readonly #clock: Clock;
  readonly #lingers: boolean;
  readonly #pending = new Set<{ at: number; expire(): void }>();
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #holds = 0;

  /**
   * With `lingers`, an operation that finishes in time clears nothing: the timer runs out and
   * re-arms only for what is still pending. Many short operations one after another (HTTP
   * requests) then cost no timer each, at the price of a timer left for up to one limit after
   * the last.
   */
  constructor(clock: Clock, options: { lingers?: boolean } = {}) {
    this.#clock = clock;
    this.#lingers = options.lingers ?? false;
  }

  /** Like {@link withTimeout}: `value`, or `error()` once `ms` have passed without it. */
  limit<T>(value: T | PromiseLike<T>, options: Omit<WithTimeoutOptions, "clock">): Promise<T> {
    if (!isPromiseLike(value)) return Promise.resolve(value);
    return new Promise<T>((resolve, reject) => {
      const entry = { at: this.#clock.now() + options.ms, expire: () => reject(options.error()) };
      this.#pending.add(entry);
      this.#arm(entry.at);
      value.then((result) => {
        this.#forget(entry);
        resolve(result);
      }, (error) => {
        this.#forget(entry);
        reject(error);
      });
    });
  }

  /**
   * Keeps the timer while nothing is timed, until the returned function is called: operations
   * that run one after another (a turn's hooks) then arm it once between them, not once each.
   * When the last hold ends with nothing timed, the timer is cleared.
   */
  hold(): () => void {
    this.#holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#holds--;
      if (this.#holds === 0 && this.#pending.size === 0) this.stop();
    };
  }

  #forget(entry: { at: number; expire(): void }) {
    this.#pending.delete(entry);
    // No timer is left behind once nothing is timed and nothing holds it (a fake clock's
    // pending timers stay exact between turns), unless it lingers.
    if (this.#pending.size === 0 && this.#holds === 0 && !this.#lingers) this.stop();
  }

  /** Clears the timer; deadlines still pending no longer expire. */
  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number) {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.stop();
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, at - this.#clock.now()));
  }

  #fire() {
    // The timer ran for its full delay: what was due by then is due now, even if the clock's
    // reading stepped back meanwhile.
    const now = Math.max(this.#clock.now(), this.#timerAt);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    let next = Infinity;
    for (const entry of this.#pending) {
      if (entry.at <= now) {
        this.#pending.delete(entry);
        entry.expire();
      } else if (entry.at < next) next = entry.at;
    }
    if (next < Infinity) this.#arm(next);
  }
}
