-- The IP firewall (spec/server.md §8): rules added through the API and the
-- mode chosen there (both persist over the config's). Times are epoch ms.

CREATE TABLE firewall_rules (
  id TEXT PRIMARY KEY,
  list TEXT NOT NULL CHECK (list IN ('allow', 'deny')),
  cidr TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  created_by TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (list, cidr)
);

CREATE TABLE firewall_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  mode TEXT NOT NULL CHECK (mode IN ('off', 'allowlist', 'denylist')),
  updated_at INTEGER NOT NULL
);
