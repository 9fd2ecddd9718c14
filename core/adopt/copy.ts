/**
 * One table's copy: the source rows after the last committed key, through a cursor of the
 * snapshot, in batches. Each batch is one target transaction holding its rows, its quarantined
 * rows and the progress that names its last key, so a kill -9 loses at most the batch in flight
 * and the next run starts after the last one committed. Rows the target refuses are found by
 * halving the batch until the refused row stands alone: its error (constraint name, message)
 * goes to the quarantine with the source row as JSON.
 */
import type pg from "pg";
import { ident, literal } from "../pg.ts";
import { sourceFrom, sourceRowHash } from "./checksum.ts";
import type { Source } from "./source.ts";
import type { Progress } from "./target.ts";
import type { RowRule } from "./rules.ts";
import type { TableMap } from "./tables.ts";

export interface CopyOptions {
  source: Source;
  target: pg.Client;
  map: TableMap;
  sourceId: string;
  progress: Progress;
  batchSize: number;
  /** The foreign key that an orphan breaks (named in its quarantine reason). */
  conversationFk?: string;
  onBatch?: (p: Progress) => void;
  /** The target session is a superuser's (session_replication_role is open to it). */
  superuser: boolean;
  /** The target's rules for the table (rules.ts). */
  rules: RowRule[];
  /** Only these key buckets (the first 4 hex digits of a uuid key): a catch-up pass. */
  buckets?: string[];
  /** A catch-up pass: rows already here are updated to the source's content (the primary key's columns). */
  upsert?: string[];
  /** Filled with every source key the pass saw (a catch-up pass then removes what the source lost). */
  seen?: Set<string>;
  /**
   * The target holds no row of the table past the last committed key (no --force rows, no
   * catch-up): a plain INSERT, without ON CONFLICT's speculative insertion. A conflict would
   * still fail its row, which goes to quarantine, never silently.
   */
  fresh?: boolean;
}

/** A source row: its key, whether it is an orphan (and of which conversation), and its values as JSON text. */
interface Row {
  _key: string;
  _orphan: string | null;
  j: string;
}

interface Refusal {
  key: string;
  constraint: string | null;
  reason: string;
}

/** Errors a row causes (SQLSTATE classes 22 data exception, 23 integrity violation). */
function isRowError(e: unknown): e is { code: string; constraint?: string; message: string } {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("23"));
}

/** The rule a refused row broke: the constraint's name, or what the type enforces. */
function ruleOf(e: { code: string; constraint?: string; message: string }): string {
  if (e.constraint) return e.constraint;
  if (/expected \d+ dimensions/.test(e.message)) return "embedding vector(384)";
  return `SQLSTATE ${e.code}`;
}

/** A uuid key range per bucket, so the primary key's index finds them. */
export function bucketRanges(key: string, buckets: string[]): string {
  const ranges = buckets.map(
    (b) =>
      `(${key} BETWEEN ${literal(`${b}0000-0000-0000-0000-000000000000`)} AND ${literal(`${b}ffff-ffff-ffff-ffff-ffffffffffff`)})`,
  );
  return `(${ranges.join(" OR ")})`;
}

function cursorSql(m: TableMap, lastKey: string | null, buckets?: string[]): string {
  // The source builds each row's JSON itself: the batch crosses as text, never parsed here.
  const cols = m.columns.map((c, i) => `'c${i}', (${c.expr})::text`);
  const orphan = m.join
    ? "CASE WHEN s.conversation_id IS NOT NULL AND c.id IS NULL THEN s.conversation_id::text END"
    : "NULL::text";
  const key = `s.${ident(m.key)}`;
  const conds = [
    ...(lastKey === null ? [] : [`${key} > ${literal(lastKey)}`]),
    ...(buckets ? [buckets.length ? bucketRanges(key, buckets) : "false"] : []),
  ];
  const where = conds.length ? `WHERE ${conds.join(" AND ")}` : "";
  return `DECLARE adopt_cursor NO SCROLL CURSOR FOR SELECT s.${ident(m.key)}::text AS _key, ${orphan} AS _orphan, json_build_object('_key', s.${ident(m.key)}::text, ${cols.join(", ")})::text AS j FROM ${sourceFrom(m)} ${where} ORDER BY s.${ident(m.key)}`;
}

/**
 * One statement per batch: the rows cast to the target's types, judged by the target's rules
 * (rules.ts), the accepted ones inserted; returns how many went in and the refused keys with
 * their "rule|detail".
 */
function insertSql(m: TableMap, rules: RowRule[], upsert?: string[], fresh?: boolean): string {
  const names = m.columns.map((c) => ident(c.target)).join(", ");
  const casts = m.columns.map((c, i) => `r.c${i}::${c.type} AS ${ident(c.target)}`).join(", ");
  const defs = m.columns.map((_, i) => `c${i} text`).join(", ");
  const judge = rules.length
    ? `CASE ${rules.map((r) => `WHEN ${r.when} THEN ${r.reason}`).join(" ")} END`
    : "NULL::text";
  return `WITH v AS (SELECT r._key, ${casts} FROM json_to_recordset($1::json) AS r(_key text, ${defs})),
    judged AS (SELECT v.*, ${judge} AS _refused FROM v),
    ins AS (INSERT INTO public.${ident(m.table)} (${names}) SELECT ${names} FROM judged WHERE _refused IS NULL ${fresh ? "" : onConflict(m, upsert)} RETURNING 1)
    SELECT (SELECT count(*) FROM ins)::int AS inserted,
           coalesce((SELECT json_agg(json_build_array(_key, _refused)) FROM judged WHERE _refused IS NOT NULL), '[]'::json) AS refused`;
}

/** Rows already here: left alone, or (catch-up) brought to the source's content when it differs. */
function onConflict(m: TableMap, pk?: string[]): string {
  if (!pk) return "ON CONFLICT DO NOTHING";
  const cols = m.columns.map((c) => ident(c.target)).filter((c) => !pk.map(ident).includes(c));
  const t = `public.${ident(m.table)}`;
  return `ON CONFLICT (${pk.map(ident).join(", ")}) DO UPDATE SET ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(", ")}
    WHERE (${cols.map((c) => `${t}.${c}`).join(", ")}) IS DISTINCT FROM (${cols.map((c) => `EXCLUDED.${c}`).join(", ")})`;
}

/**
 * Inserts what the target accepts and collects the refused rows with their rule. A statement
 * that fails (a value no rule foresaw) is halved until the row that fails it stands alone.
 */
async function insertAccepted(o: CopyOptions, sql: string, rows: Row[], refused: Refusal[]): Promise<number> {
  if (!rows.length) return 0;
  const target = o.target;
  await target.query("savepoint adopt_rows");
  try {
    const { rows: res } = await target.query(sql, [`[${rows.map((r) => r.j).join(",")}]`]);
    await target.query("release savepoint adopt_rows");
    const named = new Set(o.rules.map((r) => r.constraint).filter(Boolean));
    for (const [key, why] of res[0].refused as [string, string][]) {
      const [rule, detail] = [why.slice(0, why.indexOf("|")), why.slice(why.indexOf("|") + 1)];
      refused.push({ key, constraint: named.has(rule) ? rule : null, reason: `${rule}: ${detail}` });
    }
    return res[0].inserted as number;
  } catch (e) {
    await target.query("rollback to savepoint adopt_rows");
    if (!isRowError(e)) throw e;
    if (rows.length === 1) {
      refused.push({
        key: rows[0]!._key,
        constraint: e.constraint ?? null,
        reason: `${ruleOf(e)}: ${e.message}`,
      });
      return 0;
    }
    const half = Math.ceil(rows.length / 2);
    return (
      (await insertAccepted(o, sql, rows.slice(0, half), refused)) +
      (await insertAccepted(o, sql, rows.slice(half), refused))
    );
  }
}

/** Quarantines the refused rows (source row as JSON) and returns how many were new, and their hash sum. */
async function quarantine(o: CopyOptions, refused: Refusal[]): Promise<{ n: number; hash: bigint }> {
  if (!refused.length) return { n: 0, hash: 0n };
  const m = o.map;
  const { rows } = await o.source.client.query(
    `SELECT s.${ident(m.key)}::text AS k, row_to_json(s)::text AS j, (${sourceRowHash(m)})::text AS h FROM ${sourceFrom(m)} WHERE s.${ident(m.key)} = ANY($1::${m.keyType}[])`,
    [refused.map((r) => r.key)],
  );
  const byKey = new Map(rows.map((r) => [r.k as string, r]));
  const items = refused.map((r) => ({
    ...r,
    row: byKey.get(r.key)?.j ?? "{}",
    h: byKey.get(r.key)?.h ?? "0",
  }));
  const { rows: added } = await o.target.query(
    `INSERT INTO jarvis.adopt_quarantine (source_id, table_name, source_key, constraint_name, reason, source_row, row_hash)
     SELECT $1, $2, x.key, x.constraint, x.reason, x.row::jsonb, x.h::numeric FROM json_to_recordset($3::json) AS x(key text, "constraint" text, reason text, row text, h text)
     ON CONFLICT (source_id, table_name, source_key) DO UPDATE SET constraint_name = EXCLUDED.constraint_name, reason = EXCLUDED.reason,
        source_row = EXCLUDED.source_row, row_hash = EXCLUDED.row_hash, quarantined_at = now()
     RETURNING source_key, (xmax = 0) AS fresh`,
    [o.sourceId, m.table, JSON.stringify(items)],
  );
  let hash = 0n;
  const fresh = added.filter((a) => a.fresh);
  for (const a of fresh) hash += BigInt(byKey.get(a.source_key)?.h ?? 0);
  return { n: fresh.length, hash };
}

/** A catch-up pass: rows that now went in are no longer in quarantine. */
async function unquarantine(o: CopyOptions, rows: Row[], refused: Refusal[]): Promise<void> {
  const bad = new Set(refused.map((r) => r.key));
  const keys = rows.map((r) => r._key).filter((k) => !bad.has(k));
  await o.target.query(
    "DELETE FROM jarvis.adopt_quarantine WHERE source_id = $1 AND table_name = $2 AND source_key = ANY($3::text[])",
    [o.sourceId, o.map.table, keys],
  );
}

/** One batch, one target transaction: rows, quarantine and progress commit together. */
async function commitBatch(o: CopyOptions, rows: Row[]): Promise<void> {
  const m = o.map;
  const t = o.target;
  const refused: Refusal[] = [];
  const fk = o.conversationFk ?? `${m.table}_conversation_fkey`;
  const clean = rows.filter((r) => {
    if (r._orphan === null) return true;
    refused.push({
      key: r._key,
      constraint: fk,
      reason: `${fk}: conversation ${r._orphan} does not exist in the source`,
    });
    return false;
  });
  await t.query("begin");
  try {
    // The application's triggers (audit, counters, updated_at) are off for adopt's own rows,
    // inside this transaction only: a crash cannot leave them off. CHECKs stay on. A superuser
    // also skips the foreign keys' per-row triggers (as pg_restore --disable-triggers does):
    // rules.ts has already checked every foreign key of the batch, set-wise.
    if (o.superuser) await t.query("set local session_replication_role = replica");
    else await t.query(`alter table public.${ident(m.table)} disable trigger user`);
    const inserted = await insertAccepted(
      o,
      insertSql(m, o.rules, o.upsert, o.fresh && !o.upsert),
      clean,
      refused,
    );
    if (o.upsert) await unquarantine(o, clean, refused);
    const q = await quarantine(o, refused);
    if (!o.superuser) await t.query(`alter table public.${ident(m.table)} enable trigger user`);
    const last = rows[rows.length - 1]!._key;
    await t.query(
      `UPDATE jarvis.adopt_progress SET last_key = $3, imported = imported + $4, quarantined = quarantined + $5,
              quarantined_hash = quarantined_hash + $6, completed_at = NULL, updated_at = now()
        WHERE source_id = $1 AND table_name = $2`,
      [o.sourceId, m.table, last, inserted, q.n, q.hash.toString()],
    );
    await t.query("commit");
    Object.assign(o.progress, {
      lastKey: last,
      imported: o.progress.imported + inserted,
      quarantined: o.progress.quarantined + q.n,
      quarantinedHash: o.progress.quarantinedHash + q.hash,
      completed: false,
    });
  } catch (e) {
    await t.query("rollback").catch(() => {});
    throw e;
  }
}

/**
 * Copies the table from its last committed key to the end of the snapshot. The next batch is
 * fetched from the source while the target commits the current one (two servers, two cores).
 */
export async function copyTable(o: CopyOptions): Promise<void> {
  const s = o.source.client;
  const fetch = () => s.query(`FETCH ${o.batchSize} FROM adopt_cursor`).then((r) => r.rows as Row[]);
  await s.query(cursorSql(o.map, o.progress.lastKey, o.buckets));
  let next: Promise<Row[]> | null = null;
  try {
    for (let rows = await fetch(); rows.length;) {
      next = fetch();
      for (const r of rows) o.seen?.add(r._key);
      await commitBatch(o, rows);
      o.onBatch?.(o.progress);
      rows = await next;
      next = null;
    }
  } finally {
    // A failed batch leaves a fetch in flight: let it settle before the cursor is closed.
    await next?.catch(() => {});
    await s.query("CLOSE adopt_cursor");
  }
}
