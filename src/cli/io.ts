import type { Clock } from "../clock.ts";
import type { AnyPluginCommand } from "../plugin/command.ts";
import type { AnyPlugin } from "../plugin/types.ts";

/** Process exit codes (`spec/ops.md` §5). */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  DATA_DIR_IN_USE: 75,
  CONFIG: 78,
  /** A second SIGINT/SIGTERM during shutdown. */
  INTERRUPTED: 130,
} as const;

/** The file in the data directory where a running server publishes its address. */
export const URL_FILE = "synth.url";

/** The shutdown signals the server listens for. */
export type ShutdownSignal = "SIGINT" | "SIGTERM";

/** What the CLI needs from the process; `src/main.ts` passes the real ones. */
export interface CliIo {
  /** Reads an environment variable (the only path to `Deno.env`). */
  env(name: string): string | undefined;
  /** The working directory, for the config file and relative paths. */
  cwd: string;
  /** The application's own directory. */
  appDir: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The clock of the server (the system clock outside tests). */
  clock: Clock;
  /** The plugins the server loads. */
  plugins: readonly AnyPlugin[];
  /** CLI subcommands the plugins contribute, by name. */
  commands: Readonly<Record<string, AnyPluginCommand>>;
  /** Whether stdout is a terminal. */
  isTerminal: boolean;
  /** Reads one line of input (without its newline); null at the end of input. */
  readLine(): Promise<string | null>;
  /** As {@link readLine}, without showing what is typed when the input is a terminal. */
  readSecret(): Promise<string | null>;
  /** Whether stdin is a terminal (a person typing, who may mistype unseen). */
  inputIsTerminal: boolean;
  /** Calls `handler` on each SIGINT/SIGTERM; returns a function removing it. */
  onSignal(handler: (signal: ShutdownSignal) => void): () => void;
  /** Ends the process at once (a second signal during shutdown). */
  exit(code: number): never;
}
