-- Undoes 0100: the retention and maintenance functions and their report tables. The reports are
-- lost; the data they describe is not touched. Unschedule the jobs first (`jarvis-data cron apply`
-- with a config that declares none, or the previous release's), or they fail on missing functions.
-- squawk-ignore-file ban-drop-table -- a down file removes what its up file created
SET LOCAL ROLE jarvis_owner;
DROP FUNCTION jarvis.vacuum_size_after();
DROP FUNCTION jarvis.vacuum_size_before();
DROP PROCEDURE jarvis.prune_audit_log(integer, integer);
DROP PROCEDURE jarvis.purge_memory_entries(text, integer, double precision, integer);
DROP FUNCTION jarvis.purge_expired_conversations(integer, double precision);
DROP FUNCTION jarvis.partition_rows(regclass);
DROP FUNCTION jarvis.recreate_partition(regclass, text, text, regrole, aclitem[]);
DROP FUNCTION jarvis.time_partitions(regclass);
DROP TABLE jarvis.maintenance_runs;
DROP TABLE jarvis.retention_runs;
-- The schema goes only if nothing else lives in it (later migrations may use it too).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'jarvis')
     AND NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'jarvis') THEN
    DROP SCHEMA jarvis;
  END IF;
END
$$;
