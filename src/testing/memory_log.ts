import { createLogger, type Logger, type LogLevel, type LogRecord } from "../telemetry/logger.ts";
import type { Clock } from "../clock.ts";

/** A logger that keeps its records in memory, for assertions. */
export interface MemoryLogger {
  log: Logger;
  records: LogRecord[];
}

/** Options for {@link createMemoryLogger}. */
export interface MemoryLoggerOptions {
  /** @default "debug" */
  level?: LogLevel;
  clock?: Clock;
}

/** Creates a logger whose records are pushed to `records`. */
export function createMemoryLogger(options: MemoryLoggerOptions = {}): MemoryLogger {
  const records: LogRecord[] = [];
  const log = createLogger({
    level: options.level ?? "debug",
    sink: (record) => records.push(record),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { log, records };
}
