import {
  type Clock,
  codePoints,
  contentHash,
  type Database,
  type IdFactory,
  type MemoryKind,
  type MemorySource,
  type MemoryTrust,
  prepare,
  type Store,
} from "@synth/kernel";
import type { Kysely, Transaction } from "kysely";
import type { MemoryConfig } from "./config.ts";
import { memoryError } from "./errors.ts";
import { looksLikeInjection } from "./injection.ts";
import {
  lowerTrust,
  MAX_MESSAGE_CHARS,
  MAX_TEXT_CHARS,
  TRUST_OF_SOURCE,
  UNTRUSTED_SOURCES,
} from "./kinds.ts";
import type { VectorManager } from "./vectors.ts";

const DAY_MS = 86_400_000;

/** What every new memory needs. */
export interface NewMemory {
  kind: MemoryKind;
  ownerUserId: string | null;
  threadId?: string | null;
  text: string;
  source: MemorySource;
  sourceRef?: string | null;
  /** Lowered to the source's trust if higher. @default the source's trust */
  trust?: MemoryTrust;
  importance: number;
  /** Overrides the kind's TTL. */
  ttlDays?: number | null;
}

/** The ids of a written memory. */
export interface WrittenMemory {
  id: number;
  uid: string;
  suspicious: boolean;
}

/** Options for {@link createMemoryWriter}. */
export interface MemoryWriterOptions {
  store: Store;
  clock: Clock;
  ids: IdFactory;
  config: MemoryConfig;
  vectors: VectorManager;
}

/** Inserts memories: the one path every kind is written through. */
export interface MemoryWriter {
  /**
   * Inserts the row (with its FTS entry) and queues its embedding inside
   * `trx`. Checks length, trust, suspicion and TTL.
   *
   * @throws {AppError} `MEMORY_TEXT_TOO_LONG`, `MEMORY_PAYLOAD_INVALID`.
   */
  insert(trx: Transaction<Database>, memory: NewMemory): Promise<WrittenMemory>;
}

/** The insert every memory goes through, compiled once. */
const insertMemory = prepare((db: Kysely<Database>, slot) =>
  db.insertInto("memories").values({
    uid: slot("uid"),
    kind: slot<MemoryKind>("kind"),
    owner_user_id: slot<string | null>("ownerUserId"),
    thread_id: slot<string | null>("threadId"),
    text: slot("text"),
    source: slot<MemorySource>("source"),
    source_ref: slot<string | null>("sourceRef"),
    trust: slot<MemoryTrust>("trust"),
    importance: slot<number>("importance"),
    suspicious: slot<number>("suspicious"),
    content_hash: slot("contentHash"),
    created_at: slot<number>("createdAt"),
    expires_at: slot<number | null>("expiresAt"),
    last_recalled_at: null,
    last_reinforced_at: null,
  }).returning("id")
);

/** Creates the writer. */
export function createMemoryWriter(options: MemoryWriterOptions): MemoryWriter {
  const { clock, ids, config, vectors } = options;
  return {
    async insert(trx, memory) {
      const text = memory.text.trim();
      if (text.length === 0) {
        throw memoryError("PAYLOAD_INVALID", { field: "text", message: "The text is empty" });
      }
      if (codePoints(text) > (memory.kind === "message" ? MAX_MESSAGE_CHARS : MAX_TEXT_CHARS)) {
        throw memoryError("TEXT_TOO_LONG", { field: "text" });
      }
      if (!(memory.importance >= 0 && memory.importance <= 1)) {
        throw memoryError("PAYLOAD_INVALID", {
          field: "importance",
          message: "importance must be a number from 0 to 1",
        });
      }
      const sourceTrust = TRUST_OF_SOURCE[memory.source];
      const trust = memory.trust ? lowerTrust(memory.trust, sourceTrust) : sourceTrust;
      const suspicious = UNTRUSTED_SOURCES.has(memory.source) && looksLikeInjection(text);
      const now = clock.now();
      const ttlDays = memory.ttlDays !== undefined
        ? memory.ttlDays
        : config.retention[memory.kind].ttlDays;
      const uid = ids.next("mem");
      const row = (await insertMemory.executeTakeFirst(trx, {
        uid,
        kind: memory.kind,
        ownerUserId: memory.ownerUserId,
        threadId: memory.threadId ?? null,
        text,
        source: memory.source,
        sourceRef: memory.sourceRef ?? null,
        trust,
        importance: memory.importance,
        suspicious: suspicious ? 1 : 0,
        contentHash: contentHash(text),
        createdAt: now,
        expiresAt: ttlDays === null ? null : now + Math.round(ttlDays * DAY_MS),
      }))!;
      await vectors.enqueue(trx, [row.id]);
      return { id: row.id, uid, suspicious };
    },
  };
}
