-- What a forget removed, by id only (never content), so that importing an older export does not
-- bring it back (spec/memory.md §8.2: "nothing returns them again"): the uids of forgotten
-- memories, the ids of deleted threads, and the `kv` namespaces of deleted users.
CREATE TABLE forgotten (
  what TEXT NOT NULL CHECK (what IN ('memory', 'thread', 'kv')),
  key TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (what, key)
) WITHOUT ROWID;
