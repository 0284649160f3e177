import type { MemorySource, Store } from "@synth/kernel";
import type { z } from "zod";
import { memoryError } from "./errors.ts";
import { encodeJson } from "./records.ts";
import type { MemoryWriter } from "./writer.ts";

/** A registered event type (spec/memory.md §4.2). */
export interface EpisodeType<Payload = unknown> {
  /** `<area>.<event>`, e.g. `forecast.scored`. */
  type: string;
  /** Validates the payload. */
  schema: z.ZodType<Payload>;
  /** The line full-text search and the embedder see. */
  summarize(payload: Payload): string;
  /** Importance in [0, 1]. */
  importance: number;
  /** Overrides the episode TTL (days); null keeps forever. */
  ttlDays?: number | null;
}

/** Input of {@link Episodes.add}. */
export interface AddEpisodeInput {
  type: string;
  payload: unknown;
  ownerUserId: string | null;
  threadId?: string | null;
  source?: MemorySource;
  sourceRef?: string | null;
  valence?: number | null;
}

/** The event catalogue and its writer. */
export interface Episodes {
  /**
   * Registers a type at setup.
   *
   * @throws {TypeError} For a malformed or duplicate type name.
   */
  register<Payload>(definition: EpisodeType<Payload>): void;
  /** The registered types, for `/api/memories/stats`. */
  catalogue(): Array<{ type: string; importance: number; ttlDays: number | null | undefined }>;
  /**
   * Validates and stores an event.
   *
   * @throws {AppError} `MEMORY_EPISODE_TYPE_UNKNOWN`, or `MEMORY_PAYLOAD_INVALID` naming the field.
   */
  add(input: AddEpisodeInput): Promise<{ id: number; uid: string }>;
}

/** Options for {@link createEpisodes}. */
export interface EpisodesOptions {
  store: Store;
  writer: MemoryWriter;
  onWritten: (ids: number[], uids: string[]) => void;
}

/** Creates the catalogue. */
export function createEpisodes(options: EpisodesOptions): Episodes {
  // deno-lint-ignore no-explicit-any
  const types = new Map<string, EpisodeType<any>>();
  return {
    register(definition) {
      if (!/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*$/.test(definition.type)) {
        throw new TypeError(
          `Cannot register event type "${definition.type}": use "<area>.<event>" in snake_case`,
        );
      }
      if (types.has(definition.type)) {
        throw new TypeError(`Cannot register event type "${definition.type}" twice`);
      }
      types.set(definition.type, definition);
    },

    catalogue() {
      return [...types.values()].map((definition) => ({
        type: definition.type,
        importance: definition.importance,
        ttlDays: definition.ttlDays,
      }));
    },

    async add(input) {
      const definition = types.get(input.type);
      if (!definition) {
        throw memoryError("EPISODE_TYPE_UNKNOWN", {
          message: `The event type "${input.type}" is not registered`,
        });
      }
      const parsed = definition.schema.safeParse(input.payload);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = ["payload", ...issue.path.map(String)].join(".");
        throw memoryError("PAYLOAD_INVALID", {
          field,
          message: `The event payload is invalid at ${field}: ${issue.message}`,
        });
      }
      const payload = encodeJson(parsed.data);
      const written = await options.store.transaction(async (trx) => {
        const memory = await options.writer.insert(trx, {
          kind: "episode",
          ownerUserId: input.ownerUserId,
          threadId: input.threadId ?? null,
          text: definition.summarize(parsed.data),
          source: input.source ?? "agent",
          sourceRef: input.sourceRef ?? null,
          importance: definition.importance,
          ...(definition.ttlDays !== undefined ? { ttlDays: definition.ttlDays } : {}),
        });
        await trx.insertInto("memory_episodes").values({
          memory_id: memory.id,
          type: input.type,
          payload,
          valence: input.valence ?? null,
        }).execute();
        return memory;
      });
      options.onWritten([written.id], [written.uid]);
      return { id: written.id, uid: written.uid };
    },
  };
}
