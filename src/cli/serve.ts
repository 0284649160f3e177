import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { join, resolve } from "node:path";
import {
  buildConfigSchema,
  ConfigError,
  loadConfig,
  type LoadedConfig,
  readFailure,
  redactConfig,
} from "../config/mod.ts";
import { DataDirError, prepareDataDir } from "../data_dir.ts";
import { ConfigurationError, errorMessage } from "../errors.ts";
import { isLoopbackName } from "../http/guards.ts";
import { ListenError, probeListen, type RunningServer, serveKernel } from "../http/serve.ts";
import { createKernel, type Kernel } from "../kernel.ts";
import { PluginError } from "../plugin/errors.ts";
import { acquireDataDirLock, type DataDirLock } from "../store/lock.ts";
import { DB_ERROR_CODES, DbError } from "../store/errors.ts";
import { openStore, type Store } from "../store/store.ts";
import { createLogger, jsonLineSink, type Logger, prettySink } from "../telemetry/logger.ts";
import { VERSION } from "../version.ts";
import { secretValues } from "../llm/providers.ts";
import { createRedactor, type Redactor } from "../telemetry/redact.ts";
import { secretConfigValues } from "../config/redact.ts";
import { type CliIo, EXIT, URL_FILE } from "./io.ts";

/** Parsed options of `serve`. */
export interface RunServeOptions {
  /** `--config`, `--host`, `--port`, `--data-dir`, `--dev` as given. */
  flags: Record<string, string | undefined>;
  printConfig: boolean;
}

/**
 * Signals closer together than this count as one: `npx` and `deno task`
 * forward the Ctrl-C the terminal already sent to the whole process group.
 */
export const DUPLICATE_SIGNAL_MS = 1_000;

/** Loads config or reports why not; shared by `serve` and other subcommands. */
export function loadCliConfig(
  io: CliIo,
  flags: Record<string, string | undefined>,
): LoadedConfig | number {
  try {
    const schema = buildConfigSchema(
      io.plugins.map((plugin) => ({
        id: plugin.manifest.id,
        schema: plugin.manifest.configSchema,
      })),
    );
    return loadConfig({ schema, env: io.env, flags, cwd: io.cwd });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(error.message + "\n");
      return EXIT.CONFIG;
    }
    if (error instanceof TypeError) {
      io.stderr(`config: ${error.message}\n`);
      return EXIT.CONFIG;
    }
    throw error;
  }
}

/**
 * Removes from log records the provider keys of the environment and every
 * secret config value (JWT secrets, setup token, metrics token…): the
 * config schema says which keys are secret, so new ones are covered too.
 */
export function configRedactor(loaded: LoadedConfig, io: Pick<CliIo, "env">): Redactor {
  return createRedactor([
    ...secretValues(loaded.config.llm, io.env),
    ...secretConfigValues(loaded.config, loaded.fields),
  ]);
}

/**
 * The kernel a CLI command runs on the data directory it has locked and the
 * store it opened; closing the kernel closes the store and releases the lock.
 */
export function cliKernel(
  io: CliIo,
  loaded: LoadedConfig,
  parts: { log: Logger; dataDir: string; store: Store; lock: DataDirLock },
): Kernel {
  const kernel = createKernel({
    config: loaded.config,
    origin: loaded.origin,
    plugins: io.plugins,
    log: parts.log,
    clock: io.clock,
    appDir: io.appDir,
    dataDir: parts.dataDir,
    store: parts.store,
    env: io.env,
    cwd: io.cwd,
  });
  kernel.onClose(() => parts.lock.release());
  kernel.onClose(() => parts.store.close());
  return kernel;
}

/**
 * `serve`: resolve config, prepare the data directory, start the plugins,
 * listen, and shut down gracefully on SIGINT/SIGTERM. Resolves with the
 * exit code once the server has stopped. Fatal start-up problems go to
 * stderr as one plain sentence.
 */
export async function runServe(io: CliIo, options: RunServeOptions): Promise<number> {
  const loaded = loadCliConfig(io, options.flags);
  if (typeof loaded === "number") return loaded;
  const { config, fields, origin } = loaded;

  if (options.printConfig) {
    io.stdout(JSON.stringify(redactConfig(config, fields), null, 2) + "\n");
    return EXIT.OK;
  }

  if (!config.auth.enabled && !isLoopbackName(config.server.host)) {
    io.stderr(
      `config: auth.enabled is false, so the server may only listen on a loopback address (got server.host ${config.server.host}); enable auth or bind to 127.0.0.1\n`,
    );
    return EXIT.CONFIG;
  }

  const log = createLogger({
    level: config.log.level,
    sink: config.log.format === "pretty" ? prettySink() : jsonLineSink(),
    clock: io.clock,
    redact: configRedactor(loaded, io),
  });
  for (const ignored of origin.ignoredFiles) {
    log.warn("a config file is ignored because another one was found first", {
      read: origin.file,
      ignored,
    });
  }
  const dataDir = resolve(io.cwd, config.dataDir);
  const address = { hostname: config.server.host, port: config.server.port };
  const { certFile, keyFile } = config.server.tls;
  let tls: { cert: string; key: string } | undefined;
  if ((certFile === null) !== (keyFile === null)) {
    io.stderr(
      "config: server.tls needs both certFile and keyFile (SYNTH_TLS_CERT_FILE, SYNTH_TLS_KEY_FILE)\n",
    );
    return EXIT.CONFIG;
  }
  if (certFile !== null && keyFile !== null) {
    try {
      tls = {
        cert: await Deno.readTextFile(resolve(io.cwd, certFile)),
        key: await Deno.readTextFile(resolve(io.cwd, keyFile)),
      };
    } catch (error) {
      io.stderr(
        `config: cannot read the TLS certificate or key (server.tls.certFile ${certFile}, keyFile ${keyFile}): ${
          readFailure(error)
        }\n`,
      );
      return EXIT.CONFIG;
    }
    // Checked now, not when listening after every plugin started (and then with exit 1).
    const problem = tlsPairProblem(tls.cert, tls.key);
    if (problem) {
      io.stderr(`config: server.tls (certFile ${certFile}, keyFile ${keyFile}): ${problem}\n`);
      return EXIT.CONFIG;
    }
  }
  let lock: DataDirLock | undefined;
  let store: Store;
  try {
    await prepareDataDir(dataDir, log);
    probeListen(address);
    lock = await acquireDataDirLock(dataDir);
    store = openStore({
      dataDir,
      busyTimeoutMs: config.db.busyTimeoutMs,
      clock: io.clock,
      log: log.child("store"),
      migrate: config.db.migrateOnStart,
    });
  } catch (error) {
    lock?.release();
    const exitCode = startupExitCode(error);
    if (exitCode === undefined) throw error;
    io.stderr((error as Error).message + "\n");
    return exitCode;
  }

  const kernel = cliKernel(io, loaded, { log, dataDir, store, lock: lock! });

  // Listen for signals before anything starts, so a SIGTERM during start-up
  // still ends in a graceful shutdown rather than the default kill.
  const stopRequested = Promise.withResolvers<void>();
  let firstSignalAt: number | undefined;
  const removeSignalHandler = io.onSignal((signal) => {
    const now = io.clock.now();
    if (firstSignalAt === undefined) {
      firstSignalAt = now;
      log.info("signal received", { signal });
      kernel.beginStopping();
      stopRequested.resolve();
    } else if (now - firstSignalAt >= DUPLICATE_SIGNAL_MS) {
      log.warn("second signal during shutdown; exiting now", { signal });
      io.exit(EXIT.INTERRUPTED);
    }
  });
  try {
    return await startAndServe(io, kernel, log, stopRequested.promise, tls);
  } finally {
    removeSignalHandler();
  }
}

async function startAndServe(
  io: CliIo,
  kernel: Kernel,
  log: Logger,
  stopRequested: Promise<void>,
  tls: { cert: string; key: string } | undefined,
): Promise<number> {
  const { config } = kernel;
  let server: RunningServer;
  try {
    await kernel.start();
    if (kernel.stopping) {
      await kernel.stop();
      log.info("stopped before listening");
      return EXIT.OK;
    }
    server = serveKernel(kernel, {
      hostname: config.server.host,
      port: config.server.port,
      shutdownGraceMs: config.server.shutdownGraceMs,
      tls,
    });
  } catch (error) {
    const interrupted = kernel.stopping; // a signal arrived during start-up
    await kernel.stop();
    if (interrupted && !(error instanceof ListenError)) {
      log.info("stopped during start-up", { error });
      return EXIT.OK;
    }
    const refusal = error instanceof ConfigurationError
      ? error
      : error instanceof PluginError && error.cause instanceof ConfigurationError
      ? error.cause
      : undefined;
    const message = refusal
      ? refusal.message
      : error instanceof PluginError || error instanceof ListenError
      ? error.message
      : `Cannot start: ${errorMessage(error)}`;
    log.debug("start-up failed", { error });
    io.stderr(message + "\n");
    return refusal ? EXIT.CONFIG : EXIT.FAILURE;
  }

  // The first sandbox probe runs now, so readiness has its answer soon.
  kernel.sandbox.warm();
  // `deno task chat` finds the running server here.
  const urlFile = join(kernel.dataDir, URL_FILE);
  const reachable = server.url.replace(/\/\/(0\.0\.0\.0|\[::\])/, "//127.0.0.1");
  await Deno.writeTextFile(urlFile, reachable, { mode: 0o600 });
  kernel.onClose(() => Deno.remove(urlFile).catch(() => {}));
  if (!config.auth.enabled) {
    log.warn(
      "authentication is disabled (auth.enabled false): every local request acts as the administrator",
    );
  } else if (kernel.setupToken) {
    // A warning: the operator must act, and a log kept at `warn` must not hide the only token.
    log.warn(
      "first-run setup is open: open setup_url in a browser (or POST /api/auth/setup, see README) and create the administrator with this setup token; each start prints a new one until setup is done",
      { setup_url: `${reachable}/setup`, setup_token: kernel.setupToken },
    );
  }

  log.info("listening", {
    url: server.url,
    version: VERSION,
    deno: Deno.version.deno,
    data_dir: kernel.dataDir,
    config_file: kernel.origin.file,
    config_overrides: kernel.origin.overrides,
    plugins: kernel.host.order,
  });
  if (
    !isLoopbackName(config.server.host) && config.server.publicUrl === null &&
    config.server.allowedHosts.length === 0
  ) {
    log.warn(
      "the Host header is not checked: set server.publicUrl or server.allowedHosts to guard against DNS rebinding",
      { host: config.server.host },
    );
  }
  // Behind a trusted proxy, the proxy is where TLS ends (spec/server.md §1).
  if (!isLoopbackName(config.server.host) && !tls && config.server.trustedProxies.length === 0) {
    log.warn(
      "the server is reachable from the network without TLS; bind to 127.0.0.1 or put a TLS proxy in front",
      { host: config.server.host },
    );
  }
  // compose.yaml passes these through for the scale-out adapters (server.md §14), not built yet;
  // as secrets they may come as files too (`…_FILE`, ops.md).
  for (
    const [name, kept] of [
      ["SYNTH_DATABASE_URL", "SQLite"],
      ["SYNTH_REDIS_URL", "this process"],
    ] as const
  ) {
    const set = [name, `${name}_FILE`].find((each) => io.env(each));
    if (set) {
      log.warn(`${set} is set but not used: this version keeps its data in ${kept}`, {
        data_dir: kernel.dataDir,
      });
    }
  }
  await stopRequested;
  await server.shutdown();
  return EXIT.OK;
}

/** The exit code for an expected start-up failure, or undefined for a bug. */
function startupExitCode(error: unknown): number | undefined {
  if (error instanceof DataDirError) return EXIT.CONFIG;
  if (error instanceof ListenError) return EXIT.FAILURE;
  if (error instanceof DbError) {
    if (error.code === DB_ERROR_CODES.UNREADABLE) return EXIT.FAILURE;
    return error.code === DB_ERROR_CODES.DATA_DIR_IN_USE ? EXIT.DATA_DIR_IN_USE : EXIT.CONFIG;
  }
  return undefined;
}

/** What is wrong with a PEM certificate and key pair, or null when the key is the certificate's. */
export function tlsPairProblem(certPem: string, keyPem: string): string | null {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    return `certFile holds no PEM certificate (${errorMessage(error)})`;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    return `keyFile holds no PEM private key (${errorMessage(error)})`;
  }
  try {
    return certificate.checkPrivateKey(key) ? null : "keyFile is not the certificate's private key";
  } catch (error) {
    return `keyFile cannot be checked against the certificate (${errorMessage(error)})`;
  }
}
