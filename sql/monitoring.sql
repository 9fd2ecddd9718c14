-- What jarvis_monitor needs beyond pg_monitor, for postgres_exporter's custom queries
-- (settings/monitoring.ts, postgresExporterQueries). Run as a superuser in the database pg_cron
-- lives in (cron.database_name, "jarvis"), after pg_cron is created. Idempotent.
--
-- pg_cron keeps cron.job and cron.job_run_details behind row-level security (username =
-- current_user) and grants no USAGE on its schema to PUBLIC, so without this the monitor
-- role sees no run at all and CronJobFailed could never fire. BYPASSRLS only lifts the
-- row filter on tables the role may already SELECT: jarvis_monitor has no grant on the
-- application's tables, so it still reads none of the user's data.
GRANT USAGE ON SCHEMA cron TO jarvis_monitor;
ALTER ROLE jarvis_monitor BYPASSRLS;
