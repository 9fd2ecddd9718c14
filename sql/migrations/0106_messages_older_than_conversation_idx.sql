-- 0106: finds messages older than their conversation without reading the others, for the
-- conversation purge (0107: it keeps every message whose conversation survives). The predicate
-- compares two columns of the row, so the index holds only such messages (normally none) and a
-- normal insert adds no index entry.
SET LOCAL ROLE jarvis_owner;
-- squawk-ignore require-concurrent-index-creation -- an index on a partitioned table cannot be built concurrently; it stays empty, and the build is one read of messages (run it before loading data, as `adopt` does)
CREATE INDEX messages_older_than_conversation_idx ON messages (conversation_id, conversation_created_at) WHERE created_at < conversation_created_at;
