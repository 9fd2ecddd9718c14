-- 0108: what `jarvis-data adopt postgres` (core/adopt) records in the stack's database while it
-- brings a legacy JARVIS database in: its progress per source and table (so a killed run resumes
-- where its last committed batch ended, and a run after success copies nothing), and the rows the
-- schema refused, kept whole with the reason (none is lost, none is dropped in silence).
-- See docs/runbooks/adopt.md.

-- The jarvis schema exists since 0100. This file runs logged in as jarvis_owner (core/migrate
-- runs every file as the owner but the listed superuser ones), which may not create schemas.

SET LOCAL ROLE jarvis_owner;

-- One row per (source, table). source_id names the legacy database: its cluster's
-- system_identifier and its database name, so a copy restored elsewhere is another source.
-- Counts and hashes are updated in the same transaction as each batch they describe.
CREATE TABLE jarvis.adopt_progress (
  source_id text NOT NULL,
  table_name text NOT NULL,
  -- The last source primary key copied (as text); NULL before the first batch.
  last_key text,
  imported bigint NOT NULL DEFAULT 0,
  quarantined bigint NOT NULL DEFAULT 0,
  -- Sum of the per-row hashes (core/adopt/checksum.ts) of the quarantined source rows: the
  -- verification subtracts them from the source's sum.
  quarantined_hash numeric NOT NULL DEFAULT 0,
  -- Rows the target held before the first run (only with --force), and their hash sum.
  preexisting_rows bigint NOT NULL DEFAULT 0,
  preexisting_hash numeric NOT NULL DEFAULT 0,
  -- Set when the table's copy finished and verified: source rows and hash sum at that moment.
  completed_at timestamptz,
  source_rows bigint,
  source_hash numeric,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT adopt_progress_pkey PRIMARY KEY (source_id, table_name),
  CONSTRAINT adopt_progress_counts_non_negative CHECK (imported >= 0 AND quarantined >= 0 AND preexisting_rows >= 0)
);

-- Rows the target refused: the source row as JSON, the rule it broke (constraint name when the
-- database names one) and the database's message.
CREATE TABLE jarvis.adopt_quarantine (
  id bigint GENERATED ALWAYS AS IDENTITY,
  source_id text NOT NULL,
  table_name text NOT NULL,
  source_key text NOT NULL,
  constraint_name text,
  reason text NOT NULL,
  source_row jsonb NOT NULL,
  -- The row's hash in the checksum (core/adopt/checksum.ts): the verification and the catch-up
  -- pass account for quarantined rows by key bucket with it.
  row_hash numeric NOT NULL DEFAULT 0,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT adopt_quarantine_pkey PRIMARY KEY (id),
  CONSTRAINT adopt_quarantine_row_key UNIQUE (source_id, table_name, source_key)
);

-- Indexes adopt drops while it fills a table and builds again afterwards (the HNSW index: one
-- build after the load is several times faster than 50,000 inserts into it). The definition is
-- recorded in the transaction that drops the index, so a killed run rebuilds it on the next one.
CREATE TABLE jarvis.adopt_deferred_indexes (
  index_name text NOT NULL,
  definition text NOT NULL,
  dropped_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT adopt_deferred_indexes_pkey PRIMARY KEY (index_name)
);
