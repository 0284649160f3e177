import { type Clock, contentHash, type Logger, type Store } from "@synth/kernel";
import type { Transaction } from "kysely";
import type { Database } from "@synth/kernel";
import { memoryError } from "./errors.ts";
import { encodeJson } from "./records.ts";
import {
  bodyLine,
  type ExportJob,
  headerLine,
  type kvLine,
  type memoryLine,
  type threadLine,
} from "./transfer_format.ts";
import { blobToVector, type VectorManager, vectorToBlob } from "./vectors.ts";
import type { z } from "zod";

/** Longest accepted import line. */
export const MAX_IMPORT_LINE_BYTES = 1_048_576;

/** One line that could not be imported. */
export interface ImportFailure {
  line: number;
  code: string;
  message: string;
}

/** What an import did. */
export interface ImportReport {
  imported: number;
  skipped: number;
  failed: ImportFailure[];
  dryRun: boolean;
}

/** Options of one import. */
export interface ImportOptions {
  dryRun?: boolean;
  /** Roll everything back at the first bad line. */
  strict?: boolean;
  /** Owner ids to replace (old → new). */
  ownerMap?: Readonly<Record<string, string>>;
}

/** Options for {@link createTransfer}. */
export interface TransferOptions {
  store: Store;
  vectors: VectorManager;
  clock: Clock;
  log: Logger;
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
   */
  importText(text: string, options?: ImportOptions): Promise<ImportReport>;
}

type ThreadLine = z.output<typeof threadLine>;
type MemoryLine = z.output<typeof memoryLine>;
type KvLine = z.output<typeof kvLine>;

const parseTime = (value: string | null) => (value === null ? null : Date.parse(value));

/** Creates the transfer functions. */
export function createTransfer(options: TransferOptions): Transfer {
  const { store, vectors, clock, log } = options;

  async function currentSpace() {
    return await store.db.selectFrom("vector_spaces").selectAll().where("id", "=", vectors.spaceId)
      .executeTakeFirstOrThrow();
  }

  async function writeLine(
    trx: Transaction<Database>,
    line: ThreadLine | MemoryLine | KvLine,
    remap: (owner: string | null) => string | null,
    keepVectors: boolean,
  ): Promise<"imported" | "skipped" | "imported_with_vector"> {
    if (line.type === "thread") {
      const exists = await trx.selectFrom("threads").select("id").where("id", "=", line.id)
        .executeTakeFirst();
      if (exists) return "skipped";
      await trx.insertInto("threads").values({
        id: line.id,
        created_by: remap(line.createdBy),
        title: line.title,
        project_id: line.projectId,
        created_at: Date.parse(line.createdAt),
        updated_at: Date.parse(line.updatedAt),
        archived: line.archived ? 1 : 0,
      }).execute();
      return "imported";
    }
    if (line.type === "kv") {
      const exists = await trx.selectFrom("kv").select("key").where(
        "namespace",
        "=",
        line.namespace,
      )
        .where("key", "=", line.key).executeTakeFirst();
      if (exists) return "skipped";
      await trx.insertInto("kv").values({
        namespace: line.namespace,
        key: line.key,
        value: encodeJson(line.value),
        version: line.version,
        updated_at: Date.parse(line.updatedAt),
      }).execute();
      return "imported";
    }
    const exists = await trx.selectFrom("memories").select("id").where("uid", "=", line.uid)
      .executeTakeFirst();
    if (exists) return "skipped";
    if (line.threadId !== null) {
      const thread = await trx.selectFrom("threads").select("id").where("id", "=", line.threadId)
        .executeTakeFirst();
      if (!thread) {
        throw memoryError("IMPORT_INVALID", {
          message:
            `The memory refers to thread "${line.threadId}", which is neither in the file nor in the database`,
        });
      }
    }
    const { id } = await trx.insertInto("memories").values({
      uid: line.uid,
      kind: line.kind,
      owner_user_id: remap(line.owner),
      thread_id: line.threadId,
      text: line.text,
      source: line.source,
      source_ref: line.sourceRef,
      trust: line.trust,
      importance: line.importance,
      suspicious: line.suspicious ? 1 : 0,
      content_hash: contentHash(line.text),
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
    const vector = keepVectors && line.vector
      ? blobToVector(
        Uint8Array.from(atob(line.vector), (char) => char.charCodeAt(0)),
        vectors.embedder.dims,
      )
      : null;
    if (vector) {
      await trx.insertInto("memory_vectors")
        .values({ space_id: vectors.spaceId, memory_id: id, vec: vectorToBlob(vector) })
        .execute();
      return "imported_with_vector";
    }
    await vectors.enqueue(trx, [id]);
    return "imported";
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
        failed: [],
        dryRun: importOptions.dryRun ?? false,
      };
      const fail = (line: number, message: string) =>
        report.failed.push({ line, code: "MEMORY_IMPORT_INVALID", message });
      const parseLine = (line: { raw: string; number: number }) => {
        if (new TextEncoder().encode(line.raw).byteLength > MAX_IMPORT_LINE_BYTES) {
          return { error: "the line is longer than 1 MiB" };
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

      const parsed: Array<{ number: number; line: ThreadLine | MemoryLine | KvLine }> = [];
      for (const line of lines.slice(1)) {
        const json = parseLine(line);
        if ("error" in json) {
          fail(line.number, json.error!);
          continue;
        }
        const result = bodyLine.safeParse(json.value);
        if (!result.success) {
          const issue = result.error.issues[0]!;
          fail(line.number, `${issue.path.join(".") || "line"}: ${issue.message}`);
          continue;
        }
        if (result.data.type !== "end") parsed.push({ number: line.number, line: result.data });
      }
      if (importOptions.strict && report.failed.length > 0) {
        throw memoryError("IMPORT_INVALID", {
          message: `The import file is invalid at line ${report.failed[0]!.line}: ${
            report.failed[0]!.message
          }`,
          details: { line: report.failed[0]!.line, failed: report.failed },
        });
      }
      if (report.dryRun) {
        report.imported = parsed.length;
        return report;
      }

      let withVectors = 0;
      const importBatch = async (batch: typeof parsed, trx: Transaction<Database>) => {
        for (const { number, line } of batch) {
          try {
            const outcome = await writeLine(trx, line, remap, sameSpace);
            if (outcome === "skipped") report.skipped++;
            else report.imported++;
            if (outcome === "imported_with_vector") withVectors++;
          } catch (error) {
            if (importOptions.strict) throw error;
            fail(number, error instanceof Error ? error.message : String(error));
          }
        }
      };
      if (importOptions.strict) {
        try {
          await store.transaction((trx) => importBatch(parsed, trx));
        } catch (error) {
          report.imported = 0;
          report.skipped = 0;
          throw memoryError("IMPORT_INVALID", {
            message: `The import was rolled back: ${
              error instanceof Error ? error.message : String(error)
            }`,
          });
        }
      } else {
        for (let i = 0; i < parsed.length; i += 500) {
          await store.transaction((trx) => importBatch(parsed.slice(i, i + 500), trx));
        }
      }
      // Imported vectors join the index by reloading it; the others are queued.
      if (withVectors > 0) await vectors.load(new AbortController().signal);
      if (report.imported > withVectors) vectors.wake();
      return report;
    },
  };
}
