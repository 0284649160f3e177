import type { Clock } from "../clock.ts";

/** Breaker settings (`llm.breaker.*`). */
export interface BreakerConfig {
  consecutiveFailures: number;
  windowCalls: number;
  windowMs: number;
  failureRatio: number;
  openMs: number;
  maxOpenMs: number;
}

/** The breaker's position. */
export type BreakerState = "closed" | "open" | "half_open";

/**
 * A circuit breaker for one provider: opens after N failures in a row, or
 * when at least half of the last 20 calls within a minute failed (half the
 * window, 10 calls, at least); stays open 30 s, doubling on each re-open up to 5 min; then
 * lets one request through, and a success closes it.
 */
export class CircuitBreaker {
  #config: BreakerConfig;
  #clock: Clock;
  #state: BreakerState = "closed";
  #consecutive = 0;
  #recent: Array<{ at: number; ok: boolean }> = [];
  #openUntil = 0;
  #openMs: number;
  #probing = false;

  /** Creates a closed breaker. */
  constructor(config: BreakerConfig, clock: Clock) {
    this.#config = config;
    this.#clock = clock;
    this.#openMs = config.openMs;
  }

  /** The current state (open turns half-open once its period ended). */
  get state(): BreakerState {
    if (this.#state === "open" && this.#clock.now() >= this.#openUntil) this.#state = "half_open";
    return this.#state;
  }

  /** Whether a request may go to the provider now (half-open lets one through). */
  allow(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /**
   * Gives back a half-open breaker's probe slot when the request let
   * through ended without an outcome (aborted, skipped, or a failure that
   * does not count), so the next request may probe.
   */
  release(): void {
    this.#probing = false;
  }

  /** Records a success; a half-open breaker closes. */
  success(): void {
    this.#probing = false;
    this.#consecutive = 0;
    this.#push(true);
    if (this.#state !== "closed") {
      this.#state = "closed";
      this.#openMs = this.#config.openMs;
    }
  }

  /** Records a failure; may open (or re-open, doubling the period). */
  failure(): void {
    this.#probing = false;
    this.#consecutive++;
    this.#push(false);
    if (this.#state === "half_open") return this.#open(true);
    const recent = this.#recent;
    const failures = recent.filter((entry) => !entry.ok).length;
    if (
      this.#consecutive >= this.#config.consecutiveFailures ||
      (recent.length >= Math.ceil(this.#config.windowCalls / 2) &&
        failures / recent.length >= this.#config.failureRatio)
    ) {
      this.#open(false);
    }
  }

  /** 0 closed, 1 half-open, 2 open (for metrics). */
  get level(): 0 | 1 | 2 {
    return this.state === "closed" ? 0 : this.state === "half_open" ? 1 : 2;
  }

  #open(again: boolean) {
    if (again) this.#openMs = Math.min(this.#openMs * 2, this.#config.maxOpenMs);
    this.#state = "open";
    this.#openUntil = this.#clock.now() + this.#openMs;
    this.#consecutive = 0;
    this.#recent = [];
  }

  #push(ok: boolean) {
    const now = this.#clock.now();
    this.#recent.push({ at: now, ok });
    this.#recent = this.#recent.filter((entry) => now - entry.at <= this.#config.windowMs)
      .slice(-this.#config.windowCalls);
  }
}
