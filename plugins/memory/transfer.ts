import {
  AppError,
  type Clock,
  codePoints,
  contentHash,
  forgetPluginStateCache,
  type Logger,
  type MemoryKind,
  plainIssueMessage,
  type Store,
  unstorableTextIssueIn,
} from "@synth/kernel";
import { type Kysely, sql, type Transaction } from "kysely";
import type { Database, ForgottenTable } from "@synth/kernel";
import { MEMORY_ERRORS, memoryError } from "./errors.ts";
import { MAX_MESSAGE_CHARS, MAX_TEXT_CHARS, storedMessage } from "./kinds.ts";
import { encodeJson } from "./records.ts";
import { mergeFullText } from "./retention.ts";
import {
  bodyLine,
  type ExportJob,
  headerLine,
  type kvLine,
  type memoryLine,
  type threadLine,
} from "./transfer_format.ts";
import { type VectorManager, vectorToBlob } from "./vectors.ts";
import type { z } from "zod";
import { createHash } from "node:crypto";

/** Longest accepted import line. */
export const MAX_IMPORT_LINE_BYTES = 1_048_576;

/** One line that could not be imported. */
export interface ImportFailure {
  line: number;
  /** `MEMORY_TEXT_TOO_LONG` for a text over its kind's limit, else `MEMORY_IMPORT_INVALID`. */
  code: string;
  message: string;
}

/** A memory an import stored (for `memory.update`). */
export interface ImportedMemory {
  uid: string;
  owner: string | null;
  kind: MemoryKind;
}

/** An owner of imported lines that is no user here: nobody sees what it owns. */
export interface UnknownOwner {
  /** The owner id after `ownerMap`. */
  owner: string;
  memories: number;
  threads: number;
}

/** What an import did. */
export interface ImportReport {
  imported: number;
  /** Lines not written: already stored here, or forgotten here. */
  skipped: number;
  /** Of the skipped lines, those a forget removed here (their memory, thread or user). */
  forgotten: number;
  failed: ImportFailure[];
  dryRun: boolean;
  /**
   * Owners of the file's memories and threads (after `ownerMap`) that are neither a user of this
   * server nor the importing caller, most lines first: a file from another server keeps that
   * server's user ids unless they are mapped.
   */
  unknownOwners: UnknownOwner[];
  /**
   * Keys of `ownerMap` that own no memory or thread of the file: a mapping that changed nothing
   * (a mistyped id, or a username where the file has ids).
   */
  ownerMapUnused: string[];
  /**
   * The file against its end line (an export's last line counts its lines and hashes them):
   * `verified` they agree; `mismatch` they do not (the file was changed or cut after export; the
   * end line is in `failed`); `no_end_line` there is none (a file cut short, or written by hand).
   */
  integrity: "verified" | "mismatch" | "no_end_line";
}

/** The kind an exported line starts with (its `type` comes first). */
const LINE_KIND = /^\{"type":"(thread|memory|kv)"/;

/** Failures in file order. */
const byLine = (a: ImportFailure, b: ImportFailure) => a.line - b.line;

/** Options of one import. */
export interface ImportOptions {
  dryRun?: boolean;
  /** Roll everything back at the first bad line. */
  strict?: boolean;
  /** Owner ids to replace (old → new). */
  ownerMap?: Readonly<Record<string, string>>;
  /** Who imports: an owner they are counts as known even without a user row (auth off). */
  caller?: string;
}

/** Options for {@link createTransfer}. */
export interface TransferOptions {
  store: Store;
  vectors: VectorManager;
  clock: Clock;
  log: Logger;
  /** Called after each commit with the memories it stored. */
  onImported?: (memories: ImportedMemory[]) => void;
}

/** NDJSON export and import (spec/memory.md §8.3). */
export interface Transfer {
  /** Streams an export produced by a Worker on its own read connection. */
  exportStream(
    owner: string | null,
    options?: { includeVectors?: boolean },
  ): ReadableStream<Uint8Array>;
  /**
   * Imports NDJSON text: existing uids are skipped; vectors are kept only if
   * the header's embedding is the active space's, else the items are queued.
   * A bad line (over 1 MiB, not JSON, not the schema, a text over its kind's
   * limit, a vector that is not base64 of the header's dimensions) is
   * reported by number and stores nothing.
   *
   * @throws {AppError} `MEMORY_IMPORT_INVALID` for a bad header, or any bad
   * line with `strict`.
   */
  importText(text: string, options?: ImportOptions): Promise<ImportReport>;
}

type ThreadLine = z.output<typeof threadLine>;
type MemoryLine = z.output<typeof memoryLine>;
type KvLine = z.output<typeof kvLine>;
type BodyLine = ThreadLine | MemoryLine | KvLine;

/** A thrown error as an import failure: our coded messages as they are, anything else generic. */
function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: MEMORY_ERRORS.IMPORT_INVALID.code, message: "the line could not be stored" };
}

/** The failure of a memory line whose thread is neither in the file nor in the database. */
function unknownThread(threadId: string) {
  return memoryError("IMPORT_INVALID", {
    message:
      `The memory refers to thread "${threadId}", which is neither in the file nor in the database`,
  });
}

/** The failure of a message line at a seq its thread already has. */
function seqTaken(threadId: string, seq: number) {
  return memoryError("IMPORT_INVALID", {
    message: `Message ${seq} of thread "${threadId}" is already taken by another message`,
  });
}

/** The longest text a memory of `kind` may have. */
function textLimit(kind: unknown): number {
  return kind === "message" ? MAX_MESSAGE_CHARS : MAX_TEXT_CHARS;
}

/**
 * A line's base64 `vector` as floats, or why it is unusable: not base64, not
 * `dims` 32-bit floats, or not finite.
 */
function decodeVector(base64: string, dims: number): { vector: Float32Array } | { error: string } {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  } catch {
    return { error: "vector: not valid base64" };
  }
  if (bytes.byteLength !== dims * 4) {
    return {
      error:
        `vector: ${bytes.byteLength} bytes, but the header's embedding has ${dims} dimensions (${
          dims * 4
        } bytes)`,
    };
  }
  const vector = new Float32Array(bytes.buffer);
  if (!vector.every(Number.isFinite)) return { error: "vector: holds a value that is not finite" };
  return { vector };
}

const parseTime = (value: string | null) => (value === null ? null : Date.parse(value));

/** Creates the transfer functions. */
export function createTransfer(options: TransferOptions): Transfer {
  const { store, vectors, clock, log } = options;

  async function currentSpace() {
    return await store.db.selectFrom("vector_spaces").selectAll().where("id", "=", vectors.spaceId)
      .executeTakeFirstOrThrow();
  }

  /** Who owns a memory or thread line as the file says (before `ownerMap`); null for others. */
  function lineOwner(line: BodyLine): string | null {
    return line.type === "memory" ? line.owner : line.type === "thread" ? line.createdBy : null;
  }

  /** The owners of `lines` that no user row and not the caller stand for. */
  async function unknownOwners(
    lines: readonly BodyLine[],
    remap: (owner: string | null) => string | null,
    caller: string | undefined,
  ): Promise<UnknownOwner[]> {
    const counts = new Map<string, UnknownOwner>();
    for (const line of lines) {
      const owner = remap(lineOwner(line));
      if (owner === null || owner === caller) continue;
      const entry = counts.get(owner) ?? { owner, memories: 0, threads: 0 };
      if (line.type === "memory") entry.memories++;
      else entry.threads++;
      counts.set(owner, entry);
    }
    if (counts.size === 0) return [];
    const known = new Set<string>();
    const ids = [...counts.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await store.db.selectFrom("users").select("id")
        .where("id", "in", ids.slice(i, i + 500)).execute();
      for (const row of rows) known.add(row.id);
    }
    return [...counts.values()].filter((entry) => !known.has(entry.owner))
      .sort((a, b) => b.memories + b.threads - a.memories - a.threads);
  }

  /**
   * Why an import skips `line`: the row it would write is there already ("stored"), or a forget
   * removed it, its thread or its user's `kv` namespace here ("forgotten": nothing returns them
   * again, spec/memory.md §8.2); null when it is written.
   */
  async function skipReason(
    db: Kysely<Database>,
    line: BodyLine,
  ): Promise<"stored" | "forgotten" | null> {
    const forgotten = (what: ForgottenTable["what"], key: string) =>
      db.selectFrom("forgotten").select("key").where("what", "=", what).where("key", "=", key)
        .executeTakeFirst().then((row) => row !== undefined);
    if (line.type === "thread") {
      if (await threadStored(db, line.id)) return "stored";
      return await forgotten("thread", line.id) ? "forgotten" : null;
    }
    if (line.type === "kv") {
      const row = await db.selectFrom("kv").select("key").where("namespace", "=", line.namespace)
        .where("key", "=", line.key).executeTakeFirst();
      if (row) return "stored";
      return await forgotten("kv", line.namespace) ? "forgotten" : null;
    }
    const row = await db.selectFrom("memories").select("id").where("uid", "=", line.uid)
      .executeTakeFirst();
    if (row) return "stored";
    if (await forgotten("memory", line.uid)) return "forgotten";
    return line.threadId !== null && await forgotten("thread", line.threadId) ? "forgotten" : null;
  }

  async function threadStored(db: Kysely<Database>, threadId: string): Promise<boolean> {
    const row = await db.selectFrom("threads").select("id").where("id", "=", threadId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Whether a message already holds `seq` in the thread. */
  async function seqStored(db: Kysely<Database>, threadId: string, seq: number): Promise<boolean> {
    const row = await db.selectFrom("memory_messages").select("memory_id")
      .where("thread_id", "=", threadId).where("seq", "=", seq).executeTakeFirst();
    return row !== undefined;
  }

  async function writeLine(
    trx: Transaction<Database>,
    line: BodyLine,
    remap: (owner: string | null) => string | null,
    vector: Float32Array | null,
  ): Promise<
    "stored" | "forgotten" | {
      outcome: "imported" | "imported_with_vector";
      memory?: ImportedMemory;
    }
  > {
    const skipped = await skipReason(trx, line);
    if (skipped) return skipped;
    if (line.type === "thread") {
      await trx.insertInto("threads").values({
        id: line.id,
        created_by: remap(line.createdBy),
        title: line.title,
        project_id: line.projectId,
        created_at: Date.parse(line.createdAt),
        updated_at: Date.parse(line.updatedAt),
        archived: line.archived ? 1 : 0,
      }).execute();
      return { outcome: "imported" };
    }
    if (line.type === "kv") {
      await trx.insertInto("kv").values({
        namespace: line.namespace,
        key: line.key,
        value: encodeJson(line.value),
        version: line.version,
        updated_at: Date.parse(line.updatedAt),
      }).execute();
      return { outcome: "imported" };
    }
    if (line.threadId !== null && !(await threadStored(trx, line.threadId))) {
      throw unknownThread(line.threadId);
    }
    if (line.message && await seqStored(trx, line.threadId ?? "", line.message.seq)) {
      throw seqTaken(line.threadId ?? "", line.message.seq);
    }
    const owner = remap(line.owner);
    const memory: ImportedMemory = { uid: line.uid, owner, kind: line.kind };
    // A message longer than a memory's text keeps its whole text beside it.
    const stored = line.kind === "message"
      ? storedMessage(line.text)
      : { text: line.text, full: null };
    const { id } = await trx.insertInto("memories").values({
      uid: line.uid,
      kind: line.kind,
      owner_user_id: owner,
      thread_id: line.threadId,
      text: stored.text,
      source: line.source,
      source_ref: line.sourceRef,
      trust: line.trust,
      importance: line.importance,
      suspicious: line.suspicious ? 1 : 0,
      content_hash: contentHash(stored.text),
      created_at: Date.parse(line.createdAt),
      expires_at: parseTime(line.expiresAt),
      last_recalled_at: parseTime(line.lastRecalledAt),
      recall_count: line.recallCount,
      reinforced_count: line.reinforcedCount,
      last_reinforced_at: parseTime(line.lastReinforcedAt),
    }).returning("id").executeTakeFirstOrThrow();
    if (line.message) {
      await trx.insertInto("memory_messages").values({
        memory_id: id,
        thread_id: line.threadId ?? "",
        seq: line.message.seq,
        role: line.message.role,
        turn_id: line.message.turnId,
        author_id: line.message.authorId,
        tool_calls: line.message.toolCalls === null ? null : encodeJson(line.message.toolCalls),
        tool_call_id: line.message.toolCallId,
        token_count: line.message.tokenCount,
        full_text: stored.full,
      }).execute();
    }
    if (line.episode) {
      await trx.insertInto("memory_episodes").values({
        memory_id: id,
        type: line.episode.type,
        payload: encodeJson(line.episode.payload ?? null),
        valence: line.episode.valence,
        schema_version: line.episode.schemaVersion,
      }).execute();
    }
    if (line.self) {
      await trx.insertInto("memory_self").values({
        memory_id: id,
        subkind: line.self.subkind,
        version: line.self.version,
        payload: line.self.payload === null || line.self.payload === undefined
          ? null
          : JSON.stringify(line.self.payload),
      }).execute();
    }
    if (vector) {
      await trx.insertInto("memory_vectors")
        .values({ space_id: vectors.spaceId, memory_id: id, vec: vectorToBlob(vector) })
        .execute();
      return { outcome: "imported_with_vector", memory };
    }
    await vectors.enqueue(trx, [id]);
    return { outcome: "imported", memory };
  }

  return {
    exportStream(owner, exportOptions = {}) {
      const encoder = new TextEncoder();
      let worker: Worker | undefined;
      return new ReadableStream<Uint8Array>({
        async start(controller) {
          const space = await currentSpace();
          const migrations = store.migrations();
          const job: ExportJob = {
            path: store.path,
            owner,
            includeVectors: exportOptions.includeVectors ?? false,
            exportedAt: new Date(clock.now()).toISOString(),
            schemaVersion: migrations.at(-1)?.version ?? 0,
            embedding: {
              spaceId: space.id,
              provider: space.provider,
              model: space.model,
              dims: space.dims,
              quality: space.quality,
            },
          };
          worker = new Worker(new URL("./export_worker.ts", import.meta.url), { type: "module" });
          worker.onmessage = (event) => {
            const message = event.data as
              | { type: "lines"; lines: string[] }
              | { type: "done" }
              | { type: "error"; message: string };
            if (message.type === "lines") {
              controller.enqueue(encoder.encode(message.lines.join("\n") + "\n"));
            } else {
              worker?.terminate();
              if (message.type === "done") controller.close();
              else {
                log.error("the memory export failed", { reason: message.message });
                controller.error(new Error("The export failed"));
              }
            }
          };
          worker.onerror = (event) => {
            event.preventDefault();
            log.error("the memory export worker failed", { reason: event.message });
            worker?.terminate();
            controller.error(new Error("The export failed"));
          };
          worker.postMessage(job);
        },
        cancel() {
          worker?.terminate();
        },
      });
    },

    async importText(text, importOptions = {}) {
      const lines = text.split("\n").map((raw, index) => ({ raw, number: index + 1 }))
        .filter((line) => line.raw.trim() !== "");
      const report: ImportReport = {
        imported: 0,
        skipped: 0,
        forgotten: 0,
        failed: [],
        dryRun: importOptions.dryRun ?? false,
        unknownOwners: [],
        ownerMapUnused: [],
        integrity: "no_end_line",
      };
      const fail = (
        line: number,
        message: string,
        code: string = MEMORY_ERRORS.IMPORT_INVALID.code,
      ) => report.failed.push({ line, code, message });
      const parseLine = (line: { raw: string; number: number }) => {
        const bytes = new TextEncoder().encode(line.raw).byteLength;
        if (bytes > MAX_IMPORT_LINE_BYTES) {
          return {
            error: `the line is ${bytes} bytes, over the limit of ${MAX_IMPORT_LINE_BYTES} (1 MiB)`,
          };
        }
        try {
          return { value: JSON.parse(line.raw) as unknown };
        } catch {
          return { error: "the line is not valid JSON" };
        }
      };

      const first = lines[0];
      const headerJson = first ? parseLine(first) : { error: "the file is empty" };
      const header = "value" in headerJson ? headerLine.safeParse(headerJson.value) : undefined;
      if (!header?.success) {
        const reason = "error" in headerJson
          ? headerJson.error
          : `the first line is not a ${"synth-mind/memory-export"} version 1 header`;
        throw memoryError("IMPORT_INVALID", {
          message: `The import file is invalid at line ${first?.number ?? 1}: ${reason}`,
          details: { line: first?.number ?? 1 },
        });
      }
      const space = await currentSpace();
      const sameSpace = header.data.embedding.provider === space.provider &&
        header.data.embedding.model === space.model && header.data.embedding.dims === space.dims;
      const ownerMap = importOptions.ownerMap ?? {};
      const remap = (owner: string | null) => (owner === null ? null : ownerMap[owner] ?? owner);

      const parsed: Array<{ number: number; line: BodyLine; vector: Float32Array | null }> = [];
      // What the end line vouches for: every line before it, as exported (no line of an export
      // holds a raw CR, so one before the newline came from a copy, not the export), and the
      // lines of each kind.
      const digest = createHash("sha256");
      const hashed = (raw: string) => digest.update(raw.replace(/\r$/, "") + "\n");
      hashed(first!.raw);
      const kinds = { thread: 0, memory: 0, kv: 0 };
      let endedAt: number | null = null;
      for (const line of lines.slice(1)) {
        if (endedAt !== null) {
          fail(line.number, `the line comes after the end line (line ${endedAt})`);
          continue;
        }
        const json = parseLine(line);
        const value = "value" in json
          ? json.value as { type?: unknown; kind?: unknown; text?: unknown } | null
          : null;
        if (value?.type === "end") {
          // The end line, even one that fails its schema: nothing after it is the export's.
          endedAt = line.number;
          report.integrity = "mismatch";
        } else {
          hashed(line.raw);
          // A line too long to parse still counts by the kind it starts with, as exported.
          const kind = value ? value.type : LINE_KIND.exec(line.raw)?.[1];
          if (kind === "thread" || kind === "memory" || kind === "kv") kinds[kind]++;
        }
        if ("error" in json) {
          fail(line.number, json.error!);
          continue;
        }
        if (
          value?.type === "memory" && typeof value.text === "string" &&
          codePoints(value.text) > textLimit(value.kind)
        ) {
          fail(
            line.number,
            `text: ${codePoints(value.text)} characters, over the limit of ${
              textLimit(value.kind)
            } for a ${String(value.kind)} memory`,
            MEMORY_ERRORS.TEXT_TOO_LONG.code,
          );
          continue;
        }
        const result = bodyLine.safeParse(json.value);
        // Text holding a NUL or half an emoji would be stored changed (see `unstorableTextIssue`).
        const unstorable = result.success ? unstorableTextIssueIn(line.raw, json.value) : null;
        if (!result.success || unstorable) {
          const issue = unstorable ?? (result.success ? undefined : result.error.issues[0])!;
          fail(line.number, `${issue.path.join(".") || "line"}: ${plainIssueMessage(issue)}`);
          continue;
        }
        if (result.data.type === "end") {
          const { counts, sha256 } = result.data;
          const problem = sha256 !== digest.digest("hex")
            ? "the lines before it do not hash to its sha256: the file was changed or cut after export"
            : counts.thread !== kinds.thread || counts.memory !== kinds.memory ||
                counts.kv !== kinds.kv
            ? `it counts ${counts.thread} thread, ${counts.memory} memory and ${counts.kv} kv lines; the file has ${kinds.thread}, ${kinds.memory} and ${kinds.kv}`
            : null;
          report.integrity = problem ? "mismatch" : "verified";
          if (problem) fail(line.number, `end: ${problem}`);
          continue;
        }
        let vector: Float32Array | null = null;
        if (result.data.type === "memory" && result.data.vector !== undefined) {
          const decoded = decodeVector(result.data.vector, header.data.embedding.dims);
          if ("error" in decoded) {
            fail(line.number, decoded.error);
            continue;
          }
          // Vectors of another space are not used: the memory is queued for embedding.
          if (sameSpace) vector = decoded.vector;
        }
        parsed.push({ number: line.number, line: result.data, vector });
      }
      report.unknownOwners = await unknownOwners(
        parsed.map(({ line }) => line),
        remap,
        importOptions.caller,
      );
      const owners = new Set(parsed.map(({ line }) => lineOwner(line)));
      report.ownerMapUnused = Object.keys(ownerMap).filter((owner) => !owners.has(owner));
      if (importOptions.strict && report.failed.length > 0) {
        throw memoryError("IMPORT_INVALID", {
          message: `The import file is invalid at line ${report.failed[0]!.line}: ${
            report.failed[0]!.message
          }`,
          details: { line: report.failed[0]!.line, failed: report.failed },
        });
      }
      if (report.dryRun) {
        // What the import would do, line by line, without writing: rows already there are
        // skipped, and a memory of a thread neither stored nor earlier in the file fails, as does
        // a message at a seq of its thread that a stored message or an earlier line holds.
        const threadsInFile = new Set<string>();
        const seqsInFile = new Set<string>();
        for (const { number, line } of parsed) {
          const skipped = await skipReason(store.db, line);
          if (skipped) {
            report.skipped++;
            if (skipped === "forgotten") report.forgotten++;
            continue;
          }
          if (line.type === "thread") threadsInFile.add(line.id);
          if (
            line.type === "memory" && line.threadId !== null &&
            !threadsInFile.has(line.threadId) && !(await threadStored(store.db, line.threadId))
          ) {
            const failure = failureOf(unknownThread(line.threadId));
            fail(number, failure.message, failure.code);
            continue;
          }
          if (line.type === "memory" && line.message) {
            const thread = line.threadId ?? "";
            const key = JSON.stringify([thread, line.message.seq]);
            if (seqsInFile.has(key) || await seqStored(store.db, thread, line.message.seq)) {
              const failure = failureOf(seqTaken(thread, line.message.seq));
              fail(number, failure.message, failure.code);
              continue;
            }
            seqsInFile.add(key);
          }
          report.imported++;
        }
        report.failed.sort(byLine);
        return report;
      }

      let withVectors = 0;
      /** Writes a batch in `trx`; returns the memories stored, or throws at a bad line if strict. */
      const importBatch = async (batch: typeof parsed, trx: Transaction<Database>) => {
        const stored: ImportedMemory[] = [];
        for (const { number, line, vector } of batch) {
          try {
            // A line that fails part-way leaves nothing behind (strict rolls back everything).
            if (!importOptions.strict) await sql`SAVEPOINT import_line`.execute(trx);
            const written = await writeLine(trx, line, remap, vector);
            if (!importOptions.strict) await sql`RELEASE SAVEPOINT import_line`.execute(trx);
            if (written === "stored" || written === "forgotten") {
              report.skipped++;
              if (written === "forgotten") report.forgotten++;
              continue;
            }
            report.imported++;
            if (written.outcome === "imported_with_vector") withVectors++;
            if (written.memory) stored.push(written.memory);
          } catch (error) {
            // The database's own text stays in the log; the report gets a fixed sentence.
            if (!(error instanceof AppError)) {
              log.warn("an import line could not be stored", { line: number, error });
            }
            if (importOptions.strict) throw Object.assign(failureOf(error), { line: number });
            await sql`ROLLBACK TO SAVEPOINT import_line`.execute(trx);
            await sql`RELEASE SAVEPOINT import_line`.execute(trx);
            const failure = failureOf(error);
            fail(number, failure.message, failure.code);
          }
        }
        return stored;
      };
      // Imported `kv` rows are not what the plugins' state kept in memory, even if the import
      // stops part way.
      try {
        if (importOptions.strict) {
          let stored: ImportedMemory[];
          try {
            stored = await store.transaction((trx) => importBatch(parsed, trx));
          } catch (error) {
            report.imported = 0;
            report.skipped = 0;
            report.forgotten = 0;
            const failure = error as { line?: number; message?: string };
            if (failure.line === undefined) throw error;
            throw memoryError("IMPORT_INVALID", {
              message: `The import was rolled back at line ${failure.line}: ${failure.message}`,
              details: { line: failure.line },
            });
          }
          if (stored.length > 0) options.onImported?.(stored);
        } else {
          for (let i = 0; i < parsed.length; i += 500) {
            const stored = await store.transaction((trx) =>
              importBatch(parsed.slice(i, i + 500), trx)
            );
            if (stored.length > 0) options.onImported?.(stored);
          }
        }
      } finally {
        forgetPluginStateCache(store);
      }
      // Many inserts leave the full-text index in many segments; searches read each one.
      if (report.imported > 0) await mergeFullText(store);
      // Imported vectors join the index by reloading it; the others are queued.
      if (withVectors > 0) await vectors.load(new AbortController().signal);
      if (report.imported > withVectors) vectors.wake();
      // Lines that failed while stored come after those that failed to parse: in file order.
      report.failed.sort(byLine);
      return report;
    },
  };
}
