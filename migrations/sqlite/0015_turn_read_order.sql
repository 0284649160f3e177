-- Every turn reads a thread's newest forecast set, its last turns' clarifications and its open
-- concerns, each ordered with a tie-breaker the old indexes lacked: SQLite sorted the rows in a
-- temporary B-tree on each read. These indexes hold the whole order.
DROP INDEX psyche_dreaming_sets_thread;
CREATE INDEX psyche_dreaming_sets_thread ON psyche_dreaming_sets (thread_id, created_at, id);
DROP INDEX psyche_assurance_turns_thread;
CREATE INDEX psyche_assurance_turns_thread ON psyche_assurance_turns (thread_id, at, turn_id);
DROP INDEX psyche_assurance_concerns_thread;
CREATE INDEX psyche_assurance_concerns_thread ON psyche_assurance_concerns (thread_id, status, opened_at, id);
