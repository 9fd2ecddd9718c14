-- 0003: what each role may do (the roles of core/postgres/roles.ts).
--   jarvis_app       DML on the application tables; reads the audit trail, never writes it
--                    (the audit trigger does, as the owner). No DDL: it owns nothing.
--   jarvis_readonly  SELECT on everything in public.
--   jarvis_backup    SELECT on everything in public, partitions included (pg_dump reads them).
--   jarvis_monitor   pg_monitor (0001); needs nothing here.
SET LOCAL ROLE jarvis_owner;

GRANT SELECT, INSERT, UPDATE, DELETE ON users, conversations, messages, memory_entries TO jarvis_app;
GRANT SELECT ON audit_log TO jarvis_app;

-- Every table jarvis_owner owns in public, partitions and default partitions included.
DO $$
DECLARE
  t regclass;
BEGIN
  FOR t IN
    SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relowner = 'jarvis_owner'::regrole
  LOOP
    EXECUTE format('GRANT SELECT ON %s TO jarvis_readonly, jarvis_backup', t);
  END LOOP;
END
$$;

-- Tables jarvis_owner creates later (partitions made by pg_partman's maintenance, new tables).
ALTER DEFAULT PRIVILEGES FOR ROLE jarvis_owner IN SCHEMA public GRANT SELECT ON TABLES TO jarvis_readonly, jarvis_backup;
