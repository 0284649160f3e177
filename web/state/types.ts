/**
 * The shapes the dashboard reads from the server (spec/server.md §4.3,
 * §5.3; tools.md §8). Declared here rather than imported, because the
 * server's modules use the Deno namespace, which browser code has not.
 *
 * @module
 */

/** A user as the API shows it. */
export interface User {
  id: string;
  username: string;
  role: "viewer" | "operator" | "admin";
}

/** A WebSocket envelope from the server. */
export interface Envelope {
  type: string;
  seq: number;
  ts: number;
  re?: number;
  data: Record<string, unknown>;
}

/** `ToolRun`. */
export interface ToolRun {
  id: string;
  tool: string;
  source: string;
  risk: string;
  args_preview: string;
  requested_by: string | null;
  module: string;
  thread_id: string | null;
  turn_id: string | null;
  project_id: string | null;
  approval_id: string | null;
  approver_id: string | null;
  status:
    | "pending_approval"
    | "running"
    | "succeeded"
    | "failed"
    | "denied"
    | "expired"
    | "cancelled";
  error_code: string | null;
  duration_ms: number | null;
  result_preview: string | null;
  truncated: boolean;
  created_at: string;
  finished_at: string | null;
}

/** `Approval`. */
export interface Approval {
  id: string;
  run_id: string;
  tool: string;
  risk: string;
  args_preview: string;
  thread_id: string | null;
  expires_at: string;
  status: "pending" | "approved" | "denied" | "expired";
}

/** A thread in the list. */
export interface Thread {
  id: string;
  title: string | null;
  archived?: boolean;
  updated_at: string;
  message_count: number;
}

/** One message of the chat log. */
export interface ChatMessage {
  /** The stored message id, or `pending:<client id>` / `turn:<turn id>` while unsaved. */
  key: string;
  role: "user" | "assistant";
  text: string;
  turnId: string | null;
  status: "sent" | "streaming" | "completed" | "failed" | "cancelled";
  /** Streamed pieces by index (duplicates ignored). */
  pieces?: string[];
  usage?: { model?: string; input_tokens?: number; output_tokens?: number } | null;
  error?: { code: string; message: string } | null;
  /** A file a command's answer offers (the `/export` JSON), saved when asked for. */
  download?: { blob: Blob; name: string } | null;
  createdAt: string;
}

/** An influence record (mind.md §14), loosely typed: the panel shows what it finds. */
export type Influence = Record<string, unknown>;

/** The readiness document's checks. */
export interface HealthCheck {
  status: "ok" | "degraded" | "fail";
  reason?: string;
}

// The Mind page and the memory browser (spec/dashboard.md §5.3). Keys are
// snake_case and times RFC 3339 strings, as everywhere on the wire.

/** A narrative version (`/api/narrative/versions`, mind.md §9). */
export interface NarrativeVersion {
  version: number;
  text: string;
  words: number;
  created_at: string;
  reason: "initial" | "reflection" | "manual" | "rollback";
  source_reflection_id: string | null;
  /** The version a rollback restored. */
  restored_from: number | null;
  diff: Array<{ op: "=" | "+" | "-"; text: string }>;
  statements: string[];
}

/** A forecast set (`/api/forecasts`, mind.md §6). */
export interface ForecastSet {
  id: string;
  thread_id: string;
  turn_id: string;
  created_at: string;
  model: string;
  status: "ready" | "parse_failed" | "resolved" | "expired" | "discarded" | "late";
  quality: "semantic" | "lexical";
  items: Array<{ text: string; p: number; intent: string; sim: number | null }>;
  resolution: {
    turn_id: string;
    alignment: number;
    surprise: number;
    best: number;
    intent_hit: boolean;
  } | null;
  resolved_at: string | null;
  error: string | null;
}

/** Accuracy of one embedder quality over the window. */
export interface ForecastAccuracy {
  sets: number;
  alignment: number;
  surprise: number;
  intent_hit_rate: number;
}

/** `/api/forecasts/calibration`. */
export interface ForecastCalibration {
  window: number;
  embedder: "semantic" | "lexical";
  note?: string;
  semantic: ForecastAccuracy | null;
  lexical: ForecastAccuracy | null;
  counts: Record<string, number>;
  parse_failure_rate: number | null;
}

/** A concern (`/api/concerns`, mind.md §7.4). */
export interface Concern {
  id: string;
  thread_id: string;
  turn_id: string;
  kind: "reply" | "ambiguity" | "tool";
  u: number;
  signals: Record<string, number | null>;
  opened_at: string;
  resolved_at: string | null;
  status: "open" | "confirmed" | "refuted" | "expired" | "superseded";
  resolved_by_turn_id: string | null;
}

/** A reflection run (`/api/reflections`, mind.md §8). */
export interface Reflection {
  id: string;
  at: string;
  thread_id: string | null;
  triggers: Array<{ trigger: string; value: string }>;
  primary_trigger: string;
  status: "done" | "failed";
  output: {
    coherence: number;
    alignment: number;
    issues: string[];
    instructions: string[];
    insight: string | null;
    self_statement: string;
  } | null;
  error: string | null;
  repaired: boolean;
}

/** A module's token budget and use (`/api/budgets`). */
export interface Budget {
  module: string;
  source: "profile" | "api" | "none";
  per_turn: number | null;
  per_hour: number | null;
  per_day: number | null;
  used_hour: number;
  /** Tokens in the last 24 hours (the window `per_day` limits). */
  used_day: number;
}

/** `/api/ledger/summary`: totals per group. */
export interface LedgerSummary {
  since: string;
  until: string;
  group_by: string;
  groups: Array<{
    key: string;
    calls: number;
    tokens_in: number;
    tokens_out: number;
    cost_usd: number | null;
  }>;
}

/** A point of `/api/state/history` (P/A/D and the flow estimate at a time). */
export interface StatePoint {
  at: string;
  affect?: { p: number; a: number; d: number };
  calibration?: { ema: number | null; state?: string };
}

/** The memory kinds (memory.md). */
export const MEMORY_KINDS = ["message", "episode", "semantic", "self"] as const;

/** A memory (`/api/memories`). */
export interface Memory {
  id: string;
  kind: (typeof MEMORY_KINDS)[number];
  text: string;
  source: string;
  trust: string;
  importance: number;
  suspicious: boolean;
  owner_user_id: string | null;
  thread_id: string | null;
  created_at: string;
  expires_at: string | null;
  recall_count: number;
}

// Project workspaces and version control (spec/projects.md §9, §11; dashboard.md §5.4 Files).

/** A file of a project's workspace (`GET /api/projects/{id}/files`). */
export interface WorkspaceFile {
  /** Relative to the workspace, `/`-separated. */
  path: string;
  bytes: number;
  modified_at: string | null;
  sha256: string;
}

/** A commit of a project's workspace (`GET /api/projects/{id}/vcs/log`, newest first). */
export interface VcsCommit {
  hash: string;
  subject: string;
  at: string;
}

/** `POST /api/projects/{id}/vcs/rollback`: the new HEAD and where the old one is kept. */
export interface VcsRollback {
  head: string;
  backup_branch: string;
}

/** The embedder of `/api/memories/stats`: `label` is "lexical" for the local default. */
export interface MemoryEmbedder {
  id: string;
  provider: string;
  model: string;
  dims: number;
  quality: "semantic" | "lexical";
  label: "semantic" | "lexical";
}
