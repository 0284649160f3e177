/**
 * Reconnect delays (spec/dashboard.md §4): attempt n waits a random time
 * in [0, min(30 000, 500·2ⁿ)) ms — full jitter.
 *
 * @module
 */

/** The upper bound of attempt `n` (0-based). */
export function backoffCap(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, attempt));
}

/** The delay of attempt `n`, with `random` in [0, 1). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCap(attempt));
}
