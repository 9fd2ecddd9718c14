/**
 * The order-independent checksum both sides compute in SQL: per row, md5 of a canonical text
 * (a JSON array of the columns, timestamps as epoch seconds, vectors as real[]), its first 60 bits
 * as a number, summed. A sum is order-independent and additive: the quarantined rows' hashes are
 * subtracted from the source's, rows the target held before (--force) from the target's.
 */
import { ident } from "../pg.ts";
import type { ColumnMap, TableMap, TargetType } from "./tables.ts";

const isTime = (t: TargetType) => t === "timestamptz" || t === "timestamptz(3)";

/** The canonical text of one value, from an expression already of the target's type. */
function canonValue(e: string, t: TargetType): string {
  if (isTime(t)) return `extract(epoch from ${e})::text`;
  if (t === "vector") return `(${e})::real[]::text`;
  return `(${e})::text`;
}

/** Source side: the mapped expression cast to the target's type (rounding included). */
function sourceCanon(c: ColumnMap): string {
  if (c.canon) return c.canon;
  if (isTime(c.type)) return canonValue(`(${c.expr})::${c.type}`, c.type);
  if (c.type === "uuid") return `lower((${c.expr})::text)`;
  if (c.type === "jsonb") return `(${c.expr})::jsonb::text`;
  if (c.type === "double precision") return `(${c.expr})::float8::text`;
  return `(${c.expr})::text`;
}

const hashOf = (canonical: string) => `('x' || left(md5(${canonical}), 15))::bit(60)::bigint`;

/** Per-row hash of the source row (aliases s and c, as the batch query has them). */
export function sourceRowHash(m: TableMap): string {
  const cols = m.columns.filter((c) => c.checksum).map(sourceCanon);
  return hashOf(`json_build_array(${cols.join(", ")})::text`);
}

/** Per-row hash of a target row (alias t). */
export function targetRowHash(m: TableMap): string {
  const cols = m.columns.filter((c) => c.checksum).map((c) => canonValue(`t.${ident(c.target)}`, c.type));
  return hashOf(`json_build_array(${cols.join(", ")})::text`);
}

/** FROM clause of the source: the table, and its conversation when the map needs one. */
export function sourceFrom(m: TableMap): string {
  const join = m.join ? ` LEFT JOIN public.conversations c ON ${m.join}` : "";
  return `public.${ident(m.source)} s${join}`;
}

/** count and hash sum of a whole table, on either side. */
export function sourceChecksumSql(m: TableMap): string {
  return `SELECT count(*)::bigint AS n, coalesce(sum(${sourceRowHash(m)}::numeric), 0)::text AS h FROM ${sourceFrom(m)}`;
}

export function targetChecksumSql(m: TableMap): string {
  return `SELECT count(*)::bigint AS n, coalesce(sum(${targetRowHash(m)}::numeric), 0)::text AS h FROM public.${ident(m.table)} t`;
}
