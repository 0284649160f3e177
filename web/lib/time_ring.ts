/**
 * A fixed-capacity ring buffer of time-stamped rows, one value per series
 * (spec/dashboard.md §5.3 "Charts": at most 2,000 points per series).
 * Pure; `<sm-timeseries>` keeps one and hands uPlot its columns.
 *
 * @module
 */

/** One row: a time (epoch ms) and one value per series (null = a gap). */
export interface TimeRow {
  t: number;
  values: Array<number | null>;
}

/** The chart's point cap per series. */
export const MAX_POINTS = 2_000;

/** A ring of rows; the oldest is overwritten once it is full. */
export class TimeRing {
  readonly capacity: number;
  readonly series: number;
  readonly #t: Float64Array;
  readonly #values: Float64Array[];
  #start = 0;
  #length = 0;

  constructor(series: number, capacity: number = MAX_POINTS) {
    if (!Number.isInteger(series) || series < 1) {
      throw new RangeError(`A ring needs at least one series (got ${series})`);
    }
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`A ring needs a capacity of at least 1 (got ${capacity})`);
    }
    this.capacity = capacity;
    this.series = series;
    this.#t = new Float64Array(capacity);
    this.#values = Array.from({ length: series }, () => new Float64Array(capacity));
  }

  /** Rows held (≤ capacity). */
  get length(): number {
    return this.#length;
  }

  /** The newest row's time, or null when empty. */
  get lastT(): number | null {
    return this.#length ? this.#t[(this.#start + this.#length - 1) % this.capacity]! : null;
  }

  /** Empties the ring. */
  clear(): void {
    this.#start = 0;
    this.#length = 0;
  }

  /** Appends a row; missing or non-finite values are gaps. */
  push(t: number, values: ReadonlyArray<number | null | undefined>): void {
    let slot: number;
    if (this.#length < this.capacity) {
      slot = (this.#start + this.#length) % this.capacity;
      this.#length++;
    } else {
      slot = this.#start;
      this.#start = (this.#start + 1) % this.capacity;
    }
    this.#t[slot] = t;
    for (let s = 0; s < this.series; s++) {
      const value = values[s];
      this.#values[s]![slot] = typeof value === "number" && Number.isFinite(value) ? value : NaN;
    }
  }

  /** The row `i` places from the oldest. */
  #row(i: number): TimeRow {
    const slot = (this.#start + i) % this.capacity;
    return {
      t: this.#t[slot]!,
      values: this.#values.map((column) => {
        const value = column[slot]!;
        return Number.isNaN(value) ? null : value;
      }),
    };
  }

  /** The newest `n` rows, oldest first. */
  tail(n: number): TimeRow[] {
    const count = Math.max(0, Math.min(n, this.#length));
    return Array.from({ length: count }, (_, i) => this.#row(this.#length - count + i));
  }

  /** The newest row, or null when empty. */
  last(): TimeRow | null {
    return this.#length ? this.#row(this.#length - 1) : null;
  }

  /** The time (ms) of the oldest point at or after `sinceMs`, or undefined when there is none. */
  firstTime(sinceMs = -Infinity): number | undefined {
    for (let i = 0; i < this.#length; i++) {
      const t = this.#t[(this.#start + i) % this.capacity]!;
      if (t >= sinceMs) return t;
    }
    return undefined;
  }

  /**
   * Columns oldest first, as uPlot takes them: times in seconds, then each
   * series with null for gaps. Rows older than `sinceMs` are left out.
   */
  columns(sinceMs = -Infinity): [number[], ...Array<Array<number | null>>] {
    const xs: number[] = [];
    const ys: Array<Array<number | null>> = Array.from({ length: this.series }, () => []);
    for (let i = 0; i < this.#length; i++) {
      const slot = (this.#start + i) % this.capacity;
      const t = this.#t[slot]!;
      if (t < sinceMs) continue;
      xs.push(t / 1_000);
      for (let s = 0; s < this.series; s++) {
        const value = this.#values[s]![slot]!;
        ys[s]!.push(Number.isNaN(value) ? null : value);
      }
    }
    return [xs, ...ys];
  }
}
