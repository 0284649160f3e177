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
  createdAt: string;
}

/** An influence record (mind.md §14), loosely typed: the panel shows what it finds. */
export type Influence = Record<string, unknown>;

/** The readiness document's checks. */
export interface HealthCheck {
  status: "ok" | "degraded" | "fail";
  reason?: string;
}
