/**
 * `jarvis-data adopt postgres`: brings a legacy JARVIS database (the audit's Alembic 001 shape)
 * into the stack's schema, resumably, and proves it. The steps:
 *
 *   open the source's read-only snapshot, check its shape and time zone
 *   check the target is migrated; refuse rows not from this source (unless --force)
 *   per table: monthly partitions back to the oldest row, then batches (copy.ts)
 *   recount message_count, move identity sequences past the highest id
 *   verify per table: source rows = imported + quarantined, checksums equal
 */
import type pg from "pg";
import { silentLogger, type Logger } from "../log.ts";
import { noProgress, type Progress as ProgressLine } from "../progress.ts";
import { ident, refuseSuperuser } from "../pg.ts";
import {
  bucketSums,
  conversationsIn,
  primaryKey,
  refreshBuckets,
  removeVanished,
  totals,
  type BucketSums,
} from "./catchup.ts";
import { copyTable } from "./copy.ts";
import { targetRules } from "./rules.ts";
import { DEFER_INDEX_ROWS, deferIndexes, rebuildDeferredIndexes } from "./indexes.ts";
import { shapeError } from "./errors.ts";
import { planTable, type TablePlan } from "./plan.ts";
import { checkPostgresUrl, checkTimeZone, forkSource, openSource, type Source } from "./source.ts";
import { sourceChecksumSql } from "./checksum.ts";
import { instant, shapeProblems, tableMaps, type TableMap } from "./tables.ts";
import {
  checkTargetShape,
  claimTarget,
  connectTarget,
  ensurePartitions,
  finishTarget,
  readProgress,
  targetChecksum,
  type Progress,
} from "./target.ts";

export interface AdoptPostgresOptions {
  /** The legacy database (read only). */
  from: string;
  /** The stack's database (DATABASE_URL). */
  target: string;
  dryRun?: boolean;
  force?: boolean;
  /** Zone of the source's naive timestamps (default: the source server's TimeZone). */
  sourceTimeZone?: string;
  batchSize?: number;
  log?: Logger;
  /** A progress line per table (core/progress.ts); none by default. */
  progress?: (label: string, total: number) => ProgressLine;
}

export interface AdoptTableReport {
  source: number;
  imported: number;
  quarantined: number;
  checksumMatch: boolean;
}

export interface AdoptPostgresResult {
  sourceId: string;
  timeZone: string;
  dryRun: boolean;
  tables: Record<string, AdoptTableReport>;
  plan?: Record<string, TablePlan>;
  mismatches: string[];
  seconds: number;
  copySeconds: number;
  verifySeconds: number;
}

const PARTITIONED = new Set(["conversations", "messages"]);

/** Oldest and newest instants of a table's partition key, converted as the copy converts them. */
async function timeRange(source: Source, m: TableMap): Promise<{ from: Date; to: Date } | null> {
  const created = source.tables[m.source]?.created_at;
  if (!created) return null;
  const { rows } = await source.client.query(
    `SELECT ${instant("x.lo", created, source.tz)}::text AS lo, ${instant("x.hi", created, source.tz)}::text AS hi
       FROM (SELECT min(s.created_at) AS lo, max(s.created_at) AS hi FROM public.${ident(m.source)} s) x`,
  );
  if (!rows[0].lo) return null;
  return { from: new Date(rows[0].lo), to: new Date(rows[0].hi) };
}

/** Count and hash sum of a table's quarantined rows. */
async function quarantined(target: pg.Client, sourceId: string, table: string) {
  const { rows } = await target.query(
    "select count(*)::bigint as n, coalesce(sum(row_hash), 0)::text as h from jarvis.adopt_quarantine where source_id = $1 and table_name = $2",
    [sourceId, table],
  );
  return { rows: Number(rows[0].n), hash: BigInt(rows[0].h) };
}

async function sourceChecksum(source: Source, m: TableMap): Promise<{ rows: number; hash: bigint }> {
  const { rows } = await source.client.query(sourceChecksumSql(m));
  return { rows: Number(rows[0].n), hash: BigInt(rows[0].h) };
}

async function conversationFk(target: pg.Client, table: string): Promise<string | undefined> {
  const { rows } = await target.query(
    `select conname from pg_constraint where conrelid = $1::regclass and contype = 'f' and confrelid = 'public.conversations'::regclass`,
    [`public.${table}`],
  );
  return rows[0]?.conname;
}

interface Prepared {
  copy: boolean;
  /** A catch-up pass: only these uuid buckets (undefined: the whole table). */
  buckets?: string[];
  /** A catch-up pass: the primary key rows are updated by. */
  upsert?: string[];
  /** Both sides' bucket sums (uuid keys, a completed table): the verification reuses them. */
  sums?: BucketSums;
}

/**
 * A table not completed resumes after its last key. A completed one is left alone when the
 * source did not change, and caught up (catchup.ts) when it did.
 */
async function prepareTable(
  source: Source,
  target: pg.Client,
  m: TableMap,
  p: Progress,
  log: Logger,
): Promise<Prepared> {
  if (!p.completed) return { copy: true };
  let buckets: string[] | undefined;
  let sums: BucketSums | undefined;
  if (m.keyType === "uuid") {
    sums = await bucketSums(source, target, m);
    buckets = sums.changed;
    if (!buckets.length) return { copy: false, sums };
  } else {
    const now = await sourceChecksum(source, m);
    if (now.rows === p.sourceRows && now.hash === p.sourceHash) return { copy: false };
  }
  log.warn(`${m.table}: the source changed since the last adopt; catching up`, {
    buckets: buckets?.length ?? "all",
  });
  p.lastKey = null;
  const upsert = await primaryKey(target, m.table);
  return { copy: true, upsert, ...(buckets ? { buckets } : {}), ...(sums ? { sums } : {}) };
}

interface Lane {
  source: Source;
  target: pg.Client;
  /** Per table, the catch-up's bucket sums (shared by the lanes): verifyAll's totals. */
  sums: Map<string, BucketSums>;
  /** Conversations whose message_count is recounted: all after a bulk copy, else those walked. */
  recount: { all: boolean; ids: Set<string> };
}

/** One table: partitions, the deferred vector index, the batches, the index built again. */
async function adoptTable(lane: Lane, m: TableMap, p: Progress, o: AdoptPostgresOptions): Promise<void> {
  const { source, target } = lane;
  const log = o.log ?? silentLogger;
  const prep = await prepareTable(source, target, m, p, log);
  if (prep.sums) lane.sums.set(m.table, prep.sums);
  if (!prep.copy) return log.info(`${m.table}: already adopted, source unchanged; nothing to copy`);
  if (PARTITIONED.has(m.table)) {
    const range = await timeRange(source, m);
    if (range) await ensurePartitions(target, m.table, range.from, range.to);
  }
  const { rows } = await source.client.query(`SELECT count(*)::bigint AS n FROM public.${ident(m.source)}`);
  const total = Number(rows[0].n);
  if (!prep.buckets && total - p.imported - p.quarantined >= DEFER_INDEX_ROWS)
    await deferIndexes(target, m.table);
  const line = o.progress?.(`adopt ${m.table}`, total) ?? noProgress;
  line.update(p.imported + p.quarantined);
  const seen = prep.upsert ? new Set<string>() : undefined;
  const walked = async () => {
    if (m.table !== "messages" && m.table !== "conversations") return;
    if (!prep.buckets) lane.recount.all = true;
    else if (m.table === "messages")
      for (const c of await conversationsIn(target, prep.buckets)) lane.recount.ids.add(c);
  };
  await walked(); // the conversations the walked messages belonged to
  await copyTable({
    source,
    target,
    map: m,
    sourceId: source.id,
    progress: p,
    batchSize: o.batchSize ?? 50_000,
    conversationFk: await conversationFk(target, m.table),
    rules: await targetRules(target, m),
    fresh: !prep.upsert && p.preexistingRows === 0,
    onBatch: (q) => line.update(q.imported + q.quarantined),
    ...(prep.buckets ? { buckets: prep.buckets } : {}),
    ...(prep.upsert ? { upsert: prep.upsert, seen } : {}),
  });
  line.finish();
  log.info(`${m.table}: copied`, { imported: p.imported, quarantined: p.quarantined });
  if (seen && p.preexistingRows === 0) await removeVanished(target, m, source.id, prep.buckets, seen);
  await walked(); // and those they belong to now
  if (prep.sums) await refreshBuckets(target, m, source.id, prep.sums);
  const rebuilt = await rebuildDeferredIndexes(target, m.table);
  if (rebuilt.length) log.info(`${m.table}: indexes built`, { indexes: rebuilt });
}

/**
 * users, then conversations; then messages and memory_entries side by side (both need only
 * conversations), the second on its own connections sharing the source's snapshot.
 */
async function copyAll(
  lane: Lane,
  maps: TableMap[],
  progress: Map<string, Progress>,
  o: AdoptPostgresOptions,
) {
  const [first, second, ...parallel] = maps;
  for (const m of [first!, second!]) await adoptTable(lane, m, progress.get(m.table)!, o);
  const other: Lane = {
    source: await forkSource(lane.source),
    target: await connectTarget(o.target),
    sums: lane.sums,
    recount: lane.recount,
  };
  try {
    const results = await Promise.allSettled(
      parallel.map((m, i) => adoptTable(i === 0 ? lane : other, m, progress.get(m.table)!, o)),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } finally {
    await other.source.close();
    await other.target.end().catch(() => {});
  }
  await rebuildDeferredIndexes(lane.target);
  await finishTarget(lane.target, lane.recount.all ? undefined : lane.recount.ids);
}

/**
 * Both sides' count and hash sum of a table. A catch-up pass has them already: its bucket sums
 * (the source's in this run's snapshot; the target's read again for the buckets it walked).
 */
async function checksums(source: Source, target: pg.Client, m: TableMap, sums?: BucketSums) {
  if (!sums) {
    // The source on its server while the target counts on its own.
    const [src, tgt, q] = await Promise.all([
      sourceChecksum(source, m),
      targetChecksum(target, m),
      quarantined(target, source.id, m.table),
    ]);
    return { src, tgt, q };
  }
  const q = await quarantined(target, source.id, m.table);
  const both = totals(sums.target);
  return { src: totals(sums.source), tgt: { rows: both.rows - q.rows, hash: both.hash - q.hash }, q };
}

/** Verification, table by table; records the source's figures on the tables that match. */
async function verifyAll(
  source: Source,
  target: pg.Client,
  maps: TableMap[],
  progress: Map<string, Progress>,
  sums: Map<string, BucketSums>,
) {
  const tables: Record<string, AdoptTableReport> = {};
  const mismatches: string[] = [];
  for (const m of maps) {
    const p = progress.get(m.table)!;
    const { src, tgt, q } = await checksums(source, target, m, sums.get(m.table));
    const imported = tgt.rows - p.preexistingRows;
    const countOk = src.rows === imported + q.rows;
    const checksumMatch = countOk && src.hash - q.hash === tgt.hash - p.preexistingHash;
    tables[m.table] = { source: src.rows, imported, quarantined: q.rows, checksumMatch };
    if (!countOk)
      mismatches.push(`${m.table}: ${src.rows} source rows ≠ ${imported} imported + ${q.rows} quarantined`);
    else if (!checksumMatch)
      mismatches.push(`${m.table}: the imported rows' checksum differs from the source's`);
    await target.query(
      `update jarvis.adopt_progress set completed_at = case when $3 then coalesce(completed_at, now()) end,
              source_rows = $4, source_hash = $5 where source_id = $1 and table_name = $2`,
      [source.id, m.table, checksumMatch, src.rows, src.hash.toString()],
    );
  }
  return { tables, mismatches };
}

export async function adoptPostgres(o: AdoptPostgresOptions): Promise<AdoptPostgresResult> {
  const t0 = performance.now();
  checkPostgresUrl(o.from, "legacy (source)", "--from");
  checkPostgresUrl(o.target, "stack's (target)", "DATABASE_URL");
  const source = await openSource(o.from);
  let target: pg.Client | undefined;
  try {
    const problems = shapeProblems(source.tables);
    if (problems.length) throw shapeError(problems);
    source.tz = o.sourceTimeZone ?? source.serverTimeZone;
    await checkTimeZone(source, source.tz);
    const maps = tableMaps(source.tables, source.tz);
    target = await connectTarget(o.target);
    // The rows adopt writes (and the plan's checks) run the target's CHECK and trigger functions,
    // which jarvis_owner owns: never as a superuser.
    await refuseSuperuser(
      target,
      "adopt postgres",
      "the CHECK and trigger functions of the tables it writes",
    );
    await checkTargetShape(target, maps);
    const base = { sourceId: source.id, timeZone: source.tz, mismatches: [] as string[] };
    if (o.dryRun) {
      const plan: Record<string, TablePlan> = {};
      for (const m of maps) plan[m.table] = await planTable(source, target, m);
      const seconds = (performance.now() - t0) / 1000;
      return { ...base, dryRun: true, tables: {}, plan, seconds, copySeconds: 0, verifySeconds: 0 };
    }
    const log = o.log ?? silentLogger;
    const progress = await readProgress(target, source.id);
    await claimTarget(target, source.id, maps, progress, Boolean(o.force));
    const sums = new Map<string, BucketSums>();
    const recount = { all: false, ids: new Set<string>() };
    const lane = { source, target, sums, recount };
    await copyAll(lane, maps, progress, o);
    const t1 = performance.now();
    log.info("copied; verifying");
    const v = await verifyAll(source, target, maps, progress, sums);
    log.info("verified", { mismatches: v.mismatches.length });
    const t2 = performance.now();
    return {
      ...base,
      dryRun: false,
      tables: v.tables,
      mismatches: v.mismatches,
      seconds: (t2 - t0) / 1000,
      copySeconds: (t1 - t0) / 1000,
      verifySeconds: (t2 - t1) / 1000,
    };
  } finally {
    await source.close();
    await target?.end().catch(() => {});
  }
}
