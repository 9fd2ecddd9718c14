-- Undoes 0106.
SET LOCAL ROLE jarvis_owner;
-- squawk-ignore require-concurrent-index-deletion -- an index on a partitioned table cannot be dropped concurrently
DROP INDEX messages_older_than_conversation_idx;
