/**
 * The access log (spec/server.md §9): one JSON line per request (per socket
 * at close) written by one async writer to a file that rotates by size
 * (`.1` … `.maxFiles`) and/or to stdout, plus an in-memory ring for
 * `GET /api/accesslog`. Never logged: query strings, headers other than the
 * user agent, bodies, message or memory content, tokens, keys, passwords.
 *
 * @module
 */
import { dirname } from "node:path";
import { afterResponse } from "../clock.ts";

/** One access-log record. */
export interface AccessRecord {
  ts: string;
  request_id: string;
  method: string;
  /** The path without the query string. */
  path: string;
  /** The matched route template, e.g. `/api/threads/:id`. */
  route: string | null;
  status: number;
  duration_ms: number;
  bytes_in: number | null;
  bytes_out: number | null;
  client_ip: string;
  peer_ip: string;
  user_id: string | null;
  auth: "jwt" | "api_key" | "cookie" | "none";
  user_agent: string | null;
  blocked?: "firewall" | "rate_limit" | "host" | "lockout";
  ws?: { messages_in: number; messages_out: number; close_code: number };
}

/** Options for {@link createAccessLog}. */
export interface AccessLogOptions {
  /** Absolute file path, or null for none. */
  file: string | null;
  stdout: boolean;
  maxBytes: number;
  maxFiles: number;
  excludePaths: readonly string[];
  ringSize: number;
  /** Reports a write failure (once per failure streak). */
  onError(error: unknown): void;
}

/** The access log. */
export interface AccessLog {
  /** Whether requests to `path` are left out (`accessLog.excludePaths`). */
  excludes(path: string): boolean;
  /** Queues a record (unless its path is excluded). */
  write(record: AccessRecord): void;
  /** The newest records first, filtered. */
  recent(
    filter: { status?: number; userId?: string; since?: number; limit: number },
  ): AccessRecord[];
  /** File, sizes and counts for `GET /api/accesslog/stats`. */
  stats(): Promise<Record<string, unknown>>;
  /** Resolves when every queued line is written. */
  flush(): Promise<void>;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** Creates the access log; the file's directory is created on the first write. */
export function createAccessLog(options: AccessLogOptions): AccessLog {
  const ring: AccessRecord[] = [];
  const excluded = new Set(options.excludePaths);
  let queue: AccessRecord[] = [];
  let writing: Promise<void> | null = null;
  let file: Deno.FsFile | null = null;
  let size = 0;
  let written = 0;
  let failing = false;
  const encoder = new TextEncoder();

  async function open() {
    if (!options.file) return;
    await Deno.mkdir(dirname(options.file), { recursive: true, mode: 0o700 });
    file = await Deno.open(options.file, { create: true, append: true, mode: 0o600 });
    size = (await file.stat()).size;
  }

  async function rotate() {
    file?.close();
    file = null;
    const base = options.file!;
    await Deno.remove(`${base}.${options.maxFiles}`).catch(() => {});
    for (let n = options.maxFiles - 1; n >= 1; n--) {
      await Deno.rename(`${base}.${n}`, `${base}.${n + 1}`).catch(() => {});
    }
    await Deno.rename(base, `${base}.1`).catch(() => {});
    await open();
  }

  async function drain() {
    while (queue.length > 0) {
      const records = queue;
      queue = [];
      try {
        const lines = records.map((record) => JSON.stringify(record) + "\n");
        if (options.stdout) await Deno.stdout.write(encoder.encode(lines.join("")));
        if (options.file) {
          if (!file) await open();
          for (const line of lines) {
            const bytes = encoder.encode(line);
            if (size > 0 && size + bytes.length > options.maxBytes) await rotate();
            await file!.write(bytes);
            size += bytes.length;
          }
        }
        written += records.length;
        failing = false;
      } catch (error) {
        if (!failing) options.onError(error);
        failing = true;
      }
    }
    writing = null;
  }

  return {
    excludes: (path) => excluded.has(path),
    write(record) {
      if (excluded.has(record.path)) return;
      ring.push(record);
      if (ring.length > options.ringSize) ring.shift();
      if (!options.file && !options.stdout) return;
      queue.push(record);
      // Written in a later task, after the response has gone out.
      writing ??= afterResponse().then(drain);
    },

    recent({ status, userId, since, limit }) {
      const out: AccessRecord[] = [];
      for (let i = ring.length - 1; i >= 0 && out.length < limit; i--) {
        const record = ring[i]!;
        if (status !== undefined && record.status !== status) continue;
        if (userId !== undefined && record.user_id !== userId) continue;
        if (since !== undefined && Date.parse(record.ts) < since) continue;
        out.push(record);
      }
      return out;
    },

    async stats() {
      const rotated: number[] = [];
      if (options.file) {
        for (let n = 1; n <= options.maxFiles; n++) {
          try {
            await Deno.stat(`${options.file}.${n}`);
            rotated.push(n);
          } catch {
            break;
          }
        }
      }
      return {
        enabled: options.file !== null || options.stdout,
        format: "json",
        log_file: options.file,
        log_to_stdout: options.stdout,
        log_file_size: options.file ? size : null,
        backup_files: rotated.length,
        max_bytes: options.maxBytes,
        max_files: options.maxFiles,
        lines_written: written,
        ring_size: ring.length,
      };
    },

    async flush() {
      while (writing) await writing;
    },

    async close() {
      while (writing) await writing;
      file?.close();
      file = null;
    },
  };
}
