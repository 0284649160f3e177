/**
 * A `Map` that forgets its oldest entries beyond `max`: for per-turn and
 * per-request bookkeeping that a failed or abandoned turn would otherwise
 * leave behind forever.
 *
 * @module
 */

/** A `Map` holding at most `max` entries (the oldest insertion goes first). */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #max: number;

  constructor(max: number) {
    super();
    if (!Number.isInteger(max) || max < 1) throw new RangeError("max must be a positive integer");
    this.#max = max;
  }

  /** Sets `key` (moving it to the newest place) and evicts beyond `max`. */
  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.#max) super.delete(this.keys().next().value as K);
    return this;
  }
}
