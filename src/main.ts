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
