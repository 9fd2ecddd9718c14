-- Undoes 0003.
SET LOCAL ROLE jarvis_owner;

ALTER DEFAULT PRIVILEGES FOR ROLE jarvis_owner IN SCHEMA public REVOKE SELECT ON TABLES FROM jarvis_readonly, jarvis_backup;

DO $$
DECLARE
  t regclass;
BEGIN
  FOR t IN
    SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relowner = 'jarvis_owner'::regrole
  LOOP
    EXECUTE format('REVOKE SELECT ON %s FROM jarvis_readonly, jarvis_backup', t);
  END LOOP;
END
$$;

REVOKE SELECT ON audit_log FROM jarvis_app;
REVOKE SELECT, INSERT, UPDATE, DELETE ON users, conversations, messages, memory_entries FROM jarvis_app;
