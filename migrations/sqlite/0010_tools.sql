-- Tools (spec/tools.md §8): every run, the approvals risky runs wait for,
-- and the settings operators changed through the API (they win over the
-- config). Times are epoch ms.

CREATE TABLE tool_runs (
  id TEXT PRIMARY KEY,
  tool TEXT NOT NULL,
  source TEXT NOT NULL,
  risk TEXT NOT NULL,
  args_hash TEXT NOT NULL,
  args_preview TEXT NOT NULL,
  requested_by TEXT,
  module TEXT NOT NULL,
  thread_id TEXT,
  turn_id TEXT,
  project_id TEXT,
  approval_id TEXT,
  approver_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending_approval', 'running', 'succeeded', 'failed',
    'denied', 'expired', 'cancelled')),
  error_code TEXT,
  exit_code INTEGER,
  signal TEXT,
  duration_ms INTEGER,
  output_chars INTEGER,
  truncated INTEGER NOT NULL DEFAULT 0,
  result_preview TEXT,
  output TEXT,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX tool_runs_by_time ON tool_runs (created_at);
CREATE INDEX tool_runs_by_tool ON tool_runs (tool, created_at);

CREATE TABLE tool_approvals (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  tool TEXT NOT NULL,
  risk TEXT NOT NULL,
  args_preview TEXT NOT NULL,
  thread_id TEXT,
  project_id TEXT,
  requested_by TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
  decided_by TEXT,
  note TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  decided_at INTEGER
);
CREATE INDEX tool_approvals_by_status ON tool_approvals (status, created_at);

CREATE TABLE tool_settings (
  name TEXT PRIMARY KEY,
  enabled INTEGER,
  requires_approval INTEGER,
  updated_by TEXT,
  updated_at INTEGER NOT NULL
);
