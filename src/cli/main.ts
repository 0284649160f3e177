import { parseArgs } from "node:util";
import { DataDirError } from "../data_dir.ts";
import { DB_ERROR_CODES, DbError } from "../store/errors.ts";
import { VERSION } from "../version.ts";
import { type CliIo, EXIT } from "./io.ts";
import { runBackup, runRestore } from "./backup.ts";
import { runMigrate } from "./migrate.ts";
import { runPluginCommand } from "./plugin_command.ts";
import { runServe } from "./serve.ts";
import { runChat } from "./chat.ts";
import { runCert } from "./cert.ts";
import { runHealthcheck } from "./healthcheck.ts";
import { runAdmin } from "./admin.ts";
import { runPlugins } from "./plugins.ts";

const USAGE = `Usage: synth-mind [command] [options]

Commands:
  serve (default)   run the server
    --config PATH     config file (else SYNTH_CONFIG, ./synth.config.jsonc, ./synth.config.json)
    --host HOST       address to listen on (else HOST, server.host; default 127.0.0.1)
    --port PORT       port to listen on (else PORT, server.port; default 8080)
    --data-dir DIR    data directory (else SYNTH_DATA_DIR, dataDir; default ./data)
    --print-config    print the resolved config with secrets as "***" and exit
    --dev             human-readable logs (log.format "pretty")
  healthcheck [--ready] [--timeout 3s]
                    GET /health/live (or /health/ready) of the server on this machine;
                    exit 0 on 200, else 1 (the container image's HEALTHCHECK)
  chat [--thread ID] terminal chat with the mind (through the running server, else in this process)
  migrate status    list migrations: applied (with time), pending, CHANGED, MISSING FILE
  migrate up        apply pending migrations (the server also does at start)
  backup [--out DIR] [--keep 7] [--include-secrets]
                    online, consistent copy of the database into <dataDir>/backups/<UTC stamp>/
  restore DIR       put a backup in place (refused while the server runs)
  reembed           embed every memory with the configured embedder (resumable, progress shown)
  admin list-users | create-user NAME [--role R] | reset-password NAME
                    offline user recovery (server stopped; the password is read from stdin)
  cert [--host NAME]... [--days 90] [--force]
                    write a development TLS certificate (not a CA) into <dataDir>/certs/
  plugins prepare   bundle and check the config file's third-party plugins, record their hashes

Options:
  --version, -V     print the version
  --help, -h        print this help

With deno task: deno task start --port 9000, deno task start --help.
`;

/**
 * Runs one command line. Resolves with the process exit code; `serve`
 * resolves once the server has shut down.
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  try {
    return await runCommand(args, io);
  } catch (error) {
    // A database that cannot be opened is the operator's to mend (a restore), in any command.
    if (error instanceof DbError && error.code === DB_ERROR_CODES.UNREADABLE) {
      io.stderr(`${error.message}\n`);
      return EXIT.FAILURE;
    }
    // A data directory a command cannot use (the terminal chat's too) is one line, as in `serve`.
    if (error instanceof DataDirError) {
      io.stderr(`${error.message}\n`);
      return EXIT.CONFIG;
    }
    throw error;
  }
}

async function runCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [first] = args;
  const command = first === undefined || first.startsWith("-") ? "serve" : first;
  let rest = command === first ? args.slice(1) : args;
  // `deno task start -- --port 9000` passes the separator through.
  if (rest[0] === "--") rest = rest.slice(1);

  if (command === "help") return printHelp(io);
  if (command === "migrate") return await runMigrate(io, rest);
  if (command === "chat") return await runChat(io, rest);
  if (command === "backup") return await runBackup(io, rest);
  if (command === "restore") return await runRestore(io, rest);
  if (command === "cert") return await runCert(io, rest);
  if (command === "healthcheck") return await runHealthcheck(io, rest);
  if (command === "admin") return await runAdmin(io, rest);
  if (command === "plugins") return await runPlugins(io, rest);
  const pluginCommand = io.commands[command];
  if (pluginCommand) return await runPluginCommand(io, pluginCommand, rest);
  if (command !== "serve") {
    io.stderr(`Unknown command "${command}".\n\n${USAGE}`);
    return EXIT.USAGE;
  }

  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "data-dir": { type: "string" },
        "print-config": { type: "boolean", default: false },
        dev: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", short: "V", default: false },
      },
    });
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const { values } = parsed;
  if (values.help) return printHelp(io);
  if (values.version) {
    io.stdout(`synth-mind ${VERSION} (deno ${Deno.version.deno})\n`);
    return EXIT.OK;
  }
  return await runServe(io, {
    flags: {
      "--config": values.config,
      "--host": values.host,
      "--port": values.port,
      "--data-dir": values["data-dir"],
      "--dev": values.dev ? "pretty" : undefined,
    },
    printConfig: values["print-config"],
  });
}

function printHelp(io: CliIo): number {
  io.stdout(USAGE);
  return EXIT.OK;
}
