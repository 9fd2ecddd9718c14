/**
 * The table's secondary indexes are built once after the load rather than maintained row by row
 * during it, as pg_restore does: inserting vectors one by one into an HNSW index costs several
 * times one build (2,500 of them: 11.5 s against 1.9 s here), and a message's conversation index
 * takes its keys in random order (the copy walks the uuid key). Indexes behind a constraint
 * (primary key, unique) stay: the copy relies on them. Only for a large copy, before the
 * application uses the target.
 */
import type pg from "pg";

/** At least this many rows to copy before dropping the indexes is worth it. */
export const DEFER_INDEX_ROWS = 1_000;

/**
 * Drops the table's indexes that back no constraint, recording their definitions in the same
 * transaction (a partitioned table's index as one over every partition: without ONLY).
 */
export async function deferIndexes(client: pg.Client, table: string): Promise<string[]> {
  await client.query("begin");
  try {
    const { rows } = await client.query(
      `select i.schemaname, i.indexname, replace(i.indexdef, ' ON ONLY ', ' ON ') as indexdef from pg_indexes i
        where i.schemaname = 'public' and i.tablename = $1
          and not exists (select 1 from pg_constraint c where c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)`,
      [table],
    );
    for (const r of rows) {
      await client.query(
        "insert into jarvis.adopt_deferred_indexes (index_name, definition) values ($1, $2) on conflict do nothing",
        [`${r.schemaname}.${r.indexname}`, r.indexdef],
      );
      await client.query(`drop index ${r.schemaname}.${r.indexname}`);
    }
    await client.query("commit");
    return rows.map((r) => r.indexname as string);
  } catch (e) {
    await client.query("rollback");
    throw e;
  }
}

/**
 * Builds every index a run deferred (this one or a killed one), then forgets it; only the given
 * table's when one is named (tables copied side by side must not build the same index twice).
 */
export async function rebuildDeferredIndexes(client: pg.Client, table?: string): Promise<string[]> {
  const { rows } = await client.query(
    `select index_name, definition from jarvis.adopt_deferred_indexes
      where $1::text is null or position(' ON public.' || $1 || ' ' in definition) > 0`,
    [table ?? null],
  );
  for (const r of rows) {
    const exists = await client.query("select to_regclass($1) is not null as ok", [r.index_name]);
    if (!exists.rows[0].ok) await client.query(r.definition);
    await client.query("delete from jarvis.adopt_deferred_indexes where index_name = $1", [r.index_name]);
  }
  return rows.map((r) => r.index_name as string);
}
