-- 0107: no superuser runs code that a non-superuser can change (issue 16, item 3), and the
-- conversation purge keeps every message whose conversation survives (issue 16, item 5).
--
-- Item 3. jarvis_owner owns the jarvis schema and every function in it; pg_cron used to run the
-- jobs as the postgres superuser, so `CREATE OR REPLACE FUNCTION jarvis.<a job's function>` as
-- jarvis_owner, with `ALTER ROLE jarvis_owner SUPERUSER` in its body, made it superuser at the
-- next run. The jobs now run as jarvis_owner (settings/cron.ts gives each job its user; pg_cron's
-- background workers need no password), and jarvis_owner gets exactly what they need beyond
-- owning the tables:
--   - SET on session_replication_role (PostgreSQL 15+), which the purge sets to move kept rows
--     out and back without firing the audit and count triggers. jarvis_owner owns those triggers
--     and could drop them anyway: this grants it nothing over data it does not own;
--   - SELECT and DELETE on cron.job_run_details, for the history job, granted by `cron apply`
--     (core/cron) where pg_cron lives; pg_cron's row-level security limits it to the rows of
--     its own jobs, which all the stack's jobs now are.
-- pg_partman's functions belong to the superuser that created the extension: they run as
-- jarvis_owner too (EXECUTE and its tables were granted in 0001).
--
-- Item 5. The purge dropped messages of an expired month whose conversation is newer (a message
-- older than its conversation: a client's clock, an import) although that conversation stays.
-- It now rescues them too, found through 0106's partial index, and re-creates their partition.
-- It also deletes the conversation_keys (0101) of the conversations it drops.

GRANT SET ON PARAMETER session_replication_role TO jarvis_owner;

SET LOCAL ROLE jarvis_owner;

CREATE OR REPLACE FUNCTION jarvis.purge_expired_conversations(p_days integer, p_threshold double precision)
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
  v_conv_upper timestamptz;
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
  IF NOT has_parameter_privilege('session_replication_role', 'SET') THEN
    RAISE EXCEPTION 'purge_expired_conversations needs the right to set session_replication_role; current user is %', current_user
      USING ERRCODE = 'insufficient_privilege', HINT = 'schedule it with `jarvis-data cron apply`, which runs it as jarvis_owner (granted SET ON PARAMETER session_replication_role by migration 0107)';
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
  SELECT max(t.upper_bound) INTO v_conv_upper FROM jarvis.time_partitions('public.conversations') t WHERE t.partition = ANY (v_conv_parts);
  v_conv_upper := coalesce(v_conv_upper, '-infinity');
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
      -- A message is usually no older than its conversation: then only conversations started
      -- before the partition's end can have messages in it. The others are taken just below.
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
      -- Messages older than their conversation (issue 16, item 5: a clock-skewed client, an
      -- import): their conversation is not in this partition's months, and survives unless it
      -- is doomed. The partial index messages_older_than_conversation_idx holds only such rows,
      -- so this reads none of the expired ones. Rows the queries above took are not taken twice.
      EXECUTE format($q$
        INSERT INTO _jarvis_kept_msg
        SELECT m.* FROM %s m
         WHERE m.created_at < m.conversation_created_at AND m.conversation_created_at >= $1
           AND NOT EXISTS (SELECT 1 FROM _jarvis_doomed_default d WHERE d.id = m.conversation_id AND d.created_at = m.conversation_created_at)
           AND (m.conversation_created_at >= $2
                OR EXISTS (SELECT 1 FROM _jarvis_kept_conv k WHERE k.id = m.conversation_id AND k.created_at = m.conversation_created_at)
                OR NOT EXISTS (SELECT 1 FROM unnest($3::regclass[]) p(rel) JOIN jarvis.time_partitions('public.conversations') t ON t.partition = p.rel
                                WHERE m.conversation_created_at >= t.lower_bound AND m.conversation_created_at < t.upper_bound))
           AND NOT EXISTS (SELECT 1 FROM _jarvis_kept_msg x WHERE x.id = m.id AND x.created_at = m.created_at)
      $q$, v_part) USING v_upper, v_conv_upper, v_conv_parts;
      GET DIAGNOSTICS n = ROW_COUNT;
      m_rescued := m_rescued + n;
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
  -- Their conversation_keys (0101) go with them; the kept ones come back with their rows (the
  -- keys trigger fires in replica mode too). A range delete on conversation_keys_created_at_idx.
  DELETE FROM public.conversation_keys k USING _jarvis_dropped d
   WHERE d.parent = 'public.conversations'::regclass AND k.created_at >= d.lower_bound AND k.created_at < d.upper_bound;

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
