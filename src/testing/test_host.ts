import { Hono } from "hono";
import { buildConfigSchema, loadConfig, type ResolvedConfig } from "../config/mod.ts";
import { listConfigFields } from "../config/fields.ts";
import { secretConfigValues } from "../config/redact.ts";
import { prepareDataDir } from "../data_dir.ts";
import { type RunningServer, serveKernel } from "../http/serve.ts";
import { notFoundFor } from "../http/app.ts";
import type { AppEnv, Principal } from "../http/types.ts";
import { createKernel, type Kernel } from "../kernel.ts";
import { openStore } from "../store/store.ts";
import { seededRandom } from "../random.ts";
import type { AnyPlugin } from "../plugin/types.ts";
import type { LogLevel, LogRecord } from "../telemetry/logger.ts";
import { FakeClock } from "./fake_clock.ts";
import { createMemoryLogger } from "./memory_log.ts";
import { makeTestDir } from "./paths.ts";
import { secretValues } from "../llm/providers.ts";
import { createRedactor } from "../telemetry/redact.ts";

import { BUNDLE_ENV_NAMES } from "../plugin/external/bundle.ts";

/** Options for {@link createTestHost}. */
export interface CreateTestHostOptions {
  /** Plugins to load. @default [] */
  plugins?: readonly AnyPlugin[];
  /** Config, validated exactly like the config file. @default {} */
  config?: Record<string, unknown>;
  /** Environment variables seen by the config loader. @default {} */
  env?: Record<string, string>;
  /** The clock the kernel uses. @default a new FakeClock */
  clock?: FakeClock;
  /**
   * Use this data directory and keep it on close (restart tests).
   * @default a fresh directory under `data/.test`, removed on close
   */
  dataDir?: string;
  /** Seed of the kernel's random source. @default 1 */
  seed?: number;
  /** Lowest level kept in `logs`. @default "debug" */
  logLevel?: LogLevel;
  /** Set up and start the plugins before returning. @default true */
  start?: boolean;
}

/** A kernel with a temporary data directory and a fake clock. */
export interface TestHost extends AsyncDisposable {
  /** The assembled kernel (plugin host, health, hooks, bus). */
  readonly kernel: Kernel;
  /** The Hono app, as `serve` would listen with it. */
  readonly app: Hono<AppEnv>;
  /** Moves only when the test ticks it. */
  readonly clock: FakeClock;
  /** The validated config. */
  readonly config: ResolvedConfig;
  /** Every log record written so far. */
  readonly logs: LogRecord[];
  /** Absolute path of the temporary data directory. */
  readonly dataDir: string;
  /** The API a plugin returned from `setup`. */
  api<T>(id: string): T;
  /** Sends a request through the app without a socket. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Sends requests as another caller (the local admin otherwise), until
   * users and logins exist.
   */
  as(principal: Pick<Principal, "userId" | "role">): {
    request(path: string, init?: RequestInit): Promise<Response>;
  };
  /**
   * Listens on 127.0.0.1, for tests that need a real socket: on a free port,
   * or on `port` (a restarted server taking its predecessor's place).
   */
  listen(options?: { port?: number }): RunningServer;
  /** Stops the server (if listening) and the plugins, and removes the data directory. */
  close(): Promise<void>;
}

/**
 * Builds the same kernel `serve` builds, with a temporary data directory,
 * a {@link FakeClock} and an in-memory log. Use it with `await using`.
 *
 * @example Call a plugin's route
 * ```ts ignore
 * await using host = await createTestHost({ plugins: [helloPlugin] });
 * const response = await host.request("/api/hello?name=Ada");
 * ```
 */
export async function createTestHost(options: CreateTestHostOptions = {}): Promise<TestHost> {
  const plugins = options.plugins ?? [];
  const clock = options.clock ?? new FakeClock();
  const env = options.env ?? {};
  const llmInput = (options.config?.llm ?? {}) as Record<string, unknown>;
  const redactor = { redact: (text: string) => text };
  const { log, records: logs } = createMemoryLogger({
    level: options.logLevel ?? "debug",
    clock,
    redact: (text) => redactor.redact(text),
  });
  const dataDir = options.dataDir ?? await makeTestDir();
  const schema = buildConfigSchema(
    plugins.map((plugin) => ({ id: plugin.manifest.id, schema: plugin.manifest.configSchema })),
  );
  const removeDataDir = async () => {
    if (options.dataDir === undefined) await Deno.remove(dataDir, { recursive: true });
  };
  let kernel: Kernel | undefined;
  try {
    const { config, origin } = loadConfig({
      schema,
      input: {
        dataDir,
        // Tests act as the local administrator, unlimited, unless they configure auth and limits.
        auth: { enabled: false },
        rateLimit: { enabled: false },
        ...options.config,
        llm: { autodetectOllama: false, ...llmInput },
      },
      env: (name) => env[name],
    });
    redactor.redact = createRedactor([
      ...secretValues(config.llm, (name) => env[name]),
      ...secretConfigValues(config, listConfigFields(schema)),
    ]);
    await prepareDataDir(dataDir, log);
    const store = openStore({
      dataDir,
      busyTimeoutMs: config.db.busyTimeoutMs,
      clock,
      log: log.child("store"),
      migrate: true,
    });
    kernel = createKernel({
      config,
      origin,
      plugins,
      log,
      clock,
      appDir: Deno.cwd(),
      dataDir,
      store,
      random: seededRandom(options.seed ?? 1),
      // Deno's own cache stays shared (bundling third-party plugins downloads esbuild once).
      env: (name) =>
        env[name] ?? (BUNDLE_ENV_NAMES.includes(name) ? Deno.env.get(name) : undefined),
    });
    kernel.onClose(() => store.close());
    if (options.start ?? true) await kernel.start();
  } catch (error) {
    await kernel?.stop();
    await removeDataDir();
    throw error;
  }
  const started = kernel;

  let server: RunningServer | undefined;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      if (server) await server.shutdown();
      else await started.stop();
      await removeDataDir();
    })();
    return closed;
  };

  return {
    kernel: started,
    app: started.app,
    clock,
    config: started.config,
    logs,
    dataDir,
    api: <T>(id: string) => started.host.api<T>(id),
    request: async (path, init) => await started.app.request(path, init),
    as(principal) {
      const outer = new Hono<AppEnv>();
      outer.use(async (c, next) => {
        c.set("principal", { ...principal, auth: "none" });
        await next();
      });
      outer.route("/", started.app);
      outer.notFound(notFoundFor(outer));
      return { request: async (path, init) => await outer.request(path, init) };
    },
    listen(listenOptions = {}) {
      server ??= serveKernel(started, {
        hostname: "127.0.0.1",
        port: listenOptions.port ?? 0,
        shutdownGraceMs: started.config.server.shutdownGraceMs,
      });
      return server;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
