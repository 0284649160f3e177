-- The readiness check's write probe (docs/observability.md): one row, updated in a transaction of
-- its own, so that /health/ready fails when the database can be read but not written (a read-only
-- or full disk, a lock held by another process).
CREATE TABLE health_probe (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  at INTEGER NOT NULL
);
INSERT INTO health_probe (id, at) VALUES (1, 0);
