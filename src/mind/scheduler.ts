/**
 * The background scheduler (spec/mind.md §13): one worker runs jobs by
 * priority then FIFO, waits while a turn is running, never interrupts a
 * running job, lets a newer forecast supersede a queued one, and stops LLM
 * work when the mind has been idle.
 *
 * @module
 */
import { afterResponse, type Clock, isoTime } from "../clock.ts";
import type { IdFactory } from "../ids.ts";
import type { ModuleLlm } from "../llm/gateway.ts";
import type { Ledger } from "../llm/ledger.ts";
import { LlmError } from "../llm/errors.ts";
import type { ChatRequest } from "../llm/types.ts";
import type { Store } from "../store/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Governor } from "./governor.ts";
import type { BackgroundJob, HistoryMessage, JobResult } from "./types.ts";

/** A job's record (`mind_jobs`). */
export interface JobRecord {
  id: string;
  module: string;
  kind: string;
  turnId: string | null;
  threadId: string | null;
  priority: number;
  status: "queued" | "running" | "done" | "failed" | "skipped";
  reason?: "budget" | "idle" | "disabled" | "superseded" | "shutdown" | "forgotten";
  note?: string;
  queuedAt: number;
  startedAt?: number;
  finishedAt?: number;
  tokens: number;
}

/** A job's record as the API shows it (`/reflect`'s `data.job`): snake_case, RFC 3339 times. */
export interface JobView {
  id: string;
  module: string;
  kind: string;
  turn_id: string | null;
  thread_id: string | null;
  priority: number;
  status: JobRecord["status"];
  reason: NonNullable<JobRecord["reason"]> | null;
  note: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  tokens: number;
}

/** The wire form of a job's record. */
export function jobView(record: JobRecord): JobView {
  return {
    id: record.id,
    module: record.module,
    kind: record.kind,
    turn_id: record.turnId,
    thread_id: record.threadId,
    priority: record.priority,
    status: record.status,
    reason: record.reason ?? null,
    note: record.note ?? null,
    queued_at: isoTime(record.queuedAt),
    started_at: record.startedAt === undefined ? null : isoTime(record.startedAt),
    finished_at: record.finishedAt === undefined ? null : isoTime(record.finishedAt),
    tokens: record.tokens,
  };
}

interface Queued {
  id: string;
  job: BackgroundJob;
  queuedAt: number;
  order: number;
}

/** Options for {@link createScheduler}. */
export interface SchedulerOptions {
  store: Store;
  clock: Clock;
  ids: IdFactory;
  log: Logger;
  governor: Governor;
  /** The ledger: a job's tokens. */
  ledger: Pick<Ledger, "jobTokens">;
  /** The gateway view of a module. */
  llmFor(module: string): ModuleLlm;
  /** The mind-scope state for jobs. */
  state(): Promise<Record<string, unknown>>;
  /** A thread's newest messages for jobs. */
  messages(threadId: string, maxMessages: number): Promise<HistoryMessage[]>;
  /** Whether LLM jobs may run now (idle stop). */
  mayRun(): boolean;
  /** Applies what a job returns (impulses, events) to the mind. */
  onResult(job: BackgroundJob, record: JobRecord, result: JobResult): Promise<void>;
  /** Told about every status change (bus `mind.job`). */
  onChange(record: JobRecord): void;
  /** Aborted on shutdown. */
  signal: AbortSignal;
}

/** The scheduler. */
export interface Scheduler {
  /** Queues a job (a queued job with the same supersede key is skipped). */
  enqueue(job: BackgroundJob): Promise<string>;
  /** True while a turn runs stages 2–12: queued jobs wait. */
  setTurnActive(active: boolean): void;
  /**
   * Announces jobs still to be queued (a turn queues its jobs after its reply has gone out):
   * `idle()` waits until the returned release is called.
   */
  hold(): () => void;
  /** Resolves when nothing is queued, running or held (tests, shutdown). */
  idle(): Promise<void>;
  /** Jobs queued or running now. */
  readonly pending: number;
  /** Stops taking jobs; queued ones are skipped with reason shutdown. */
  stop(): Promise<void>;
  /** Skips the queued jobs of a forgotten thread. */
  forgetThread(threadId: string): Promise<number>;
  /** Resolves with a job's record once it is done, failed or skipped. */
  wait(jobId: string): Promise<JobRecord>;
  /** A job's stored record, or null when no job has this id. */
  find(jobId: string): Promise<JobRecord | null>;
}

/** Adds the job's identity to every request, so budgets see it. */
function jobLlm(llm: ModuleLlm, jobId: string, turnId: string | null): ModuleLlm {
  const withContext = <R extends Omit<ChatRequest, "module">>(request: R): R => ({
    ...request,
    context: { ...request.context, jobId, ...(turnId ? { turnId } : {}) },
  });
  return {
    chat: (request) => llm.chat(withContext(request)),
    complete: (request) => llm.complete(withContext(request)),
    completeJson: (request, schema) => llm.completeJson(withContext(request), schema),
    embed: (texts, options) => llm.embed(texts, options),
    embedder: llm.embedder,
    status: () => llm.status(),
    usage: (sinceMs) => llm.usage(sinceMs),
  };
}

/** Creates the scheduler. */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, clock, ids, log, governor } = options;
  let queue: Queued[] = [];
  let order = 0;
  let turnActive = false;
  let running: Promise<void> | undefined;
  let stopped = false;
  let idleWaiters: Array<() => void> = [];
  let holds = 0;
  const finished = new Map<string, JobRecord>();
  const jobWaiters = new Map<string, Array<(record: JobRecord) => void>>();

  async function write(record: JobRecord) {
    const row = {
      id: record.id,
      module: record.module,
      kind: record.kind,
      turn_id: record.turnId,
      thread_id: record.threadId,
      priority: record.priority,
      status: record.status,
      reason: record.reason ?? null,
      note: record.note ?? null,
      queued_at: record.queuedAt,
      started_at: record.startedAt ?? null,
      finished_at: record.finishedAt ?? null,
      tokens: record.tokens,
    };
    await store.db.insertInto("mind_jobs").values(row)
      .onConflict((conflict) => conflict.column("id").doUpdateSet(row)).execute();
    options.onChange(record);
    if (record.status !== "queued" && record.status !== "running") {
      finished.set(record.id, record);
      if (finished.size > 1_000) finished.delete(finished.keys().next().value!);
      for (const resolve of jobWaiters.get(record.id) ?? []) resolve(record);
      jobWaiters.delete(record.id);
    }
  }

  function recordOf(queued: Queued): JobRecord {
    return {
      id: queued.id,
      module: queued.job.module,
      kind: queued.job.kind,
      turnId: queued.job.turnId ?? null,
      threadId: queued.job.threadId ?? null,
      priority: queued.job.priority,
      status: "queued",
      queuedAt: queued.queuedAt,
      tokens: 0,
    };
  }

  function notifyIdle() {
    if (queue.length > 0 || running || holds > 0) return;
    for (const resolve of idleWaiters) resolve();
    idleWaiters = [];
  }

  async function runOne(queued: Queued) {
    const record = recordOf(queued);
    if (!options.mayRun()) {
      await write({ ...record, status: "skipped", reason: "idle", finishedAt: clock.now() });
      return;
    }
    const startedAt = clock.now();
    await write({ ...record, status: "running", startedAt });
    const llm = jobLlm(options.llmFor(queued.job.module), queued.id, record.turnId);
    let result: JobResult | void;
    try {
      result = await queued.job.run({
        jobId: queued.id,
        turnId: record.turnId,
        threadId: record.threadId,
        signal: options.signal,
        now: startedAt,
        llm,
        state: options.state,
        messages: options.messages,
      });
    } catch (error) {
      const finishedAt = clock.now();
      const tokens = await tokensOf(queued.id);
      if (error instanceof LlmError && error.code === "BUDGET_EXHAUSTED") {
        const window = governor.refusal(queued.id) ?? "budget";
        await write({
          ...record,
          status: "skipped",
          reason: "budget",
          note: `over the ${window} budget`,
          startedAt,
          finishedAt,
          tokens,
        });
        await options.onResult(queued.job, { ...record, status: "skipped", reason: "budget" }, {
          events: [{
            type: "budget.skipped",
            data: { module: queued.job.module, kind: queued.job.kind, window, job_id: queued.id },
          }],
        });
        return;
      }
      log.warn("a background job failed", {
        job: queued.id,
        module: queued.job.module,
        kind: queued.job.kind,
        error,
      });
      await write({
        ...record,
        status: "failed",
        note: error instanceof Error ? error.message.slice(0, 300) : String(error),
        startedAt,
        finishedAt,
        tokens,
      });
      return;
    }
    const done: JobRecord = {
      ...record,
      status: result?.failed ? "failed" : "done",
      startedAt,
      finishedAt: clock.now(),
      tokens: await tokensOf(queued.id),
      ...(result?.failed ? { note: result.failed } : result?.note ? { note: result.note } : {}),
    };
    await write(done);
    if (result) await options.onResult(queued.job, done, result);
  }

  function tokensOf(jobId: string): Promise<number> {
    return options.ledger.jobTokens(jobId);
  }

  function pump() {
    if (running || turnActive || stopped || queue.length === 0) {
      notifyIdle();
      return;
    }
    queue.sort((a, b) => a.job.priority - b.job.priority || a.order - b.order);
    const next = queue.shift()!;
    // A job starts in a later task, so the reply of the turn that queued it goes out first; a
    // turn that started meanwhile goes first, and a stop meanwhile skips it.
    running = afterResponse().then(() => {
      if (stopped) {
        return write({
          ...recordOf(next),
          status: "skipped",
          reason: "shutdown",
          finishedAt: clock.now(),
        });
      }
      if (turnActive) {
        queue.unshift(next);
        return;
      }
      return runOne(next);
    }).catch((error) => log.error("the scheduler failed a job", { error }))
      .finally(() => {
        running = undefined;
        pump();
      });
  }

  return {
    async enqueue(job) {
      const queued: Queued = { id: ids.next("job"), job, queuedAt: clock.now(), order: order++ };
      if (stopped) {
        await write({ ...recordOf(queued), status: "skipped", reason: "shutdown" });
        return queued.id;
      }
      if (job.supersedeKey !== undefined) {
        const older = queue.filter((item) => item.job.supersedeKey === job.supersedeKey);
        queue = queue.filter((item) => item.job.supersedeKey !== job.supersedeKey);
        for (const item of older) {
          await write({
            ...recordOf(item),
            status: "skipped",
            reason: "superseded",
            finishedAt: clock.now(),
          });
        }
      }
      queue.push(queued);
      await write(recordOf(queued));
      pump();
      return queued.id;
    },
    setTurnActive(active) {
      turnActive = active;
      if (!active) pump();
    },
    hold() {
      holds++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        holds--;
        notifyIdle();
      };
    },
    idle() {
      if (queue.length === 0 && !running && holds === 0) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      idleWaiters.push(resolve);
      return promise;
    },
    get pending() {
      return queue.length + (running ? 1 : 0);
    },
    async find(jobId) {
      const row = await store.db.selectFrom("mind_jobs").selectAll().where("id", "=", jobId)
        .executeTakeFirst();
      if (!row) return null;
      return {
        id: row.id,
        module: row.module,
        kind: row.kind,
        turnId: row.turn_id,
        threadId: row.thread_id,
        priority: row.priority,
        status: row.status,
        ...(row.reason ? { reason: row.reason as NonNullable<JobRecord["reason"]> } : {}),
        ...(row.note ? { note: row.note } : {}),
        queuedAt: row.queued_at,
        ...(row.started_at !== null ? { startedAt: row.started_at } : {}),
        ...(row.finished_at !== null ? { finishedAt: row.finished_at } : {}),
        tokens: row.tokens,
      };
    },
    wait(jobId) {
      const done = finished.get(jobId);
      if (done) return Promise.resolve(done);
      const { promise, resolve } = Promise.withResolvers<JobRecord>();
      jobWaiters.set(jobId, [...(jobWaiters.get(jobId) ?? []), resolve]);
      return promise;
    },
    async forgetThread(threadId) {
      const dropped = queue.filter((item) => item.job.threadId === threadId);
      queue = queue.filter((item) => item.job.threadId !== threadId);
      for (const item of dropped) {
        await write({
          ...recordOf(item),
          status: "skipped",
          reason: "forgotten",
          finishedAt: clock.now(),
        });
      }
      await running;
      return dropped.length;
    },
    async stop() {
      stopped = true;
      const left = queue;
      queue = [];
      for (const item of left) {
        await write({
          ...recordOf(item),
          status: "skipped",
          reason: "shutdown",
          finishedAt: clock.now(),
        });
      }
      await running;
      notifyIdle();
    },
  };
}
