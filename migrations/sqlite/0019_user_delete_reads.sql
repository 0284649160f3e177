-- Deleting a user (and forgetting their threads) reads only their rows: without these it scanned
-- every tool run, reflection run and milestone, and SQLite's check of a deleted user's refresh
-- tokens scanned them all.
CREATE INDEX tool_runs_thread ON tool_runs (thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX psyche_reflection_runs_thread ON psyche_reflection_runs (thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX psyche_purpose_milestones_ref ON psyche_purpose_milestones (ref_id) WHERE ref_id IS NOT NULL;
CREATE INDEX auth_refresh_tokens_user ON auth_refresh_tokens (user_id);
-- The runs a crash or a stop left queued or running, marked at start.
CREATE INDEX tool_runs_status ON tool_runs (status);
