import type { ColumnType, Generated } from "kysely";

/** `threads`: a conversation. */
export interface ThreadsTable {
  id: string;
  created_by: string | null;
  title: string | null;
  project_id: string | null;
  created_at: number;
  updated_at: number;
  archived: Generated<number>;
}

/** The kinds of memory. */
export type MemoryKind = "message" | "episode" | "semantic" | "self";
/** Where a memory's text came from. */
export type MemorySource = "user" | "agent" | "tool" | "web" | "peer" | "system";
/** How far a memory's text is trusted. */
export type MemoryTrust = "high" | "medium" | "low";

/** `memories`: every kind of memory; text and origin never change. */
export interface MemoriesTable {
  id: Generated<number>;
  uid: string;
  kind: MemoryKind;
  owner_user_id: string | null;
  thread_id: string | null;
  text: string;
  source: MemorySource;
  source_ref: string | null;
  trust: MemoryTrust;
  importance: number;
  suspicious: Generated<number>;
  content_hash: string;
  created_at: number;
  expires_at: number | null;
  last_recalled_at: number | null;
  recall_count: Generated<number>;
  reinforced_count: Generated<number>;
  last_reinforced_at: number | null;
}

/** `memory_messages`: conversation messages in thread order. */
export interface MemoryMessagesTable {
  memory_id: number;
  thread_id: string;
  seq: number;
  role: "user" | "assistant" | "tool";
  turn_id: string | null;
  author_id: string | null;
  tool_calls: string | null;
  tool_call_id: string | null;
  token_count: number;
  /** The whole message when it is longer than `memories.text` (≤ 8,000 characters). */
  full_text: ColumnType<string | null, string | null | undefined, string | null>;
}

/** `memory_episodes`: typed events. */
export interface MemoryEpisodesTable {
  memory_id: number;
  type: string;
  payload: string;
  valence: number | null;
  schema_version: Generated<number>;
}

/** `memory_self`: reflections and narrative versions. */
export interface MemorySelfTable {
  memory_id: number;
  subkind: "reflection" | "narrative";
  version: number | null;
  payload: string | null;
}

/** `vector_spaces`: one per embedding provider, model and dimension. */
export interface VectorSpacesTable {
  id: Generated<number>;
  provider: string;
  model: string;
  dims: number;
  quality: "semantic" | "lexical";
  status: "active" | "building" | "retired";
  created_at: number;
  updated_at: number;
}

/** `memory_vectors`: float32 little-endian BLOBs, the index's source of truth. */
export interface MemoryVectorsTable {
  space_id: number;
  memory_id: number;
  vec: Uint8Array;
}

/** `embed_queue`: memories waiting for a vector. */
export interface EmbedQueueTable {
  space_id: number;
  memory_id: number;
  attempts: Generated<number>;
  next_attempt_at: number;
  last_error: string | null;
}

/** `kv`: versioned JSON values per plugin namespace. */
export interface KvTable {
  namespace: string;
  key: string;
  value: string;
  version: number;
  updated_at: number;
}

/** `memory_jobs`: long jobs (re-embedding) with a lease. */
export interface MemoryJobsTable {
  id: string;
  type: string;
  status: "queued" | "running" | "done" | "failed" | "cancelled";
  params: string;
  progress_done: Generated<number>;
  progress_total: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** `forget_log`: who forgot what (selector and count, never content). */
export interface ForgetLogTable {
  id: Generated<number>;
  actor: string;
  selector: string;
  count: number;
  created_at: number;
}

/**
 * `forgotten`: what a forget removed, by id only (never content), so that an import does not
 * bring it back: memory uids, deleted threads' ids, deleted users' `kv` namespaces.
 */
export interface ForgottenTable {
  what: "memory" | "thread" | "kv";
  key: string;
  at: number;
}

/** `memory_changes`: the change feed other instances follow. */
export interface MemoryChangesTable {
  seq: Generated<number>;
  memory_id: number;
  op: "insert" | "delete";
  at: number;
}

/** `memory_counts`: memories per owner (`''` for shared ones) and kind, kept by triggers. */
export interface MemoryCountsTable {
  owner_key: string;
  kind: MemoryKind;
  n: number;
}

/** `health_probe`: the one row the readiness check's write probe updates. */
export interface HealthProbeTable {
  id: number;
  /** When the last probe wrote (Unix ms). */
  at: number;
}

/** `schema_migrations`: one row per applied migration file. */
export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: number;
  duration_ms: number;
}

/** `mind_ledger`: one row per language model request (prompts never stored). */
export interface MindLedgerTable {
  id: string;
  at: number;
  module: string;
  purpose: string;
  role: string;
  provider: string;
  model: string;
  request_uid: string;
  attempts: number;
  failover_index: number;
  turn_id: string | null;
  job_id: string | null;
  user_id: string | null;
  thread_id: string | null;
  tokens_in: number;
  tokens_out: number;
  cached_input_tokens: number;
  tokens_estimated: number;
  latency_ms: number;
  first_token_ms: number | null;
  cost_usd: number | null;
  status: "ok" | "error" | "parse_failed" | "aborted";
  error_code: string | null;
  http_status: number | null;
  stop_reason: string | null;
  tool_calls: number;
}

/** `mind_ledger_daily`: daily totals of ledger rows past their retention. */
export interface MindLedgerDailyTable {
  day: string;
  module: string;
  provider: string;
  model: string;
  calls: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number | null;
}

/** `mind_state`: the one affect row. */
export interface MindStateTable {
  id: number;
  p: number;
  a: number;
  d: number;
  updated_at: number;
  profile_id: string;
  version: Generated<number>;
  /** Completed turns, ever (a forget removes turn rows, not this count). */
  turn_count: Generated<number>;
}

/** `mind_turns`: one row per turn. */
export interface MindTurnsTable {
  id: string;
  seq: number;
  thread_id: string;
  user_id: string;
  status: "queued" | "running" | "completed" | "failed" | "cancelled";
  received_at: number;
  started_at: number | null;
  finished_at: number | null;
  user_message_id: string | null;
  reply_message_id: string | null;
  flags: Generated<string>;
  policy: string | null;
  feedback: "good" | "bad" | null;
  error_code: string | null;
  error_message: string | null;
  state_after: string | null;
  usage: string | null;
  stages: string | null;
  /** The client's own id for the message (`client_msg_id`), when it gave one. */
  client_msg_id: string | null;
  /**
   * A waiting turn's message until the turn starts (or ends before it): a restart after a crash
   * stores it in its thread. Null otherwise.
   */
  queued_text: Generated<string | null>;
}

/** `mind_events`: typed mind events. */
export interface MindEventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  source: string;
  turn_id: string | null;
  job_id: string | null;
  thread_id: string | null;
  data: string;
}

/** `mind_state_history`: the affect after each change of the persisted state. */
export interface MindStateHistoryTable {
  id: Generated<number>;
  at: number;
  p: number;
  a: number;
  d: number;
}

/** `mind_influence`: the influence record of each turn. */
export interface MindInfluenceTable {
  turn_id: string;
  thread_id: string;
  user_id: string;
  data: string;
}

/** `mind_jobs`: background jobs. */
export interface MindJobsTable {
  id: string;
  module: string;
  kind: string;
  turn_id: string | null;
  thread_id: string | null;
  priority: number;
  status: "queued" | "running" | "done" | "failed" | "skipped";
  reason: string | null;
  note: string | null;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  tokens: Generated<number>;
}

/** `mind_threads`: per-thread markers. */
export interface MindThreadsTable {
  thread_id: string;
  reset_after_seq: Generated<number>;
  last_reply_at: number | null;
  turns: Generated<number>;
}

/** `mind_budgets`: budget overrides per module. */
export interface MindBudgetsTable {
  module: string;
  per_turn: number | null;
  per_hour: number | null;
  per_day: number | null;
  updated_at: number;
}

/** `psyche_assurance_concerns`. */
export interface PsycheAssuranceConcernsTable {
  id: string;
  thread_id: string;
  turn_id: string;
  kind: "reply" | "ambiguity" | "tool";
  u: number;
  signals: string;
  opened_at: number;
  opened_thread_turn: number;
  resolved_at: number | null;
  status: "open" | "confirmed" | "refuted" | "expired" | "superseded";
  resolved_by_turn_id: string | null;
  opening_impulse: string;
  evidence: string | null;
  tool: string | null;
  args_hash: string | null;
}

/** `psyche_assurance_turns`. */
export interface PsycheAssuranceTurnsTable {
  turn_id: string;
  thread_id: string;
  at: number;
  u_pre: number | null;
  u_post: number | null;
  policy: string | null;
  signals: string;
  tag_missing: number;
  clarified: number;
}

/** `psyche_assurance_samples`. */
export interface PsycheAssuranceSamplesTable {
  id: Generated<number>;
  turn_id: string;
  concern_id: string | null;
  kind: string | null;
  confidence: number;
  outcome: number;
  at: number;
}

/** `psyche_dreaming_sets`. */
export interface PsycheDreamingSetsTable {
  id: string;
  turn_id: string;
  thread_id: string;
  created_at: number;
  model: string;
  status: "ready" | "parse_failed" | "resolved" | "expired" | "discarded" | "late";
  embedder_id: string;
  quality: "semantic" | "lexical";
  raw: string | null;
  error: string | null;
  resolution: string | null;
  resolved_at: number | null;
  seen_by_turn_id: string | null;
}

/** `psyche_dreaming_items`. */
export interface PsycheDreamingItemsTable {
  set_id: string;
  idx: number;
  text: string;
  p: number;
  intent: string;
  embedding: Uint8Array | null;
  sim: number | null;
}

/** `psyche_reflection_runs`. */
export interface PsycheReflectionRunsTable {
  id: string;
  at: number;
  thread_id: string | null;
  turn_id: string | null;
  job_id: string | null;
  triggers: string;
  primary_trigger: string;
  status: "done" | "failed";
  output: string | null;
  error: string | null;
  raw: string | null;
  repaired: Generated<number>;
}

/** `psyche_purpose_versions`. */
export interface PsychePurposeVersionsTable {
  version: number;
  text: string;
  words: number;
  created_at: number;
  reason: "initial" | "reflection" | "manual" | "rollback";
  source_reflection_id: string | null;
  diff: string;
  statements: string;
  embedding: Uint8Array | null;
  /** The version a rollback restored (migration 0026). */
  restored_from: number | null;
}

/** `psyche_purpose_milestones`. */
export interface PsychePurposeMilestonesTable {
  id: string;
  kind:
    | "project_completed"
    | "project_milestone"
    | "narrative_version"
    | "session_summary"
    | "growth";
  title: string;
  ref_id: string | null;
  at: number;
}

/** `psyche_purpose_sessions`. */
export interface PsychePurposeSessionsTable {
  id: string;
  thread_id: string;
  started_at: number;
  last_turn_at: number;
  ended_at: number | null;
  turns: number;
  stats: string;
  growth: number | null;
  growth_delta: number | null;
  summary: string | null;
}

/** `psyche_purpose_drift`. */
export interface PsychePurposeDriftTable {
  turn_id: string;
  at: number;
  similarity: number;
}

/** `auth_state`: one row; setup closes for good when `setup_completed_at` is set. */
export interface AuthStateTable {
  id: number;
  setup_completed_at: number | null;
}

/** `auth_setup_tokens`: SHA-256 of the setup tokens printed at start. */
export interface AuthSetupTokensTable {
  token_sha256: string;
  created_at: number;
}

/** `users`. */
export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: "viewer" | "operator" | "admin";
  active: number;
  token_version: number;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

/** `auth_sessions`: refresh-token families (one per login). */
export interface AuthSessionsTable {
  id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
}

/** `auth_refresh_tokens`: only the secret's hash is kept. */
export interface AuthRefreshTokensTable {
  jti: string;
  session_id: string;
  user_id: string;
  secret_sha256: string;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
}

/** `auth_revoked_jtis`: access tokens revoked before their expiry. */
export interface AuthRevokedJtisTable {
  jti: string;
  expires_at: number;
}

/** `api_keys`: only the secret's hash is kept. */
export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  role: "viewer" | "operator" | "admin";
  secret_sha256: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

/** `firewall_rules`: rules added through the API. */
export interface FirewallRulesTable {
  id: string;
  list: "allow" | "deny";
  cidr: string;
  note: string;
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
}

/** `firewall_state`: the mode set through the API (over the config's). */
export interface FirewallStateTable {
  id: number;
  mode: "off" | "allowlist" | "denylist";
  updated_at: number;
}

/** `tool_runs`: every tool run (spec/tools.md §8). */
export interface ToolRunsTable {
  id: string;
  tool: string;
  source: string;
  risk: string;
  args_hash: string;
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
  exit_code: number | null;
  signal: string | null;
  duration_ms: number | null;
  output_chars: number | null;
  truncated: number;
  result_preview: string | null;
  output: string | null;
  created_at: number;
  finished_at: number | null;
}

/** `tool_approvals`: decisions risky runs wait for. */
export interface ToolApprovalsTable {
  id: string;
  run_id: string;
  tool: string;
  risk: string;
  args_preview: string;
  thread_id: string | null;
  project_id: string | null;
  requested_by: string | null;
  status: "pending" | "approved" | "denied" | "expired";
  decided_by: string | null;
  note: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

/** `tool_settings`: `PATCH /api/tools/{name}` (wins over config). */
export interface ToolSettingsTable {
  name: string;
  enabled: number | null;
  requires_approval: number | null;
  updated_by: string | null;
  updated_at: number;
}

/** `gdil_projects` (spec/projects.md §2; JSON arrays as text). */
export interface GdilProjectsTable {
  id: string;
  owner_id: string;
  thread_id: string;
  name: string;
  request: string;
  template_id: string | null;
  customization: string | null;
  phase: string;
  paused_from: string | null;
  archived_from: string | null;
  brief: string | null;
  end_transformation: string | null;
  questions: string;
  uncertainties: string;
  plan_version: number;
  plan_accepted_at: number | null;
  iteration_count: number;
  max_iterations: number | null;
  exit_reason: string | null;
  exit_at: number | null;
  exit_summary: string | null;
  blockers: string;
  vcs: number;
  busy_since: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  version: number;
}

/** `gdil_tasks`: a project's roadmap in order (`idx`). */
export interface GdilTasksTable {
  id: string;
  project_id: string;
  idx: number;
  key: string;
  name: string;
  description: string;
  priority: number;
  depends_on: string;
  estimate_iterations: number;
  estimate_hours: number;
  milestone: number;
  done: number;
  blocked: number;
  progress: number;
  iterations: number;
  low_streak: number;
  planned_start: number | null;
  planned_end: number | null;
  started_at: number | null;
  finished_at: number | null;
}

/** `gdil_iterations`: one row per executed iteration. */
export interface GdilIterationsTable {
  id: string;
  project_id: string;
  task_id: string;
  n: number;
  turn_id: string | null;
  user_message: string | null;
  output: string;
  explanation: string;
  questions: string;
  raw_progress: string | null;
  progress: number;
  artifacts: string;
  usage: string | null;
  started_at: number;
  finished_at: number;
}

/** `gdil_events`: the gap-free log per project. */
export interface GdilEventsTable {
  project_id: string;
  seq: number;
  at: number;
  task_id: string | null;
  type: string;
  data: string;
}

/** `gdil_focus`: the current project per (user, thread). */
export interface GdilFocusTable {
  owner_id: string;
  thread_id: string;
  project_id: string;
}

/** Every table, as Kysely sees the database. */
export interface Database {
  threads: ThreadsTable;
  memories: MemoriesTable;
  memory_messages: MemoryMessagesTable;
  memory_episodes: MemoryEpisodesTable;
  memory_self: MemorySelfTable;
  vector_spaces: VectorSpacesTable;
  memory_vectors: MemoryVectorsTable;
  embed_queue: EmbedQueueTable;
  kv: KvTable;
  memory_jobs: MemoryJobsTable;
  forget_log: ForgetLogTable;
  forgotten: ForgottenTable;
  memory_changes: MemoryChangesTable;
  memory_counts: MemoryCountsTable;
  schema_migrations: SchemaMigrationsTable;
  health_probe: HealthProbeTable;
  mind_ledger: MindLedgerTable;
  mind_ledger_daily: MindLedgerDailyTable;
  mind_state: MindStateTable;
  mind_turns: MindTurnsTable;
  mind_events: MindEventsTable;
  mind_state_history: MindStateHistoryTable;
  mind_influence: MindInfluenceTable;
  mind_jobs: MindJobsTable;
  mind_threads: MindThreadsTable;
  mind_budgets: MindBudgetsTable;
  psyche_assurance_concerns: PsycheAssuranceConcernsTable;
  psyche_assurance_turns: PsycheAssuranceTurnsTable;
  psyche_assurance_samples: PsycheAssuranceSamplesTable;
  psyche_dreaming_sets: PsycheDreamingSetsTable;
  psyche_dreaming_items: PsycheDreamingItemsTable;
  psyche_reflection_runs: PsycheReflectionRunsTable;
  psyche_purpose_versions: PsychePurposeVersionsTable;
  psyche_purpose_milestones: PsychePurposeMilestonesTable;
  psyche_purpose_sessions: PsychePurposeSessionsTable;
  psyche_purpose_drift: PsychePurposeDriftTable;
  auth_state: AuthStateTable;
  auth_setup_tokens: AuthSetupTokensTable;
  users: UsersTable;
  auth_sessions: AuthSessionsTable;
  auth_refresh_tokens: AuthRefreshTokensTable;
  auth_revoked_jtis: AuthRevokedJtisTable;
  api_keys: ApiKeysTable;
  firewall_rules: FirewallRulesTable;
  firewall_state: FirewallStateTable;
  tool_runs: ToolRunsTable;
  tool_approvals: ToolApprovalsTable;
  tool_settings: ToolSettingsTable;
  gdil_projects: GdilProjectsTable;
  gdil_tasks: GdilTasksTable;
  gdil_iterations: GdilIterationsTable;
  gdil_events: GdilEventsTable;
  gdil_focus: GdilFocusTable;
}
