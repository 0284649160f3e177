/**
 * Access tokens (spec/server.md §3.5): HS256 JWTs signed with `hono/jwt`,
 * a `kid` of 8 hex digits of the secret's SHA-256, a previous secret that
 * still verifies during a rotation, and time checks on the kernel clock
 * with 30 s leeway. The secret comes from `auth.jwt.secret`
 * (`SYNTH_AUTH_JWT_SECRET` or `…_FILE`) or is generated once into
 * `<dataDir>/secrets/jwt.key` with mode 0600.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { decode, sign, verify } from "hono/jwt";
import type { Clock } from "../clock.ts";
import { jwtSecretFile } from "../data_dir.ts";
import { AppError } from "../errors.ts";
import type { Role } from "../http/types.ts";

/** Issuer and audience of every token. */
export const TOKEN_AUDIENCE = "synth-mind";
const LEEWAY_S = 30;

/** The claims of an access token. */
export interface AccessClaims {
  iss: string;
  aud: string;
  type: "access";
  /** The user id. */
  sub: string;
  /** Informational only: authorization reads the user record. */
  role: Role;
  /** The refresh family (login session). */
  sid: string;
  /** The user's `token_version` when issued. */
  ver: number;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
}

interface Key {
  kid: string;
  jwk: { kty: "oct"; k: string; alg: "HS256"; kid: string };
}

function keyOf(secret: string | Uint8Array): Key {
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  const kid = createHash("sha256").update(bytes).digest("hex").slice(0, 8);
  return {
    kid,
    jwk: { kty: "oct", k: Buffer.from(bytes).toString("base64url"), alg: "HS256", kid },
  };
}

/**
 * The signing secret: the configured one, else `<dataDir>/secrets/jwt.key`,
 * created with 32 random bytes (mode 0600) on first use.
 */
export async function loadJwtSecret(
  dataDir: string,
  configured: string | null,
): Promise<string | Uint8Array> {
  if (configured !== null) return configured;
  const file = jwtSecretFile(dataDir);
  const dir = dirname(file);
  try {
    return await Deno.readFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const bytes = randomBytes(32);
  try {
    await Deno.writeFile(file, bytes, { mode: 0o600, createNew: true });
    return new Uint8Array(bytes);
  } catch (error) {
    // Another process wrote it first: use theirs.
    if (error instanceof Deno.errors.AlreadyExists) return await Deno.readFile(file);
    throw error;
  }
}

function unauthorized(code: string, message: string): AppError {
  return new AppError(code, message, { status: 401 });
}

/** Signs and verifies access tokens. */
export interface AccessTokens {
  /** The `kid` of the signing key. */
  readonly kid: string;
  sign(claims: Omit<AccessClaims, "iss" | "aud" | "type" | "iat" | "nbf" | "exp">): Promise<{
    token: string;
    claims: AccessClaims;
  }>;
  /** The claims of a valid token; 401 `AUTH_TOKEN_INVALID` / `AUTH_TOKEN_EXPIRED` otherwise. */
  verify(token: string): Promise<AccessClaims>;
}

/** Creates the signer for `secret` (and a `previous` one that only verifies). */
export function createAccessTokens(options: {
  secret: string | Uint8Array;
  previous: string | null;
  ttlSeconds: number;
  clock: Clock;
}): AccessTokens {
  const current = keyOf(options.secret);
  const previous = options.previous ? keyOf(options.previous) : null;
  const nowS = () => Math.floor(options.clock.now() / 1000);
  return {
    kid: current.kid,
    async sign(claims) {
      const iat = nowS();
      const full: AccessClaims = {
        iss: TOKEN_AUDIENCE,
        aud: TOKEN_AUDIENCE,
        type: "access",
        ...claims,
        iat,
        nbf: iat,
        exp: iat + options.ttlSeconds,
      };
      return { token: await sign({ ...full }, current.jwk), claims: full };
    },
    async verify(token) {
      let kid: string | undefined;
      try {
        kid = decode(token).header.kid;
      } catch {
        throw unauthorized("AUTH_TOKEN_INVALID", "The access token is not valid");
      }
      const key = kid === current.kid
        ? current
        : previous && kid === previous.kid
        ? previous
        : null;
      if (!key) throw unauthorized("AUTH_TOKEN_INVALID", "The access token is not valid");
      let payload: Record<string, unknown>;
      try {
        payload = await verify(token, key.jwk, {
          alg: "HS256",
          iss: TOKEN_AUDIENCE,
          aud: TOKEN_AUDIENCE,
          exp: false,
          nbf: false,
          iat: false,
        }) as Record<string, unknown>;
      } catch {
        throw unauthorized("AUTH_TOKEN_INVALID", "The access token is not valid");
      }
      const claims = payload as unknown as AccessClaims;
      if (
        claims.type !== "access" || typeof claims.sub !== "string" ||
        typeof claims.sid !== "string" || typeof claims.jti !== "string" ||
        typeof claims.ver !== "number" || typeof claims.exp !== "number" ||
        typeof claims.nbf !== "number"
      ) {
        throw unauthorized("AUTH_TOKEN_INVALID", "The access token is not valid");
      }
      const now = nowS();
      if (claims.exp + LEEWAY_S <= now) {
        throw unauthorized("AUTH_TOKEN_EXPIRED", "The access token has expired; refresh it");
      }
      if (claims.nbf - LEEWAY_S > now) {
        throw unauthorized("AUTH_TOKEN_INVALID", "The access token is not valid yet");
      }
      return claims;
    },
  };
}
