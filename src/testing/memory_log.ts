import { createLogger, type Logger, type LogLevel, type LogRecord } from "../telemetry/logger.ts";
import type { Clock } from "../clock.ts";
import type { Redactor } from "../telemetry/redact.ts";

/** A logger that keeps its records in memory, for assertions. */
export interface MemoryLogger {
  /** The logger to hand to the code under test. */
  log: Logger;
  /** Every record written, oldest first. */
  records: LogRecord[];
}

/** Options for {@link createMemoryLogger}. */
export interface MemoryLoggerOptions {
  /** Lowest level kept. @default "debug" */
  level?: LogLevel;
  /** Source of the records' `ts`. @default the system clock */
  clock?: Clock;
  /** Removes secrets from records, as the server's logger does. */
  redact?: Redactor;
}

/** Creates a logger whose records are pushed to `records`. */
export function createMemoryLogger(options: MemoryLoggerOptions = {}): MemoryLogger {
  const records: LogRecord[] = [];
  const log = createLogger({
    level: options.level ?? "debug",
    sink: (record) => records.push(record),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.redact ? { redact: options.redact } : {}),
  });
  return { log, records };
}
