/**
 * The sandboxed half of `code_execute` (spec/tools.md §2): runs the user's
 * JavaScript or TypeScript as a module from a blob URL inside the tool's
 * Worker (no permissions at all, in a child started without any `--allow-*`
 * for it), after replacing `globalThis.console` so that output is captured
 * instead of reaching the process's stdout — which carries the frame
 * protocol. Writing to `Deno.stdout` directly breaks that channel, and the
 * host ends the call with `TOOLS_SANDBOX_PROTOCOL`.
 *
 * - `log`, `info`, `debug`, `dir`, `table`, `count`, `time*`, `group` → stdout;
 *   `warn`, `error`, `trace`, `assert` → stderr; each stream keeps its first
 *   {@link MAX_STREAM_CHARS} characters, then `truncated` is set.
 * - TypeScript is transpiled, not type-checked.
 * - The module's top-level `await` is awaited. A throw, a rejected top-level
 *   await, an uncaught error in a callback or an unhandled rejection before
 *   then is reported in `error` (the first one), not as a tool failure.
 * - Timers still pending when the module has finished are not waited for.
 *
 * Self-contained: it runs as a blob module in the sandbox, so only
 * `import type` is allowed.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

/** Characters kept per stream. */
export const MAX_STREAM_CHARS = 10_000;

/** What a run reports. */
export interface ExecuteResult {
  stdout: string;
  stderr: string;
  /** The first uncaught error, if any. */
  error?: { name: string; message: string };
  durationMs: number;
  /** Whether stdout or stderr was cut. */
  truncated: boolean;
}

/** Captured output of both streams. */
class Streams {
  stdout = "";
  stderr = "";
  truncated = false;
  indent = "";

  /** Whether `stream` is full (then output is dropped unformatted, and marked). */
  full(stream: "stdout" | "stderr"): boolean {
    if (this[stream].length < MAX_STREAM_CHARS) return false;
    this.truncated = true;
    return true;
  }

  write(stream: "stdout" | "stderr", line: string): void {
    const text = (this.indent ? line.replace(/^/gm, this.indent) : line) + "\n";
    const room = MAX_STREAM_CHARS - this[stream].length;
    if (text.length <= room) this[stream] += text;
    else {
      if (room > 0) this[stream] += text.slice(0, room);
      this.truncated = true;
    }
  }
}

function inspect(value: unknown): string {
  return Deno.inspect(value, { colors: false, depth: 4, iterableLimit: 100 });
}

/** `console.log`-style formatting: `%s %d %i %f %o %O %j %c %%` in a leading string. */
export function formatArgs(args: unknown[]): string {
  const parts: string[] = [];
  let rest = args;
  if (typeof args[0] === "string" && args.length > 1 && args[0].includes("%")) {
    let index = 1;
    const first = args[0].replace(/%[sdifoOjc%]/g, (spec) => {
      if (spec === "%%") return "%";
      if (index >= args.length) return spec;
      const value = args[index++];
      switch (spec) {
        case "%s":
          return typeof value === "string" ? value : inspect(value);
        case "%d":
        case "%i":
          return typeof value === "bigint"
            ? `${value}n`
            : String(spec === "%i" ? Math.trunc(Number(value)) : Number(value));
        case "%f":
          return String(Number(value));
        case "%c":
          return "";
        default:
          return inspect(value);
      }
    });
    parts.push(first);
    rest = args.slice(index);
  } else if (typeof args[0] === "string") {
    parts.push(args[0]);
    rest = args.slice(1);
  }
  for (const value of rest) parts.push(typeof value === "string" ? value : inspect(value));
  return parts.join(" ");
}

/** A console that writes into `streams`. */
function capturingConsole(streams: Streams): Console {
  const out = (...args: unknown[]) => {
    if (!streams.full("stdout")) streams.write("stdout", formatArgs(args));
  };
  const err = (...args: unknown[]) => {
    if (!streams.full("stderr")) streams.write("stderr", formatArgs(args));
  };
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const elapsed = (label: string) =>
    `${label}: ${(performance.now() - timers.get(label)!).toFixed(3)}ms`;
  const group = (...label: unknown[]) => {
    if (label.length > 0) out(...label);
    streams.indent += "  ";
  };
  const methods = {
    log: out,
    info: out,
    debug: out,
    dir: (value: unknown) => out(inspect(value)),
    dirxml: out,
    table: (value: unknown) => out(inspect(value)),
    warn: err,
    error: err,
    trace: (...args: unknown[]) => err("Trace:", ...args),
    assert: (condition?: unknown, ...args: unknown[]) => {
      if (!condition) err("Assertion failed", ...(args.length > 0 ? [":", ...args] : []));
    },
    count: (label = "default") => {
      const count = (counts.get(label) ?? 0) + 1;
      counts.set(label, count);
      out(`${label}: ${count}`);
    },
    countReset: (label = "default") => counts.delete(label),
    time: (label = "default") => timers.set(label, performance.now()),
    timeLog: (label = "default", ...args: unknown[]) => {
      if (timers.has(label)) out(elapsed(label), ...args);
      else err(`Timer '${label}' does not exist`);
    },
    timeEnd: (label = "default") => {
      if (timers.has(label)) out(elapsed(label));
      else err(`Timer '${label}' does not exist`);
      timers.delete(label);
    },
    group,
    groupCollapsed: group,
    groupEnd: () => {
      streams.indent = streams.indent.slice(2);
    },
    clear: () => {},
    profile: () => {},
    profileEnd: () => {},
    timeStamp: () => {},
  };
  return methods as unknown as Console;
}

/** `{ name, message }` of anything thrown. */
export function describeError(value: unknown): { name: string; message: string } {
  if (
    value instanceof Error || (typeof value === "object" && value !== null && "message" in value)
  ) {
    const error = value as { name?: unknown; message?: unknown };
    return { name: String(error.name ?? "Error"), message: String(error.message ?? "") };
  }
  return {
    name: "Error",
    message: `Uncaught ${typeof value === "string" ? value : inspect(value)}`,
  };
}

/**
 * The error as the user should read it: the module's blob URL becomes
 * `code` (`at code:3:7`), and a syntax error the loader wraps in a
 * `TypeError` is named `SyntaxError`.
 */
function userError(value: unknown, url: string): { name: string; message: string } {
  const error = describeError(value);
  let message = error.message.replaceAll(url, "code");
  let name = error.name;
  if (name === "TypeError" && message.startsWith("SyntaxError: ")) {
    name = "SyntaxError";
    message = message.slice("SyntaxError: ".length);
  }
  return { name, message };
}

/** Runs `args.code` as a module and reports its output. */
export async function run(
  args: { code: string; language: "javascript" | "typescript" },
  _ctx: WorkerContext,
): Promise<ExecuteResult> {
  const type = args.language === "typescript" ? "application/typescript" : "text/javascript";
  const url = URL.createObjectURL(new Blob([args.code], { type }));
  const streams = new Streams();
  let error: { name: string; message: string } | undefined;
  const record = (value: unknown) => {
    error ??= userError(value, url);
  };
  // Errors thrown in callbacks and unhandled rejections would end the Worker: keep the first.
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    record(event.error ?? event.message);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    record(event.reason);
  });
  globalThis.console = capturingConsole(streams);
  const started = performance.now();
  try {
    await import(url);
  } catch (thrown) {
    record(thrown);
  } finally {
    URL.revokeObjectURL(url);
  }
  const durationMs = Math.round(performance.now() - started);
  return {
    stdout: streams.stdout,
    stderr: streams.stderr,
    ...(error ? { error } : {}),
    durationMs,
    truncated: streams.truncated,
  };
}
