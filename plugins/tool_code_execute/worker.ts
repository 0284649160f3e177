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
 * The user's code runs in this Worker's realm and may replace any global
 * or prototype method, so everything `run` does once that code started
 * uses functions captured when this module was evaluated (before the
 * code was imported), and `run` never throws: the host trusts no error
 * code from this worker. Out of memory is reported only when an
 * allocation this module watches (`new ArrayBuffer(n)`, `new
 * Float64Array(n)`, … with a numeric size) failed in the engine and that
 * very error went uncaught; a thrown message proves nothing.
 *
 * Self-contained: it runs as a blob module in the sandbox, so only
 * `import type` is allowed.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

/** Characters kept per stream (and of an error's message). */
export const MAX_STREAM_CHARS = 10_000;

/** What a run reports (the tool's `data`). */
export interface ExecuteResult {
  stdout: string;
  stderr: string;
  /** The first uncaught error, if any. */
  error?: { name: string; message: string };
  durationMs: number;
  /** Whether stdout or stderr was cut. */
  truncated: boolean;
}

/** What the worker returns to the host half. */
export interface ExecuteReport {
  result: ExecuteResult;
  /** An allocation this module watches failed in the engine, and that error went uncaught. */
  outOfMemory: boolean;
}

// Captured at module evaluation, before the user's code exists (see the module doc).
const ReflectApply = Reflect.apply;
const ReflectConstruct = Reflect.construct;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const StringOf = String;
const MathRound = Math.round;
const ProxyOf = Proxy;
const inspectValue = Deno.inspect;
const now = performance.now.bind(performance);
const revokeObjectURL = URL.revokeObjectURL.bind(URL);
const StringReplaceAll = String.prototype.replaceAll;
const StringStartsWith = String.prototype.startsWith;
const StringSlice = String.prototype.slice;
const EventPreventDefault = Event.prototype.preventDefault;
const getterOf = (proto: object, name: string) =>
  ObjectGetOwnPropertyDescriptor(proto, name)?.get ?? (() => undefined);
const ErrorEventError = getterOf(ErrorEvent.prototype, "error");
const ErrorEventMessage = getterOf(ErrorEvent.prototype, "message");
const RejectionReason = getterOf(PromiseRejectionEvent.prototype, "reason");
const RangeErrorPrototype = RangeError.prototype;
const WeakSetAdd = WeakSet.prototype.add;
const WeakSetHas = WeakSet.prototype.has;
const ALLOCATION_FAILED = "Array buffer allocation failed";
/** Constructors whose allocation failures are watched. */
const BUFFER_CONSTRUCTORS = [
  "ArrayBuffer",
  "SharedArrayBuffer",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Float16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
] as const;

/** `value` cut to `max` characters; anything but a string is "". */
function clip(value: unknown, max: number): string {
  if (typeof value !== "string") return "";
  return value.length > max ? ReflectApply(StringSlice, value, [0, max]) as string : value;
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
  return inspectValue(value, { colors: false, depth: 4, iterableLimit: 100 });
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

/** A console that writes into `streams` (it runs while the user's code runs, for that code). */
function capturingConsole(streams: Streams): Console {
  const out = (...args: unknown[]) => {
    if (!streams.full("stdout")) streams.write("stdout", formatArgs(args));
  };
  const err = (...args: unknown[]) => {
    if (!streams.full("stderr")) streams.write("stderr", formatArgs(args));
  };
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const elapsed = (label: string) => `${label}: ${(now() - timers.get(label)!).toFixed(3)}ms`;
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
    time: (label = "default") => timers.set(label, now()),
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

/**
 * `{ name, message }` of anything thrown. It may run after the user's code
 * replaced globals, and `value` may be hostile (throwing getters, proxies):
 * only captured functions are used, and it may throw (callers catch).
 */
export function describeError(value: unknown): { name: string; message: string } {
  if (typeof value === "object" && value !== null && "message" in value) {
    const error = value as { name?: unknown; message?: unknown };
    return { name: StringOf(error.name ?? "Error"), message: StringOf(error.message ?? "") };
  }
  return {
    name: "Error",
    message: `Uncaught ${typeof value === "string" ? value : inspect(value)}`,
  };
}

/**
 * The error as the user should read it: the module's blob URL becomes
 * `code` (`at code:3:7`), and a syntax error the loader wraps in a
 * `TypeError` is named `SyntaxError`. Never throws.
 */
function userError(value: unknown, url: string): { name: string; message: string } {
  let name = "Error";
  let message = "Uncaught exception that could not be described";
  try {
    const error = describeError(value);
    name = error.name;
    message = ReflectApply(StringReplaceAll, error.message, [url, "code"]) as string;
    if (name === "TypeError" && ReflectApply(StringStartsWith, message, ["SyntaxError: "])) {
      name = "SyntaxError";
      message = ReflectApply(StringSlice, message, ["SyntaxError: ".length]) as string;
    }
  } catch { /* keep what was described so far */ }
  return { name: clip(name, 200), message: clip(message, MAX_STREAM_CHARS) };
}

/**
 * Replaces the buffer and typed-array constructors with proxies that
 * remember the errors of failed engine allocations (`new X(n)` with a
 * numeric size: no user code runs inside, so the error is the engine's).
 * Instances still see the proxy as their `constructor`.
 */
function watchAllocations(failures: WeakSet<object>): void {
  const scope = globalThis as unknown as Record<string, unknown>;
  for (const name of BUFFER_CONSTRUCTORS) {
    const target = scope[name];
    if (typeof target !== "function") continue;
    const handler = {
      construct(inner: new (...args: unknown[]) => object, args: unknown[], newTarget: unknown) {
        try {
          return ReflectConstruct(inner, args, newTarget as new (...args: unknown[]) => object);
        } catch (error) {
          const sized = typeof args[0] === "number" && (args.length === 1 || args[1] === undefined);
          if (
            newTarget === proxy && sized && typeof error === "object" && error !== null &&
            ObjectGetPrototypeOf(error) === RangeErrorPrototype &&
            ObjectGetOwnPropertyDescriptor(error, "message")?.value === ALLOCATION_FAILED
          ) {
            ReflectApply(WeakSetAdd, failures, [error]);
          }
          throw error;
        }
      },
    };
    // No inherited traps: a `get` the user puts on Object.prototype must not become one.
    ObjectSetPrototypeOf(handler, null);
    const proxy: object = new ProxyOf(target as new (...args: unknown[]) => object, handler);
    ObjectDefineProperty(scope, name, { value: proxy, writable: true, configurable: true });
    const prototype = (target as { prototype: object }).prototype;
    ObjectDefineProperty(prototype, "constructor", {
      value: proxy,
      writable: true,
      configurable: true,
    });
  }
}

/** Runs `args.code` as a module and reports its output; never throws. */
export async function run(
  args: { code: string; language: "javascript" | "typescript" },
  _ctx: WorkerContext,
): Promise<ExecuteReport> {
  const type = args.language === "typescript" ? "application/typescript" : "text/javascript";
  const url = URL.createObjectURL(new Blob([args.code], { type }));
  const streams = new Streams();
  const failures = new WeakSet<object>();
  let error: { name: string; message: string } | undefined;
  let outOfMemory = false;
  const record = (value: unknown) => {
    if (error !== undefined) return;
    try {
      outOfMemory = typeof value === "object" && value !== null &&
        ReflectApply(WeakSetHas, failures, [value]) === true;
    } catch { /* not a watched failure */ }
    error = userError(value, url);
  };
  const eventValue = (event: Event, getters: Array<(this: Event) => unknown>) => {
    for (const getter of getters) {
      try {
        const value = ReflectApply(getter, event, []);
        if (value !== undefined && value !== null) return value;
      } catch { /* another kind of event */ }
    }
    return "an error event without an error";
  };
  // Errors thrown in callbacks and unhandled rejections would end the Worker: keep the first.
  globalThis.addEventListener("error", (event) => {
    try {
      ReflectApply(EventPreventDefault, event, []);
    } catch { /* not an event */ }
    record(eventValue(event, [ErrorEventError, ErrorEventMessage]));
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    try {
      ReflectApply(EventPreventDefault, event, []);
    } catch { /* not an event */ }
    record(eventValue(event, [RejectionReason]));
  });
  globalThis.console = capturingConsole(streams);
  watchAllocations(failures);
  const started = now();
  try {
    // The await is set up now, before the module runs: a replaced Promise.prototype.then
    // cannot intercept it.
    await import(url);
  } catch (thrown) {
    record(thrown);
  }
  // From here on the user's code has run: captured functions only, and no throw.
  try {
    revokeObjectURL(url);
  } catch { /* the Worker ends anyway */ }
  const durationMs = MathRound(now() - started);
  const result: ExecuteResult = {
    stdout: clip(streams.stdout, MAX_STREAM_CHARS),
    stderr: clip(streams.stderr, MAX_STREAM_CHARS),
    ...(error ? { error: { name: error.name, message: error.message } } : {}),
    durationMs,
    truncated: streams.truncated === true,
  };
  // Null prototypes: resolving the async function's promise looks up `then` on the value,
  // and the user's code may have put one on Object.prototype.
  ObjectSetPrototypeOf(result, null);
  const report: ExecuteReport = { result, outOfMemory };
  ObjectSetPrototypeOf(report, null);
  return report;
}
