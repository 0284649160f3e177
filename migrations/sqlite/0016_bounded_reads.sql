-- Reads that run for every background job or every state snapshot must not scan a table that
-- grows with every turn. Before these indexes, at 100,000 turns (300,000 ledger rows) a job's two
-- token sums took about 155 ms, and a state snapshot's counts about 25 ms.

-- A job's tokens (the scheduler) and a module's tokens in one turn (the per-turn budget).
CREATE INDEX mind_ledger_job ON mind_ledger (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX mind_ledger_turn ON mind_ledger (turn_id, module) WHERE turn_id IS NOT NULL;

-- Counts per status over the newest forecast sets (spec/mind.md §6: the accuracy window).
CREATE INDEX psyche_dreaming_sets_created ON psyche_dreaming_sets (created_at, id);

-- The open concerns' count.
CREATE INDEX psyche_assurance_concerns_status ON psyche_assurance_concerns (status);

-- A turn's sample (when later evidence resolves its reply).
CREATE INDEX psyche_assurance_samples_turn ON psyche_assurance_samples (turn_id);

-- Turns by status, newest last: the count of completed turns and the turns a crash left running
-- (at start), and the newest completed turn's state (every turn). Without seq in it, SQLite would
-- sort every completed turn to find the newest.
CREATE INDEX mind_turns_status ON mind_turns (status, seq);

-- The newest completed session's growth and the number completed.
CREATE INDEX psyche_purpose_sessions_ended ON psyche_purpose_sessions (ended_at) WHERE growth IS NOT NULL;
