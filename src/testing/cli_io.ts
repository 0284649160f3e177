import type { CliIo, ShutdownSignal } from "../cli/io.ts";
import type { AnyPluginCommand } from "../plugin/command.ts";
import type { AnyPlugin } from "../plugin/types.ts";
import { FakeClock } from "./fake_clock.ts";
import { REPO_DIR } from "./paths.ts";

/** Options for {@link createTestCliIo}. */
export interface TestCliIoOptions {
  /** Environment the config loader sees. @default {} */
  env?: Record<string, string>;
  /** @default a directory without a config file */
  cwd?: string;
  plugins?: readonly AnyPlugin[];
  commands?: Readonly<Record<string, AnyPluginCommand>>;
  /** @default a FakeClock at 2026-11-25T12:00Z */
  clock?: FakeClock;
  isTerminal?: boolean;
  /** Whether stdin is a terminal (`admin` then asks a password twice). @default false */
  inputIsTerminal?: boolean;
  /** Lines `readLine` and `readSecret` return, in order; then the end of input. @default [] */
  input?: readonly string[];
}

/** A {@link CliIo} recording output, signals and exits, for in-process CLI tests. */
export interface TestCliIo {
  io: CliIo;
  clock: FakeClock;
  stdout(): string;
  stderr(): string;
  /** Exit codes passed to `io.exit` (which then throws). */
  exits: number[];
  /** Resolves with the handler the command installed for SIGINT/SIGTERM. */
  signalHandler: Promise<(signal: ShutdownSignal) => void>;
}

/** A directory with no config file, so only env and flags matter. */
export const EMPTY_DIR: string = `${REPO_DIR}/tests/fixtures/empty_dir`;

/** Builds a {@link TestCliIo}. */
export function createTestCliIo(options: TestCliIoOptions = {}): TestCliIo {
  const out: string[] = [];
  const err: string[] = [];
  const exits: number[] = [];
  const env = options.env ?? {};
  const clock = options.clock ?? new FakeClock({ start: Date.UTC(2026, 10, 25, 12) });
  const handler = Promise.withResolvers<(signal: ShutdownSignal) => void>();
  const input = [...(options.input ?? [])];
  const io: CliIo = {
    env: (name) => env[name],
    cwd: options.cwd ?? EMPTY_DIR,
    appDir: REPO_DIR,
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    clock,
    plugins: options.plugins ?? [],
    commands: options.commands ?? {},
    isTerminal: options.isTerminal ?? false,
    readLine: () => Promise.resolve(input.shift() ?? null),
    readSecret: () => Promise.resolve(input.shift() ?? null),
    inputIsTerminal: options.inputIsTerminal ?? false,
    onSignal(fn) {
      handler.resolve(fn);
      return () => {};
    },
    exit(code) {
      exits.push(code);
      throw new Error(`exit ${code}`);
    },
  };
  return {
    io,
    clock,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    exits,
    signalHandler: handler.promise,
  };
}
