/**
 * Randomness as a dependency: a source of floats in [0, 1). Production
 * code takes one from its context so tests can fix the sequence.
 */
export type Random = () => number;

/** The runtime's generator. */
export const systemRandom: Random = Math.random;

/**
 * A fast deterministic generator (mulberry32) for tests and benchmarks.
 *
 * @example The same seed gives the same sequence
 * ```ts
 * import { seededRandom } from "./random.ts";
 * const a = seededRandom(42);
 * const b = seededRandom(42);
 * if (a() !== b()) throw new Error("not deterministic");
 * ```
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A standard normal sample (Box–Muller). */
export function gaussian(random: Random): number {
  const u = Math.max(random(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
