import type { Clock, Embedder, IdFactory, Logger, Store } from "@synth/kernel";
import type { MemoryConfig } from "./config.ts";
import { memoryError } from "./errors.ts";
import { vectorToBlob } from "./vectors.ts";

/** A long job as the API shows it. */
export interface Job {
  id: string;
  type: string;
  status: "queued" | "running" | "done" | "failed" | "cancelled";
  progress: { done: number; total: number | null };
  error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** Progress reported while re-embedding. */
export interface ReembedProgress {
  done: number;
  total: number;
}

/** Options for {@link createReembedder}. */
export interface ReembedderOptions {
  store: Store;
  embedder: Embedder;
  config: MemoryConfig;
  clock: Clock;
  ids: IdFactory;
  log: Logger;
  /** Who runs the job (`server:<pid>`, `cli:<pid>`), for the lease. */
  owner: string;
}

/** Re-embedding into the configured embedder's space (spec/memory.md §6.3). */
export interface Reembedder {
  /** True when the active space is not the configured embedder's. */
  needed(): Promise<boolean>;
  /**
   * Creates (or resumes) the `building` space and its job and returns the
   * job; refuses with `MEMORY_REEMBED_RUNNING` while another holder's lease
   * is live.
   */
  prepare(): Promise<Job>;
  /**
   * Embeds every memory missing from the building space in id order,
   * renewing the lease, then makes the building space active and the old
   * one retired, and deletes the retired vectors in batches.
   */
  run(
    jobId: string,
    options: { signal: AbortSignal; onProgress?: (progress: ReembedProgress) => void },
  ): Promise<Job>;
  /** A job by id. */
  job(id: string): Promise<Job | null>;
}

/** The lease a running job holds; renewed every 5 s. */
export const LEASE_MS = 30_000;
const HEARTBEAT_MS = 5_000;
const RETIRED_DELETE_BATCH = 5_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** Creates the re-embedder. */
export function createReembedder(options: ReembedderOptions): Reembedder {
  const { store, embedder, config, clock, ids, log } = options;
  const { db } = store;

  async function buildingSpaceId(): Promise<number> {
    const now = clock.now();
    const existing = await db.selectFrom("vector_spaces").select(["id", "status"])
      .where("provider", "=", embedder.provider).where("model", "=", embedder.model)
      .where("dims", "=", embedder.dims).executeTakeFirst();
    if (existing) {
      if (existing.status !== "building") {
        await db.updateTable("vector_spaces").set({ status: "building", updated_at: now })
          .where("id", "=", existing.id).execute();
      }
      return existing.id;
    }
    const row = await db.insertInto("vector_spaces").values({
      provider: embedder.provider,
      model: embedder.model,
      dims: embedder.dims,
      quality: embedder.quality,
      status: "building",
      created_at: now,
      updated_at: now,
    }).returning("id").executeTakeFirstOrThrow();
    return row.id;
  }

  async function toJob(id: string): Promise<Job | null> {
    const row = await db.selectFrom("memory_jobs").selectAll().where("id", "=", id)
      .executeTakeFirst();
    if (!row) return null;
    return {
      id: row.id,
      type: row.type,
      status: row.status,
      progress: { done: row.progress_done, total: row.progress_total },
      error: row.error,
      created_at: iso(row.created_at),
      updated_at: iso(row.updated_at),
      finished_at: row.finished_at === null ? null : iso(row.finished_at),
    };
  }

  async function claim(jobId: string): Promise<void> {
    const now = clock.now();
    const result = await db.updateTable("memory_jobs")
      .set({
        lease_owner: options.owner,
        lease_expires_at: now + LEASE_MS,
        status: "running",
        updated_at: now,
      })
      .where("id", "=", jobId)
      .where((eb) =>
        eb.or([
          eb("lease_owner", "is", null),
          eb("lease_owner", "=", options.owner),
          eb("lease_expires_at", "<", now),
        ])
      )
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw memoryError("REEMBED_RUNNING");
  }

  return {
    async needed() {
      const active = await db.selectFrom("vector_spaces").select(["provider", "model", "dims"])
        .where("status", "=", "active").executeTakeFirst();
      return !active || active.provider !== embedder.provider || active.model !== embedder.model ||
        active.dims !== embedder.dims;
    },

    async prepare() {
      const spaceId = await buildingSpaceId();
      const open = await db.selectFrom("memory_jobs").select([
        "id",
        "lease_owner",
        "lease_expires_at",
      ])
        .where("type", "=", "reembed").where("status", "in", ["queued", "running"])
        .executeTakeFirst();
      if (open) {
        const live = open.lease_owner !== null && open.lease_owner !== options.owner &&
          (open.lease_expires_at ?? 0) >= clock.now();
        if (live) throw memoryError("REEMBED_RUNNING");
        return (await toJob(open.id))!;
      }
      const now = clock.now();
      const id = ids.next("job");
      await db.insertInto("memory_jobs").values({
        id,
        type: "reembed",
        status: "queued",
        params: JSON.stringify({ spaceId, embedder: embedder.id }),
        created_at: now,
        updated_at: now,
      }).execute();
      return (await toJob(id))!;
    },

    async run(jobId, runOptions) {
      await claim(jobId);
      const spaceId = await buildingSpaceId();
      const total = Number(
        (await db.selectFrom("memories").select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()).n,
      );
      let lastBeat = clock.now();
      try {
        for (;;) {
          if (runOptions.signal.aborted) throw runOptions.signal.reason;
          const rows = await db.selectFrom("memories as m").select(["m.id", "m.text"])
            .where((eb) =>
              eb.not(eb.exists(
                eb.selectFrom("memory_vectors as v").select("v.memory_id")
                  .whereRef("v.memory_id", "=", "m.id").where("v.space_id", "=", spaceId),
              ))
            )
            .orderBy("m.id").limit(config.embedQueue.batchSize).execute();
          const done = Number(
            (await db.selectFrom("memory_vectors").select((eb) => eb.fn.countAll().as("n"))
              .where("space_id", "=", spaceId).executeTakeFirstOrThrow()).n,
          );
          const now = clock.now();
          await db.updateTable("memory_jobs").set({
            progress_done: done,
            progress_total: total,
            updated_at: now,
            ...(now - lastBeat >= HEARTBEAT_MS || rows.length === 0
              ? { lease_expires_at: now + LEASE_MS }
              : {}),
          }).where("id", "=", jobId).execute();
          if (now - lastBeat >= HEARTBEAT_MS) lastBeat = now;
          runOptions.onProgress?.({ done, total });
          if (rows.length === 0) break;
          const vectors = await embedder.embed(rows.map((row) => row.text), {
            signal: runOptions.signal,
          });
          const wrong = vectors.findIndex((vector) => vector.length !== embedder.dims);
          if (wrong >= 0) {
            throw memoryError("EMBEDDING_DIMENSION", {
              message: `The embedder returned ${
                vectors[wrong]!.length
              } dimensions instead of ${embedder.dims}`,
            });
          }
          await store.transaction(async (trx) => {
            await trx.insertInto("memory_vectors")
              .values(
                rows.map((row, i) => ({
                  space_id: spaceId,
                  memory_id: row.id,
                  vec: vectorToBlob(vectors[i]!),
                })),
              )
              .onConflict((conflict) => conflict.columns(["space_id", "memory_id"]).doNothing())
              .execute();
          });
        }
        const now = clock.now();
        await store.transaction(async (trx) => {
          await trx.updateTable("vector_spaces").set({ status: "retired", updated_at: now })
            .where("status", "=", "active").execute();
          await trx.updateTable("vector_spaces").set({ status: "active", updated_at: now })
            .where("id", "=", spaceId).execute();
          await trx.deleteFrom("embed_queue").where("space_id", "!=", spaceId).execute();
          await trx.updateTable("memory_jobs").set({
            status: "done",
            finished_at: now,
            updated_at: now,
            lease_owner: null,
            lease_expires_at: null,
          }).where("id", "=", jobId).execute();
        });
        for (;;) {
          const batch = await db.selectFrom("memory_vectors as v")
            .innerJoin("vector_spaces as s", "s.id", "v.space_id")
            .select(["v.space_id", "v.memory_id"]).where("s.status", "=", "retired")
            .limit(RETIRED_DELETE_BATCH).execute();
          if (batch.length === 0) break;
          await store.transaction(async (trx) => {
            for (const spaceOfBatch of new Set(batch.map((row) => row.space_id))) {
              await trx.deleteFrom("memory_vectors").where("space_id", "=", spaceOfBatch)
                .where(
                  "memory_id",
                  "in",
                  batch.filter((row) => row.space_id === spaceOfBatch).map((row) => row.memory_id),
                )
                .execute();
            }
          });
        }
        log.info("re-embedding finished", { job: jobId, embedder: embedder.id, memories: total });
      } catch (error) {
        const now = clock.now();
        const aborted = runOptions.signal.aborted;
        await db.updateTable("memory_jobs").set({
          status: aborted ? "queued" : "failed",
          error: aborted ? null : error instanceof Error ? error.message : String(error),
          lease_owner: null,
          lease_expires_at: null,
          updated_at: now,
        }).where("id", "=", jobId).execute();
        throw error;
      }
      return (await toJob(jobId))!;
    },

    job: toJob,
  };
}
