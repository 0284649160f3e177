-- A client's own id for a message (`client_msg_id`), kept with its turn: a retry after a restart
-- finds the turn the first send started (spec/server.md §4.2), not only one this process saw.
ALTER TABLE mind_turns ADD COLUMN client_msg_id TEXT;
CREATE INDEX mind_turns_client_msg_id ON mind_turns (user_id, client_msg_id)
  WHERE client_msg_id IS NOT NULL;
