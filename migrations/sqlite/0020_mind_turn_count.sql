-- The mind's count of completed turns, kept with its affect and raised in each turn's own
-- transaction: counted from the turn rows at start, it went back after a forget or a user's
-- deletion removed some, and it is the state's version (`state_version`), which never goes back.
ALTER TABLE mind_state ADD COLUMN turn_count INTEGER NOT NULL DEFAULT 0;
UPDATE mind_state SET turn_count = (SELECT count(*) FROM mind_turns WHERE status = 'completed');
