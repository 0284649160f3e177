-- Forgetting a thread and exporting a user's data read only that thread's or that user's rows.
-- Without these, each forget scanned every event, job, influence record and memory, and each
-- export every turn and influence record.
CREATE INDEX mind_events_thread ON mind_events (thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX mind_jobs_thread ON mind_jobs (thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX mind_influence_thread ON mind_influence (thread_id, turn_id);
CREATE INDEX mind_turns_user ON mind_turns (user_id, seq);
-- The facts drawn from a thread's messages name the message they came from.
CREATE INDEX memories_source_ref ON memories (source_ref) WHERE source_ref IS NOT NULL;
