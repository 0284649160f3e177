-- The assurance state reads the newest turn's post-assessment: by time, without scanning every turn.
CREATE INDEX psyche_assurance_turns_at ON psyche_assurance_turns (at, turn_id);
