import { type Clock, isoTime, systemClock } from "../clock.ts";
import { redactDeep, type Redactor } from "./redact.ts";

/** Severity of a log record, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Every level, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Extra structured fields of a log record. */
export type LogFields = Record<string, unknown>;

/** One structured log line. */
export interface LogRecord {
  /** RFC 3339 time from the logger's clock. */
  ts: string;
  /** Severity. */
  level: LogLevel;
  /** A short fixed sentence; values go in fields. */
  msg: string;
  /** Dotted origin, e.g. `kernel.plugin.memory`. */
  scope: string;
  /** Structured fields. */
  [field: string]: unknown;
}

/** Where records go. */
export type LogSink = (record: LogRecord) => void;

/** A structured logger scoped to a part of the program. */
export interface Logger {
  /** Detail for developers; dropped at the default level. */
  debug(msg: string, fields?: LogFields): void;
  /** Normal operation worth recording. */
  info(msg: string, fields?: LogFields): void;
  /** Something an operator should look at. */
  warn(msg: string, fields?: LogFields): void;
  /** A failure; pass the error as a field so its stack is kept. */
  error(msg: string, fields?: LogFields): void;
  /** A logger whose records carry `scope` (appended with a dot) and `fields`. */
  child(scope: string, fields?: LogFields): Logger;
}

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Records below this level are dropped. @default "info" */
  level?: LogLevel;
  /** Receives every record. @default a JSON-lines writer on stdout */
  sink?: LogSink;
  /** Source of `ts`. @default systemClock */
  clock?: Clock;
  /** Scope of the root logger. @default "kernel" */
  scope?: string;
  /** Removes secrets from every string of every record (spec/llm.md §6). */
  redact?: Redactor;
}

/**
 * Creates a structured logger. Errors in fields are turned into
 * `{name, message, stack}` so they survive JSON encoding.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const sink = options.sink ?? jsonLineSink();
  const clock = options.clock ?? systemClock;
  const redact = options.redact;

  function make(scope: string, base: LogFields): Logger {
    function write(level: LogLevel, msg: string, fields?: LogFields) {
      if (LOG_LEVELS.indexOf(level) < threshold) return;
      const ts = isoTime(clock.now());
      // The core fields come first in the output and cannot be overwritten.
      const record: LogRecord = Object.assign(
        { ts, level, msg, scope },
        serializeFields(base),
        serializeFields(fields ?? {}),
        { ts, level, msg, scope },
      );
      sink(redact ? redactDeep(record, redact) : record);
    }
    return {
      debug: (msg, fields) => write("debug", msg, fields),
      info: (msg, fields) => write("info", msg, fields),
      warn: (msg, fields) => write("warn", msg, fields),
      error: (msg, fields) => write("error", msg, fields),
      child: (childScope, fields) =>
        make(scope ? `${scope}.${childScope}` : childScope, {
          ...base,
          ...fields,
        }),
    };
  }
  return make(options.scope ?? "kernel", {});
}

function serializeFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? serializeError(value) : value;
  }
  return out;
}

/** Turns an error (and its causes) into plain data for a log record. */
export function serializeError(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: error.name,
    message: error.message,
  };
  if ("code" in error && typeof error.code === "string") out.code = error.code;
  if (error.stack) out.stack = error.stack;
  if (error.cause instanceof Error) out.cause = serializeError(error.cause);
  return out;
}

const encoder = new TextEncoder();

/**
 * JSON-encodes a value without ever throwing: repeated objects (cycles)
 * become `"[Circular]"` and bigints strings, so a bad log field cannot crash
 * the caller.
 */
export function safeStringify(input: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(input, (_key, value: unknown) => {
    if (typeof value === "bigint") return value.toString();
    if (value !== null && typeof value === "object") {
      if (seen.has(value)) return "[Circular]";
      seen.add(value);
    }
    return value;
  });
}

/** A sink writing one JSON object per line to stdout. */
export function jsonLineSink(): LogSink {
  return (record) => {
    Deno.stdout.writeSync(encoder.encode(safeStringify(record) + "\n"));
  };
}

/** A sink writing short human-readable lines (to stdout unless `write` is given), for `--dev`. */
export function prettySink(
  write: (line: string) => void = (line) => Deno.stdout.writeSync(encoder.encode(line)),
): LogSink {
  return (record) => {
    const { ts, level, msg, scope, ...rest } = record;
    const extra = Object.entries(rest)
      .map(([key, value]) => `${key}=${formatValue(value)}`)
      .join(" ");
    const line = `${ts.slice(11, 23)} ${level.toUpperCase().padEnd(5)} [${scope}] ${msg}${
      extra ? " " + extra : ""
    }\n`;
    write(line);
  };
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return value.includes(" ") ? JSON.stringify(value) : value;
  if (value && typeof value === "object" && "stack" in value) {
    return "\n" + String((value as { stack: unknown }).stack);
  }
  return safeStringify(value);
}
