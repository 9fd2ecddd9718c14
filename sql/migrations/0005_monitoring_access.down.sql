-- Revokes the schema grant. The BYPASSRLS attribute is cluster-wide and other databases of the
-- cluster may rely on it, so it stays; without USAGE on cron it opens nothing here.
DO $$
BEGIN
  IF to_regnamespace('cron') IS NOT NULL THEN
    REVOKE USAGE ON SCHEMA cron FROM jarvis_monitor;
  END IF;
END
$$;
