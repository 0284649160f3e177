import { createHash } from "node:crypto";
import type { Database } from "@synth/kernel";
import type { Kysely } from "kysely";
import { z } from "zod";
import { MAX_MESSAGE_CHARS, MESSAGE_COLUMNS } from "./kinds.ts";

/** What an export covers. */
export interface ExportJob {
  /** Absolute path of the database file. */
  path: string;
  /** Whose data (null = the agent-wide self memories). */
  owner: string | null;
  includeVectors: boolean;
  exportedAt: string;
  schemaVersion: number;
  embedding: { spaceId: number; provider: string; model: string; dims: number; quality: string };
}

/** The format name and version of the first line. */
export const EXPORT_FORMAT = "synth-mind/memory-export";
export const EXPORT_VERSION = 1;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Every line of an export, in order: header, threads, memories (with their
 * kind-specific part and optional base64 vector), kv entries, and an end
 * line with counts and the SHA-256 of all previous lines.
 */
export async function* exportLines(db: Kysely<Database>, job: ExportJob): AsyncGenerator<string> {
  const hash = createHash("sha256");
  const counts = { thread: 0, memory: 0, kv: 0 };
  const emit = (value: unknown) => {
    const line = JSON.stringify(value);
    hash.update(line + "\n");
    return line;
  };
  yield emit({
    type: "header",
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: job.exportedAt,
    schemaVersion: job.schemaVersion,
    embedding: {
      provider: job.embedding.provider,
      model: job.embedding.model,
      dims: job.embedding.dims,
      quality: job.embedding.quality,
    },
  });

  if (job.owner !== null) {
    const threads = await db.selectFrom("threads").selectAll().where("created_by", "=", job.owner)
      .orderBy("created_at").orderBy("id").execute();
    for (const thread of threads) {
      counts.thread++;
      yield emit({
        type: "thread",
        id: thread.id,
        createdBy: thread.created_by,
        title: thread.title,
        projectId: thread.project_id,
        createdAt: iso(thread.created_at),
        updatedAt: iso(thread.updated_at),
        archived: thread.archived === 1,
      });
    }
  }

  let after = 0;
  for (;;) {
    let query = db.selectFrom("memories as m")
      .leftJoin("memory_messages as mm", "mm.memory_id", "m.id")
      .leftJoin("memory_episodes as me", "me.memory_id", "m.id")
      .leftJoin("memory_self as ms", "ms.memory_id", "m.id")
      .leftJoin(
        (eb) =>
          eb.selectFrom("memory_vectors").select(["memory_id", "vec"])
            .where("space_id", "=", job.embedding.spaceId).as("v"),
        (join) => join.onRef("v.memory_id", "=", "m.id"),
      )
      .selectAll("m")
      .select([
        ...MESSAGE_COLUMNS,
        "me.type as episode_type",
        "me.payload as episode_payload",
        "me.valence",
        "me.schema_version",
        "ms.subkind",
        "ms.version as self_version",
        "ms.payload as self_payload",
        "v.vec",
      ])
      .where("m.id", ">", after);
    query = job.owner === null
      ? query.where("m.owner_user_id", "is", null)
      : query.where("m.owner_user_id", "=", job.owner);
    const rows = await query.orderBy("m.id").limit(1_000).execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      counts.memory++;
      const detail = row.kind === "message"
        ? {
          message: {
            seq: row.seq,
            role: row.role,
            turnId: row.turn_id,
            authorId: row.author_id,
            toolCalls: row.tool_calls === null ? null : JSON.parse(row.tool_calls),
            toolCallId: row.tool_call_id,
            tokenCount: row.token_count,
          },
        }
        : row.kind === "episode"
        ? {
          episode: {
            type: row.episode_type,
            payload: row.episode_payload === null ? null : JSON.parse(row.episode_payload),
            valence: row.valence,
            schemaVersion: row.schema_version,
          },
        }
        : row.kind === "self"
        ? {
          self: {
            subkind: row.subkind,
            version: row.self_version,
            payload: row.self_payload === null ? null : JSON.parse(row.self_payload),
          },
        }
        : {};
      yield emit({
        type: "memory",
        uid: row.uid,
        kind: row.kind,
        owner: row.owner_user_id,
        threadId: row.thread_id,
        text: row.full_text ?? row.text,
        source: row.source,
        sourceRef: row.source_ref,
        trust: row.trust,
        importance: row.importance,
        suspicious: row.suspicious === 1,
        createdAt: iso(row.created_at),
        expiresAt: iso(row.expires_at),
        lastRecalledAt: iso(row.last_recalled_at),
        recallCount: row.recall_count,
        reinforcedCount: row.reinforced_count,
        lastReinforcedAt: iso(row.last_reinforced_at),
        ...detail,
        ...(job.includeVectors && row.vec ? { vector: btoa(String.fromCharCode(...row.vec)) } : {}),
      });
    }
    after = rows.at(-1)!.id;
  }

  if (job.owner !== null) {
    const entries = await db.selectFrom("kv").selectAll().where(
      "namespace",
      "=",
      `user:${job.owner}`,
    )
      .orderBy("key").execute();
    for (const entry of entries) {
      counts.kv++;
      yield emit({
        type: "kv",
        namespace: entry.namespace,
        key: entry.key,
        value: JSON.parse(entry.value),
        version: entry.version,
        updatedAt: iso(entry.updated_at),
      });
    }
  }
  yield JSON.stringify({ type: "end", counts, sha256: hash.digest("hex") });
}

const isoDate = z.iso.datetime();
const nullableIso = isoDate.nullable();

/** The first line of an import. */
export const headerLine = z.strictObject({
  type: z.literal("header"),
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exportedAt: isoDate,
  schemaVersion: z.number().int().min(1),
  embedding: z.strictObject({
    provider: z.string(),
    model: z.string(),
    dims: z.number().int().min(1),
    quality: z.enum(["semantic", "lexical"]),
  }),
});

/** A thread line. */
export const threadLine = z.strictObject({
  type: z.literal("thread"),
  id: z.string().min(1),
  createdBy: z.string().nullable(),
  title: z.string().nullable(),
  projectId: z.string().nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  archived: z.boolean(),
});

/** A memory line. */
export const memoryLine = z.strictObject({
  type: z.literal("memory"),
  uid: z.string().regex(/^mem_[0-9A-Z]{26}$/),
  kind: z.enum(["message", "episode", "semantic", "self"]),
  owner: z.string().nullable(),
  threadId: z.string().nullable(),
  text: z.string().min(1).max(MAX_MESSAGE_CHARS),
  source: z.enum(["user", "agent", "tool", "web", "peer", "system"]),
  sourceRef: z.string().nullable(),
  trust: z.enum(["high", "medium", "low"]),
  importance: z.number().min(0).max(1),
  suspicious: z.boolean(),
  createdAt: isoDate,
  expiresAt: nullableIso,
  lastRecalledAt: nullableIso,
  recallCount: z.number().int().min(0),
  reinforcedCount: z.number().int().min(0),
  lastReinforcedAt: nullableIso,
  message: z.strictObject({
    seq: z.number().int().min(1),
    role: z.enum(["user", "assistant", "tool"]),
    turnId: z.string().nullable(),
    authorId: z.string().nullable(),
    toolCalls: z.array(z.unknown()).nullable(),
    toolCallId: z.string().nullable(),
    tokenCount: z.number().int().min(0),
  }).optional(),
  episode: z.strictObject({
    type: z.string().min(1),
    payload: z.unknown(),
    valence: z.number().nullable(),
    schemaVersion: z.number().int().min(1),
  }).optional(),
  self: z.strictObject({
    subkind: z.enum(["reflection", "narrative"]),
    version: z.number().int().nullable(),
    payload: z.unknown(),
  }).optional(),
  vector: z.string().optional(),
}).refine((line) => line.kind === "semantic" || line[line.kind as "message"] !== undefined, {
  message: "the kind-specific part is missing",
});

/** A key-value line. */
export const kvLine = z.strictObject({
  type: z.literal("kv"),
  namespace: z.string().min(1),
  key: z.string().min(1),
  value: z.unknown(),
  version: z.number().int().min(1),
  updatedAt: isoDate,
});

/** The last line. */
export const endLine = z.strictObject({
  type: z.literal("end"),
  counts: z.strictObject({ thread: z.number(), memory: z.number(), kv: z.number() }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** Any line after the header. */
export const bodyLine = z.discriminatedUnion("type", [threadLine, memoryLine, kvLine, endLine]);
