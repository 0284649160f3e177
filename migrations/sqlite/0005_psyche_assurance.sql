-- psyche_assurance (spec/mind.md §7): concerns, calibration samples and the
-- per-turn post-assessment that later evidence is matched against.

CREATE TABLE psyche_assurance_concerns (
  id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  turn_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('reply', 'ambiguity', 'tool')),
  u REAL NOT NULL,
  signals TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  opened_thread_turn INTEGER NOT NULL,
  resolved_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('open', 'confirmed', 'refuted', 'expired', 'superseded')),
  resolved_by_turn_id TEXT,
  opening_impulse TEXT NOT NULL,
  evidence TEXT,
  tool TEXT,
  args_hash TEXT
);
CREATE INDEX psyche_assurance_concerns_thread ON psyche_assurance_concerns (thread_id, status);

CREATE TABLE psyche_assurance_turns (
  turn_id TEXT PRIMARY KEY,
  thread_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  u_pre REAL,
  u_post REAL,
  policy TEXT,
  signals TEXT NOT NULL,
  tag_missing INTEGER NOT NULL CHECK (tag_missing IN (0, 1)),
  clarified INTEGER NOT NULL CHECK (clarified IN (0, 1))
);
CREATE INDEX psyche_assurance_turns_thread ON psyche_assurance_turns (thread_id, at);

CREATE TABLE psyche_assurance_samples (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  turn_id TEXT NOT NULL,
  concern_id TEXT,
  kind TEXT,
  confidence REAL NOT NULL,
  outcome INTEGER NOT NULL CHECK (outcome IN (0, 1)),
  at INTEGER NOT NULL
);
