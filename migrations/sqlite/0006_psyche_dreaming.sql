-- psyche_dreaming (spec/mind.md §6): forecast sets of the user's next
-- message, their items with embeddings, and how each set resolved.

CREATE TABLE psyche_dreaming_sets (
  id TEXT PRIMARY KEY,
  turn_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  model TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ready', 'parse_failed', 'resolved', 'expired', 'discarded', 'late')),
  embedder_id TEXT NOT NULL,
  quality TEXT NOT NULL CHECK (quality IN ('semantic', 'lexical')),
  raw TEXT,
  error TEXT,
  resolution TEXT,
  resolved_at INTEGER,
  seen_by_turn_id TEXT
);
CREATE INDEX psyche_dreaming_sets_thread ON psyche_dreaming_sets (thread_id, created_at);
CREATE INDEX psyche_dreaming_sets_status ON psyche_dreaming_sets (status, resolved_at);

CREATE TABLE psyche_dreaming_items (
  set_id TEXT NOT NULL REFERENCES psyche_dreaming_sets (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  text TEXT NOT NULL,
  p REAL NOT NULL,
  intent TEXT NOT NULL,
  embedding BLOB,
  sim REAL,
  PRIMARY KEY (set_id, idx)
);
