-- 0101: the application's writes work unchanged (issue 14, section 1).
--
-- The application (the audit's SQLAlchemy models, its Alembic 001 script, memory_system.py)
-- knows a conversation by its id alone. The stack's tables carry the conversation's created_at
-- beside it (the foreign key to a partitioned table must name the whole key), so:
--   - conversation_keys maps every conversation id to its created_at: one index probe, whatever
--     the number of monthly partitions (a lookup in conversations by id alone would probe every
--     partition's index). Its primary key also makes a conversation id unique across partitions,
--     which conversations' own key (id, created_at) cannot.
--   - a BEFORE trigger on messages and memory_entries fills conversation_created_at from it when
--     the writer gives only conversation_id, and normalizes metadata NULL or JSON null to {}.
-- The triggers fire only when there is something to fill (their WHEN clause), so a writer that
-- sends the whole key pays nothing (bench/writepath measures both).

SET LOCAL ROLE jarvis_owner;

CREATE TABLE conversation_keys (
  id uuid NOT NULL,
  created_at timestamptz(3) NOT NULL,
  CONSTRAINT conversation_keys_pkey PRIMARY KEY (id)
);
-- The conversation purge (S14) deletes the keys of a dropped partition's range with it.
-- squawk-ignore require-concurrent-index-creation -- the table is created empty just above, in this transaction
CREATE INDEX conversation_keys_created_at_idx ON conversation_keys (created_at);

-- Conversations already there (none on a fresh stack). Two with the same id fail here, on
-- conversation_keys_pkey: the application could not tell them apart.
INSERT INTO conversation_keys (id, created_at) SELECT id, created_at FROM conversations;

-- Keeps conversation_keys in step with conversations. SECURITY DEFINER: the application may
-- read the keys but never write them. A second conversation with an id already in use is refused
-- on conversation_keys_pkey.
CREATE FUNCTION conversation_keys_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    DELETE FROM public.conversation_keys WHERE id = OLD.id AND created_at = OLD.created_at;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    -- ON CONFLICT: the purge (S14) puts rescued conversations back whose key is still there.
    INSERT INTO public.conversation_keys (id, created_at) VALUES (NEW.id, NEW.created_at) ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM public.conversation_keys WHERE id = NEW.id AND created_at = NEW.created_at) THEN
      RAISE EXCEPTION 'a conversation with id % already exists', NEW.id
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'conversation_keys_pkey', TABLE = 'conversations',
              HINT = 'conversation ids are unique across all months';
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER conversations_keys AFTER INSERT OR DELETE ON conversations
  FOR EACH ROW EXECUTE FUNCTION conversation_keys_sync();
CREATE TRIGGER conversations_keys_move AFTER UPDATE OF id, created_at ON conversations
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION conversation_keys_sync();
-- ALWAYS: the keys stay right when rows are written with session_replication_role = replica
-- (the purge's rescue, a bulk load that skips the other triggers).
ALTER TABLE conversations ENABLE ALWAYS TRIGGER conversations_keys;
ALTER TABLE conversations ENABLE ALWAYS TRIGGER conversations_keys_move;

-- Fills conversation_created_at from conversation_keys when only conversation_id is given (insert,
-- or an update that changes conversation_id alone), clears it with conversation_id, and stores
-- metadata NULL or JSON null as {}. TG_ARGV: the foreign key named in the error when the
-- conversation does not exist, and its table.
CREATE FUNCTION fill_conversation_key() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  IF NEW.metadata IS NULL OR jsonb_typeof(NEW.metadata) = 'null' THEN
    NEW.metadata := '{}';
  END IF;
  IF NEW.conversation_id IS NULL THEN
    NEW.conversation_created_at := NULL;
  ELSIF NEW.conversation_created_at IS NULL
     OR (TG_OP = 'UPDATE' AND NEW.conversation_id IS DISTINCT FROM OLD.conversation_id
         AND NEW.conversation_created_at IS NOT DISTINCT FROM OLD.conversation_created_at) THEN
    SELECT k.created_at INTO NEW.conversation_created_at FROM public.conversation_keys k WHERE k.id = NEW.conversation_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%": conversation % does not exist', TG_ARGV[1], TG_ARGV[0], NEW.conversation_id
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0];
    END IF;
  END IF;
  RETURN NEW;
END
$$;

-- On the partitioned parent: cloned onto every partition, present and future. It never touches
-- the partition key (created_at), which a BEFORE trigger of a partitioned table may not change.
CREATE TRIGGER messages_fill_conversation_key BEFORE INSERT ON messages
  FOR EACH ROW WHEN (NEW.conversation_created_at IS NULL OR NEW.metadata IS NULL OR jsonb_typeof(NEW.metadata) = 'null')
  EXECUTE FUNCTION fill_conversation_key('messages_conversation_fkey', 'messages');
CREATE TRIGGER messages_fill_conversation_key_update BEFORE UPDATE OF conversation_id, conversation_created_at, metadata ON messages
  FOR EACH ROW WHEN (NEW.conversation_created_at IS NULL OR NEW.metadata IS NULL OR jsonb_typeof(NEW.metadata) = 'null'
                     OR (NEW.conversation_id IS DISTINCT FROM OLD.conversation_id AND NEW.conversation_created_at IS NOT DISTINCT FROM OLD.conversation_created_at))
  EXECUTE FUNCTION fill_conversation_key('messages_conversation_fkey', 'messages');

CREATE TRIGGER memory_entries_fill_conversation_key BEFORE INSERT ON memory_entries
  FOR EACH ROW WHEN ((NEW.conversation_id IS NOT NULL AND NEW.conversation_created_at IS NULL) OR NEW.metadata IS NULL OR jsonb_typeof(NEW.metadata) = 'null')
  EXECUTE FUNCTION fill_conversation_key('memory_entries_conversation_fkey', 'memory_entries');
CREATE TRIGGER memory_entries_fill_conversation_key_update BEFORE UPDATE OF conversation_id, conversation_created_at, metadata ON memory_entries
  FOR EACH ROW WHEN ((NEW.conversation_id IS NULL) <> (NEW.conversation_created_at IS NULL) OR NEW.metadata IS NULL OR jsonb_typeof(NEW.metadata) = 'null'
                     OR (NEW.conversation_id IS DISTINCT FROM OLD.conversation_id AND NEW.conversation_created_at IS NOT DISTINCT FROM OLD.conversation_created_at))
  EXECUTE FUNCTION fill_conversation_key('memory_entries_conversation_fkey', 'memory_entries');

-- conversations.metadata is normalized by 0102's trigger, with importance.

GRANT SELECT ON conversation_keys TO jarvis_app, jarvis_readonly, jarvis_backup;
