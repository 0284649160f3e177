-- A waiting turn's message, kept with its row until the turn starts and stores it in its thread:
-- a crash while it waits no longer loses a message the server accepted.
ALTER TABLE mind_turns ADD COLUMN queued_text TEXT;
