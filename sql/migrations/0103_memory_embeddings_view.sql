-- 0103: memory_embeddings, the table the application's models and its Alembic 001 script write
-- (id, conversation_id, content, embedding as float8[], metadata, importance, created_at), becomes
-- a view of memory_entries with INSTEAD OF triggers. Why (docs/migrations.md): one store of
-- memories, so one set of constraints (content, importance, 384 dimensions), one HNSW index and
-- one retention (S15); a second table would hold memories that retention, search and backups'
-- row counts never see. The array is converted at the boundary: float8[] in, vector(384) stored
-- (a wrong dimension is refused by the cast: "expected 384 dimensions"), float8[] out.
-- category comes from metadata.category when it is one of S15's, else 'conversations'.

SET LOCAL ROLE jarvis_owner;

CREATE VIEW memory_embeddings AS
  SELECT id, conversation_id, content, embedding::real[]::double precision[] AS embedding, metadata, importance, created_at
    FROM memory_entries;

CREATE FUNCTION memory_embeddings_write() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
DECLARE
  r public.memory_entries;
  cat text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM public.memory_entries WHERE id = OLD.id;
    RETURN CASE WHEN FOUND THEN OLD END;
  END IF;
  cat := NEW.metadata ->> 'category';
  IF cat IS NULL OR cat NOT IN ('conversations', 'commands', 'preferences', 'patterns', 'knowledge') THEN
    cat := NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO public.memory_entries (id, conversation_id, content, embedding, metadata, importance, category, created_at)
    VALUES (coalesce(NEW.id, gen_random_uuid()), NEW.conversation_id, NEW.content, NEW.embedding::vector, NEW.metadata,
            coalesce(NEW.importance, 0.5), coalesce(cat, 'conversations'), coalesce(NEW.created_at, now()))
    RETURNING * INTO r;
  ELSE
    UPDATE public.memory_entries
       SET id = NEW.id, conversation_id = NEW.conversation_id,
           conversation_created_at = CASE WHEN NEW.conversation_id IS NOT DISTINCT FROM OLD.conversation_id THEN conversation_created_at END,
           content = NEW.content, embedding = NEW.embedding::vector, metadata = NEW.metadata,
           importance = NEW.importance, category = coalesce(cat, category), created_at = NEW.created_at
     WHERE id = OLD.id
    RETURNING * INTO r;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
  END IF;
  -- What the row became (defaults, importance from metadata), for RETURNING.
  NEW.id := r.id;
  NEW.metadata := r.metadata;
  NEW.importance := r.importance;
  NEW.created_at := r.created_at;
  RETURN NEW;
END
$$;

CREATE TRIGGER memory_embeddings_write INSTEAD OF INSERT OR UPDATE OR DELETE ON memory_embeddings
  FOR EACH ROW EXECUTE FUNCTION memory_embeddings_write();

GRANT SELECT, INSERT, UPDATE, DELETE ON memory_embeddings TO jarvis_app;
GRANT SELECT ON memory_embeddings TO jarvis_readonly, jarvis_backup;
