-- Conversations and memory (spec/memory.md §3). Timestamps are Unix
-- milliseconds, flags 0/1, JSON is TEXT parsed in TypeScript.

CREATE TABLE threads (
  id TEXT PRIMARY KEY,
  created_by TEXT,
  title TEXT,
  project_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1))
);
CREATE INDEX threads_created_by ON threads (created_by, updated_at);

CREATE TABLE memories (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('message', 'episode', 'semantic', 'self')),
  owner_user_id TEXT,
  thread_id TEXT REFERENCES threads (id) ON DELETE CASCADE,
  text TEXT NOT NULL CHECK (length(text) <= 8000),
  source TEXT NOT NULL CHECK (source IN ('user', 'agent', 'tool', 'web', 'peer', 'system')),
  source_ref TEXT,
  trust TEXT NOT NULL CHECK (trust IN ('high', 'medium', 'low')),
  importance REAL NOT NULL CHECK (importance >= 0 AND importance <= 1),
  suspicious INTEGER NOT NULL DEFAULT 0 CHECK (suspicious IN (0, 1)),
  content_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_recalled_at INTEGER,
  recall_count INTEGER NOT NULL DEFAULT 0,
  reinforced_count INTEGER NOT NULL DEFAULT 0,
  last_reinforced_at INTEGER
);
CREATE INDEX memories_owner_kind_created ON memories (owner_user_id, kind, created_at);
CREATE INDEX memories_owner_hash ON memories (owner_user_id, content_hash);
CREATE INDEX memories_expires ON memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_thread ON memories (thread_id);

-- Add-only at the database level: only counters, expiry, suspicion and
-- importance may change.
CREATE TRIGGER memories_immutable BEFORE UPDATE OF text, kind, owner_user_id, source ON memories
BEGIN
  SELECT RAISE(ABORT, 'memories content is immutable');
END;

CREATE TABLE memory_messages (
  memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
  thread_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
  turn_id TEXT,
  author_id TEXT,
  tool_calls TEXT,
  tool_call_id TEXT,
  token_count INTEGER NOT NULL,
  UNIQUE (thread_id, seq)
);

CREATE TABLE memory_episodes (
  memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  valence REAL,
  schema_version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX memory_episodes_type ON memory_episodes (type);

CREATE TABLE memory_self (
  memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
  subkind TEXT NOT NULL CHECK (subkind IN ('reflection', 'narrative')),
  version INTEGER,
  payload TEXT
);

CREATE VIRTUAL TABLE memory_fts USING fts5 (
  text,
  content = 'memories',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories
BEGIN
  INSERT INTO memory_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories
BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

CREATE TABLE vector_spaces (
  id INTEGER PRIMARY KEY,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  dims INTEGER NOT NULL CHECK (dims > 0),
  quality TEXT NOT NULL CHECK (quality IN ('semantic', 'lexical')),
  status TEXT NOT NULL CHECK (status IN ('active', 'building', 'retired')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (provider, model, dims)
);
CREATE UNIQUE INDEX vector_spaces_one_active ON vector_spaces (status) WHERE status = 'active';

CREATE TABLE memory_vectors (
  space_id INTEGER NOT NULL REFERENCES vector_spaces (id) ON DELETE CASCADE,
  memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  vec BLOB NOT NULL,
  PRIMARY KEY (space_id, memory_id)
);
CREATE INDEX memory_vectors_memory ON memory_vectors (memory_id);

CREATE TABLE embed_queue (
  space_id INTEGER NOT NULL REFERENCES vector_spaces (id) ON DELETE CASCADE,
  memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  PRIMARY KEY (space_id, memory_id)
);
CREATE INDEX embed_queue_due ON embed_queue (next_attempt_at);

CREATE TABLE kv (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, key)
);

CREATE TABLE memory_jobs (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  params TEXT NOT NULL,
  progress_done INTEGER NOT NULL DEFAULT 0,
  progress_total INTEGER,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER
);

CREATE TABLE forget_log (
  id INTEGER PRIMARY KEY,
  actor TEXT NOT NULL,
  selector TEXT NOT NULL,
  count INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE memory_changes (
  seq INTEGER PRIMARY KEY,
  memory_id INTEGER NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('insert', 'delete')),
  at INTEGER NOT NULL
);
CREATE TRIGGER memories_change_insert AFTER INSERT ON memories
BEGIN
  INSERT INTO memory_changes (memory_id, op, at) VALUES (new.id, 'insert', new.created_at);
END;
CREATE TRIGGER memories_change_delete AFTER DELETE ON memories
BEGIN
  INSERT INTO memory_changes (memory_id, op, at)
  VALUES (old.id, 'delete', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
