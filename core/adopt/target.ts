/**
 * The stack's database as adopt's target: its shape, adopt's bookkeeping (sql/migrations/0010),
 * the monthly partitions the historical rows need, and what is recomputed after the copy.
 */
import type pg from "pg";
import { EXIT } from "../errors.ts";
import { redactText } from "../log.ts";
import { connect, ident } from "../pg.ts";
import { targetChecksumSql } from "./checksum.ts";
import { AdoptError, targetRefused, targetShapeError } from "./errors.ts";
import type { TableMap } from "./tables.ts";

export interface Progress {
  lastKey: string | null;
  imported: number;
  quarantined: number;
  quarantinedHash: bigint;
  preexistingRows: number;
  preexistingHash: bigint;
  completed: boolean;
  sourceRows: number | null;
  sourceHash: bigint | null;
}

export async function connectTarget(url: string): Promise<pg.Client> {
  let client: pg.Client;
  try {
    client = await connect(url, { applicationName: "jarvis-data adopt" });
  } catch (e) {
    throw new AdoptError(
      "JARVIS_ADOPT_TARGET_UNREACHABLE",
      `the stack's database at ${redactText(url)} is unreachable (${(e as Error).message}); check DATABASE_URL (jarvis_owner's connection) and that the stack's PostgreSQL runs`,
      EXIT.unavailable,
    );
  }
  await client.query(
    "set TimeZone = 'UTC'; set DateStyle = 'ISO, YMD'; set extra_float_digits = 1; set statement_timeout = 0",
  );
  return client;
}

/** Refuses a target that was not migrated (`migrate apply` makes these). */
export async function checkTargetShape(client: pg.Client, maps: TableMap[]): Promise<void> {
  const wanted = [
    ...maps.map((m) => `public.${m.table}`),
    "jarvis.adopt_progress",
    "jarvis.adopt_quarantine",
  ];
  const { rows } = await client.query(
    "select t, to_regclass(t) is not null as ok from unnest($1::text[]) t",
    [wanted],
  );
  const missing = rows.filter((r) => !r.ok).map((r) => r.t as string);
  if (missing.length) throw targetShapeError(missing);
}

const big = (v: unknown) => BigInt(String(v ?? 0).split(".")[0]!);

export async function readProgress(client: pg.Client, sourceId: string): Promise<Map<string, Progress>> {
  const { rows } = await client.query("select * from jarvis.adopt_progress where source_id = $1", [sourceId]);
  return new Map(
    rows.map((r) => [
      r.table_name as string,
      {
        lastKey: r.last_key,
        imported: Number(r.imported),
        quarantined: Number(r.quarantined),
        quarantinedHash: big(r.quarantined_hash),
        preexistingRows: Number(r.preexisting_rows),
        preexistingHash: big(r.preexisting_hash),
        completed: r.completed_at !== null,
        sourceRows: r.source_rows === null ? null : Number(r.source_rows),
        sourceHash: r.source_hash === null ? null : big(r.source_hash),
      },
    ]),
  );
}

export async function targetChecksum(
  client: pg.Client,
  m: TableMap,
): Promise<{ rows: number; hash: bigint }> {
  const { rows } = await client.query(targetChecksumSql(m));
  return { rows: Number(rows[0].n), hash: big(rows[0].h) };
}

/**
 * Before the first batch: a table holding rows that did not come from this source is refused,
 * naming it, unless `force`; then those rows are recorded (count and hash) so the verification
 * leaves them out. Rows this source brought on an earlier run are its own: that is a resume.
 */
export async function claimTarget(
  client: pg.Client,
  sourceId: string,
  maps: TableMap[],
  progress: Map<string, Progress>,
  force: boolean,
): Promise<void> {
  const foreign: { table: string; rows: number }[] = [];
  const fresh: { m: TableMap; rows: number; hash: bigint }[] = [];
  for (const m of maps) {
    const p = progress.get(m.table);
    const { rows } = await client.query(`select count(*)::bigint as n from public.${ident(m.table)}`);
    const n = Number(rows[0].n);
    const ours = p ? p.imported + p.preexistingRows : 0;
    if (n > ours) foreign.push({ table: m.table, rows: n - ours });
    if (!p) fresh.push({ m, rows: 0, hash: 0n });
  }
  if (foreign.length && !force) throw targetRefused(foreign);
  for (const f of fresh) {
    const pre = force ? await targetChecksum(client, f.m) : { rows: 0, hash: 0n };
    await client.query(
      `insert into jarvis.adopt_progress (source_id, table_name, preexisting_rows, preexisting_hash) values ($1, $2, $3, $4)
       on conflict do nothing`,
      [sourceId, f.m.table, pre.rows, pre.hash.toString()],
    );
    progress.set(f.m.table, {
      lastKey: null,
      imported: 0,
      quarantined: 0,
      quarantinedHash: 0n,
      preexistingRows: pre.rows,
      preexistingHash: pre.hash,
      completed: false,
      sourceRows: null,
      sourceHash: null,
    });
  }
}

/**
 * Monthly partitions from `from` to `to` (one month of margin on each side, so the target's
 * time zone cannot move a row across a boundary), made by pg_partman as jarvis_owner, like the
 * ones it premakes: no historical row lands in the default partition.
 */
export async function ensurePartitions(
  client: pg.Client,
  table: string,
  from: Date,
  to: Date,
): Promise<number> {
  const months: string[] = [];
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() - 1, 1));
  const end = new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() + 1, 1));
  for (; d <= end; d.setUTCMonth(d.getUTCMonth() + 1)) months.push(d.toISOString());
  await client.query("begin");
  try {
    await client.query("set local role jarvis_owner").catch(() => {});
    const { rows } = await client.query(
      "select partman.create_partition_time($1, $2::timestamptz[]) as made",
      [`public.${table}`, months],
    );
    await client.query("commit");
    return rows[0].made ? months.length : 0;
  } catch (e) {
    await client.query("rollback");
    throw new AdoptError(
      "JARVIS_ADOPT_PARTITIONS",
      `could not create the monthly partitions of ${table} from ${months[0]} to ${months[months.length - 1]} (${(e as Error).message}); if the default partition holds rows of those months, move them out first (partman.partition_data_time)`,
    );
  }
}

/** Rows in a partitioned table's default partition (none after a correct adopt). */
export async function defaultPartitionRows(client: pg.Client, table: string): Promise<number> {
  const { rows } = await client.query(
    `select c.oid::regclass::text as part from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = $1::regclass and pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'`,
    [`public.${table}`],
  );
  if (!rows.length) return 0;
  const { rows: n } = await client.query(`select count(*)::bigint as n from ${rows[0].part}`);
  return Number(n[0].n);
}

const RECOUNT_ALL = `
  update public.conversations c set message_count = x.n
    from (select conversation_id, conversation_created_at, count(*)::int as n from public.messages group by 1, 2) x
   where c.id = x.conversation_id and c.created_at = x.conversation_created_at and c.message_count <> x.n`;

/** A catch-up pass recounts only the conversations whose messages it walked (some may have none left). */
const RECOUNT_SOME = `
  update public.conversations c set message_count = x.n
    from (select c2.id, c2.created_at, count(m.id)::int as n from public.conversations c2
            left join public.messages m on m.conversation_id = c2.id and m.conversation_created_at = c2.created_at
           where c2.id = any($1::uuid[]) group by 1, 2) x
   where c.id = x.id and c.created_at = x.created_at and c.message_count <> x.n`;

/**
 * After the copy: message_count recounted from the messages adopted (the triggers were off), and
 * identity sequences moved past the highest id. Changes nothing when already right.
 */
export async function finishTarget(client: pg.Client, only?: Set<string>): Promise<void> {
  await client.query("begin");
  try {
    await client.query("alter table public.conversations disable trigger user");
    await client.query(only ? RECOUNT_SOME : RECOUNT_ALL, only ? [[...only]] : []);
    await client.query("alter table public.conversations enable trigger user");
    const { rows } = await client.query("select pg_get_serial_sequence('public.users', 'id') as seq");
    if (rows[0].seq) {
      // Only ever forward: a sequence already past the highest id is left where it is.
      await client.query(
        `select setval($1, m.v) from (select max(id) as v from public.users) m, ${rows[0].seq} s
          where m.v is not null and (m.v > s.last_value or not s.is_called)`,
        [rows[0].seq],
      );
    }
    await client.query("commit");
  } catch (e) {
    await client.query("rollback");
    throw e;
  }
}
