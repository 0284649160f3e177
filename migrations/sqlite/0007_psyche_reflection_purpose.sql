-- psyche_reflection (spec/mind.md §8): reflection runs with their triggers,
-- output or failure. psyche_purpose (§9): narrative versions, milestones,
-- sessions and the reply-to-narrative similarities behind drift.

CREATE TABLE psyche_reflection_runs (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  thread_id TEXT,
  turn_id TEXT,
  job_id TEXT,
  triggers TEXT NOT NULL,
  primary_trigger TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
  output TEXT,
  error TEXT,
  raw TEXT,
  repaired INTEGER NOT NULL DEFAULT 0 CHECK (repaired IN (0, 1))
);
CREATE INDEX psyche_reflection_runs_at ON psyche_reflection_runs (at);

CREATE TABLE psyche_purpose_versions (
  version INTEGER PRIMARY KEY,
  text TEXT NOT NULL,
  words INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('initial', 'reflection', 'manual', 'rollback')),
  source_reflection_id TEXT,
  diff TEXT NOT NULL,
  statements TEXT NOT NULL,
  embedding BLOB
);

CREATE TABLE psyche_purpose_milestones (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('project_completed', 'project_milestone', 'narrative_version', 'session_summary', 'growth')),
  title TEXT NOT NULL,
  ref_id TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX psyche_purpose_milestones_at ON psyche_purpose_milestones (at);

CREATE TABLE psyche_purpose_sessions (
  id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  last_turn_at INTEGER NOT NULL,
  ended_at INTEGER,
  turns INTEGER NOT NULL,
  stats TEXT NOT NULL,
  growth REAL,
  growth_delta REAL,
  summary TEXT
);
CREATE INDEX psyche_purpose_sessions_thread ON psyche_purpose_sessions (thread_id, ended_at);

CREATE TABLE psyche_purpose_drift (
  turn_id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  similarity REAL NOT NULL
);
CREATE INDEX psyche_purpose_drift_at ON psyche_purpose_drift (at);
