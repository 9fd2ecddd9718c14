/**
 * One table's copy: the source rows after the last committed key, in the snapshot, in batches of
 * keys. Each batch is one target transaction holding its rows, its quarantined rows and the
 * progress that names its last key, so a kill -9 loses at most the batch in flight and the next
 * run starts after the last one committed.
 *
 * A batch goes straight into the table by COPY (transfer.ts), PostgreSQL's text both ways, as
 * pg_dump | psql moves it; the table's own constraints and types judge it, and with the foreign
 * keys' triggers off (replica role) one set-wise query checks them. A batch the table
 * refuses is rolled back and takes the careful path (stage.ts), which names each refused row's
 * rule. Refused rows go to the quarantine with their reason and the source row as JSON.
 */
import type pg from "pg";
import { ident, literal } from "../pg.ts";
import { sourceFrom, sourceRowHash } from "./checksum.ts";
import type { Source } from "./source.ts";
import {
  createStage,
  dropStage,
  insertJudged,
  isRowError,
  judgedInsertSql,
  refusal,
  STAGE_COPY,
  stagedKeys,
  unquarantine,
  type Refusal,
} from "./stage.ts";
import type { Progress } from "./target.ts";
import { CopyOutError, transfer } from "./transfer.ts";
import { sourceReadError } from "./errors.ts";
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
   * catch-up): batches go straight in by COPY, and the careful path uses a plain INSERT, without
   * ON CONFLICT's speculative insertion. A conflict would still fail its row, which goes to
   * quarantine, never silently.
   */
  fresh?: boolean;
}

/** A uuid key range per bucket, so the primary key's index finds them. */
export function bucketRanges(key: string, buckets: string[]): string {
  const ranges = buckets.map(
    (b) =>
      `(${key} BETWEEN ${literal(`${b}0000-0000-0000-0000-000000000000`)} AND ${literal(`${b}ffff-ffff-ffff-ffff-ffffffffffff`)})`,
  );
  return `(${ranges.join(" OR ")})`;
}

/** A batch: the source's keys after `after` up to `last` included, `rows` of them. */
interface KeyRange {
  after: string | null;
  last: string;
  rows: number;
}

/** A source row whose conversation the source lacks (the join found none). */
const ORPHAN = "s.conversation_id IS NOT NULL AND c.id IS NULL";

function rangeWhere(m: TableMap, after: string | null, last: string | null, buckets?: string[]): string {
  const key = `s.${ident(m.key)}`;
  const conds = [
    ...(after === null ? [] : [`${key} > ${literal(after)}`]),
    ...(last === null ? [] : [`${key} <= ${literal(last)}`]),
    ...(buckets ? [buckets.length ? bucketRanges(key, buckets) : "false"] : []),
  ];
  return conds.length ? `WHERE ${conds.join(" AND ")}` : "";
}

/** The next batch: `batchSize` keys after the last committed one, or what is left; null at the end. */
async function nextRange(o: CopyOptions): Promise<KeyRange | null> {
  const m = o.map;
  const key = `s.${ident(m.key)}`;
  const after = o.progress.lastKey;
  const from = `public.${ident(m.source)} s ${rangeWhere(m, after, null, o.buckets)}`;
  const q = (sql: string) => o.source.client.query(sql).then((r) => r.rows);
  const [full] = await q(
    `SELECT ${key}::text AS k FROM ${from} ORDER BY ${key} OFFSET ${o.batchSize - 1} LIMIT 1`,
  );
  if (full) return { after, last: full.k, rows: o.batchSize };
  const [end] = await q(
    `SELECT count(*)::int AS n, (SELECT ${key}::text FROM ${from} ORDER BY ${key} DESC LIMIT 1) AS k FROM ${from}`,
  );
  return end.n ? { after, last: end.k, rows: end.n } : null;
}

/** The batch's rows that have their conversation (or need none), as COPY text: key first when staged. */
function rowsOut(o: CopyOptions, r: KeyRange, withKey: boolean): string {
  const m = o.map;
  const cols = [
    ...(withKey ? [`s.${ident(m.key)}::text`] : []),
    ...m.columns.map((c) => `(${c.expr})::text`),
  ];
  const where = rangeWhere(m, r.after, r.last, o.buckets) + (m.join ? ` AND NOT (${ORPHAN})` : "");
  return `COPY (SELECT ${cols.join(", ")} FROM ${sourceFrom(m)} ${where}) TO STDOUT`;
}

/** The batch's orphans, refused with the foreign key they break. */
async function orphansIn(o: CopyOptions, r: KeyRange): Promise<Refusal[]> {
  const m = o.map;
  if (!m.join) return [];
  const fk = o.conversationFk ?? `${m.table}_conversation_fkey`;
  const { rows } = await o.source.client.query(
    `SELECT s.${ident(m.key)}::text AS k, s.conversation_id::text AS conv FROM ${sourceFrom(m)} ${rangeWhere(m, r.after, r.last, o.buckets)} AND ${ORPHAN}`,
  );
  return rows.map((x) => ({
    key: x.k,
    constraint: fk,
    reason: `${fk}: conversation ${x.conv} does not exist in the source`,
  }));
}

/**
 * With the foreign keys' triggers off (replica role), the straight batches' rows
 * that point nowhere: each foreign key checked once over the table, set-wise (an anti-join), its
 * dangling rows taken out and refused with the key they break, as the careful path would have
 * refused them. Only adopt's rows are there to check: straight batches run on a fresh table.
 */
async function settleDangling(o: CopyOptions): Promise<void> {
  const t = o.target;
  const table = `public.${ident(o.map.table)}`;
  await t.query("begin");
  try {
    await t.query("set local session_replication_role = replica");
    const refused: Refusal[] = [];
    for (const fk of o.rules.filter((x) => x.foreignKey)) {
      const { rows } = await t.query(
        `DELETE FROM ${table} v WHERE ${fk.when} RETURNING v.${ident(o.map.key)}::text AS k, ${fk.reason} AS why`,
      );
      for (const x of rows) refused.push(refusal(x.k, x.why, new Set([fk.constraint])));
    }
    const q = await quarantine(o, refused);
    const gone = new Set(refused.map((x) => x.key)).size;
    await t.query(
      `UPDATE jarvis.adopt_progress SET imported = imported - $3, quarantined = quarantined + $4,
              quarantined_hash = quarantined_hash + $5, updated_at = now()
        WHERE source_id = $1 AND table_name = $2`,
      [o.sourceId, o.map.table, gone, q.n, q.hash.toString()],
    );
    await t.query("commit");
    Object.assign(o.progress, {
      imported: o.progress.imported - gone,
      quarantined: o.progress.quarantined + q.n,
      quarantinedHash: o.progress.quarantinedHash + q.hash,
    });
  } catch (e) {
    await t.query("rollback").catch(() => {});
    throw e;
  }
}

/**
 * The batch straight into the table by COPY; null when the table refuses a row of it (a
 * constraint, a type, a conflict; a foreign key unless its triggers are off: settleDangling), and
 * nothing of the attempt is left.
 */
async function copyStraight(o: CopyOptions, r: KeyRange): Promise<number | null> {
  const t = o.target;
  const names = o.map.columns.map((c) => ident(c.target)).join(", ");
  await t.query("savepoint adopt_straight");
  try {
    const n = await transfer(
      o.source.client,
      rowsOut(o, r, false),
      t,
      `COPY public.${ident(o.map.table)} (${names}) FROM STDIN`,
    );
    await t.query("release savepoint adopt_straight");
    return n;
  } catch (e) {
    if (!isRowError(e)) throw e;
    await t.query("rollback to savepoint adopt_straight");
    return null;
  }
}

/** Batches go straight where nothing can conflict: no --force rows, no catch-up. */
const straight = (o: CopyOptions) => Boolean(o.fresh && !o.upsert);

/** The careful path (stage.ts): the batch staged, judged, its accepted rows inserted. */
async function copyJudged(o: CopyOptions, r: KeyRange, insert: string, refused: Refusal[]) {
  const staged = await transfer(o.source.client, rowsOut(o, r, true), o.target, STAGE_COPY);
  if (o.seen) for (const k of await stagedKeys(o.target)) o.seen.add(k);
  const inserted = staged ? await insertJudged(o.target, insert, o.rules, refused) : 0;
  if (o.upsert) await unquarantine(o.target, o.sourceId, o.map.table, refused);
  return { crossed: staged, inserted };
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

/** One batch, one target transaction: rows, quarantine and progress commit together. */
async function commitBatch(o: CopyOptions, r: KeyRange, insert: string): Promise<void> {
  const m = o.map;
  const t = o.target;
  await t.query("begin");
  try {
    // The application's triggers (audit, counters, updated_at) and the foreign keys' per-row
    // ones are off for adopt's own rows (replica role, as pg_restore --disable-triggers does;
    // jarvis_owner may set it since 0107), inside this transaction only: a crash cannot leave them
    // off. CHECKs stay on; the foreign keys are checked set-wise (rules.ts, settleDangling).
    await t.query("set local session_replication_role = replica");
    // Orphans never cross: the source knows them, and they cost a query only when the batch
    // came short of its keys.
    const refused: Refusal[] = [];
    const taken = straight(o) ? await copyStraight(o, r) : null;
    const moved =
      taken === null ? await copyJudged(o, r, insert, refused) : { crossed: taken, inserted: taken };
    if (moved.crossed < r.rows) {
      const orphans = await orphansIn(o, r);
      refused.push(...orphans);
      for (const x of orphans) o.seen?.add(x.key);
    }
    const q = await quarantine(o, refused);
    await t.query(
      `UPDATE jarvis.adopt_progress SET last_key = $3, imported = imported + $4, quarantined = quarantined + $5,
              quarantined_hash = quarantined_hash + $6, completed_at = NULL, updated_at = now()
        WHERE source_id = $1 AND table_name = $2`,
      [o.sourceId, m.table, r.last, moved.inserted, q.n, q.hash.toString()],
    );
    await t.query("commit");
    Object.assign(o.progress, {
      lastKey: r.last,
      imported: o.progress.imported + moved.inserted,
      quarantined: o.progress.quarantined + q.n,
      quarantinedHash: o.progress.quarantinedHash + q.hash,
      completed: false,
    });
  } catch (e) {
    await t.query("rollback").catch(() => {});
    throw e instanceof CopyOutError ? sourceReadError(m.source, r.after, r.last, e.reason) : e;
  }
}

/** Copies the table from its last committed key to the end of the snapshot. */
export async function copyTable(o: CopyOptions): Promise<void> {
  const insert = judgedInsertSql(o.map, o.rules, o.upsert, o.fresh && !o.upsert);
  await createStage(o.target, o.map);
  try {
    for (let r = await nextRange(o); r; r = await nextRange(o)) {
      await commitBatch(o, r, insert);
      o.onBatch?.(o.progress);
    }
    if (straight(o)) await settleDangling(o);
  } finally {
    await dropStage(o.target).catch(() => {});
  }
}
