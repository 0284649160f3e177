import type { MemoriesTable, MemoryKind, MemorySource, MemoryTrust } from "@synth/kernel";
import type { Selectable } from "kysely";
import { memoryError } from "./errors.ts";

/** A `memories` row as read. */
export type MemoryRow = Selectable<MemoriesTable>;

/** A memory as the API shows it (spec/memory.md §9); never vectors. */
export interface Memory {
  id: string;
  kind: MemoryKind;
  text: string;
  source: MemorySource;
  trust: MemoryTrust;
  importance: number;
  suspicious: boolean;
  owner_user_id: string | null;
  thread_id: string | null;
  created_at: string;
  expires_at: string | null;
  recall_count: number;
}

/** The public shape of a row. */
export function toMemory(row: MemoryRow): Memory {
  return {
    id: row.uid,
    kind: row.kind,
    text: row.text,
    source: row.source,
    trust: row.trust,
    importance: row.importance,
    suspicious: row.suspicious === 1,
    owner_user_id: row.owner_user_id,
    thread_id: row.thread_id,
    created_at: new Date(row.created_at).toISOString(),
    expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
    recall_count: row.recall_count,
  };
}

/**
 * The one JSON encoder for stored payloads: typed arrays become arrays,
 * bigints strings, and `NaN`/`±Infinity` are refused with the field named
 * (JSON would silently turn them into null).
 *
 * @throws {AppError} `MEMORY_PAYLOAD_INVALID` naming the field.
 */
export function encodeJson(value: unknown): string {
  const visit = (node: unknown, path: string): unknown => {
    if (typeof node === "number") {
      if (!Number.isFinite(node)) {
        throw memoryError("PAYLOAD_INVALID", {
          field: path || "payload",
          message: `The payload field "${path || "payload"}" is not a finite number`,
        });
      }
      return node;
    }
    if (typeof node === "bigint") return node.toString();
    if (ArrayBuffer.isView(node) && !(node instanceof DataView)) {
      return Array.from(
        node as unknown as ArrayLike<number>,
        (item, index) => visit(item, `${path}.${index}`),
      );
    }
    if (Array.isArray(node)) return node.map((item, index) => visit(item, `${path}.${index}`));
    if (node !== null && typeof node === "object") {
      return Object.fromEntries(
        Object.entries(node).map((
          [key, item],
        ) => [key, visit(item, path ? `${path}.${key}` : key)]),
      );
    }
    return node;
  };
  return JSON.stringify(visit(value, ""));
}
