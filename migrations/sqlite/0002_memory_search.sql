-- Faster recall and embedding at scale (spec/memory.md §5, §6.1).

-- Per-term document counts of the full-text index, so recall can leave out
-- words that appear in a large share of memories (they cost the most to
-- rank and tell the least).
CREATE VIRTUAL TABLE memory_fts_vocab USING fts5vocab (memory_fts, 'row');

-- The embedding queue is read in (space, due time, id) order.
DROP INDEX embed_queue_due;
CREATE INDEX embed_queue_due ON embed_queue (space_id, next_attempt_at, memory_id);
