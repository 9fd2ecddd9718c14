-- 0105: validates the constraints 0102 and 0104 added NOT VALID, in their own transaction:
-- VALIDATE reads the table under a SHARE UPDATE EXCLUSIVE lock, which lets reads and writes go on.
SET LOCAL ROLE jarvis_owner;
ALTER TABLE conversations VALIDATE CONSTRAINT conversations_importance_matches_metadata;
ALTER TABLE memory_entries VALIDATE CONSTRAINT memory_entries_importance_matches_metadata;
ALTER TABLE memory_entries VALIDATE CONSTRAINT memory_entries_tags_shape;
