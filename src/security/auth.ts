/**
 * Users, logins and keys (spec/server.md §3): first-run setup that closes
 * for good, scrypt passwords, lockout, access tokens with rotating refresh
 * tokens stored by hash (reuse revokes the family), revocation on password
 * or role change, API keys stored by hash, and the last-admin guard.
 *
 * The HTTP routes (`routes.ts`) and the authentication middleware
 * (`src/http/auth.ts`) call this; it never sees a request.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import { BoundedMap } from "../bounded_map.ts";
import type { EventBus } from "../bus.ts";
import type { Clock } from "../clock.ts";
import type { KernelConfig } from "../config/schema.ts";
import { AppError } from "../errors.ts";
import { ROLE_RANK } from "../http/validate.ts";
import type { Principal, Role } from "../http/types.ts";
import type { IdFactory } from "../ids.ts";
import type { ApiKeysTable, Database, UsersTable } from "../store/schema.ts";
import type { Store } from "../store/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import { ipBucket } from "./ip.ts";
import { type AccessTokens, createAccessTokens, loadJwtSecret } from "./jwt.ts";
import {
  createPasswordHasher,
  type PasswordHasher,
  passwordProblem,
  USERNAME_PATTERN,
  USERNAME_RULE,
} from "./passwords.ts";

/** `auth.*` settings. */
export type AuthConfig = KernelConfig["auth"];

/** A user as the API shows it (R§2.3 `UserPublic` + `id`). */
export interface PublicUser {
  id: string;
  username: string;
  role: Role;
  active: boolean;
  created_at: string;
  last_login: string | null;
}

/** What login, setup and refresh return (R§2.3 `TokenBundle` + `user.id`, `refresh_expires_in`). */
export interface TokenBundle {
  success: true;
  access_token: string;
  /** Absent in cookie mode (the cookie carries it). */
  refresh_token?: string;
  token_type: "bearer";
  expires_in: number;
  refresh_expires_in: number;
  user: { id: string; username: string; role: Role };
}

/** An API key as listed (`key` only in the answer that created it). */
export interface PublicApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  user_id: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  key?: string;
}

/** A login session's credentials, for the cookie layer. */
export interface Issued {
  bundle: TokenBundle;
  refreshToken: string;
}

/** The authenticated caller the middleware sets. */
export type AuthPrincipal = Principal;

/** Options for {@link createAuthService}. */
export interface AuthServiceOptions {
  store: Store;
  clock: Clock;
  ids: IdFactory;
  log: Logger;
  bus: EventBus;
  config: AuthConfig;
  dataDir: string;
}

const REFRESH_RACE_MS = 10_000;
const API_KEY_PATTERN = /^smk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
const REFRESH_PATTERN = /^smr_([A-Za-z0-9_]{8,40})\.([A-Za-z0-9_-]{43})$/;
const KEY_TOUCH_MS = 60_000;

/** A key's row with its owner's, as the key check reads them. */
interface KeyStanding {
  id: string;
  key_role: Role;
  secret_sha256: string;
  expires_at: number | null;
  user_id: string;
  username: string;
  user_role: Role;
  active: number;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && timingSafeEqual(left, right);
}

function publicUser(row: UsersTable): PublicUser {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    active: row.active === 1,
    created_at: iso(row.created_at)!,
    last_login: iso(row.last_login_at),
  };
}

function unauthorized(code: string, message: string): AppError {
  return new AppError(code, message, { status: 401 });
}

const INVALID_LOGIN = () =>
  unauthorized("AUTH_INVALID_CREDENTIALS", "The username or password is wrong");

/**
 * Counts failures per key in a window and locks a key that reached its
 * limit. Attempts still being checked count as failures until they end, so
 * a burst of parallel guesses cannot pass the limit while the hashes run.
 */
class Lockouts {
  #entries = new Map<string, { failures: number[]; inflight: number; lockedUntil: number }>();
  constructor(private readonly config: AuthConfig["lockout"], private readonly clock: Clock) {}

  #entry(key: string) {
    const now = this.clock.now();
    const entry = this.#entries.get(key) ?? { failures: [], inflight: 0, lockedUntil: 0 };
    entry.failures = entry.failures.filter((at) => at > now - this.config.windowSeconds * 1000);
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > 100_000) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return entry;
  }

  /** Seconds until `key` unlocks, or 0. */
  lockedFor(key: string): number {
    const entry = this.#entries.get(key);
    const left = entry ? entry.lockedUntil - this.clock.now() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /**
   * Starts an attempt: false (locked for the window) when the failures and
   * the attempts in flight already reach `limit`.
   */
  begin(key: string, limit: number): boolean {
    const entry = this.#entry(key);
    if (entry.failures.length + entry.inflight >= limit) return false;
    entry.inflight++;
    return true;
  }

  /** Ends an attempt of `key`: a failure counts, and may lock the key. */
  end(key: string, limit: number, failed: boolean): void {
    const entry = this.#entry(key);
    entry.inflight = Math.max(0, entry.inflight - 1);
    if (!failed) return;
    const now = this.clock.now();
    entry.failures.push(now);
    if (entry.failures.length >= limit) {
      entry.lockedUntil = now + this.config.lockSeconds * 1000;
      entry.failures = [];
    }
  }

  /** Lifts `key`'s lock and forgets its failures; false when it had neither. */
  clear(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    const now = this.clock.now();
    const had = entry.lockedUntil > now ||
      entry.failures.some((at) => at > now - this.config.windowSeconds * 1000);
    entry.failures = [];
    entry.lockedUntil = 0;
    return had;
  }
}

/** Refuses a locked attempt (429 `AUTH_LOCKED` with the seconds to wait). */
function lockedError(seconds: number): AppError {
  return new AppError("AUTH_LOCKED", "Too many failed sign-ins; try again later", {
    status: 429,
    details: { retry_after_seconds: Math.max(1, seconds) },
  });
}

/**
 * `user.deleting` on the bus: a user's account is about to go. The user is
 * already deactivated and signed out everywhere.
 */
export interface UserDeletingEvent {
  userId: string;
  username: string;
  /** Who deletes them (the administrator's user id). */
  actor: string;
  /**
   * Hands over work that must finish before the account row is deleted
   * (forgetting the user's data). The row goes only once all of it has
   * resolved; when any rejects it stays, deactivated, and deleting the
   * user again resumes.
   */
  waitUntil(work: Promise<unknown>): void;
}

declare module "../bus.ts" {
  interface BusEventMap {
    /** A user's account is about to be deleted; subscribers forget their data first. */
    "user.deleting": UserDeletingEvent;
    /** A user's account row was deleted (after `user.deleting` finished). */
    "user.deleted": { userId: string; username: string };
  }
}

/** The auth service. */
export interface AuthService {
  readonly hasher: PasswordHasher;
  /** `GET /api/auth/status`. */
  status(): Promise<
    { enabled: true; setup_required: boolean; setup_token_required: boolean; message: string }
  >;
  /**
   * At start: while setup is open, stores a fresh setup token's hash and
   * returns the token to print (null when a configured token is used or
   * setup is closed).
   */
  openSetup(): Promise<{ open: boolean; printToken: string | null }>;
  setup(input: { setupToken: string; username: string; password: string }): Promise<Issued>;
  login(input: { username: string; password: string; ip: string }): Promise<Issued>;
  refresh(token: string): Promise<Issued>;
  logout(principal: AuthPrincipal): Promise<void>;
  /** The caller a bearer token (JWT or `smk_` key) stands for; 401 when it is not valid. */
  authenticate(token: string): Promise<AuthPrincipal>;

  listUsers(): Promise<PublicUser[]>;
  getUser(username: string): Promise<PublicUser>;
  createUser(input: { username: string; password: string; role: Role }): Promise<PublicUser>;
  setActive(username: string, active: boolean): Promise<PublicUser>;
  /**
   * Deletes a user: deactivates and signs them out, waits for the
   * `user.deleting` subscribers to forget their data, then deletes the
   * account row. A process that dies in between leaves a deactivated user
   * whose deletion can be run again — never an account's data without it.
   *
   * @throws {AppError} `USER_NOT_FOUND` (404), `USER_LAST_ADMIN` (409),
   * `USER_DELETE_INCOMPLETE` (500) when forgetting failed (the user stays,
   * deactivated).
   */
  deleteUser(username: string, options?: { actor?: string }): Promise<void>;
  setPassword(username: string, password: string): Promise<void>;
  setRole(username: string, role: Role): Promise<PublicUser>;
  /**
   * Changes one's own password (a signed-in session, not an API key; wrong
   * current passwords count towards the lockout); other sessions end, a new
   * bundle is returned.
   */
  changeOwnPassword(
    principal: AuthPrincipal,
    current: string,
    next: string,
    ip: string,
  ): Promise<Issued>;
  /** Lifts a username's lockout and forgets its failed sign-ins; false when it had neither. */
  clearLockout(username: string): boolean;
  /** Closes first-run setup for good (an administrator was created offline). */
  closeSetup(): Promise<void>;

  listKeys(userId: string | null): Promise<PublicApiKey[]>;
  createKey(
    owner: AuthPrincipal,
    input: { name: string; role?: Role | undefined; expiresInDays?: number | undefined },
  ): Promise<PublicApiKey>;
  deleteKey(principal: AuthPrincipal, id: string): Promise<void>;
}

/** Creates the service; loads or creates the JWT secret. */
export async function createAuthService(options: AuthServiceOptions): Promise<AuthService> {
  const { store, clock, ids, log, bus, config } = options;
  const db: Kysely<Database> = store.db;
  const hasher = createPasswordHasher({ logN: config.password.scryptLogN, clock });
  const tokens: AccessTokens = createAccessTokens({
    secret: await loadJwtSecret(options.dataDir, config.jwt.secret),
    previous: config.jwt.previousSecret,
    ttlSeconds: config.jwt.accessTtlSeconds,
    clock,
  });
  const lockouts = new Lockouts(config.lockout, clock);
  const keyTouched = new Map<string, number>();
  /**
   * Keys that passed, with their owner's standing: every change to a key or its owner goes
   * through {@link revoked}, which forgets them, so a request after the change reads the
   * database again. (With several instances, revocations will have to reach this through the
   * shared bus, spec/server.md §14.)
   */
  const knownKeys = new BoundedMap<string, KeyStanding>(10_000);
  /** Counts {@link revoked} calls: a row read before one is not kept. */
  let revocations = 0;

  async function userByName(username: string, trx: Kysely<Database> = db) {
    return await trx.selectFrom("users").selectAll().where("username", "=", username.toLowerCase())
      .limit(1).executeTakeFirst();
  }

  async function requireUser(username: string, trx: Kysely<Database> = db) {
    const user = await userByName(username, trx);
    if (!user) {
      throw new AppError("USER_NOT_FOUND", "No such user", { status: 404, field: "username" });
    }
    return user;
  }

  function checkCredentials(username: string, password: string) {
    if (!USERNAME_PATTERN.test(username)) {
      throw new AppError(
        "USER_INVALID_USERNAME",
        `Usernames are ${USERNAME_RULE}`,
        { status: 400, field: "username" },
      );
    }
    refuseWeakPassword(password, username, "password");
  }

  function refuseWeakPassword(password: string, username: string, field: string) {
    const problem = passwordProblem(password, username);
    if (problem) {
      throw new AppError("USER_WEAK_PASSWORD", `The password ${problem}`, { status: 400, field });
    }
  }

  /** Starts a login session: a refresh family, its first token and an access token. */
  async function issue(user: UsersTable, trx: Kysely<Database>): Promise<Issued> {
    const now = clock.now();
    const sessionId = ids.next("ses");
    await trx.insertInto("auth_sessions").values({
      id: sessionId,
      user_id: user.id,
      created_at: now,
      expires_at: now + config.refresh.familyMaxSeconds * 1000,
      revoked_at: null,
      revoked_reason: null,
    }).execute();
    return await rotateInto(user, sessionId, now + config.refresh.familyMaxSeconds * 1000, trx);
  }

  async function rotateInto(
    user: UsersTable,
    sessionId: string,
    sessionExpires: number,
    trx: Kysely<Database>,
  ): Promise<Issued> {
    const now = clock.now();
    const jti = ids.next("rt");
    const secret = randomBytes(32).toString("base64url");
    const expiresAt = Math.min(now + config.refresh.ttlSeconds * 1000, sessionExpires);
    await trx.insertInto("auth_refresh_tokens").values({
      jti,
      session_id: sessionId,
      user_id: user.id,
      secret_sha256: sha256(secret),
      created_at: now,
      expires_at: expiresAt,
      rotated_at: null,
    }).execute();
    const { token } = await tokens.sign({
      sub: user.id,
      role: user.role,
      sid: sessionId,
      ver: user.token_version,
      jti: ids.next("at"),
    });
    const refreshToken = `smr_${jti}.${secret}`;
    return {
      refreshToken,
      bundle: {
        success: true,
        access_token: token,
        refresh_token: refreshToken,
        token_type: "bearer",
        expires_in: config.jwt.accessTtlSeconds,
        refresh_expires_in: Math.floor((expiresAt - now) / 1000),
        user: { id: user.id, username: user.username, role: user.role },
      },
    };
  }

  /** Ends every session of a user and invalidates their access tokens. */
  async function revokeUser(userId: string, reason: string, trx: Kysely<Database>) {
    const now = clock.now();
    await trx.updateTable("users").set((eb) => ({
      token_version: eb("token_version", "+", 1),
      updated_at: now,
    })).where("id", "=", userId).execute();
    await trx.updateTable("auth_sessions").set({ revoked_at: now, revoked_reason: reason })
      .where("user_id", "=", userId).where("revoked_at", "is", null).execute();
  }

  /** Stores a new password hash and ends every session of the user. */
  async function replacePassword(userId: string, passwordHash: string, trx: Kysely<Database>) {
    await trx.updateTable("users").set({ password_hash: passwordHash }).where("id", "=", userId)
      .execute();
    await revokeUser(userId, "password changed", trx);
  }

  /** Refuses a change that would leave no active admin. */
  async function guardLastAdmin(user: UsersTable, trx: Kysely<Database>) {
    if (user.role !== "admin" || user.active !== 1) return;
    const { count } = await trx.selectFrom("users")
      .select((eb) => eb.fn.countAll<number>().as("count"))
      .where("role", "=", "admin").where("active", "=", 1).executeTakeFirstOrThrow();
    if (Number(count) <= 1) {
      throw new AppError(
        "USER_LAST_ADMIN",
        "This is the last active administrator; make another user an admin first",
        { status: 409 },
      );
    }
  }

  function revoked(userId: string, only: { sid?: string; keyId?: string } = {}) {
    revocations++;
    if (only.keyId) knownKeys.delete(only.keyId);
    else if (!only.sid) {
      for (const [id, key] of knownKeys) if (key.user_id === userId) knownKeys.delete(id);
    }
    bus.publish("auth.revoked", { userId, ...only });
  }

  /** 410 once setup is closed, 403 unless the setup token matches a stored one. */
  async function setupGate(trx: Kysely<Database>, setupToken: string) {
    const state = await trx.selectFrom("auth_state").select("setup_completed_at")
      .where("id", "=", 1).executeTakeFirstOrThrow();
    if (state.setup_completed_at !== null) {
      throw new AppError("AUTH_SETUP_CLOSED", "Setup is complete; sign in instead", {
        status: 410,
      });
    }
    const stored = await trx.selectFrom("auth_setup_tokens").select("token_sha256").execute();
    const offered = sha256(setupToken);
    if (!stored.some((row) => sameHash(row.token_sha256, offered))) {
      throw new AppError("AUTH_SETUP_TOKEN_INVALID", "The setup token is wrong", {
        status: 403,
        field: "setup_token",
      });
    }
  }

  async function authenticateKey(id: string, secret: string): Promise<AuthPrincipal> {
    const known = knownKeys.get(id);
    const before = revocations;
    const row = known ?? await keyStanding(id);
    const invalid = () => unauthorized("AUTH_KEY_INVALID", "The API key is not valid");
    if (!row || !sameHash(row.secret_sha256, sha256(secret))) throw invalid();
    const now = clock.now();
    if (row.active !== 1) throw invalid();
    if (row.expires_at !== null && row.expires_at <= now) {
      throw unauthorized("AUTH_KEY_EXPIRED", "The API key has expired");
    }
    // A revocation while the row was read may have changed it: read it again next time.
    if (!known && before === revocations) knownKeys.set(id, row);
    if ((keyTouched.get(row.id) ?? 0) < now - KEY_TOUCH_MS) {
      keyTouched.set(row.id, now);
      if (keyTouched.size > 10_000) keyTouched.clear();
      await db.updateTable("api_keys").set({ last_used_at: now }).where("id", "=", row.id)
        .execute();
    }
    const role = ROLE_RANK[row.key_role] <= ROLE_RANK[row.user_role] ? row.key_role : row.user_role;
    return { userId: row.user_id, username: row.username, role, auth: "api_key", keyId: row.id };
  }

  async function keyStanding(id: string): Promise<KeyStanding | undefined> {
    return await db.selectFrom("api_keys").innerJoin("users", "users.id", "api_keys.user_id")
      .select([
        "api_keys.id",
        "api_keys.role as key_role",
        "api_keys.secret_sha256",
        "api_keys.expires_at",
        "users.id as user_id",
        "users.username",
        "users.role as user_role",
        "users.active",
      ])
      .where("api_keys.id", "=", id).limit(1).executeTakeFirst();
  }

  async function authenticateJwt(token: string): Promise<AuthPrincipal> {
    const claims = await tokens.verify(token);
    const user = await db.selectFrom("users").select([
      "id",
      "username",
      "role",
      "active",
      "token_version",
    ])
      .where("id", "=", claims.sub).limit(1).executeTakeFirst();
    const revokedToken = () =>
      unauthorized("AUTH_TOKEN_REVOKED", "This token was revoked; sign in again");
    if (!user || user.active !== 1 || user.token_version !== claims.ver) throw revokedToken();
    const session = await db.selectFrom("auth_sessions").select("revoked_at")
      .where("id", "=", claims.sid).limit(1).executeTakeFirst();
    if (!session || session.revoked_at !== null) throw revokedToken();
    const gone = await db.selectFrom("auth_revoked_jtis").select("jti")
      .where("jti", "=", claims.jti).limit(1).executeTakeFirst();
    if (gone) throw revokedToken();
    return {
      userId: user.id,
      username: user.username,
      role: user.role,
      auth: "jwt",
      sid: claims.sid,
      jti: claims.jti,
      exp: claims.exp,
    };
  }

  async function keyRow(id: string) {
    return await db.selectFrom("api_keys").selectAll().where("id", "=", id).limit(1)
      .executeTakeFirst();
  }

  function publicKey(key: ApiKeysTable): PublicApiKey {
    return {
      id: key.id,
      name: key.name,
      prefix: `smk_${key.id}`,
      role: key.role,
      user_id: key.user_id,
      created_at: iso(key.created_at)!,
      expires_at: iso(key.expires_at),
      last_used_at: iso(key.last_used_at),
    };
  }

  /**
   * Checks a password under the lockout of its username and address: a
   * locked key is refused before any hash; the attempt counts while it
   * runs; a failure is recorded, a success clears the username.
   */
  async function guardedVerify(name: string, ip: string, password: string) {
    const userKey = `user:${name}`;
    const ipKey = `ip:${ipBucket(ip)}`;
    const locked = Math.max(lockouts.lockedFor(userKey), lockouts.lockedFor(ipKey));
    if (locked > 0) throw lockedError(locked);
    if (!lockouts.begin(userKey, config.lockout.maxFailures)) {
      throw lockedError(config.lockout.windowSeconds);
    }
    if (!lockouts.begin(ipKey, config.lockout.maxFailuresPerIp)) {
      lockouts.end(userKey, config.lockout.maxFailures, false);
      throw lockedError(config.lockout.windowSeconds);
    }
    let failed = true;
    try {
      const user = await userByName(name);
      const usable = user && user.active === 1 ? user : null;
      const { ok, rehash } = await hasher.verify(password, usable?.password_hash ?? null);
      failed = !ok || !usable;
      return { ok: !failed, rehash, user: failed ? null : usable };
    } finally {
      lockouts.end(userKey, config.lockout.maxFailures, failed);
      lockouts.end(ipKey, config.lockout.maxFailuresPerIp, failed);
      if (!failed) lockouts.clear(userKey);
    }
  }

  return {
    hasher,

    async status() {
      const state = await db.selectFrom("auth_state").select("setup_completed_at")
        .where("id", "=", 1).executeTakeFirstOrThrow();
      const open = state.setup_completed_at === null;
      return {
        enabled: true,
        setup_required: open,
        setup_token_required: open,
        message: open ? "Setup required" : "Ready",
      };
    },

    async openSetup() {
      const state = await db.selectFrom("auth_state").select("setup_completed_at")
        .where("id", "=", 1).executeTakeFirstOrThrow();
      if (state.setup_completed_at !== null) return { open: false, printToken: null };
      const token = config.setupToken ?? randomBytes(32).toString("base64url");
      await store.transaction(async (trx) => {
        await trx.deleteFrom("auth_setup_tokens").execute();
        await trx.insertInto("auth_setup_tokens").values({
          token_sha256: sha256(token),
          created_at: clock.now(),
        }).execute();
      });
      return { open: true, printToken: config.setupToken ? null : token };
    },

    async setup({ setupToken, username, password }) {
      const name = username.toLowerCase();
      // State and token first: nobody gets a hash computed for them once setup is closed.
      await setupGate(db, setupToken);
      checkCredentials(name, password);
      const passwordHash = await hasher.hash(password);
      return await store.transaction(async (trx) => {
        await setupGate(trx, setupToken);
        const now = clock.now();
        const user: UsersTable = {
          id: ids.next("usr"),
          username: name,
          password_hash: passwordHash,
          role: "admin",
          active: 1,
          token_version: 0,
          created_at: now,
          updated_at: now,
          last_login_at: now,
        };
        await trx.insertInto("users").values(user).execute();
        await trx.updateTable("auth_state").set({ setup_completed_at: now }).where("id", "=", 1)
          .execute();
        await trx.deleteFrom("auth_setup_tokens").execute();
        log.info("setup complete: the first administrator was created", { user_id: user.id });
        return await issue(user, trx);
      });
    },

    async login({ username, password, ip }) {
      const name = username.toLowerCase();
      const { ok, rehash, user } = await guardedVerify(name, ip, password);
      if (!ok || !user) {
        log.warn("sign-in failed", { client_ip: ip });
        throw INVALID_LOGIN();
      }
      const usable = user;
      const newHash = rehash ? await hasher.hash(password) : null;
      return await store.transaction(async (trx) => {
        const now = clock.now();
        await trx.updateTable("users").set({
          last_login_at: now,
          ...(newHash ? { password_hash: newHash } : {}),
        }).where("id", "=", usable.id).execute();
        return await issue({ ...usable, last_login_at: now }, trx);
      });
    },

    async refresh(token) {
      const match = REFRESH_PATTERN.exec(token);
      const invalid = () =>
        unauthorized("AUTH_REFRESH_INVALID", "The refresh token is not valid; sign in again");
      if (!match) throw invalid();
      const [, jti, secret] = match;
      const outcome = await store.transaction(async (trx) => {
        const row = await trx.selectFrom("auth_refresh_tokens").selectAll()
          .where("jti", "=", jti!).limit(1).executeTakeFirst();
        if (!row || !sameHash(row.secret_sha256, sha256(secret!))) throw invalid();
        const session = await trx.selectFrom("auth_sessions").selectAll()
          .where("id", "=", row.session_id).limit(1).executeTakeFirstOrThrow();
        const now = clock.now();
        if (session.revoked_at !== null) throw invalid();
        if (row.rotated_at !== null) {
          if (now - row.rotated_at <= REFRESH_RACE_MS) {
            throw new AppError(
              "AUTH_REFRESH_RACE",
              "This refresh token was just used by another request; use the token it returned",
              { status: 409 },
            );
          }
          await trx.updateTable("auth_sessions").set({ revoked_at: now, revoked_reason: "reuse" })
            .where("id", "=", session.id).execute();
          return { reused: row.user_id, sid: session.id };
        }
        if (row.expires_at <= now || session.expires_at <= now) {
          throw unauthorized(
            "AUTH_REFRESH_EXPIRED",
            "The refresh token has expired; sign in again",
          );
        }
        const user = await trx.selectFrom("users").selectAll().where("id", "=", row.user_id)
          .limit(1).executeTakeFirst();
        if (!user || user.active !== 1) throw invalid();
        await trx.updateTable("auth_refresh_tokens").set({ rotated_at: now })
          .where("jti", "=", row.jti).execute();
        return { issued: await rotateInto(user, session.id, session.expires_at, trx) };
      });
      if ("reused" in outcome) {
        revoked(outcome.reused, { sid: outcome.sid! });
        log.warn("a rotated refresh token was replayed: its login session is revoked", {
          user_id: outcome.reused,
        });
        throw unauthorized(
          "AUTH_REFRESH_REUSED",
          "This refresh token was already used; the session is ended, sign in again",
        );
      }
      return outcome.issued;
    },

    async logout(principal) {
      const now = clock.now();
      await store.transaction(async (trx) => {
        if (principal.sid) {
          await trx.updateTable("auth_sessions").set({ revoked_at: now, revoked_reason: "logout" })
            .where("id", "=", principal.sid).where("revoked_at", "is", null).execute();
        }
        if (principal.jti && principal.exp) {
          await trx.insertInto("auth_revoked_jtis").values({
            jti: principal.jti,
            expires_at: principal.exp * 1000,
          }).onConflict((oc) => oc.doNothing()).execute();
        }
        await trx.deleteFrom("auth_revoked_jtis").where("expires_at", "<", now - 60_000).execute();
      });
      if (principal.sid) revoked(principal.userId, { sid: principal.sid });
    },

    async authenticate(token) {
      const key = API_KEY_PATTERN.exec(token);
      if (key) return await authenticateKey(key[1]!, key[2]!);
      if (token.startsWith("smk_")) {
        throw unauthorized("AUTH_KEY_INVALID", "The API key is not valid");
      }
      return await authenticateJwt(token);
    },

    async listUsers() {
      const rows = await db.selectFrom("users").selectAll().orderBy("username").execute();
      return rows.map(publicUser);
    },

    async getUser(username) {
      return publicUser(await requireUser(username));
    },

    async createUser({ username, password, role }) {
      const name = username.toLowerCase();
      checkCredentials(name, password);
      const passwordHash = await hasher.hash(password);
      const now = clock.now();
      const row: UsersTable = {
        id: ids.next("usr"),
        username: name,
        password_hash: passwordHash,
        role,
        active: 1,
        token_version: 0,
        created_at: now,
        updated_at: now,
        last_login_at: null,
      };
      await store.transaction(async (trx) => {
        if (await userByName(name, trx)) {
          throw new AppError("USER_EXISTS", "A user with this name exists", {
            status: 409,
            field: "username",
          });
        }
        await trx.insertInto("users").values(row).execute();
      });
      return publicUser(row);
    },

    async setActive(username, active) {
      const user = await store.transaction(async (trx) => {
        const user = await requireUser(username, trx);
        if (!active) await guardLastAdmin(user, trx);
        await trx.updateTable("users").set({ active: active ? 1 : 0, updated_at: clock.now() })
          .where("id", "=", user.id).execute();
        if (!active) await revokeUser(user.id, "deactivated", trx);
        return { ...user, active: active ? 1 : 0 };
      });
      if (!active) revoked(user.id);
      return publicUser(user);
    },

    async deleteUser(username, deleteOptions = {}) {
      // 1. No new sign-ins, requests or turns of theirs while their data goes.
      const user = await store.transaction(async (trx) => {
        const user = await requireUser(username, trx);
        await guardLastAdmin(user, trx);
        await trx.updateTable("users").set({ active: 0, updated_at: clock.now() })
          .where("id", "=", user.id).execute();
        await revokeUser(user.id, "deleted", trx);
        return user;
      });
      revoked(user.id);
      // 2. Their memories, threads and key-value rows (the memory plugin, through the mind).
      const work: Promise<unknown>[] = [];
      bus.publish("user.deleting", {
        userId: user.id,
        username: user.username,
        actor: deleteOptions.actor ?? "admin",
        waitUntil: (promise) => void work.push(promise),
      });
      const failed = (await Promise.allSettled(work)).filter((result) =>
        result.status === "rejected"
      );
      if (failed.length > 0) {
        for (const failure of failed) {
          log.error("forgetting a deleted user's data failed", {
            user: user.id,
            error: (failure as PromiseRejectedResult).reason,
          });
        }
        throw new AppError(
          "USER_DELETE_INCOMPLETE",
          "The user's data could not all be forgotten; the user stays deactivated. Delete them again to finish",
          { status: 500 },
        );
      }
      // 3. The account row last (sessions, refresh tokens and keys cascade).
      await db.deleteFrom("users").where("id", "=", user.id).execute();
      bus.publish("user.deleted", { userId: user.id, username: user.username });
    },

    async setPassword(username, password) {
      const user = await requireUser(username);
      checkCredentials(user.username, password);
      const passwordHash = await hasher.hash(password);
      await store.transaction((trx) => replacePassword(user.id, passwordHash, trx));
      revoked(user.id);
    },

    async setRole(username, role) {
      const user = await store.transaction(async (trx) => {
        const user = await requireUser(username, trx);
        if (user.role === role) return user;
        if (role !== "admin") await guardLastAdmin(user, trx);
        await trx.updateTable("users").set({ role }).where("id", "=", user.id).execute();
        await revokeUser(user.id, "role changed", trx);
        return { ...user, role };
      });
      revoked(user.id);
      return publicUser(user);
    },

    async changeOwnPassword(principal, current, next, ip) {
      if (principal.auth === "api_key") {
        throw new AppError(
          "AUTH_SIGN_IN_REQUIRED",
          "Changing the password needs a signed-in session, not an API key",
          { status: 403 },
        );
      }
      const user = await db.selectFrom("users").selectAll().where("id", "=", principal.userId)
        .limit(1).executeTakeFirst();
      if (!user) throw unauthorized("AUTH_TOKEN_REVOKED", "This token was revoked; sign in again");
      // Wrong current passwords count towards the lockout like failed sign-ins.
      const { ok } = await guardedVerify(user.username, ip, current);
      if (!ok) {
        throw new AppError("AUTH_INVALID_CREDENTIALS", "The current password is wrong", {
          status: 403,
          field: "current_password",
        });
      }
      refuseWeakPassword(next, user.username, "new_password");
      const passwordHash = await hasher.hash(next);
      const issued = await store.transaction(async (trx) => {
        await replacePassword(user.id, passwordHash, trx);
        const fresh = await trx.selectFrom("users").selectAll().where("id", "=", user.id)
          .executeTakeFirstOrThrow();
        return await issue(fresh, trx);
      });
      revoked(user.id);
      return issued;
    },

    async closeSetup() {
      await store.transaction(async (trx) => {
        await trx.updateTable("auth_state").set({ setup_completed_at: clock.now() })
          .where("id", "=", 1).where("setup_completed_at", "is", null).execute();
        await trx.deleteFrom("auth_setup_tokens").execute();
      });
    },

    clearLockout(username) {
      return lockouts.clear(`user:${username.toLowerCase()}`);
    },

    async listKeys(userId) {
      let query = db.selectFrom("api_keys").selectAll().orderBy("created_at").orderBy("id");
      if (userId !== null) query = query.where("user_id", "=", userId);
      return (await query.execute()).map(publicKey);
    },

    async createKey(owner, { name, role, expiresInDays }) {
      if (owner.auth === "api_key") {
        // A leaked key must not be able to mint keys that outlive it.
        throw new AppError(
          "AUTH_SIGN_IN_REQUIRED",
          "Creating API keys needs a signed-in session, not an API key",
          { status: 403 },
        );
      }
      const keyRole = role ?? owner.role;
      if (ROLE_RANK[keyRole] > ROLE_RANK[owner.role]) {
        throw new AppError("KEY_ROLE_TOO_HIGH", "A key cannot have a higher role than its owner", {
          status: 403,
          field: "role",
        });
      }
      const now = clock.now();
      const id = randomBytes(5).toString("hex").slice(0, 8);
      const secret = randomBytes(32).toString("base64url");
      const row: ApiKeysTable = {
        id,
        user_id: owner.userId,
        name,
        role: keyRole,
        secret_sha256: sha256(secret),
        created_at: now,
        expires_at: expiresInDays ? now + expiresInDays * 86_400_000 : null,
        last_used_at: null,
      };
      await store.transaction(async (trx) => {
        const { count } = await trx.selectFrom("api_keys")
          .select((eb) => eb.fn.countAll<number>().as("count"))
          .where("user_id", "=", owner.userId).executeTakeFirstOrThrow();
        if (Number(count) >= config.maxApiKeysPerUser) {
          throw new AppError(
            "KEY_LIMIT_REACHED",
            `A user may hold ${config.maxApiKeysPerUser} API keys; delete one first`,
            { status: 409 },
          );
        }
        await trx.insertInto("api_keys").values(row).execute();
      });
      return { ...publicKey(row), key: `smk_${id}_${secret}` };
    },

    async deleteKey(principal, id) {
      const row = await keyRow(id);
      if (!row || (row.user_id !== principal.userId && principal.role !== "admin")) {
        throw new AppError("KEY_NOT_FOUND", "No such API key", { status: 404 });
      }
      await db.deleteFrom("api_keys").where("id", "=", id).execute();
      revoked(row.user_id, { keyId: id });
    },
  };
}
