/**
 * The vector index is built once after the load rather than maintained row by row during it:
 * inserting vectors one by one into an HNSW index costs several times one build (2,500 of them: 11.5 s against 1.9 s here) with the server's
 * maintenance_work_mem. Only for a large copy, before the application uses the target.
 */
import type pg from "pg";

/** At least this many rows to copy before dropping the index is worth it. */
export const DEFER_INDEX_ROWS = 1_000;

/** Drops the table's HNSW indexes, recording their definitions in the same transaction. */
export async function deferVectorIndexes(client: pg.Client, table: string): Promise<string[]> {
  await client.query("begin");
  try {
    const { rows } = await client.query(
      `select schemaname, indexname, indexdef from pg_indexes
        where schemaname = 'public' and tablename = $1 and indexdef ~* 'USING hnsw'`,
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

/** Builds every index a run deferred (this one or a killed one), then forgets it. */
export async function rebuildDeferredIndexes(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query("select index_name, definition from jarvis.adopt_deferred_indexes");
  for (const r of rows) {
    const exists = await client.query("select to_regclass($1) is not null as ok", [r.index_name]);
    if (!exists.rows[0].ok) await client.query(r.definition);
    await client.query("delete from jarvis.adopt_deferred_indexes where index_name = $1", [r.index_name]);
  }
  return rows.map((r) => r.index_name as string);
}
