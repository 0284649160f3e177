-- The mind's kernel state (spec/mind.md §14): affect, turns, events,
-- influence records, background jobs, per-thread markers, budget overrides.

CREATE TABLE mind_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  p REAL NOT NULL,
  a REAL NOT NULL,
  d REAL NOT NULL,
  updated_at INTEGER NOT NULL,
  profile_id TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE mind_turns (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  thread_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  received_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  user_message_id TEXT,
  reply_message_id TEXT,
  flags TEXT NOT NULL DEFAULT '{}',
  policy TEXT,
  feedback TEXT CHECK (feedback IS NULL OR feedback IN ('good', 'bad')),
  error_code TEXT,
  error_message TEXT,
  state_after TEXT,
  usage TEXT,
  stages TEXT
);
CREATE INDEX mind_turns_thread ON mind_turns (thread_id, seq);

CREATE TABLE mind_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  turn_id TEXT,
  job_id TEXT,
  thread_id TEXT,
  data TEXT NOT NULL
);
CREATE INDEX mind_events_turn ON mind_events (turn_id);
CREATE INDEX mind_events_type ON mind_events (type, at);

CREATE TABLE mind_influence (
  turn_id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  data TEXT NOT NULL
);

CREATE TABLE mind_jobs (
  id TEXT PRIMARY KEY,
  module TEXT NOT NULL,
  kind TEXT NOT NULL,
  turn_id TEXT,
  thread_id TEXT,
  priority INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'skipped')),
  reason TEXT,
  note TEXT,
  queued_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  tokens INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mind_jobs_status ON mind_jobs (status, priority, queued_at);

-- Per-thread kernel markers: the /reset point and the last reply's time.
CREATE TABLE mind_threads (
  thread_id TEXT PRIMARY KEY,
  reset_after_seq INTEGER NOT NULL DEFAULT 0,
  last_reply_at INTEGER,
  turns INTEGER NOT NULL DEFAULT 0
);

-- Token budgets set through PUT /api/budgets/{module}; the profile's otherwise.
CREATE TABLE mind_budgets (
  module TEXT PRIMARY KEY,
  per_turn INTEGER,
  per_hour INTEGER,
  per_day INTEGER,
  updated_at INTEGER NOT NULL
);
