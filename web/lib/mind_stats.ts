/**
 * Small pure computations behind the Mind page's cards (spec/dashboard.md
 * §5.3): rolling forecast accuracy, budget levels, ages.
 *
 * @module
 */

/** A value at a time (epoch ms). */
export interface TimedValue {
  t: number;
  v: number;
}

/**
 * The mean of each value with up to `window − 1` values before it, oldest
 * first (the rolling accuracy over the last `window` resolved forecasts).
 */
export function rollingMean(points: readonly TimedValue[], window: number): TimedValue[] {
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(`The window must be a positive integer (got ${window})`);
  }
  const out: TimedValue[] = [];
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    sum += points[i]!.v;
    if (i >= window) sum -= points[i - window]!.v;
    out.push({ t: points[i]!.t, v: sum / Math.min(i + 1, window) });
  }
  return out;
}

/** How a module's spend stands against its daily budget. */
export interface BudgetLevel {
  /** Spent as a percentage of the budget (unclamped), or null without a budget. */
  percent: number | null;
  /** `warn` at ≥ 80 %, `over` at ≥ 100 %, `none` without a budget. */
  level: "none" | "ok" | "warn" | "over";
}

/** The level of `used` tokens against `limit` (null or 0: no budget to compare with). */
export function budgetLevel(used: number, limit: number | null | undefined): BudgetLevel {
  if (limit === null || limit === undefined || !(limit > 0)) {
    return { percent: null, level: "none" };
  }
  const percent = (Math.max(0, used) / limit) * 100;
  return { percent, level: percent >= 100 ? "over" : percent >= 80 ? "warn" : "ok" };
}

/** `just now`, `5 min ago`, `3 h ago`, `2 d ago`: how long ago `then` was. */
export function ago(then: number, now: number): string {
  const ms = now - then;
  if (!Number.isFinite(ms) || ms < 60_000) return "just now";
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return `${Math.floor(ms / 86_400_000)} d ago`;
}

/** The file name a Content-Disposition header gives (`filename*`, else `filename`), or `fallback`. */
export function dispositionName(header: string | null, fallback: string): string {
  // RFC 6266: `filename*=UTF-8''…` (the exact name) wins over the ASCII `filename`.
  const extended = /filename\*=UTF-8''([^;\s]+)/i.exec(header ?? "");
  if (extended) {
    try {
      const name = decodeURIComponent(extended[1]!);
      if (name && !/[\\/]/.test(name)) return name;
    } catch {
      // A malformed encoding: the plain name below.
    }
  }
  const match = /filename="([^"\\/]+)"/.exec(header ?? "");
  return match ? match[1]! : fallback;
}
