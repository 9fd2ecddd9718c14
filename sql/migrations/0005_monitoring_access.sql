-- What jarvis_monitor needs beyond pg_monitor, for postgres_exporter's custom queries
-- (settings/monitoring.ts, postgresExporterQueries: jarvis_cron_job_*).
--
-- pg_cron grants no USAGE on its schema to PUBLIC, so without this the monitor role cannot read
-- cron.job_run_details and CronJobFailed could never fire. Its rows also sit behind row-level
-- security: the role's BYPASSRLS attribute is declared with the other role attributes in
-- core/postgres/roles.ts (the roles job owns role attributes, migrations own grants).
--
-- pg_cron exists only in cron.database_name; in any other database the grant is skipped.
DO $$
BEGIN
  IF to_regnamespace('cron') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA cron TO jarvis_monitor;
  END IF;
END
$$;
