import { resolve } from "node:path";
import { DataDirError, prepareDataDir } from "../data_dir.ts";
import { createIdFactory } from "../ids.ts";
import type { AnyPluginCommand } from "../plugin/command.ts";
import { systemRandom } from "../random.ts";
import { DbError } from "../store/errors.ts";
import { openStore } from "../store/store.ts";
import { createLogger, prettySink } from "../telemetry/logger.ts";
import { type CliIo, EXIT } from "./io.ts";
import { createEventBus } from "../bus.ts";
import { ConfigurationError } from "../errors.ts";
import { createLlmGateway } from "../llm/gateway.ts";
import { configRedactor, loadCliConfig } from "./serve.ts";

/**
 * Runs a plugin's CLI command with its config section and the store (the
 * server may be running: SQLite's WAL lets both work).
 */
export async function runPluginCommand(
  io: CliIo,
  command: AnyPluginCommand,
  args: readonly string[],
): Promise<number> {
  if (!io.plugins.some((plugin) => plugin.manifest.id === command.plugin)) {
    io.stderr(`Cannot run this command: plugin "${command.plugin}" is not loaded.\n`);
    return EXIT.FAILURE;
  }
  const loaded = loadCliConfig(io, {});
  if (typeof loaded === "number") return loaded;
  const { config } = loaded;
  const log = createLogger({
    level: "warn",
    sink: prettySink(),
    clock: io.clock,
    redact: configRedactor(loaded, io),
  });
  const dataDir = resolve(io.cwd, config.dataDir);
  let store;
  try {
    await prepareDataDir(dataDir, log, { command: "plugins prepare" });
    store = openStore({
      dataDir,
      busyTimeoutMs: config.db.busyTimeoutMs,
      clock: io.clock,
      log,
      migrate: false,
    });
  } catch (error) {
    if (error instanceof DataDirError || error instanceof DbError) {
      io.stderr(error.message + "\n");
      return EXIT.CONFIG;
    }
    throw error;
  }
  const controller = new AbortController();
  const removeSignals = io.onSignal(() => controller.abort(new Error("interrupted")));
  const ids = createIdFactory({ clock: io.clock, random: systemRandom });
  const llm = createLlmGateway({
    config: config.llm,
    prices: config.mind.prices,
    env: io.env,
    store,
    clock: io.clock,
    random: systemRandom,
    ids,
    log: log.child("llm"),
    bus: createEventBus({ clock: io.clock, log }),
    probeIntervalMs: config.health.llmProbeIntervalSeconds * 1_000,
  });
  try {
    await llm.init({ background: false });
  } catch (error) {
    await store.close();
    removeSignals();
    if (error instanceof ConfigurationError) {
      io.stderr(error.message + "\n");
      return EXIT.CONFIG;
    }
    throw error;
  }
  try {
    return await command.run({
      config: config[command.plugin] ?? {},
      store,
      clock: io.clock,
      ids,
      log,
      llm: llm.forModule(command.plugin),
      stdout: io.stdout,
      stderr: io.stderr,
      isTerminal: io.isTerminal,
      signal: controller.signal,
    }, args);
  } finally {
    llm.close();
    removeSignals();
    await store.close();
  }
}
