/**
 * What a backup records about a PostgreSQL database and what a restore or drill checks: the user
 * tables, their exact row counts, ordered content checksums, the migration version, constraint
 * validity and whether a vector query answers.
 */
import type pg from "pg";
import { ident } from "../pg.ts";
import { HISTORY_TABLE } from "../migrate/history.ts";

/** Tables that hold user data: ordinary tables outside the system schemas, not owned by an extension. */
const USER_TABLES = `
  select n.nspname as schema, c.relname as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind = 'r'
     and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
     and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%'
     and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
     and not exists (select 1 from pg_depend d join pg_extension e on d.refobjid = e.oid
                      where d.classid = 'pg_namespace'::regclass and d.objid = n.oid and d.deptype = 'e')
   order by 1, 2`;

export async function userTables(c: pg.Client): Promise<{ schema: string; name: string }[]> {
  return (await c.query(USER_TABLES)).rows;
}

const qualified = (t: { schema: string; name: string }) => `${ident(t.schema)}.${ident(t.name)}`;

/** Exact row count per table ("schema.table"), in the client's current snapshot. */
export async function rowCounts(c: pg.Client): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await userTables(c)) {
    const r = await c.query(`select count(*)::bigint as n from ${qualified(t)}`);
    out[`${t.schema}.${t.name}`] = Number(r.rows[0].n);
  }
  return out;
}

/** md5 of every table's rows in a total order: equal checksums mean equal data. */
export async function tableChecksums(c: pg.Client): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of await userTables(c)) {
    const r = await c.query(
      `select md5(coalesce(string_agg(x.r, E'\\n' order by x.r), '')) as h from (select t::text as r from ${qualified(t)} t) x`,
    );
    out[`${t.schema}.${t.name}`] = r.rows[0].h;
  }
  return out;
}

/** The latest applied migration (core/migrate's history table), or null when the database has none. */
export async function schemaVersion(c: pg.Client): Promise<string | null> {
  const present = (await c.query("select to_regclass($1) is not null as p", [HISTORY_TABLE])).rows[0]
    .p as boolean;
  if (!present) return null;
  const r = await c.query(`select max(version)::text as v from ${HISTORY_TABLE}`);
  return r.rows[0].v ?? null;
}

/** Constraints that are not validated (NOT VALID and never validated), as "table.constraint". */
export async function invalidConstraints(c: pg.Client): Promise<string[]> {
  const r = await c.query(`
    select conrelid::regclass::text || '.' || conname as name from pg_constraint con
      join pg_namespace n on n.oid = con.connamespace
     where not convalidated and n.nspname not in ('pg_catalog', 'information_schema') order by 1`);
  return r.rows.map((x) => x.name);
}

/** Runs a nearest-neighbour query on the first vector column that has rows; null when there is none. */
export async function vectorProbe(
  c: pg.Client,
): Promise<{ table: string; column: string; rows: number } | null> {
  const cols = await c.query(`
    select n.nspname as schema, c.relname as name, a.attname as col
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      join pg_type ty on ty.oid = a.atttypid
     where ty.typname = 'vector' and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
       and n.nspname not in ('pg_catalog', 'information_schema')
     order by c.relkind = 'p' desc, 1, 2`);
  for (const { schema, name, col } of cols.rows) {
    const tbl = `${ident(schema)}.${ident(name)}`;
    const probe = await c.query(
      `select ${ident(col)}::text as v from ${tbl} where ${ident(col)} is not null limit 1`,
    );
    if (!probe.rows[0]) continue;
    const r = await c.query(
      `select count(*)::int as n from (select 1 from ${tbl} order by ${ident(col)} <-> $1::text::vector limit 5) x`,
      [probe.rows[0].v],
    );
    return { table: `${schema}.${name}`, column: col, rows: r.rows[0].n };
  }
  return null;
}

/**
 * What a database holds, for "this will be overwritten": tables and their rows, the planner's
 * estimate when the table was analysed, an exact count when it never was (reltuples -1: an
 * estimate of 0 would hide the rows a restore replaces).
 */
export async function describeDatabase(
  c: pg.Client,
): Promise<{ tables: { table: string; rows: number }[]; sizeBytes: number }> {
  const r = await c.query(`
    select n.nspname as schema, c.relname as name, c.reltuples::bigint as estimate
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
       and n.nspname not like 'pg_temp%'
     order by 1, 2`);
  const tables = [];
  for (const t of r.rows) {
    const estimate = Number(t.estimate);
    const rows =
      estimate >= 0
        ? estimate
        : Number((await c.query(`select count(*)::bigint as n from ${qualified(t)}`)).rows[0].n);
    tables.push({ table: `${t.schema}.${t.name}`, rows });
  }
  const size = await c.query(`select pg_database_size(current_database())::bigint as s`);
  return { tables, sizeBytes: Number(size.rows[0].s) };
}
