import type { Clock, TimerHandle } from "../clock.ts";

interface PendingTimer {
  handle: TimerHandle;
  due: number;
  /** The delay it was set with. */
  ms: number;
  fn: () => void;
}

/** Options for {@link FakeClock}. */
export interface FakeClockOptions {
  /** Start time in epoch milliseconds. @default 2026-01-01T00:00:00.000Z */
  start?: number;
}

/**
 * A {@link Clock} whose time only moves when a test calls {@link FakeClock.tick}.
 *
 * @example Fire a timer without waiting
 * ```ts
 * import { FakeClock } from "./fake_clock.ts";
 * const clock = new FakeClock();
 * let fired = false;
 * clock.setTimeout(() => (fired = true), 5_000);
 * await clock.tick(5_000);
 * if (!fired) throw new Error("timer did not fire");
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #nextHandle = 1;
  #timers: PendingTimer[] = [];
  #waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  #nextTimerWaiters: Array<{ match: (delayMs: number) => boolean; resolve: () => void }> = [];

  /** Creates a clock stopped at `options.start`. */
  constructor(options: FakeClockOptions = {}) {
    this.#now = options.start ?? Date.UTC(2026, 0, 1);
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = this.#nextHandle++;
    this.#timers.push({ handle, due: this.#now + Math.max(0, ms), ms, fn });
    this.#nextTimerWaiters = this.#nextTimerWaiters.filter((waiter) => {
      if (!waiter.match(ms)) return true;
      waiter.resolve();
      return false;
    });
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.ready()) return true;
      waiter.resolve();
      return false;
    });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((timer) => timer.handle !== handle);
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Resolves once at least `count` timers are pending, so a test can wait
   * for code under test to reach its timer before moving time.
   */
  untilTimers(count = 1): Promise<void> {
    return this.#until(() => this.#timers.length >= count);
  }

  /**
   * Resolves once a timer whose delay satisfies `match` is pending (a
   * back-off of exactly 1,000 ms, say), whatever other timers exist.
   */
  untilTimer(match: (delayMs: number) => boolean): Promise<void> {
    return this.#until(() => this.#timers.some((timer) => match(timer.ms)));
  }

  /**
   * Resolves at the next `setTimeout` call whose delay satisfies `match`
   * (one set after this call, unlike {@link FakeClock.untilTimer}): a test
   * can wait for code to re-arm a timer.
   */
  nextTimer(match: (delayMs: number) => boolean): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#nextTimerWaiters.push({ match, resolve });
    return promise;
  }

  #until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ ready, resolve });
    return promise;
  }

  /**
   * Advances time by `ms`, firing due timers in order. Before each step it
   * lets pending promise callbacks and I/O run, so code awaiting something
   * can register its timers first; no wall-clock time is waited for.
   */
  async tick(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.due > target) break;
      this.#timers = this.#timers.filter((timer) => timer !== next);
      this.#now = next.due;
      next.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const timer of this.#timers) {
      if (best === undefined || timer.due < best.due) best = timer;
    }
    return best;
  }
}

/** Lets queued promise callbacks and ready I/O run by yielding one macrotask. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
