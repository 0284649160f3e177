-- The ledger of language model calls (spec/mind.md §13, spec/llm.md §7).
-- Prompts and replies are never stored here.

CREATE TABLE mind_ledger (
  id TEXT PRIMARY KEY,
  at INTEGER NOT NULL,
  module TEXT NOT NULL,
  purpose TEXT NOT NULL,
  role TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  request_uid TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  failover_index INTEGER NOT NULL,
  turn_id TEXT,
  job_id TEXT,
  user_id TEXT,
  thread_id TEXT,
  tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL DEFAULT 0,
  tokens_estimated INTEGER NOT NULL DEFAULT 0 CHECK (tokens_estimated IN (0, 1)),
  latency_ms INTEGER NOT NULL,
  first_token_ms INTEGER,
  cost_usd REAL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'parse_failed', 'aborted')),
  error_code TEXT,
  http_status INTEGER,
  stop_reason TEXT,
  tool_calls INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mind_ledger_module_at ON mind_ledger (module, at);
CREATE INDEX mind_ledger_at ON mind_ledger (at);

-- Daily totals of rows past their retention, kept two years.
CREATE TABLE mind_ledger_daily (
  day TEXT NOT NULL,
  module TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  calls INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL,
  cost_usd REAL,
  PRIMARY KEY (day, module, provider, model)
);
