/**
 * The server as the benches run it (spec/server.md §15): the start task in
 * a subprocess with sign-in on, rate limits off, and an API key that every
 * benched request carries, so the key check is in the figures.
 */
import { randomBytes } from "node:crypto";
import { type SpawnedServer, spawnServer, type SpawnServerOptions } from "../src/testing/mod.ts";

/** A spawned server and the API key to call it with. */
export interface BenchServer {
  readonly server: SpawnedServer;
  /** `smk_…`, an admin's key. */
  readonly key: string;
  /** The header that carries {@link key}. */
  readonly headers: Readonly<Record<string, string>>;
  [Symbol.asyncDispose](): PromiseLike<void>;
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${new URL(url).pathname}: ${JSON.stringify(json)}`);
  return json as Record<string, unknown>;
}

/** Options for {@link spawnBenchServer}. */
export interface BenchServerOptions extends SpawnServerOptions {
  /**
   * Writes data for the administrator into the data directory: it runs once they and their key
   * exist, with the server stopped, and gets their user id (memories belong to a user, and a user
   * recalls only their own). The server then starts again on the same directory.
   */
  seed?: (userId: string, dataDir: string) => Promise<void>;
}

/**
 * Starts the server with sign-in on (first-run setup through a headless
 * setup token), creates the administrator `bench` and an API key of theirs.
 */
export async function spawnBenchServer(options: BenchServerOptions = {}): Promise<BenchServer> {
  const setupToken = randomBytes(32).toString("base64url");
  const { seed, ...spawnOptions } = options;
  const env = { ...options.env, SYNTH_AUTH_ENABLED: "true" };
  let server = await spawnServer({
    ...spawnOptions,
    // A server that is restarted after the seed runs the benched process's options (a CPU profile).
    ...(seed ? { denoArgs: [] } : {}),
    env: { ...env, SYNTH_SETUP_TOKEN: setupToken },
  });
  try {
    const setup = await postJson(`${server.url}/api/auth/setup`, {
      setup_token: setupToken,
      username: "bench",
      password: randomBytes(24).toString("base64url"),
    });
    const created = await postJson(
      `${server.url}/api/keys`,
      { name: "bench" },
      { authorization: `Bearer ${setup.access_token}` },
    );
    const key = created.key as string;
    if (seed) {
      const { id } = (setup as { user: { id: string } }).user;
      await server.stop("SIGTERM");
      await seed(id, server.dataDir);
      server = await spawnServer({ ...spawnOptions, dataDir: server.dataDir, env });
    }
    return {
      server,
      key,
      headers: { "x-api-key": key },
      [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
    };
  } catch (error) {
    await server.stop("SIGKILL");
    throw error;
  }
}
