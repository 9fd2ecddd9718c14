-- Runs once, as the superuser, in POSTGRES_DB (the app database, which is also
-- cron.database_name), when the entrypoint initialises an empty volume.
-- These extensions need a superuser to create; the schema's migrations, which run as
-- jarvis_owner, then only use them (their own CREATE EXTENSION IF NOT EXISTS is a no-op).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS vector;
-- pg_cron can only live in cron.database_name (this database).
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
