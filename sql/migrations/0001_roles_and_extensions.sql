-- 0001: the extensions the schema needs and the stack's group roles.
--
-- Needs a superuser (pg_partman and pgvector are not trusted extensions, and roles are created
-- here). Everything is IF NOT EXISTS-style: the server's init (core/postgres/roles.ts) may have
-- created the roles already, with LOGIN and passwords; this file only makes sure they exist, so
-- the grants of the following migrations always have someone to name.

-- Roles are cluster-wide and several databases may be migrated at once (tests, staging):
-- a concurrent creator raises duplicate_object or unique_violation, which is not an error here.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['jarvis_owner', 'jarvis_app', 'jarvis_readonly', 'jarvis_backup', 'jarvis_monitor'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
  IF NOT pg_has_role('jarvis_monitor', 'pg_monitor', 'MEMBER') THEN
    BEGIN
      GRANT pg_monitor TO jarvis_monitor;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;

CREATE EXTENSION IF NOT EXISTS vector;

CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;

-- jarvis_owner owns the application schema (0002 switches to it), and pg_partman, called as that
-- role, reads and writes its configuration and creates partitions in public.
GRANT CREATE ON SCHEMA public TO jarvis_owner;
GRANT USAGE, CREATE ON SCHEMA partman TO jarvis_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA partman TO jarvis_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO jarvis_owner;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO jarvis_owner;
