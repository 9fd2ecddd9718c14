-- Undoes 0102: importance in metadata and in the column are no longer kept equal.
SET LOCAL ROLE jarvis_owner;
ALTER TABLE memory_entries DROP CONSTRAINT memory_entries_importance_matches_metadata;
ALTER TABLE conversations DROP CONSTRAINT conversations_importance_matches_metadata;
DROP TRIGGER memory_entries_importance_sync ON memory_entries;
DROP TRIGGER conversations_importance_sync ON conversations;
DROP FUNCTION sync_importance();
