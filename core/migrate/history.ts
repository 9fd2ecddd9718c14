/** The history table: one row per applied (or baselined) migration. */
import type pg from "pg";

export const HISTORY_TABLE = "public.jarvis_schema_migrations";

export interface HistoryRow {
  version: number;
  name: string;
  sha256: string;
  appliedAt: string;
  durationMs: number;
  appliedBy: string;
  /** applied: the file ran; baseline: recorded as already present (migrate baseline). */
  kind: "applied" | "baseline";
}

export const HISTORY_DDL = `create table if not exists ${HISTORY_TABLE} (
  version integer primary key,
  name text not null,
  sha256 text not null,
  applied_at timestamptz not null default now(),
  duration_ms integer not null,
  applied_by text not null,
  kind text not null default 'applied',
  constraint jarvis_schema_migrations_kind_valid check (kind in ('applied', 'baseline'))
)`;

export async function historyExists(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query("select to_regclass($1) is not null as present", [HISTORY_TABLE]);
  return rows[0].present;
}

export async function readHistory(client: pg.Client): Promise<HistoryRow[]> {
  if (!(await historyExists(client))) return [];
  const { rows } = await client.query(
    `select version, name, sha256, applied_at, duration_ms, applied_by, kind from ${HISTORY_TABLE} order by version`,
  );
  return rows.map((r) => ({
    version: r.version,
    name: r.name,
    sha256: r.sha256,
    appliedAt: new Date(r.applied_at).toISOString(),
    durationMs: r.duration_ms,
    appliedBy: r.applied_by,
    kind: r.kind,
  }));
}

export async function ensureHistory(client: pg.Client): Promise<void> {
  if (!(await historyExists(client))) await client.query(HISTORY_DDL);
}
