-- Undoes 0101: the application-write shims. Writers must then send conversation_created_at again.
-- squawk-ignore-file ban-drop-table -- a down file removes what its up file created
SET LOCAL ROLE jarvis_owner;
DROP TRIGGER memory_entries_fill_conversation_key_update ON memory_entries;
DROP TRIGGER memory_entries_fill_conversation_key ON memory_entries;
DROP TRIGGER messages_fill_conversation_key_update ON messages;
DROP TRIGGER messages_fill_conversation_key ON messages;
DROP FUNCTION fill_conversation_key();
DROP TRIGGER conversations_keys_move ON conversations;
DROP TRIGGER conversations_keys ON conversations;
DROP FUNCTION conversation_keys_sync();
DROP TABLE conversation_keys;
