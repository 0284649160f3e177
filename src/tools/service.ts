/**
 * The tool host `tools` (spec/tools.md §4, §8): the registry of tools, the
 * decision whether a call needs a human, approvals that expire as denied,
 * a concurrency gate in front of the sandbox, and a `ToolRun` record of
 * every run — denied, expired, failed and cancelled ones too — with a
 * `tool.run` event at each status change.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import type { EventBus } from "../bus.ts";
import { type Clock, isoTime, type TimerHandle } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { Role } from "../http/types.ts";
import type { IdFactory } from "../ids.ts";
import type { ToolSpec } from "../llm/types.ts";
import type { Grants, KillReason, SandboxPool } from "../sandbox/host.ts";
import type { Store } from "../store/store.ts";
import { afterKey } from "../store/keyset.ts";
import type { TimeIdKey } from "../http/paging.ts";
import type { ToolApprovalsTable, ToolRunsTable } from "../store/schema.ts";
import type { Logger } from "../telemetry/logger.ts";
import { BUILTIN_TOOL_NAMES, type ToolsConfig } from "./config.ts";
import { ToolError } from "./errors.ts";
import { invokeTool, parseToolArgs, runWorker } from "./invoke.ts";
import { argsPreview, toolArgsHash } from "./args.ts";
import { TOOL_RISKS, type ToolDefinition, type ToolResult, type ToolRisk } from "./types.ts";
import { userWorkspace, userWorkspacePath } from "./workspace.ts";
import type { UserDeletingEvent } from "../security/auth.ts";

declare module "../bus.ts" {
  interface BusEventMap {
    /** A run changed status (WS `tool.run` to its requester and administrators). */
    "tool.run": ToolRunView;
    /** A run waits for a decision (WS `tool.approval_request` to its requester and admins). */
    "tool.approval_request": ApprovalView;
    /** An approval was decided or expired. */
    "tool.approval_closed": ApprovalView;
  }
}

/** `ToolRun` as the API shows it (spec/tools.md §8). */
export interface ToolRunView {
  id: string;
  tool: string;
  source: string;
  risk: ToolRisk;
  args_hash: string;
  args_preview: string;
  requested_by: string | null;
  module: string;
  thread_id: string | null;
  turn_id: string | null;
  project_id: string | null;
  approval_id: string | null;
  approver_id: string | null;
  status: ToolRunsTable["status"];
  error_code: string | null;
  exit_code: number | null;
  signal: string | null;
  duration_ms: number | null;
  output_chars: number | null;
  truncated: boolean;
  result_preview: string | null;
  created_at: string;
  finished_at: string | null;
}

/** `Approval` as the API shows it. */
export interface ApprovalView {
  id: string;
  run_id: string;
  tool: string;
  risk: string;
  args_preview: string;
  thread_id: string | null;
  project_id: string | null;
  requested_by: string | null;
  expires_at: string;
  status: ToolApprovalsTable["status"];
  decided_by: string | null;
  note: string | null;
  created_at: string;
  decided_at: string | null;
}

/** `Tool` as `GET /api/tools` and `/tools` show it. */
export interface ToolView {
  name: string;
  description: string;
  risk: ToolRisk;
  source: string;
  enabled: boolean;
  /** False while the tool's plugin is not running (it is then not offered to the model). */
  available: boolean;
  requires_approval: boolean;
  parameters: Record<string, unknown>;
  grants: Record<string, string[]>;
  limits: { timeout_ms: number; max_output_chars: number };
}

/** Who asks for a run, and where from. */
export interface RunRequest {
  /** The user the run acts for (their workspace); null for the system. */
  requestedBy: string | null;
  /** `mind` (a model's call), `api`, `command`, or a plugin id. */
  module: string;
  threadId?: string | null;
  turnId?: string | null;
  projectId?: string | null;
  /** An operator or admin asking directly counts as the approver. */
  approverId?: string | null;
  /** Aborting cancels the run (waiting or running). */
  signal?: AbortSignal;
  /**
   * The workspace of workspace tools (a project's folder, created when
   * missing); absent, the requesting user's workspace.
   */
  workspaceDir?: string;
}

/** A plugin's worker module for {@link ToolService.runWorker}. */
export interface WorkerRun {
  /** Names the run in errors. */
  label: string;
  /** A self-contained module exporting `run(args, ctx)` (type imports only). */
  worker: URL;
  args: unknown;
  grants: Grants;
  /** The child's working directory and the worker's `ctx.workspace`. */
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A started run: its record now, its result when it ends. */
export interface StartedRun {
  run: ToolRunView;
  result: Promise<ToolResult>;
}

/** Options for {@link createToolService}. */
export interface ToolServiceOptions {
  config: ToolsConfig;
  store: Store;
  clock: Clock;
  ids: IdFactory;
  log: Logger;
  bus: EventBus;
  dataDir: string;
  /** Environment lookups for configured secrets. */
  env?: (name: string) => string | undefined;
  /** Warm processes for grantless tools. */
  pool?: SandboxPool;
  /** A copy of the sandbox runner (a compiled binary with `denoPath`). */
  runnerDir?: string | null;
  onRunEnd?: (tool: string, outcome: string, seconds: number) => void;
  onKill?: (reason: KillReason) => void;
}

/** The tool host. */
export interface ToolService {
  /** Adds a tool (the `tool_*` plugins' `ctx.tools.register`). */
  // deno-lint-ignore no-explicit-any
  register(tool: ToolDefinition<any>, source: string): void;
  /** Forgets every tool `source` registered (a third-party plugin's, before it registers anew). */
  unregister(source: string): void;
  /** Loads the persisted settings; call after every plugin registered. */
  start(): Promise<void>;
  /** Every registered tool. */
  list(): ToolView[];
  /** The enabled tools for the model (JSON Schema draft-7 parameters). */
  specs(): ToolSpec[];
  /**
   * Starts a run: validates, waits for approval when needed, runs in the
   * sandbox. Throws for an unknown (404) or disabled (409) tool, bad
   * arguments (400) when `strict`; otherwise every failure is the result.
   */
  startRun(name: string, args: unknown, request: RunRequest, strict?: boolean): Promise<StartedRun>;
  /** Runs and waits: the model's path (never throws for tool failures). */
  call(
    name: string,
    args: unknown,
    request: RunRequest,
  ): Promise<{ runId: string | null; result: ToolResult }>;
  /** Changes a tool's settings (persisted; wins over config). */
  patch(
    name: string,
    change: { enabled?: boolean | undefined; requires_approval?: boolean | undefined },
    by: string,
  ): Promise<ToolView>;
  /**
   * Newest first; `before` continues after that run (a page's last). With `requestedBy`, only
   * that user's runs (a non-administrator sees their own).
   */
  listRuns(
    filter: {
      tool?: string | undefined;
      status?: string | undefined;
      requestedBy?: string | null | undefined;
      limit: number;
      before?: TimeIdKey | undefined;
    },
  ): Promise<ToolRunView[]>;
  /** A run; with `reader`, 404 unless that user requested it. */
  getRun(id: string, reader?: string | null): Promise<ToolRunView>;
  /** The full result text (≤ 64 KiB); with `reader`, 404 unless that user requested the run. */
  output(id: string, reader?: string | null): Promise<string>;
  cancel(id: string, by: string): Promise<ToolRunView>;
  /**
   * Approvals, newest first: those `requester` asked for (their runs), or everyone's when it is
   * null (an administrator); `before` continues after that approval (a page's last).
   */
  listApprovals(
    status: string | undefined,
    limit: number,
    before: TimeIdKey | undefined,
    requester: string | null,
  ): Promise<ApprovalView[]>;
  /**
   * Decides a pending approval; a second answer is 409 `APPROVAL_CLOSED`. Only the user whose run
   * waits, or an administrator, decides: for anyone else it is 404 `APPROVAL_NOT_FOUND`, as their
   * run is.
   */
  decide(
    id: string,
    decision: "approve" | "deny",
    by: { userId: string; role: Role },
    note?: string,
  ): Promise<ApprovalView>;
  /** Pending approvals right now. */
  pendingApprovals(): number;
  /**
   * Runs a plugin's own worker module in a fresh sandbox child with exactly
   * `grants` (see {@link runWorker}); not a tool run, so not recorded.
   */
  runWorker(job: WorkerRun): Promise<unknown>;
  /** Cancels waiting approvals and running calls; stops the pool. */
  stop(): Promise<void>;
}

/** A run waiting for a decision. */
interface WaitingApproval {
  runId: string;
  /** The approval as stored when it was asked for. */
  row: ToolApprovalsTable;
  /** Ends the wait: clears its timer and listener, and resumes the run. */
  settle(end: ApprovalEnd): void;
}

/** How a wait for approval ended. */
interface ApprovalEnd {
  approved: boolean;
  /** The run was cancelled while it waited. */
  cancelled: boolean;
  row: ToolApprovalsTable;
}

const RESULT_PREVIEW_CHARS = 2_048;
const OUTPUT_CHARS = 64 * 1024;
const riskRank = (risk: ToolRisk) => TOOL_RISKS.indexOf(risk);

/** A waiting line in front of the sandbox: at most `limit` at once, `queue` waiting. */
function createGate(limit: number, queue: number, timeoutMs: number, clock: Clock) {
  let running = 0;
  const waiting: Array<{ go(): void; timer: TimerHandle }> = [];
  const busy = () => new ToolError("TOOLS_BUSY", "The sandbox is busy; try again in a moment");
  return {
    /** Enters, or waits in line; a cancelled run leaves the line (`TOOLS_CANCELLED`). */
    async enter(signal?: AbortSignal): Promise<() => void> {
      if (running < limit) running++;
      else {
        if (waiting.length >= queue) throw busy();
        await new Promise<void>((resolve, reject) => {
          const leave = (error: ToolError) => {
            const at = waiting.indexOf(entry);
            if (at >= 0) waiting.splice(at, 1);
            clock.clearTimeout(entry.timer);
            signal?.removeEventListener("abort", onAbort);
            reject(error);
          };
          const onAbort = () =>
            leave(new ToolError("TOOLS_CANCELLED", "The run was cancelled while it waited"));
          const entry = {
            go: () => {
              clock.clearTimeout(entry.timer);
              signal?.removeEventListener("abort", onAbort);
              resolve();
            },
            timer: clock.setTimeout(() => leave(busy()), timeoutMs),
          };
          waiting.push(entry);
          signal?.addEventListener("abort", onAbort, { once: true });
        });
      }
      let left = false;
      return () => {
        if (left) return;
        left = true;
        const next = waiting.shift();
        if (next) next.go();
        else running--;
      };
    },
  };
}

function runView(row: ToolRunsTable): ToolRunView {
  const { output: _output, truncated, created_at, finished_at, ...rest } = row;
  return {
    ...rest,
    risk: row.risk as ToolRisk,
    truncated: truncated === 1,
    created_at: isoTime(created_at),
    finished_at: finished_at === null ? null : isoTime(finished_at),
  };
}

function approvalView(row: ToolApprovalsTable): ApprovalView {
  return {
    ...row,
    expires_at: isoTime(row.expires_at),
    created_at: isoTime(row.created_at),
    decided_at: row.decided_at === null ? null : isoTime(row.decided_at),
  };
}

/** JSON Schema of a tool's arguments for native tool calling (spec/tools.md §1). */
export function toolParameters(schema: z.ZodObject): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: "draft-7", io: "input" }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  json.additionalProperties = false;
  return json;
}

/** Creates the tool host. */
export function createToolService(options: ToolServiceOptions): ToolService {
  const { config, store, clock, ids, log, bus } = options;
  const tools = new Map<
    string,
    // deno-lint-ignore no-explicit-any
    { def: ToolDefinition<any>; source: string; parameters: Record<string, unknown> }
  >();
  const settings = new Map<string, { enabled: boolean | null; requiresApproval: boolean | null }>();
  /**
   * Approvals waiting for a decision. Whoever takes an entry out of this map
   * (a decision, a cancel, the expiry, an abort) decides it, and takes it
   * synchronously, before any await: a racing second answer finds it gone.
   */
  const approvals = new Map<string, WaitingApproval>();
  const running = new Map<string, AbortController>();
  /** The outcome of each run not ended yet. */
  const ending = new Map<string, Promise<ToolResult>>();
  const gate = createGate(
    config.sandbox.maxConcurrent,
    config.sandbox.queueLimit,
    config.sandbox.queueTimeoutMs,
    clock,
  );
  const emptyDir = join(options.dataDir, "sandbox", "empty");
  const stopping = new AbortController();

  function enabled(name: string): boolean {
    const setting = settings.get(name)?.enabled;
    if (setting !== null && setting !== undefined) return setting;
    const entry = tools.get(name);
    // Plugin tools are enabled by their plugin's config; built-in ones by `tools.enabled`.
    return entry?.source !== "builtin" || config.enabled.includes(name);
  }

  const available = (name: string) => tools.get(name)?.def.available?.() ?? true;

  function requiresApproval(name: string): boolean {
    const entry = tools.get(name)!;
    const setting = settings.get(name)?.requiresApproval;
    if (
      setting === false && entry.def.risk === "execute" && !config.approval.allowUnattendedExecute
    ) {
      return true;
    }
    if (setting !== null && setting !== undefined) return setting;
    return riskRank(entry.def.risk) >= riskRank(config.approval.threshold) ||
      config.approval.require.includes(name);
  }

  function view(name: string): ToolView {
    const { def, source, parameters } = tools.get(name)!;
    return {
      name,
      description: def.description,
      risk: def.risk,
      source,
      enabled: enabled(name),
      available: available(name),
      requires_approval: requiresApproval(name),
      parameters,
      grants: Object.fromEntries(
        Object.entries(def.grants).filter(([, list]) => list && list.length > 0),
      ) as Record<string, string[]>,
      limits: { timeout_ms: def.limits.timeoutMs, max_output_chars: def.limits.maxOutputChars },
    };
  }

  function lookup(name: string) {
    const entry = tools.get(name);
    if (!entry) {
      throw new ToolError(
        "TOOLS_UNKNOWN",
        `Tool '${name}' not found; available: ${[...tools.keys()].join(", ")}`,
        { details: { available: [...tools.keys()] } },
      );
    }
    if (!enabled(name)) throw new ToolError("TOOLS_DISABLED", `Tool '${name}' is disabled`);
    return entry;
  }

  /**
   * Whether `reader` sees a run or approval: null (an administrator, or an internal caller) sees
   * all; a user sees what they asked for.
   */
  const visibleTo = (reader: string | null | undefined, row: { requested_by: string | null }) =>
    typeof reader !== "string" || row.requested_by === reader;

  /** A run's row; with `reader`, another user's run is as unknown as a missing one. */
  async function readRun(id: string, reader?: string | null): Promise<ToolRunsTable> {
    const row = await store.db.selectFrom("tool_runs").selectAll().where("id", "=", id)
      .executeTakeFirst();
    if (!row || !visibleTo(reader, row)) {
      throw new AppError("TOOLS_RUN_NOT_FOUND", "No such tool run", { status: 404 });
    }
    return row;
  }

  async function update(id: string, change: Partial<ToolRunsTable>): Promise<ToolRunView> {
    await store.db.updateTable("tool_runs").set(change).where("id", "=", id).execute();
    const row = runView(await readRun(id));
    bus.publish("tool.run", row);
    return row;
  }

  /**
   * Closes a waiting approval the caller has already taken out of
   * `approvals`: stores the decision (only over a still pending row),
   * publishes `tool.approval_closed` and resumes the run.
   */
  async function closeApproval(
    waiting: WaitingApproval,
    change: Pick<ToolApprovalsTable, "status" | "decided_by" | "note">,
    cancelled = false,
  ): Promise<ToolApprovalsTable> {
    const closed: ToolApprovalsTable = { ...waiting.row, ...change, decided_at: clock.now() };
    try {
      await store.db.updateTable("tool_approvals").set({
        status: closed.status,
        decided_by: closed.decided_by,
        note: closed.note,
        decided_at: closed.decided_at,
      }).where("id", "=", closed.id).where("status", "=", "pending").execute();
      bus.publish("tool.approval_closed", approvalView(closed));
    } finally {
      waiting.settle({ approved: closed.status === "approved", cancelled, row: closed });
    }
    return closed;
  }

  /** Waits for a decision, an expiry, or `signal` (the run's: a cancel, the server stopping). */
  async function askApproval(
    runId: string,
    name: string,
    preview: string,
    request: RunRequest,
    signal: AbortSignal,
  ): Promise<ApprovalEnd> {
    const id = ids.next("apr");
    const now = clock.now();
    const row: ToolApprovalsTable = {
      id,
      run_id: runId,
      tool: name,
      risk: tools.get(name)!.def.risk,
      args_preview: preview,
      thread_id: request.threadId ?? null,
      project_id: request.projectId ?? null,
      requested_by: request.requestedBy,
      status: "pending",
      decided_by: null,
      note: null,
      created_at: now,
      expires_at: now + config.approval.timeoutMs,
      decided_at: null,
    };
    await store.db.insertInto("tool_approvals").values(row).execute();
    await update(runId, { approval_id: id });
    const { promise: ended, resolve } = Promise.withResolvers<ApprovalEnd>();
    const take = () => approvals.get(id) === waiting && approvals.delete(id);
    const close = (change: Pick<ToolApprovalsTable, "status" | "note">, cancelled: boolean) => {
      if (!take()) return;
      closeApproval(waiting, { ...change, decided_by: null }, cancelled).catch((error) =>
        log.error("closing an approval failed", { approvalId: id, error })
      );
    };
    const onAbort = () => close({ status: "denied", note: "the run was cancelled" }, true);
    const timer = clock.setTimeout(
      () => close({ status: "expired", note: null }, false),
      config.approval.timeoutMs,
    );
    const waiting: WaitingApproval = {
      runId,
      row,
      settle(end) {
        clock.clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(end);
      },
    };
    approvals.set(id, waiting);
    bus.publish("tool.approval_request", approvalView(row));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    return await ended;
  }

  async function execute(
    runId: string,
    name: string,
    args: unknown,
    request: RunRequest,
    needsApproval: boolean,
    preview: string,
  ): Promise<ToolResult> {
    const { def } = tools.get(name)!;
    const started = clock.now();
    const finish = async (
      status: ToolRunsTable["status"],
      result: ToolResult,
      extra: Partial<ToolRunsTable> = {},
    ): Promise<ToolResult> => {
      // Not cancellable once it is finishing (a cancel now is 409, not an abort of nothing).
      running.delete(runId);
      const text = JSON.stringify(result);
      const finishedAt = clock.now();
      await update(runId, {
        status,
        error_code: result.ok ? null : result.error.code,
        duration_ms: finishedAt - started,
        output_chars: text.length,
        truncated: result.ok && result.truncated ? 1 : 0,
        result_preview: text.length > RESULT_PREVIEW_CHARS
          ? `${text.slice(0, RESULT_PREVIEW_CHARS - 1)}…`
          : text,
        output: text.length > OUTPUT_CHARS ? text.slice(0, OUTPUT_CHARS) : text,
        finished_at: finishedAt,
        ...extra,
      });
      options.onRunEnd?.(name, status, (finishedAt - started) / 1000);
      return result;
    };
    // One controller per run. The listeners it puts on the long-lived signals (the request's,
    // the server's stop) are removed when the run ends, whatever the path.
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    request.signal?.addEventListener("abort", onAbort, { once: true });
    stopping.signal.addEventListener("abort", onAbort, { once: true });
    if (request.signal?.aborted || stopping.signal.aborted) controller.abort();
    try {
      if (needsApproval) {
        const end = await askApproval(runId, name, preview, request, controller.signal);
        if (end.cancelled) {
          return await finish("cancelled", {
            ok: false,
            error: {
              code: "TOOLS_CANCELLED",
              message: `The ${name} call was cancelled before it was approved; it was not run`,
            },
          });
        }
        if (!end.approved) {
          const expired = end.row.status === "expired";
          return await finish(expired ? "expired" : "denied", {
            ok: false,
            error: {
              code: "TOOLS_DENIED",
              message: expired
                ? `Nobody approved the ${name} call in time; it was not run`
                : `An operator denied the ${name} call${end.row.note ? `: ${end.row.note}` : ""}`,
            },
            // Who decided, as for an approved call: the run tells who denied it.
          }, { approver_id: expired ? null : end.row.decided_by });
        }
        // Switched off (or its plugin gone) while it waited: an approval does not bring it back.
        if (!enabled(name) || !tools.has(name)) {
          return await finish("failed", {
            ok: false,
            error: {
              code: "TOOLS_DISABLED",
              message:
                `Tool '${name}' was disabled while its call waited for approval; it was not run`,
            },
          }, { approver_id: end.row.decided_by });
        }
        // Cancellable as a running run from now on (set before the await below).
        running.set(runId, controller);
        await update(runId, { status: "running", approver_id: end.row.decided_by });
      } else running.set(runId, controller);
      let leave: () => void;
      try {
        leave = await gate.enter(controller.signal);
      } catch (error) {
        if (error instanceof ToolError) {
          return await finish(error.code === "TOOLS_CANCELLED" ? "cancelled" : "failed", {
            ok: false,
            error: { code: error.code, message: error.message },
          });
        }
        throw error;
      }
      try {
        const workspace = !def.workspace
          ? null
          : request.workspaceDir
          ? await Deno.mkdir(request.workspaceDir, { recursive: true }).then(() =>
            Deno.realPath(request.workspaceDir!)
          )
          : await userWorkspace(options.dataDir, request.requestedBy ?? "local");
        if (!def.workspace) await Deno.mkdir(emptyDir, { recursive: true });
        const result = await invokeTool(def, args, {
          config,
          workspace,
          emptyDir,
          pool: options.pool,
          env: options.env,
          signal: controller.signal,
          onKill: options.onKill,
          runnerDir: options.runnerDir,
        });
        if (!result.ok && result.error.code === "TOOLS_CANCELLED") {
          return await finish("cancelled", result);
        }
        return await finish(result.ok ? "succeeded" : "failed", result);
      } finally {
        leave();
      }
    } catch (error) {
      log.error("a tool run failed unexpectedly", { tool: name, runId, error });
      return await finish("failed", {
        ok: false,
        error: { code: "TOOLS_FAILED", message: `${name} failed unexpectedly` },
      });
    } finally {
      running.delete(runId);
      request.signal?.removeEventListener("abort", onAbort);
      stopping.signal.removeEventListener("abort", onAbort);
    }
  }

  const service: ToolService = {
    register(def, source) {
      if (!/^[a-z][a-z0-9_]{0,47}$/.test(def.name) && source === "builtin") {
        throw new AppError("TOOLS_NAME_INVALID", `Tool name '${def.name}' is not snake_case`);
      }
      if (tools.has(def.name)) {
        throw new AppError("TOOLS_NAME_TAKEN", `Tool '${def.name}' is registered twice`);
      }
      tools.set(def.name, { def, source, parameters: toolParameters(def.args) });
    },

    unregister(source) {
      for (const [name, entry] of tools) if (entry.source === source) tools.delete(name);
    },

    async start() {
      // A mistyped name in the config would otherwise do nothing without a word.
      for (
        const [key, names] of [
          ["tools.enabled", config.enabled],
          ["tools.approval.require", config.approval.require],
        ] as const
      ) {
        // A built-in whose plugin is not loaded is no mistake (the default lists them all).
        const unknown = names.filter((name) =>
          !tools.has(name) && !(BUILTIN_TOOL_NAMES as readonly string[]).includes(name)
        );
        if (unknown.length > 0) {
          log.warn(`${key} names tools no plugin provides; they are ignored`, {
            unknown,
            known: [...tools.keys()].sort(),
          });
        }
      }
      const rows = await store.db.selectFrom("tool_settings").selectAll().execute();
      for (const row of rows) {
        settings.set(row.name, {
          enabled: row.enabled === null ? null : row.enabled === 1,
          requiresApproval: row.requires_approval === null ? null : row.requires_approval === 1,
        });
      }
      // Runs a crash or restart left open are closed for the record.
      const now = clock.now();
      await store.db.updateTable("tool_runs").set({
        status: "cancelled",
        error_code: "TOOLS_INTERRUPTED",
        finished_at: now,
      }).where("status", "in", ["pending_approval", "running"]).execute();
      await store.db.updateTable("tool_approvals").set({ status: "expired", decided_at: now })
        .where("status", "=", "pending").execute();
      const cutoff = now - config.records.retentionDays * 86_400_000;
      await store.db.deleteFrom("tool_runs").where("created_at", "<", cutoff).execute();
      await store.db.deleteFrom("tool_approvals").where("created_at", "<", cutoff).execute();
      if ([...tools.values()].some((entry) => entry.def.pool)) {
        // A sandbox that cannot start (no permission to run prlimit or deno) is the `sandbox`
        // health check's to report, and each tool call's to refuse: the server still starts.
        try {
          options.pool?.warm();
        } catch (error) {
          log.warn("the tool sandbox's warm processes could not start; tool calls will fail", {
            error,
          });
        }
      }
    },

    list() {
      return [...tools.keys()].map(view);
    },

    runWorker(job) {
      return runWorker(job.label, {
        worker: job.worker,
        args: job.args,
        grants: job.grants,
        cwd: job.cwd,
        workspace: job.cwd,
        timeoutMs: job.timeoutMs,
        sandbox: options.config.sandbox,
        signal: job.signal,
        onKill: options.onKill,
        runnerDir: options.runnerDir,
      });
    },

    specs() {
      return [...tools.keys()].filter((name) => enabled(name) && available(name)).map((name) => ({
        name,
        description: tools.get(name)!.def.description,
        parameters: tools.get(name)!.parameters,
      }));
    },

    async startRun(name, args, request, strict = true) {
      const { def, source } = lookup(name);
      let parsed: unknown;
      let invalid: ToolError | null = null;
      try {
        parsed = parseToolArgs(def, args);
      } catch (error) {
        if (strict || !(error instanceof ToolError)) throw error;
        invalid = error;
      }
      const preview = argsPreview(args);
      const needsApproval = !request.approverId && requiresApproval(name);
      const row: ToolRunsTable = {
        id: ids.next("run"),
        tool: name,
        source,
        risk: def.risk,
        args_hash: await toolArgsHash(args),
        args_preview: preview,
        requested_by: request.requestedBy,
        module: request.module,
        thread_id: request.threadId ?? null,
        turn_id: request.turnId ?? null,
        project_id: request.projectId ?? null,
        approval_id: null,
        approver_id: request.approverId && requiresApproval(name) ? request.approverId : null,
        status: invalid ? "failed" : needsApproval ? "pending_approval" : "running",
        error_code: invalid?.code ?? null,
        exit_code: null,
        signal: null,
        duration_ms: invalid ? 0 : null,
        output_chars: null,
        truncated: 0,
        result_preview: invalid ? invalid.message : null,
        output: null,
        created_at: clock.now(),
        finished_at: invalid ? clock.now() : null,
      };
      await store.db.insertInto("tool_runs").values(row).execute();
      const run = runView(row);
      bus.publish("tool.run", run);
      if (invalid) {
        return {
          run,
          result: Promise.resolve({
            ok: false,
            error: { code: invalid.code, message: invalid.message },
          }),
        };
      }
      const result = execute(row.id, name, parsed, request, needsApproval, preview);
      // A cancel answers with the run as it ended, not as it was when asked.
      ending.set(row.id, result);
      void result.finally(() => ending.delete(row.id)).catch(() => {});
      return { run, result };
    },

    async call(name, args, request) {
      try {
        const started = await service.startRun(name, args, request, false);
        return { runId: started.run.id, result: await started.result };
      } catch (error) {
        if (error instanceof ToolError) {
          return {
            runId: null,
            result: { ok: false, error: { code: error.code, message: error.message } },
          };
        }
        throw error;
      }
    },

    async patch(name, change, by) {
      if (!tools.has(name)) lookup(name);
      const { def } = tools.get(name)!;
      if (
        change.requires_approval === false && def.risk === "execute" &&
        !config.approval.allowUnattendedExecute
      ) {
        throw new AppError(
          "TOOLS_APPROVAL_REQUIRED",
          `'${name}' runs code; turning its approval off needs tools.approval.allowUnattendedExecute`,
          { status: 409, field: "requires_approval" },
        );
      }
      const current = settings.get(name) ?? { enabled: null, requiresApproval: null };
      const next = {
        enabled: change.enabled ?? current.enabled,
        requiresApproval: change.requires_approval ?? current.requiresApproval,
      };
      const values = {
        enabled: next.enabled === null ? null : next.enabled ? 1 : 0,
        requires_approval: next.requiresApproval === null ? null : next.requiresApproval ? 1 : 0,
        updated_by: by,
        updated_at: clock.now(),
      };
      await store.db.insertInto("tool_settings").values({ name, ...values })
        .onConflict((conflict) => conflict.column("name").doUpdateSet(values)).execute();
      settings.set(name, next);
      return view(name);
    },

    async listRuns(filter) {
      let query = store.db.selectFrom("tool_runs").selectAll().orderBy("created_at", "desc")
        .orderBy("id", "desc").limit(filter.limit);
      if (filter.tool) query = query.where("tool", "=", filter.tool);
      if (typeof filter.requestedBy === "string") {
        query = query.where("requested_by", "=", filter.requestedBy);
      }
      const before = filter.before;
      if (before) {
        query = query.where((eb) => afterKey(eb, { at: "created_at", id: "id" }, before));
      }
      if (filter.status) {
        query = query.where("status", "=", filter.status as ToolRunsTable["status"]);
      }
      return (await query.execute()).map(runView);
    },

    async getRun(id, reader) {
      return runView(await readRun(id, reader));
    },

    async output(id, reader) {
      const row = await readRun(id, reader);
      if (row.output === null) {
        throw new AppError("TOOLS_RUN_NOT_FINISHED", "The run has no output yet", { status: 409 });
      }
      return row.output;
    },

    async cancel(id, by) {
      // Decided before any await: a waiting approval is taken out of the map (a racing decision
      // then gets 409), else a running run is aborted.
      let waiting: WaitingApproval | undefined;
      for (const [approvalId, entry] of approvals) {
        if (entry.runId !== id) continue;
        approvals.delete(approvalId);
        waiting = entry;
        break;
      }
      const ended = ending.get(id);
      if (waiting) {
        await closeApproval(waiting, { status: "denied", decided_by: by, note: "cancelled" }, true);
        await ended?.catch(() => {});
      } else if (running.has(id)) {
        running.get(id)!.abort();
        // Abort ends a run at once (a sandbox is killed, a wait in line left); its row then
        // says cancelled, and the answer shows it so.
        await ended?.catch(() => {});
      } else {
        const row = await readRun(id);
        const open = row.status === "pending_approval" || row.status === "running";
        throw new AppError(
          "TOOLS_RUN_FINISHED",
          open
            ? `The run's approval was just decided; it cannot be cancelled at this moment`
            : `The run is already ${row.status}`,
          { status: 409, details: { status: row.status } },
        );
      }
      return runView(await readRun(id));
    },

    async listApprovals(status, limit, before, requester) {
      let query = store.db.selectFrom("tool_approvals").selectAll().orderBy("created_at", "desc")
        .orderBy("id", "desc").limit(limit);
      if (requester !== null) query = query.where("requested_by", "=", requester);
      if (before) {
        query = query.where((eb) => afterKey(eb, { at: "created_at", id: "id" }, before));
      }
      if (status) query = query.where("status", "=", status as ToolApprovalsTable["status"]);
      return (await query.execute()).map(approvalView);
    },

    async decide(id, decision, by, note) {
      // Another user's approval is not there for the caller, as their run is not.
      const reader = by.role === "admin" ? null : by.userId;
      // Taken before any await: whoever takes it (this, a cancel, the expiry) decides.
      const waiting = approvals.get(id);
      if (waiting && visibleTo(reader, waiting.row)) approvals.delete(id);
      else {
        const row = await store.db.selectFrom("tool_approvals").selectAll().where("id", "=", id)
          .executeTakeFirst();
        if (!row || !visibleTo(reader, row)) {
          throw new AppError("APPROVAL_NOT_FOUND", "No such approval", {
            status: 404,
            field: "approval_id",
          });
        }
        throw new AppError(
          "APPROVAL_CLOSED",
          row.status === "pending"
            ? "This approval was just closed by another answer"
            : `This approval is already ${row.status}`,
          { status: 409, details: { status: row.status } },
        );
      }
      const closed = await closeApproval(waiting, {
        status: decision === "approve" ? "approved" : "denied",
        decided_by: by.userId,
        note: note ?? null,
      });
      return approvalView(closed);
    },

    pendingApprovals() {
      return approvals.size;
    },

    async stop() {
      stopping.abort();
      unsubscribe();
      await options.pool?.close();
    },
  };

  /**
   * A deleted user's tool traces (security.md: an account's deletion forgets everything it owns):
   * their waiting and running calls end, their runs and approvals go, and so does their
   * workspace with the files their calls wrote.
   */
  async function forgetUser(userId: string): Promise<void> {
    const open = await store.db.selectFrom("tool_runs").select("id")
      .where("requested_by", "=", userId).where("status", "in", ["pending_approval", "running"])
      .execute();
    for (const { id } of open) {
      await service.cancel(id, "deleted").catch((error) => {
        // Ended meanwhile: nothing left to cancel.
        if (!(error instanceof AppError && error.code === "TOOLS_RUN_FINISHED")) throw error;
      });
    }
    await store.db.deleteFrom("tool_approvals").where("requested_by", "=", userId).execute();
    await store.db.deleteFrom("tool_runs").where("requested_by", "=", userId).execute();
    await Deno.remove(await userWorkspacePath(options.dataDir, userId), { recursive: true })
      .catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
  }
  const unsubscribe = bus.subscribe("user.deleting", (event) => {
    const deleting: UserDeletingEvent = event.data;
    deleting.waitUntil(forgetUser(deleting.userId));
  });
  return service;
}
