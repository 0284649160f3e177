import { resolve } from "node:path";
import { systemClock } from "../clock.ts";
import {
  buildConfigSchema,
  ConfigError,
  loadConfig,
  type LoadedConfig,
  redactConfig,
} from "../config/mod.ts";
import { DataDirError, prepareDataDir } from "../data_dir.ts";
import { errorMessage } from "../errors.ts";
import { ListenError, serveKernel } from "../http/serve.ts";
import { createKernel } from "../kernel.ts";
import { PluginError } from "../plugin/errors.ts";
import { createLogger, jsonLineSink, type Logger, prettySink } from "../telemetry/logger.ts";
import { VERSION } from "../version.ts";
import { type CliIo, EXIT } from "./io.ts";

/** Parsed options of `serve`. */
export interface ServeOptions {
  /** `--config`, `--host`, `--port`, `--data-dir` as given. */
  flags: Record<string, string | undefined>;
  printConfig: boolean;
  dev: boolean;
}

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
 * `serve`: resolve config, prepare the data directory, start the plugins,
 * listen, and shut down gracefully on SIGINT/SIGTERM. Resolves with the
 * exit code once the server has stopped.
 */
export async function runServe(io: CliIo, options: ServeOptions): Promise<number> {
  const loaded = loadCliConfig(io, options.flags);
  if (typeof loaded === "number") return loaded;
  const { config, fields } = loaded;

  if (options.printConfig) {
    io.stdout(JSON.stringify(redactConfig(config, fields), null, 2) + "\n");
    return EXIT.OK;
  }

  const pretty = options.dev || config.log.format === "pretty";
  const log = createLogger({
    level: config.log.level,
    sink: pretty ? prettySink() : jsonLineSink(),
    clock: systemClock,
  });
  const dataDir = resolve(io.cwd, config.dataDir);

  try {
    await prepareDataDir(dataDir, log);
  } catch (error) {
    if (!(error instanceof DataDirError)) throw error;
    log.error(error.message);
    io.stderr(error.message + "\n");
    return EXIT.FAILURE;
  }

  // Listen for signals before anything starts, so a SIGTERM during start-up
  // still ends in a graceful shutdown rather than the default kill.
  const stopRequested = Promise.withResolvers<void>();
  let signals = 0;
  const removeSignalHandler = io.onSignal((signal) => {
    signals += 1;
    if (signals > 1) {
      log.warn("second signal during shutdown; exiting now", { signal });
      io.exit(EXIT.INTERRUPTED);
    }
    log.info("signal received", { signal });
    stopRequested.resolve();
  });
  try {
    return await serveUntilStopped(io, loaded, log, dataDir, stopRequested.promise);
  } finally {
    removeSignalHandler();
  }
}

async function serveUntilStopped(
  io: CliIo,
  { config, origin }: LoadedConfig,
  log: Logger,
  dataDir: string,
  stopRequested: Promise<void>,
): Promise<number> {
  const kernel = createKernel({
    config,
    origin,
    plugins: io.plugins,
    log,
    clock: systemClock,
    appDir: io.appDir,
    dataDir,
  });

  try {
    await kernel.start();
  } catch (error) {
    const message = error instanceof PluginError
      ? error.message
      : `Cannot start: ${errorMessage(error)}`;
    log.error("start-up failed", { error });
    io.stderr(message + "\n");
    await kernel.stop();
    return EXIT.FAILURE;
  }

  let server;
  try {
    server = serveKernel(kernel, {
      hostname: config.server.host,
      port: config.server.port,
      shutdownGraceMs: config.server.shutdownGraceMs,
    });
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    log.error(error.message);
    io.stderr(error.message + "\n");
    await kernel.stop();
    return EXIT.FAILURE;
  }

  log.info("listening", {
    url: server.url,
    version: VERSION,
    deno: Deno.version.deno,
    data_dir: dataDir,
    config_file: origin.file,
    config_overrides: origin.overrides,
    plugins: kernel.host.order,
  });

  await stopRequested;
  await server.shutdown();
  return EXIT.OK;
}
