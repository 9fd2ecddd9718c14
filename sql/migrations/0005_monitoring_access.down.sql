-- Revokes the schema grant (the role's attributes belong to core/postgres/roles.ts).
DO $$
BEGIN
  IF to_regnamespace('cron') IS NOT NULL THEN
    REVOKE USAGE ON SCHEMA cron FROM jarvis_monitor;
  END IF;
END
$$;
