/**
 * `plugins prepare` (`deno task plugins:prepare`, spec/tools.md §9 step 2):
 * bundles every enabled third-party plugin of the config file, starts it
 * once in its sandbox to read and check its manifest, stores the bundle as
 * `<dataDir>/plugins/<id>/<version>/plugin.js` and records its SHA-256 in
 * `<dataDir>/plugins/lock.json`. Exit 1 when any plugin is refused.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { errorMessage } from "../errors.ts";
import { BUNDLE_ENV_NAMES, bundlePlugin, installBundle } from "../plugin/external/bundle.ts";
import { launchPlugin } from "../plugin/external/host.ts";
import { checkEntry } from "../plugin/external/manifest.ts";
import { type CliIo, EXIT } from "./io.ts";
import { loadCliConfig } from "./serve.ts";

const USAGE = "usage: synth-mind plugins prepare [--config PATH]";

/** Runs `plugins …`. */
export async function runPlugins(io: CliIo, args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        config: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    io.stderr(`${errorMessage(error)}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (parsed.values.help) {
    io.stdout(`${USAGE}\n`);
    return EXIT.OK;
  }
  if (parsed.positionals.length !== 1 || parsed.positionals[0] !== "prepare") {
    io.stderr(`${USAGE}\n`);
    return EXIT.USAGE;
  }
  const loaded = loadCliConfig(io, { "--config": parsed.values.config });
  if (typeof loaded === "number") return loaded;
  const { config, origin } = loaded;
  const dataDir = resolve(io.cwd, config.dataDir);
  const baseDir = origin.file ? dirname(resolve(io.cwd, origin.file)) : io.cwd;
  const entries = config.plugins.filter((entry) => entry.enabled);
  if (entries.length === 0) {
    io.stdout("No enabled plugins in the config file; nothing to prepare.\n");
    return EXIT.OK;
  }
  const sandbox = config.tools.sandbox;
  const env = Object.fromEntries(
    BUNDLE_ENV_NAMES.flatMap((name) => {
      try {
        const value = io.env(name);
        return value === undefined ? [] : [[name, value]];
      } catch {
        return [];
      }
    }),
  );
  const takenIds = new Set(io.plugins.map((plugin) => plugin.manifest.id));
  let failed = 0;
  for (const [index, entry] of entries.entries()) {
    io.stdout(`[${index + 1}/${entries.length}] ${entry.id} from ${entry.from} … `);
    try {
      const grants = checkEntry(entry, { baseDir, takenIds, dataDir });
      const code = await bundlePlugin(entry, {
        dataDir,
        baseDir,
        runtime: {
          cwd: io.appDir,
          prlimitPath: sandbox.prlimitPath,
          denoPath: sandbox.denoPath,
          env,
        },
      });
      // As the server starts it (its own empty folder, its granted variables), and checked as
      // the server checks it (its tools' schemas too).
      const { process, manifest } = await launchPlugin({
        entry,
        grants,
        code,
        baseDir,
        dataDir,
        env: (name) => {
          try {
            return io.env(name);
          } catch {
            return undefined; // outside what the permission set reads: not passed, as by the server
          }
        },
        sandbox: {
          memoryLimitBytes: sandbox.memoryLimitBytes,
          heapMiB: sandbox.heapMiB,
          maxFrameBytes: sandbox.maxFrameBytes,
          prlimitPath: sandbox.prlimitPath,
          denoPath: sandbox.denoPath,
        },
      });
      await process.shutdown();
      const record = await installBundle(
        dataDir,
        entry,
        manifest.version,
        code,
        new Date(io.clock.now()),
      );
      io.stdout(
        `ok: version ${record.version}, ${manifest.tools.length} tool(s), sha256 ${
          record.sha256.slice(0, 12)
        }…\n`,
      );
    } catch (error) {
      failed++;
      io.stdout("refused\n");
      io.stderr(`  ${errorMessage(error)}\n`);
    }
  }
  io.stdout(`${entries.length - failed} of ${entries.length} prepared into ${dataDir}/plugins/\n`);
  return failed > 0 ? EXIT.FAILURE : EXIT.OK;
}
