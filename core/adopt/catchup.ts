/**
 * The catch-up pass (a run after a completed one, when the source changed: the cut-over's write
 * freeze). For uuid keys the rows are grouped in 65,536 buckets by the key's first 4 hex digits;
 * a bucket whose count or hash sum differs between the source and the target (imported plus
 * quarantined rows) is walked again, with updates applied, and the rows the source no longer has
 * are removed. Other keys (users) are walked whole.
 */
import type pg from "pg";
import { ident } from "../pg.ts";
import { sourceFrom, sourceRowHash, targetRowHash } from "./checksum.ts";
import type { Source } from "./source.ts";
import type { TableMap } from "./tables.ts";

/** Per bucket: rows and hash sum. */
export type Buckets = Map<string, { n: bigint; h: bigint }>;

/** Both sides' bucket sums, read once: the changed buckets, then the verification's totals. */
export interface BucketSums {
  source: Buckets;
  /** Imported plus quarantined rows. */
  target: Buckets;
  changed: string[];
}

async function read(c: pg.Client, sql: string, params: unknown[] = []): Promise<Buckets> {
  const { rows } = await c.query(sql, params);
  return new Map(rows.map((r) => [r.b as string, { n: BigInt(r.n), h: BigInt(r.h) }]));
}

const same = (a?: { n: bigint; h: bigint }, b?: { n: bigint; h: bigint }) =>
  a !== undefined && b !== undefined && a.n === b.n && a.h === b.h;

/**
 * The target's bucket sums (imported plus quarantined), of the given buckets only when named. The
 * buckets are matched by their prefix against an array: one hashed lookup per row, where a few
 * hundred key ranges cost the planner and the quarantine's text index far more.
 */
export function readTargetBuckets(
  target: pg.Client,
  m: TableMap,
  sourceId: string,
  buckets?: string[],
): Promise<Buckets> {
  const only = (col: string) => (buckets ? `AND left(${col}, 4) = ANY($3::text[])` : "");
  return read(
    target,
    `SELECT b, sum(n) AS n, sum(h)::text AS h FROM (
       SELECT left(t.id::text, 4) AS b, count(*) AS n, coalesce(sum(${targetRowHash(m)}::numeric), 0) AS h
         FROM public.${ident(m.table)} t WHERE true ${only("t.id::text")} GROUP BY 1
       UNION ALL
       SELECT left(source_key, 4), count(*), sum(row_hash) FROM jarvis.adopt_quarantine
        WHERE source_id = $1 AND table_name = $2 ${only("source_key")} GROUP BY 1) x
     GROUP BY 1`,
    buckets ? [sourceId, m.table, buckets] : [sourceId, m.table],
  );
}

/** Bucket sums of both sides (the source in the run's snapshot) and the buckets that differ. */
export async function bucketSums(source: Source, target: pg.Client, m: TableMap): Promise<BucketSums> {
  const [src, tgt] = await Promise.all([
    read(
      source.client,
      `SELECT left(s.${ident(m.key)}::text, 4) AS b, count(*) AS n, coalesce(sum(${sourceRowHash(m)}::numeric), 0)::text AS h
         FROM ${sourceFrom(m)} GROUP BY 1`,
    ),
    readTargetBuckets(target, m, source.id),
  ]);
  const all = new Set([...src.keys(), ...tgt.keys()]);
  const changed = [...all].filter((b) => !same(src.get(b), tgt.get(b))).sort();
  return { source: src, target: tgt, changed };
}

/**
 * After the catch-up walk: the target's sums of the walked buckets read again (the others were
 * equal to the source's and nothing but this pass wrote them), so the verification has both
 * sides' totals without reading either table whole a second time.
 */
export async function refreshBuckets(target: pg.Client, m: TableMap, sourceId: string, sums: BucketSums) {
  if (!sums.changed.length) return;
  // Past a few thousand ranges one scan of the table is cheaper than the ranges.
  const whole = sums.changed.length > 4096;
  const fresh = await readTargetBuckets(target, m, sourceId, whole ? undefined : sums.changed);
  if (whole) sums.target = fresh;
  else
    for (const b of sums.changed) {
      const v = fresh.get(b);
      if (v) sums.target.set(b, v);
      else sums.target.delete(b);
    }
}

/** Rows and hash sum over all buckets. */
export function totals(b: Buckets): { rows: number; hash: bigint } {
  let n = 0n;
  let h = 0n;
  for (const v of b.values()) [n, h] = [n + v.n, h + v.h];
  return { rows: Number(n), hash: h };
}

/** The target's primary key columns (what a catch-up pass updates rows by). */
export async function primaryKey(target: pg.Client, table: string): Promise<string[]> {
  const { rows } = await target.query(
    `select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = $1::regclass and i.indisprimary order by array_position(i.indkey::int2[], a.attnum)`,
    [`public.${table}`],
  );
  return rows.map((r) => r.attname as string);
}

/**
 * After a catch-up walk: rows of the walked buckets the source no longer has are deleted from the
 * target and from the quarantine (only when adopt owns every row of the table: no --force rows).
 */
export async function removeVanished(
  target: pg.Client,
  m: TableMap,
  sourceId: string,
  buckets: string[] | undefined,
  seen: Set<string>,
): Promise<number> {
  const { rows } = await target.query(
    `SELECT id::text AS k FROM public.${ident(m.table)} ${buckets ? "WHERE left(id::text, 4) = ANY($1::text[])" : ""}`,
    buckets ? [buckets] : [],
  );
  const gone = rows.map((r) => r.k as string).filter((k) => !seen.has(k));
  await target.query("begin");
  try {
    // adopt's own deletions fire neither the application's triggers nor the audit log.
    await target.query("set local session_replication_role = replica");
    if (gone.length)
      await target.query(`DELETE FROM public.${ident(m.table)} WHERE id::text = ANY($1::text[])`, [gone]);
    const { rows: q } = await target.query(
      `SELECT source_key AS k FROM jarvis.adopt_quarantine WHERE source_id = $1 AND table_name = $2 ${buckets ? "AND left(source_key, 4) = ANY($3::text[])" : ""}`,
      buckets ? [sourceId, m.table, buckets] : [sourceId, m.table],
    );
    const qGone = q.map((r) => r.k as string).filter((k) => !seen.has(k));
    if (qGone.length)
      await target.query(
        "DELETE FROM jarvis.adopt_quarantine WHERE source_id = $1 AND table_name = $2 AND source_key = ANY($3::text[])",
        [sourceId, m.table, qGone],
      );
    await target.query("commit");
    return gone.length + qGone.length;
  } catch (e) {
    await target.query("rollback");
    throw e;
  }
}

/** Conversations with a message in the given buckets (their message_count is recounted). */
export async function conversationsIn(target: pg.Client, buckets: string[]): Promise<string[]> {
  const { rows } = await target.query(
    `SELECT DISTINCT conversation_id::text AS c FROM public.messages
      WHERE left(id::text, 4) = ANY($1::text[]) AND conversation_id IS NOT NULL`,
    [buckets],
  );
  return rows.map((r) => r.c as string);
}
