-- 0100: the functions and procedures the scheduled jobs call (S14, S15, S16, S22), and the tables
-- their runs report to. The jobs themselves are declared in settings/cron.ts and reconciled into
-- cron.job by core/cron (`jarvis-data cron apply`); see docs/retention.md.
--
-- Everything here runs as the pg_cron job's user, a superuser in the stack: the conversation purge
-- sets session_replication_role (superuser only) and pg_cron jobs run without a password.

-- The schema belongs to jarvis_owner, like the application's tables.
CREATE SCHEMA IF NOT EXISTS jarvis AUTHORIZATION jarvis_owner;

SET LOCAL ROLE jarvis_owner;

-- One row per retention run and per category (memory) or table (conversations, messages,
-- audit_log): what was examined, deleted and kept. The monitoring reads it.
CREATE TABLE jarvis.retention_runs (
  id bigint GENERATED ALWAYS AS IDENTITY,
  job text NOT NULL,
  category text NOT NULL,
  cutoff timestamptz NOT NULL,
  importance_threshold double precision,
  -- Rows older than the cutoff that the run looked at: deleted + kept.
  processed bigint NOT NULL DEFAULT 0,
  deleted bigint NOT NULL DEFAULT 0,
  kept bigint NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'running',
  details jsonb NOT NULL DEFAULT '{}',
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  CONSTRAINT retention_runs_pkey PRIMARY KEY (id),
  CONSTRAINT retention_runs_status_valid CHECK (status IN ('running', 'succeeded', 'failed')),
  CONSTRAINT retention_runs_counts_non_negative CHECK (processed >= 0 AND deleted >= 0 AND kept >= 0)
);
-- squawk-ignore require-concurrent-index-creation -- the table is created empty just above, in this transaction
CREATE INDEX retention_runs_job_category_started_at_idx ON jarvis.retention_runs (job, category, started_at);

-- S22: maintenance reports (database size before and after VACUUM, space freed).
CREATE TABLE jarvis.maintenance_runs (
  id bigint GENERATED ALWAYS AS IDENTITY,
  job text NOT NULL,
  database_name text NOT NULL DEFAULT current_database(),
  size_before_bytes bigint NOT NULL,
  size_after_bytes bigint,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  CONSTRAINT maintenance_runs_pkey PRIMARY KEY (id),
  CONSTRAINT maintenance_runs_sizes_non_negative CHECK (size_before_bytes >= 0 AND (size_after_bytes IS NULL OR size_after_bytes >= 0))
);
-- squawk-ignore require-concurrent-index-creation -- the table is created empty just above, in this transaction
CREATE INDEX maintenance_runs_job_started_at_idx ON jarvis.maintenance_runs (job, started_at);

GRANT USAGE ON SCHEMA jarvis TO jarvis_readonly, jarvis_backup, jarvis_monitor, jarvis_app;
GRANT SELECT ON jarvis.retention_runs, jarvis.maintenance_runs TO jarvis_readonly, jarvis_backup, jarvis_monitor;

-- The range partitions of a partitioned table, with their bounds; is_default marks the default
-- partition (no bounds). Reads the catalog, so it works whoever made the partitions.
CREATE FUNCTION jarvis.time_partitions(p_parent regclass)
RETURNS TABLE (partition regclass, lower_bound timestamptz, upper_bound timestamptz, is_default boolean, bound text)
LANGUAGE sql STABLE
SET search_path = pg_catalog
AS $$
  SELECT c.oid::regclass,
         b[1]::timestamptz,
         b[2]::timestamptz,
         pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT',
         pg_get_expr(c.relpartbound, c.oid)
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    LEFT JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), $re$FROM \('([^']*)'\) TO \('([^']*)'\)$re$) AS b ON true
   WHERE i.inhparent = p_parent
$$;

-- The row count of a partition about to be dropped whole, without reading it: the count that
-- VACUUM or ANALYZE last stored in the catalogue (pg_class.reltuples; exact when ANALYZE could
-- sample every page, i.e. up to 300 x default_statistics_target pages, and otherwise an estimate
-- from a sample), and count(*) only for a partition never vacuumed or analyzed. Expired partitions
-- are months old and no longer written, so autovacuum has counted them. Reading them to count
-- would make the purge cost follow the rows expired, which is what dropping partitions avoids.
CREATE FUNCTION jarvis.partition_rows(p_partition regclass, OUT n bigint, OUT estimated boolean)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog
AS $$
BEGIN
  SELECT c.reltuples::bigint INTO n FROM pg_class c WHERE c.oid = p_partition AND c.reltuples >= 0;
  estimated := n IS NOT NULL;
  IF n IS NULL THEN
    EXECUTE format('SELECT count(*) FROM %s', p_partition) INTO n;
  END IF;
END
$$;

-- Re-creates a dropped partition under the same name and bounds, with the owner and grants it had.
CREATE FUNCTION jarvis.recreate_partition(p_parent regclass, p_name text, p_bound text, p_owner regrole, p_acl aclitem[])
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
  v_rel regclass;
  g record;
BEGIN
  EXECUTE format('CREATE TABLE public.%I PARTITION OF %s %s', p_name, p_parent, p_bound);
  v_rel := format('public.%I', p_name)::regclass;
  EXECUTE format('ALTER TABLE %s OWNER TO %s', v_rel, p_owner);
  FOR g IN SELECT a.privilege_type, a.grantee, a.is_grantable FROM aclexplode(coalesce(p_acl, '{}'::aclitem[])) AS a WHERE a.grantee <> p_owner LOOP
    EXECUTE format('GRANT %s ON %s TO %s%s', g.privilege_type, v_rel,
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
  RETURN v_rel;
END
$$;

-- S14: purges conversations (and their messages) older than p_days whose importance is below
-- p_threshold, by dropping whole monthly partitions.
--
-- The cost follows the rows rescued, not the rows expired: for each partition of conversations
-- and messages whose whole range is older than the cutoff, the rows to keep (conversations at or
-- above the threshold, and their messages) are copied aside, the partition is dropped, an empty
-- one with the same name, bounds, owner and grants takes its place when rows were rescued, and
-- the rescued rows go back in. Expired rows are never deleted one by one, so they write no WAL,
-- leave no dead tuples (no bloat, no VACUUM needed) and fire no triggers.
--
-- Why session_replication_role = replica: moving a kept row out and back must not look like a
-- deletion and an insertion to the triggers (S19's audit trail would record a DELETE of a
-- conversation that was kept, and message_count would be counted twice), nor cascade to the
-- kept messages. The function does the cascades itself. Replica mode needs a superuser, which
-- pg_cron jobs of the stack are.
--
-- Foreign keys: a partition of conversations can only be detached when nothing references its
-- rows. Where DETACH finds such rows, messages of doomed conversations outside the dropped
-- message partitions are deleted (ON DELETE CASCADE), memories that point at them are unlinked
-- (ON DELETE SET NULL), and references to kept conversations are moved aside and restored.
--
-- Counts: expired partitions are not read to be counted (jarvis.partition_rows).
--
-- Rows of the default partition (timestamps no partition covers) are purged row by row; there
-- should be few. Partitions that straddle the cutoff wait for a later run, so a row lives at most
-- one month past p_days. Assumes a message is never older than its conversation (the app writes
-- it after): a message in an expired partition whose conversation is newer would be dropped.
--
-- pg_partman's own retention (part_config.retention) must stay NULL: it would drop partitions
-- without rescuing anything. The function refuses to run when it is set.
CREATE FUNCTION jarvis.purge_expired_conversations(p_days integer, p_threshold double precision)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  v_started timestamptz := clock_timestamp();
  v_cutoff timestamptz := now() - make_interval(days => p_days);
  v_conv_parts regclass[];
  v_msg_parts regclass[];
  v_msg_upper timestamptz;
  v_conv_default regclass;
  v_msg_default regclass;
  p record;
  v_part regclass;
  v_upper timestamptz;
  v_refs regclass[] := '{}';
  n bigint;
  v_estimated boolean := false;
  est boolean;
  c_expired bigint := 0;
  c_kept bigint := 0;
  c_default_deleted bigint := 0;
  c_default_old bigint := 0;
  c_deleted bigint;
  m_expired bigint := 0;
  m_rescued bigint := 0;
  m_outside_deleted bigint := 0;
  mem_unlinked bigint := 0;
  v_dropped text[] := '{}';
  v_recreated text[] := '{}';
  v_result jsonb;
BEGIN
  IF p_days IS NULL OR p_days < 1 THEN
    RAISE EXCEPTION 'purge_expired_conversations: days must be >= 1 (got %)', p_days USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_threshold IS NULL OR p_threshold < 0 OR p_threshold > 1 THEN
    RAISE EXCEPTION 'purge_expired_conversations: threshold must be in [0, 1] (got %)', p_threshold USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'purge_expired_conversations must run as a superuser (it sets session_replication_role); current user is %', current_user
      USING ERRCODE = 'insufficient_privilege', HINT = 'schedule it with `jarvis-data cron apply` as the postgres superuser, which pg_cron jobs run as';
  END IF;
  IF to_regclass('partman.part_config') IS NOT NULL AND EXISTS (
       SELECT 1 FROM partman.part_config WHERE parent_table IN ('public.conversations', 'public.messages') AND retention IS NOT NULL) THEN
    RAISE EXCEPTION 'pg_partman retention is set on public.conversations or public.messages: it would drop partitions without rescuing important rows'
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'UPDATE partman.part_config SET retention = NULL WHERE parent_table IN (''public.conversations'', ''public.messages'')';
  END IF;

  -- Fail fast rather than queue behind a long transaction and block the application behind us.
  PERFORM set_config('lock_timeout', '10s', true);
  PERFORM set_config('client_min_messages', 'warning', true);
  LOCK TABLE public.conversations, public.messages IN ACCESS EXCLUSIVE MODE;
  PERFORM set_config('session_replication_role', 'replica', true);

  SELECT array_agg(t.partition ORDER BY t.lower_bound) FILTER (WHERE NOT t.is_default AND t.upper_bound <= v_cutoff),
         (max(t.partition::oid) FILTER (WHERE t.is_default))::regclass
    INTO v_conv_parts, v_conv_default
    FROM jarvis.time_partitions('public.conversations') t;
  SELECT array_agg(t.partition ORDER BY t.lower_bound) FILTER (WHERE NOT t.is_default AND t.upper_bound <= v_cutoff),
         max(t.upper_bound) FILTER (WHERE NOT t.is_default AND t.upper_bound <= v_cutoff),
         (max(t.partition::oid) FILTER (WHERE t.is_default))::regclass
    INTO v_msg_parts, v_msg_upper, v_msg_default
    FROM jarvis.time_partitions('public.messages') t;
  v_conv_parts := coalesce(v_conv_parts, '{}');
  v_msg_parts := coalesce(v_msg_parts, '{}');

  DROP TABLE IF EXISTS _jarvis_kept_conv, _jarvis_doomed_default, _jarvis_kept_msg, _jarvis_mem_refs, _jarvis_dropped;
  CREATE TEMP TABLE _jarvis_kept_conv ON COMMIT DROP AS SELECT * FROM public.conversations WITH NO DATA;
  CREATE TEMP TABLE _jarvis_kept_msg ON COMMIT DROP AS SELECT * FROM public.messages WITH NO DATA;
  CREATE TEMP TABLE _jarvis_doomed_default (id uuid, created_at timestamptz) ON COMMIT DROP;
  CREATE TEMP TABLE _jarvis_mem_refs (id uuid, conversation_id uuid, conversation_created_at timestamptz) ON COMMIT DROP;

  -- 1. Conversations kept although expired: those at or above the threshold.
  FOREACH v_part IN ARRAY v_conv_parts LOOP
    SELECT r.n, r.estimated INTO n, est FROM jarvis.partition_rows(v_part) r;
    c_expired := c_expired + n;
    v_estimated := v_estimated OR est;
    EXECUTE format('INSERT INTO _jarvis_kept_conv SELECT * FROM %s WHERE importance >= $1 ORDER BY id', v_part) USING p_threshold;
    GET DIAGNOSTICS n = ROW_COUNT;
    c_kept := c_kept + n;
  END LOOP;
  IF v_conv_default IS NOT NULL THEN
    EXECUTE format('INSERT INTO _jarvis_doomed_default SELECT id, created_at FROM %s WHERE created_at < $1 AND importance < $2', v_conv_default)
      USING v_cutoff, p_threshold;
    EXECUTE format('SELECT count(*) FROM %s WHERE created_at < $1', v_conv_default) INTO c_default_old USING v_cutoff;
    c_expired := c_expired + c_default_old;
  END IF;
  ANALYZE _jarvis_kept_conv;

  -- 2. Messages of surviving conversations found in expired message partitions: rescued. The
  -- surviving conversations that can own such messages are the kept ones, and old rows of the
  -- default partition that are not doomed.
  IF cardinality(v_msg_parts) > 0 THEN
    -- Index lookups per kept conversation, never a scan of the expired rows: the planner, seeing
    -- a large partition, would otherwise hash it whole.
    PERFORM set_config('enable_hashjoin', 'off', true);
    PERFORM set_config('enable_mergejoin', 'off', true);
    FOREACH v_part IN ARRAY v_msg_parts LOOP
      SELECT r.n, r.estimated INTO n, est FROM jarvis.partition_rows(v_part) r;
      m_expired := m_expired + n;
      v_estimated := v_estimated OR est;
      -- A conversation's messages are never older than it: only conversations started before
      -- the partition's end can have messages in it.
      SELECT t.upper_bound INTO v_upper FROM jarvis.time_partitions('public.messages') t WHERE t.partition = v_part;
      EXECUTE format($q$
        INSERT INTO _jarvis_kept_msg
        SELECT m.* FROM _jarvis_kept_conv k JOIN %s m ON m.conversation_id = k.id AND m.conversation_created_at = k.created_at
         WHERE k.created_at < $1
      $q$, v_part) USING v_upper;
      GET DIAGNOSTICS n = ROW_COUNT;
      m_rescued := m_rescued + n;
      IF v_conv_default IS NOT NULL THEN
        EXECUTE format($q$
          INSERT INTO _jarvis_kept_msg
          SELECT m.* FROM %s m JOIN %s c ON c.id = m.conversation_id AND c.created_at = m.conversation_created_at
           WHERE c.created_at < $1 AND NOT EXISTS (SELECT 1 FROM _jarvis_doomed_default d WHERE d.id = c.id AND d.created_at = c.created_at)
        $q$, v_part, v_conv_default) USING v_msg_upper;
        GET DIAGNOSTICS n = ROW_COUNT;
        m_rescued := m_rescued + n;
      END IF;
    END LOOP;
    PERFORM set_config('enable_hashjoin', 'on', true);
    PERFORM set_config('enable_mergejoin', 'on', true);
  END IF;

  -- 3. The expired partitions, as they are, for re-creating those that had rows rescued; then
  -- the expired message partitions go (their survivors are aside).
  CREATE TEMP TABLE _jarvis_dropped ON COMMIT DROP AS
    SELECT t.partition::oid AS oid, c.relname::text AS name, t.bound, t.lower_bound, t.upper_bound, c.relowner::regrole AS owner, c.relacl AS acl,
           i.inhparent::regclass AS parent
      FROM (SELECT * FROM jarvis.time_partitions('public.messages') UNION ALL SELECT * FROM jarvis.time_partitions('public.conversations')) t
      JOIN pg_class c ON c.oid = t.partition
      JOIN pg_inherits i ON i.inhrelid = t.partition
     WHERE t.partition = ANY (v_msg_parts || v_conv_parts);
  FOREACH v_part IN ARRAY v_msg_parts LOOP
    v_dropped := v_dropped || (SELECT d.name FROM _jarvis_dropped d WHERE d.oid = v_part::oid);
    EXECUTE format('DROP TABLE %s', v_part);
  END LOOP;

  -- 4. The expired conversation partitions are detached and dropped. DETACH checks that no row
  -- that stays (messages of the remaining partitions, memories) references them, so that check is
  -- the fast path: such references are rare (a conversation still being written to when its
  -- month ends) and looking for them would read every remaining message. Where DETACH finds one,
  -- the references into that partition are handled, then it is detached: messages of doomed
  -- conversations deleted (ON DELETE CASCADE) and of kept ones moved aside; memories unlinked
  -- (ON DELETE SET NULL), kept ones relinked at the end.
  FOREACH v_part IN ARRAY v_conv_parts LOOP
    BEGIN
      EXECUTE format('ALTER TABLE public.conversations DETACH PARTITION %s', v_part);
    EXCEPTION WHEN foreign_key_violation THEN
      v_refs := v_refs || v_part;
    END;
  END LOOP;
  FOREACH v_part IN ARRAY v_refs LOOP
    EXECUTE format($q$
      WITH gone AS (
        DELETE FROM public.messages m USING %s c
         WHERE m.conversation_id = c.id AND m.conversation_created_at = c.created_at
        RETURNING m.*, c.importance >= $1 AS keep
      ), kept AS (
        INSERT INTO _jarvis_kept_msg SELECT id, conversation_id, conversation_created_at, role, content, metadata, created_at FROM gone WHERE keep
      )
      SELECT count(*) FILTER (WHERE NOT keep) FROM gone
    $q$, v_part) INTO n USING p_threshold;
    m_outside_deleted := m_outside_deleted + n;
    EXECUTE format($q$
      WITH unlinked AS (
        UPDATE public.memory_entries me SET conversation_id = NULL, conversation_created_at = NULL
          FROM %s c
         WHERE me.conversation_id = c.id AND me.conversation_created_at = c.created_at
        RETURNING me.id, c.id AS conversation_id, c.created_at AS conversation_created_at, c.importance >= $1 AS keep
      ), kept AS (
        INSERT INTO _jarvis_mem_refs SELECT id, conversation_id, conversation_created_at FROM unlinked WHERE keep
      )
      SELECT count(*) FILTER (WHERE NOT keep) FROM unlinked
    $q$, v_part) INTO n USING p_threshold;
    mem_unlinked := mem_unlinked + n;
    EXECUTE format('ALTER TABLE public.conversations DETACH PARTITION %s', v_part);
  END LOOP;
  FOREACH v_part IN ARRAY v_conv_parts LOOP
    v_dropped := v_dropped || (SELECT d.name FROM _jarvis_dropped d WHERE d.oid = v_part::oid);
    EXECUTE format('DROP TABLE %s', v_part);
  END LOOP;

  -- Re-create, empty, the partitions that had rows rescued, with their name, bounds, owner, grants.
  FOR p IN SELECT * FROM _jarvis_dropped d ORDER BY d.parent::text, d.lower_bound LOOP
    IF (p.parent = 'public.conversations'::regclass AND EXISTS (SELECT 1 FROM _jarvis_kept_conv k WHERE k.created_at >= p.lower_bound AND k.created_at < p.upper_bound))
       OR (p.parent = 'public.messages'::regclass AND EXISTS (SELECT 1 FROM _jarvis_kept_msg k WHERE k.created_at >= p.lower_bound AND k.created_at < p.upper_bound)) THEN
      PERFORM jarvis.recreate_partition(p.parent, p.name, p.bound, p.owner, p.acl);
      v_recreated := v_recreated || p.name;
    END IF;
  END LOOP;

  -- 5. Old rows of the default partitions, row by row, with the cascades the triggers would do.
  IF v_conv_default IS NOT NULL THEN
    DELETE FROM public.messages m USING _jarvis_doomed_default d WHERE m.conversation_id = d.id AND m.conversation_created_at = d.created_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    m_outside_deleted := m_outside_deleted + n;
    UPDATE public.memory_entries me SET conversation_id = NULL, conversation_created_at = NULL
      FROM _jarvis_doomed_default d WHERE me.conversation_id = d.id AND me.conversation_created_at = d.created_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    mem_unlinked := mem_unlinked + n;
    EXECUTE format('DELETE FROM %s c USING _jarvis_doomed_default d WHERE c.id = d.id AND c.created_at = d.created_at', v_conv_default);
    GET DIAGNOSTICS c_default_deleted = ROW_COUNT;
  END IF;

  -- 6. The rescued rows go back, then the links of kept memories.
  INSERT INTO public.conversations SELECT * FROM _jarvis_kept_conv;
  INSERT INTO public.messages SELECT * FROM _jarvis_kept_msg;
  UPDATE public.memory_entries me SET conversation_id = r.conversation_id, conversation_created_at = r.conversation_created_at
    FROM _jarvis_mem_refs r WHERE me.id = r.id;

  PERFORM set_config('session_replication_role', 'origin', true);

  c_deleted := (c_expired - c_default_old) - c_kept + c_default_deleted;
  -- Messages that died: the expired partitions' rows that were not rescued, plus doomed
  -- conversations' messages found elsewhere.
  v_result := jsonb_build_object(
    'cutoff', v_cutoff,
    'importanceThreshold', p_threshold,
    'conversations', jsonb_build_object('processed', c_expired, 'deleted', c_deleted, 'kept', c_expired - c_deleted),
    'messages', jsonb_build_object('processed', m_expired + m_outside_deleted, 'deleted', m_expired - m_rescued + m_outside_deleted, 'kept', m_rescued),
    -- true when a dropped partition's row count came from the catalogue (jarvis.partition_rows)
    'countsEstimated', v_estimated,
    'memoriesUnlinked', mem_unlinked,
    'partitionsDropped', to_jsonb(v_dropped),
    'partitionsRecreated', to_jsonb(v_recreated),
    'durationMs', round(extract(epoch FROM clock_timestamp() - v_started) * 1000)
  );
  INSERT INTO jarvis.retention_runs (job, category, cutoff, importance_threshold, processed, deleted, kept, status, details, started_at, finished_at)
  VALUES ('conversations', 'conversations', v_cutoff, p_threshold, c_expired, c_deleted, c_expired - c_deleted, 'succeeded', v_result, v_started, clock_timestamp()),
         ('conversations', 'messages', v_cutoff, p_threshold, m_expired + m_outside_deleted, m_expired - m_rescued + m_outside_deleted, m_rescued, 'succeeded', v_result, v_started, clock_timestamp());
  RETURN v_result;
END
$fn$;

-- S15: deletes the memories of one category older than p_days whose importance is below
-- p_threshold, p_batch rows per transaction (a procedure: it commits between batches, so locks
-- and the WAL of one batch stay small, and a long purge never holds back VACUUM). Processed
-- (expired rows examined) and deleted counts go to jarvis.retention_runs as it goes.
-- No SET clause: a procedure with one cannot COMMIT; names are schema-qualified instead.
CREATE PROCEDURE jarvis.purge_memory_entries(p_category text, p_days integer, p_threshold double precision, p_batch integer DEFAULT 5000)
LANGUAGE plpgsql
AS $fn$
DECLARE
  v_cutoff timestamptz := now() - make_interval(days => p_days);
  v_run bigint;
  v_kept bigint;
  v_deleted bigint := 0;
  v_from timestamptz := '-infinity';
  v_last timestamptz;
  n bigint;
BEGIN
  IF p_days IS NULL OR p_days < 1 OR p_threshold IS NULL OR p_threshold < 0 OR p_threshold > 1 OR p_batch IS NULL OR p_batch < 1 THEN
    RAISE EXCEPTION 'purge_memory_entries(%, %, %, %): days must be >= 1, threshold in [0, 1], batch >= 1', p_category, p_days, p_threshold, p_batch
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT count(*) INTO v_kept FROM public.memory_entries WHERE category = p_category AND created_at < v_cutoff AND importance >= p_threshold;
  INSERT INTO jarvis.retention_runs (job, category, cutoff, importance_threshold, kept, processed)
  VALUES ('memory_entries', p_category, v_cutoff, p_threshold, v_kept, v_kept) RETURNING id INTO v_run;
  COMMIT;
  LOOP
    -- Walks (category, created_at) forward, so kept rows are read once, not once per batch.
    WITH doomed AS (
      SELECT id, created_at FROM public.memory_entries
       WHERE category = p_category AND created_at >= v_from AND created_at < v_cutoff AND importance < p_threshold
       ORDER BY created_at
       LIMIT p_batch
    ), gone AS (
      DELETE FROM public.memory_entries me USING doomed d WHERE me.id = d.id RETURNING d.created_at
    )
    SELECT count(*), max(created_at) INTO n, v_last FROM gone;
    v_deleted := v_deleted + n;
    UPDATE jarvis.retention_runs SET deleted = v_deleted, processed = v_kept + v_deleted WHERE id = v_run;
    COMMIT;
    EXIT WHEN n < p_batch;
    v_from := v_last;
  END LOOP;
  UPDATE jarvis.retention_runs SET status = 'succeeded', finished_at = clock_timestamp(),
         details = jsonb_build_object('batchSize', p_batch)
   WHERE id = v_run;
  COMMIT;
END
$fn$;

-- Deletes audit_log rows older than p_days, p_batch per transaction, oldest first.
CREATE PROCEDURE jarvis.prune_audit_log(p_days integer, p_batch integer DEFAULT 10000)
LANGUAGE plpgsql
AS $fn$
DECLARE
  v_cutoff timestamptz := now() - make_interval(days => p_days);
  v_run bigint;
  v_deleted bigint := 0;
  n bigint;
BEGIN
  IF p_days IS NULL OR p_days < 1 OR p_batch IS NULL OR p_batch < 1 THEN
    RAISE EXCEPTION 'prune_audit_log(%, %): days must be >= 1 and batch >= 1', p_days, p_batch USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO jarvis.retention_runs (job, category, cutoff) VALUES ('audit_log', 'audit_log', v_cutoff) RETURNING id INTO v_run;
  COMMIT;
  LOOP
    DELETE FROM public.audit_log WHERE id IN (
      SELECT id FROM public.audit_log WHERE changed_at < v_cutoff ORDER BY changed_at LIMIT p_batch);
    GET DIAGNOSTICS n = ROW_COUNT;
    v_deleted := v_deleted + n;
    UPDATE jarvis.retention_runs SET deleted = v_deleted, processed = v_deleted WHERE id = v_run;
    COMMIT;
    EXIT WHEN n < p_batch;
  END LOOP;
  UPDATE jarvis.retention_runs SET status = 'succeeded', finished_at = clock_timestamp() WHERE id = v_run;
  COMMIT;
END
$fn$;

-- S16/S22: VACUUM cannot run inside a function, nor in a multi-statement pg_cron command, so the
-- size report brackets it with two jobs: `vacuum_size_before` runs one minute before the
-- `VACUUM (ANALYZE)` job, and `vacuum_size_after` runs every 10 minutes on the day of the vacuum
-- and closes the open report once no VACUUM runs any more in this database and one has finished
-- since the report opened.
CREATE FUNCTION jarvis.vacuum_size_before()
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog
AS $$
  INSERT INTO jarvis.maintenance_runs (job, size_before_bytes) VALUES ('vacuum', pg_database_size(current_database())) RETURNING id
$$;

CREATE FUNCTION jarvis.vacuum_size_after()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
  n integer;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ~* '^\s*vacuum' AND state = 'active') THEN
    RETURN 0; -- still running: the next tick closes it
  END IF;
  UPDATE jarvis.maintenance_runs r
     SET size_after_bytes = pg_database_size(current_database()),
         finished_at = (SELECT max(last_vacuum) FROM pg_stat_user_tables)
   WHERE r.job = 'vacuum' AND r.size_after_bytes IS NULL
     AND (SELECT max(last_vacuum) FROM pg_stat_user_tables) >= r.started_at;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;

REVOKE ALL ON FUNCTION jarvis.purge_expired_conversations(integer, double precision) FROM PUBLIC;
REVOKE ALL ON FUNCTION jarvis.recreate_partition(regclass, text, text, regrole, aclitem[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION jarvis.partition_rows(regclass) FROM PUBLIC;
REVOKE ALL ON PROCEDURE jarvis.purge_memory_entries(text, integer, double precision, integer) FROM PUBLIC;
REVOKE ALL ON PROCEDURE jarvis.prune_audit_log(integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION jarvis.vacuum_size_before() FROM PUBLIC;
REVOKE ALL ON FUNCTION jarvis.vacuum_size_after() FROM PUBLIC;

-- pg_partman's own retention would drop partitions without rescuing important rows: S14 is
-- jarvis.purge_expired_conversations' job alone.
RESET ROLE;
UPDATE partman.part_config SET retention = NULL WHERE parent_table IN ('public.conversations', 'public.messages');
