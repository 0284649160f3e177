-- The mind's affect over time (spec/server.md §4.2 `/api/state/history`): one row per change of
-- the persisted state, pruned after `mind.stateHistoryDays`.
CREATE TABLE mind_state_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  p REAL NOT NULL,
  a REAL NOT NULL,
  d REAL NOT NULL
);
CREATE INDEX mind_state_history_at ON mind_state_history (at);
