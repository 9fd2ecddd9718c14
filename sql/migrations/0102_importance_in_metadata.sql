-- 0102: importance written in metadata (where the audit's purge reads it,
-- metadata->>'importance') or in the column is the same importance, on conversations and
-- memory_entries. Retention (S14, S15) reads the column; this keeps it right for an application
-- that writes only metadata.
--
-- The rule, enforced by a BEFORE trigger and guarded by a CHECK:
--   - when metadata holds importance, it equals the column (<table>_importance_matches_metadata);
--   - a statement that writes metadata.importance sets the column from it: metadata wins on
--     conflict, because an ORM sends the column's default (0.5) with every insert whether the
--     application chose it or not, while metadata.importance is always a choice;
--   - a statement that changes only the column updates metadata.importance, if metadata has one;
--   - metadata without importance is left without it (NULL or JSON null metadata stays {}), and
--     {"importance": null} counts as no importance;
--   - a numeric string ("0.3", as some clients write) is stored as the number.
-- A value out of [0, 1] is refused by <table>_importance_range; a non-number by the CHECK below.

SET LOCAL ROLE jarvis_owner;

CREATE FUNCTION sync_importance() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
  m jsonb;
BEGIN
  IF NEW.metadata IS NULL OR jsonb_typeof(NEW.metadata) = 'null' THEN
    NEW.metadata := '{}';
  END IF;
  IF jsonb_typeof(NEW.metadata) <> 'object' THEN
    RETURN NEW; -- <table>_metadata_is_object refuses it
  END IF;
  m := NEW.metadata -> 'importance';
  IF jsonb_typeof(m) = 'null' THEN
    NEW.metadata := NEW.metadata - 'importance';
    RETURN NEW;
  END IF;
  IF m IS NULL THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' OR m IS DISTINCT FROM (OLD.metadata -> 'importance') THEN
    -- metadata.importance was written by this statement: it wins.
    IF jsonb_typeof(m) = 'string' AND (m #>> '{}') ~ '^\s*[+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$' THEN
      m := to_jsonb((m #>> '{}')::double precision);
    END IF;
    IF jsonb_typeof(m) = 'number' THEN
      NEW.importance := (m #>> '{}')::double precision;
      NEW.metadata := jsonb_set(NEW.metadata, '{importance}', to_jsonb(NEW.importance));
    END IF;
  ELSIF NEW.importance IS DISTINCT FROM OLD.importance THEN
    NEW.metadata := jsonb_set(NEW.metadata, '{importance}', to_jsonb(NEW.importance));
  END IF;
  RETURN NEW;
END
$$;

-- Rows already there: metadata wins where it holds a number (none on a fresh stack).
UPDATE conversations SET importance = (metadata ->> 'importance')::double precision
 WHERE jsonb_typeof(metadata -> 'importance') = 'number' AND (metadata ->> 'importance')::double precision IS DISTINCT FROM importance;
UPDATE memory_entries SET importance = (metadata ->> 'importance')::double precision
 WHERE jsonb_typeof(metadata -> 'importance') = 'number' AND (metadata ->> 'importance')::double precision IS DISTINCT FROM importance;

-- Named "importance_sync" so it sorts before the *_updated_at triggers; order does not matter.
CREATE TRIGGER conversations_importance_sync BEFORE INSERT OR UPDATE OF importance, metadata ON conversations
  FOR EACH ROW EXECUTE FUNCTION sync_importance();
CREATE TRIGGER memory_entries_importance_sync BEFORE INSERT OR UPDATE OF importance, metadata ON memory_entries
  FOR EACH ROW EXECUTE FUNCTION sync_importance();

-- NOT VALID: added without reading the table under its lock; 0105 validates it.
-- CASE, not AND: a CHECK's AND may evaluate both sides, and the cast must only see numbers.
ALTER TABLE conversations ADD CONSTRAINT conversations_importance_matches_metadata CHECK (
  CASE WHEN NOT (metadata ? 'importance') THEN true
       WHEN jsonb_typeof(metadata -> 'importance') <> 'number' THEN false
       ELSE (metadata ->> 'importance')::double precision = importance END) NOT VALID;
ALTER TABLE memory_entries ADD CONSTRAINT memory_entries_importance_matches_metadata CHECK (
  CASE WHEN NOT (metadata ? 'importance') THEN true
       WHEN jsonb_typeof(metadata -> 'importance') <> 'number' THEN false
       ELSE (metadata ->> 'importance')::double precision = importance END) NOT VALID;
