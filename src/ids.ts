import type { Clock } from "./clock.ts";
import type { Random } from "./random.ts";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Makes ids of the form `<prefix>_<ULID>`. */
export interface IdFactory {
  /** A new id, e.g. `next("mem")` → `mem_01JD…`; ids sort by creation time. */
  next(prefix: string): string;
}

/** Options for {@link createIdFactory}. */
export interface CreateIdFactoryOptions {
  clock: Clock;
  random: Random;
}

/**
 * Creates a ULID factory on the given clock and random source: 48 bits of
 * milliseconds, 80 random bits, monotonic within one millisecond (the
 * random part is incremented), so ids made in order sort in order.
 *
 * @example Ids sort by creation time
 * ```ts
 * import { createIdFactory } from "./ids.ts";
 * import { systemClock } from "./clock.ts";
 * const ids = createIdFactory({ clock: systemClock, random: Math.random });
 * const first = ids.next("mem");
 * const second = ids.next("mem");
 * if (!(first < second)) throw new Error("not monotonic");
 * ```
 */
export function createIdFactory(options: CreateIdFactoryOptions): IdFactory {
  let lastTime = -1;
  let lastRandom: number[] = [];
  return {
    next(prefix) {
      if (!/^[a-z]{2,8}$/.test(prefix)) {
        throw new TypeError(
          `Cannot make an id with prefix "${prefix}": use 2–8 lower-case letters`,
        );
      }
      const time = Math.max(options.clock.now(), lastTime);
      if (time === lastTime) {
        // Increment the 80-bit random part (16 base-32 digits), carrying left.
        let i = lastRandom.length - 1;
        while (i >= 0 && lastRandom[i] === 31) lastRandom[i--] = 0;
        if (i >= 0) lastRandom[i] = lastRandom[i]! + 1;
      } else {
        lastRandom = Array.from({ length: 16 }, () => Math.floor(options.random() * 32));
        lastTime = time;
      }
      let timePart = "";
      let rest = time;
      for (let i = 0; i < 10; i++) {
        timePart = CROCKFORD[rest % 32] + timePart;
        rest = Math.floor(rest / 32);
      }
      return `${prefix}_${timePart}${lastRandom.map((digit) => CROCKFORD[digit]).join("")}`;
    },
  };
}
