-- 0104: the database refuses what breaks integrity, and accepts every ordinary text a
-- French-speaking user writes (issue 14, section 2).
--
-- The audit's input rules (S18: a title of [A-Za-z0-9 _.-], no script or markup in a message,
-- tags of [A-Za-z0-9_-]) refused "Réunion du lundi", "What's the weather?", "is 3 < 5 and 7 > 2?"
-- and "let one = 1". They are input policy, not integrity: they now live at the input boundary,
-- as the zod validators of core/validation.ts (Unicode-aware), which the application's API or a
-- gateway calls. What stays here: lengths and ranges, empty content, roles, references,
-- embedding dimensions, the email's shape (0002), and tags of 1..50 characters without spaces
-- or control characters (any script: "réunion" is a tag).

SET LOCAL ROLE jarvis_owner;

ALTER TABLE conversations DROP CONSTRAINT conversations_title_charset;
ALTER TABLE messages DROP CONSTRAINT messages_user_content_no_markup;

CREATE FUNCTION memory_tag_list_valid(tags text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog
AS $$
  SELECT NOT EXISTS (SELECT 1 FROM unnest(tags) AS t(tag)
                      WHERE tag IS NULL OR char_length(tag) NOT BETWEEN 1 AND 50 OR tag ~ '[[:space:][:cntrl:]]')
$$;

-- NOT VALID: no read of the table under its lock here; 0105 validates it. The new rule is
-- looser than the one it replaces, so every existing row passes.
ALTER TABLE memory_entries ADD CONSTRAINT memory_entries_tags_shape CHECK (memory_tag_list_valid(tags)) NOT VALID;
ALTER TABLE memory_entries DROP CONSTRAINT memory_entries_tags_format;
DROP FUNCTION memory_tags_valid(text[]);
