-- A conversation message may hold up to 32,000 characters (spec/mind.md §3.2) while a memory's
-- text, what full-text search and the embedder see, holds at most 8,000 (spec/memory.md §3): the
-- whole message is kept here when it is longer; NULL when `memories.text` is all of it.
ALTER TABLE memory_messages ADD COLUMN full_text TEXT;
