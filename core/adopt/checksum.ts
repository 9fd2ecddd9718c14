/**
 * The order-independent checksum both sides compute in SQL: per row, md5 of a canonical form (a
 * JSON array of the columns as text, timestamps as epoch seconds; then each vector as its real[]'s
 * binary, array_send, which spares printing 384 floats per row on both sides), its first 60 bits
 * as a number, summed. A sum is order-independent and additive: the quarantined rows' hashes are
 * subtracted from the source's, rows the target held before (--force) from the target's.
 */
import { ident } from "../pg.ts";
import type { ColumnMap, TableMap, TargetType } from "./tables.ts";

const isTime = (t: TargetType) => t === "timestamptz" || t === "timestamptz(3)";

/** The canonical text of one value, from an expression already of the target's type (not a vector). */
function canonValue(e: string, t: TargetType): string {
  if (isTime(t)) return `extract(epoch from ${e})::text`;
  return `(${e})::text`;
}

/** Source side: the mapped expression cast to the target's type (rounding included). */
function sourceCanon(c: ColumnMap): string {
  if (c.canon) return c.canon;
  if (c.type === "vector") return `(${c.expr})::vector::real[]`;
  if (isTime(c.type)) return canonValue(`(${c.expr})::${c.type}`, c.type);
  if (c.type === "uuid") return `lower((${c.expr})::text)`;
  if (c.type === "jsonb") return `(${c.expr})::jsonb::text`;
  if (c.type === "double precision") return `(${c.expr})::float8::text`;
  return `(${c.expr})::text`;
}

/** A vector (as real[]) in binary, tagged so that NULL differs from every value. */
const vectorBytes = (reals: string) => `coalesce('\\x01'::bytea || array_send(${reals}), '\\x00'::bytea)`;

/** The row's hash: md5 of its columns' JSON text, followed by its vectors' bytes. */
function rowHash(columns: ColumnMap[], canon: (c: ColumnMap) => string): string {
  const counted = columns.filter((c) => c.checksum);
  const text = counted.filter((c) => c.type !== "vector").map(canon);
  const vectors = counted.filter((c) => c.type === "vector").map((c) => vectorBytes(canon(c)));
  const json = `json_build_array(${text.join(", ")})::text`;
  const canonical = vectors.length ? `convert_to(${json}, 'UTF8') || ${vectors.join(" || ")}` : json;
  return `('x' || left(md5(${canonical}), 15))::bit(60)::bigint`;
}

/** Per-row hash of the source row (aliases s and c, as the batch query has them). */
export function sourceRowHash(m: TableMap): string {
  return rowHash(m.columns, sourceCanon);
}

/** Per-row hash of a target row (alias t). */
export function targetRowHash(m: TableMap): string {
  return rowHash(m.columns, (c) =>
    c.type === "vector" ? `t.${ident(c.target)}::real[]` : canonValue(`t.${ident(c.target)}`, c.type),
  );
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
