-- Undoes 0104: the audit's ASCII-only input rules come back as CHECKs. Fails (and changes
-- nothing) when a row breaks them: fix or remove those rows first.
SET LOCAL ROLE jarvis_owner;
CREATE FUNCTION memory_tags_valid(tags text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog
AS $$
  SELECT NOT EXISTS (SELECT 1 FROM unnest(tags) AS t(tag) WHERE tag IS NULL OR tag !~ '^[A-Za-z0-9_-]{1,50}$')
$$;
-- squawk-ignore-file constraint-missing-not-valid -- a rollback restores the rules as they were, checked at once
ALTER TABLE memory_entries ADD CONSTRAINT memory_entries_tags_format CHECK (memory_tags_valid(tags));
ALTER TABLE memory_entries DROP CONSTRAINT memory_entries_tags_shape;
DROP FUNCTION memory_tag_list_valid(text[]);
ALTER TABLE messages ADD CONSTRAINT messages_user_content_no_markup CHECK (role <> 'user' OR content !~* '(<[^>]*>|javascript:|\mon[a-z0-9_]+\s*=)');
ALTER TABLE conversations ADD CONSTRAINT conversations_title_charset CHECK (title ~ '^[A-Za-z0-9 _.-]+$');
