-- What jarvis_monitor needs beyond pg_monitor, for postgres_exporter's custom queries
-- (settings/monitoring.ts, postgresExporterQueries: jarvis_cron_job_*).
--
-- pg_cron keeps cron.job and cron.job_run_details behind row-level security (username =
-- current_user) and grants no USAGE on its schema to PUBLIC, so without this the monitor role
-- sees no run at all and CronJobFailed could never fire. BYPASSRLS only lifts the row filter on
-- tables the role may already SELECT: jarvis_monitor has no grant on the application's tables,
-- so it still reads none of the user's data.
--
-- pg_cron exists only in cron.database_name; in any other database the grant is skipped.
DO $$
BEGIN
  IF to_regnamespace('cron') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA cron TO jarvis_monitor;
  END IF;
END
$$;
ALTER ROLE jarvis_monitor BYPASSRLS;
