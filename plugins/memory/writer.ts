import {
  type Clock,
  contentHash,
  type Database,
  type IdFactory,
  type MemoryKind,
  type MemorySource,
  type MemoryTrust,
  type Store,
} from "@synth/kernel";
import type { Transaction } from "kysely";
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

/** Creates the writer. */
export function createMemoryWriter(options: MemoryWriterOptions): MemoryWriter {
  const { clock, ids, config, vectors } = options;
  return {
    async insert(trx, memory) {
      const text = memory.text.trim();
      if (text.length === 0) {
        throw memoryError("PAYLOAD_INVALID", { field: "text", message: "The text is empty" });
      }
      if (text.length > (memory.kind === "message" ? MAX_MESSAGE_CHARS : MAX_TEXT_CHARS)) {
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
      const row = await trx.insertInto("memories").values({
        uid,
        kind: memory.kind,
        owner_user_id: memory.ownerUserId,
        thread_id: memory.threadId ?? null,
        text,
        source: memory.source,
        source_ref: memory.sourceRef ?? null,
        trust,
        importance: memory.importance,
        suspicious: suspicious ? 1 : 0,
        content_hash: contentHash(text),
        created_at: now,
        expires_at: ttlDays === null ? null : now + Math.round(ttlDays * DAY_MS),
        last_recalled_at: null,
        last_reinforced_at: null,
      }).returning("id").executeTakeFirstOrThrow();
      await vectors.enqueue(trx, [row.id]);
      return { id: row.id, uid, suspicious };
    },
  };
}
