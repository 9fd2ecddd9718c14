-- Undoes 0002: drops the JARVIS tables and everything that hangs on them. Destroys data:
-- `migrate down` refuses it in prod without --force.
-- squawk-ignore-file ban-drop-table -- a down file removes what its up file created; prod refuses `down` without --force
DELETE FROM partman.part_config WHERE parent_table IN ('public.conversations', 'public.messages');
DROP TABLE partman.template_public_messages;
DROP TABLE partman.template_public_conversations;
DROP TABLE memory_entries;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE audit_log;
DROP TABLE users;
DROP FUNCTION set_updated_at();
DROP FUNCTION messages_count_change();
DROP FUNCTION audit_row_change();
DROP FUNCTION memory_tags_valid(text[]);
