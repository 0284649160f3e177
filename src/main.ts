/**
 * Entry point of `deno task start` and of the compiled binary. The only
 * module that touches `Deno.env`, `Deno.args` and process signals.
 *
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ShutdownSignal } from "./cli/io.ts";

// A compiled binary started as its own tool sandbox (spec/tools.md §3.2):
// only the runner loads — no configuration, storage or server code.
if (Deno.args[0] === "__sandbox") {
  await import("./sandbox/runner.ts");
  Deno.exit(70); // the runner exits by itself
}

const [{ runCli }, { BUILTIN_COMMANDS, BUILTIN_PLUGINS }, { systemClock }] = await Promise.all([
  import("./cli/main.ts"),
  import("./builtin_plugins.ts"),
  import("./clock.ts"),
]);

const SIGNALS: readonly ShutdownSignal[] = ["SIGINT", "SIGTERM"];

let stdinLines: ReadableStreamDefaultReader<string> | undefined;
let stdinBuffer = "";
/** The next line of stdin, or null at its end. */
async function readStdinLine(): Promise<string | null> {
  for (;;) {
    const newline = stdinBuffer.indexOf("\n");
    if (newline >= 0) {
      const line = stdinBuffer.slice(0, newline).replace(/\r$/, "");
      stdinBuffer = stdinBuffer.slice(newline + 1);
      return line;
    }
    stdinLines ??= Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
    const { value, done } = await stdinLines.read();
    if (done) {
      if (stdinBuffer === "") return null;
      const rest = stdinBuffer;
      stdinBuffer = "";
      return rest;
    }
    stdinBuffer += value;
  }
}

/**
 * A line typed without echo when stdin is a terminal (a password): raw mode, Backspace works,
 * Ctrl-C ends the process (130), Ctrl-D on an empty line is the end of input. Otherwise a line.
 */
async function readSecretLine(): Promise<string | null> {
  if (!Deno.stdin.isTerminal()) return await readStdinLine();
  const bytes: number[] = [];
  const one = new Uint8Array(1);
  Deno.stdin.setRaw(true);
  try {
    for (;;) {
      const read = await Deno.stdin.read(one);
      const byte = one[0]!;
      if (read === null || (byte === 4 && bytes.length === 0)) return null;
      if (byte === 13 || byte === 10) break;
      if (byte === 3) {
        Deno.stdin.setRaw(false);
        Deno.stderr.writeSync(new TextEncoder().encode("\n"));
        Deno.exit(130);
      }
      if (byte === 127 || byte === 8) {
        // One character back: its UTF-8 continuation bytes, then its first byte.
        while (bytes.length > 0 && (bytes[bytes.length - 1]! & 0xc0) === 0x80) bytes.pop();
        bytes.pop();
        continue;
      }
      bytes.push(byte);
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
}

const code = await runCli(Deno.args, {
  env: (name) => Deno.env.get(name),
  cwd: Deno.cwd(),
  appDir: dirname(fileURLToPath(new URL(".", import.meta.url))),
  stdout: (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)),
  stderr: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
  clock: systemClock,
  plugins: BUILTIN_PLUGINS,
  commands: BUILTIN_COMMANDS,
  isTerminal: Deno.stdout.isTerminal(),
  readLine: readStdinLine,
  readSecret: readSecretLine,
  inputIsTerminal: Deno.stdin.isTerminal(),
  onSignal(handler) {
    const listeners = SIGNALS.map((signal) => {
      const listener = () => handler(signal);
      Deno.addSignalListener(signal, listener);
      return [signal, listener] as const;
    });
    return () => {
      for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
    };
  },
  exit: (exitCode) => Deno.exit(exitCode),
});
Deno.exit(code);
