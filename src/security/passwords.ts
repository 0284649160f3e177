/**
 * Password hashing with scrypt (spec/server.md §3.4): N = 2^logN, r 8, p 1,
 * a 16-byte salt and a 32-byte key, stored as
 * `scrypt$<logN>$8$1$<salt>$<hash>` (base64url). At most two hashes run at
 * once; a caller that waited longer than five seconds gets 503 `BUSY`.
 * Unknown users are verified against a dummy hash so they cost the same.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { Clock, TimerHandle } from "../clock.ts";
import { AppError } from "../errors.ts";

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const MAX_MEM = 256 * 1024 * 1024;
const CONCURRENT = 2;
const MAX_WAIT_MS = 5_000;

/** Usernames: lower case letters, digits, `_.-`, 3–32 characters, starting with a letter or digit. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{2,31}$/;
/** {@link USERNAME_PATTERN} in words, as a refusal says it. */
export const USERNAME_RULE =
  "3–32 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit";

/** Why a password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, username: string): string | null {
  if (password.length < 12) return "must be at least 12 characters";
  if (password.length > 128) return "must be at most 128 characters";
  if (password.toLowerCase() === username.toLowerCase()) return "must not be the username";
  if (/^(.)\1*$/su.test(password)) return "must not be one repeated character";
  return null;
}

function derive(password: string, salt: Buffer, logN: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      KEY_BYTES,
      { N: 2 ** logN, r: 8, p: 1, maxmem: MAX_MEM },
      (error, key) => {
        if (error) reject(error);
        else resolve(key);
      },
    );
  });
}

/** The hasher: hashing, verification, a concurrency gate and a counter. */
export interface PasswordHasher {
  /** A new stored hash at the configured cost. */
  hash(password: string): Promise<string>;
  /**
   * Whether `password` matches `stored` (a dummy hash when `stored` is null,
   * so unknown users cost one hash too) and whether the hash should be
   * upgraded to the configured cost.
   */
  verify(password: string, stored: string | null): Promise<{ ok: boolean; rehash: boolean }>;
  /** Hashes computed so far (tests compare costs with it). */
  readonly hashes: number;
}

/** Creates a hasher at cost 2^`logN`. */
export function createPasswordHasher(options: { logN: number; clock: Clock }): PasswordHasher {
  const { logN, clock } = options;
  let running = 0;
  let count = 0;
  const waiting: Array<{ start: () => void; timer: TimerHandle }> = [];
  let dummy: Promise<string> | undefined;

  async function gated<T>(work: () => Promise<T>): Promise<T> {
    if (running >= CONCURRENT) {
      await new Promise<void>((resolve, reject) => {
        const entry = {
          start: resolve,
          timer: clock.setTimeout(() => {
            waiting.splice(waiting.indexOf(entry), 1);
            reject(
              new AppError("BUSY", "The server is busy; try again in a few seconds", {
                status: 503,
                details: { retry_after_seconds: 5 },
              }),
            );
          }, MAX_WAIT_MS),
        };
        waiting.push(entry);
      });
    }
    running++;
    try {
      count++;
      return await work();
    } finally {
      running--;
      const next = waiting.shift();
      if (next) {
        clock.clearTimeout(next.timer);
        next.start();
      }
    }
  }

  async function hashWith(password: string, cost: number): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await gated(() => derive(password, salt, cost));
    return `scrypt$${cost}$8$1$${salt.toString("base64url")}$${key.toString("base64url")}`;
  }

  return {
    hash: (password) => hashWith(password, logN),
    async verify(password, stored) {
      // The dummy is made without the gate's counter so the first unknown user costs one hash too.
      const target = stored ?? await (dummy ??= (async () => {
        const salt = randomBytes(SALT_BYTES);
        const key = await derive("not a password of anyone", salt, logN);
        return `scrypt$${logN}$8$1$${salt.toString("base64url")}$${key.toString("base64url")}`;
      })());
      const parts = target.split("$");
      const cost = Number(parts[1]);
      if (parts.length !== 6 || parts[0] !== "scrypt" || !Number.isInteger(cost)) {
        return { ok: false, rehash: false };
      }
      const salt = Buffer.from(parts[4]!, "base64url");
      const expected = Buffer.from(parts[5]!, "base64url");
      const key = await gated(() => derive(password, salt, cost));
      const ok = stored !== null && key.length === expected.length &&
        timingSafeEqual(key, expected);
      return { ok, rehash: ok && cost < logN };
    },
    get hashes() {
      return count;
    },
  };
}
