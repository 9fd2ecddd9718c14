/**
 * The target's own rules, evaluated set-wise on a batch before it is inserted: its CHECK
 * constraints, NOT NULL columns, foreign keys (read from its catalog) and the embedding's
 * dimension. A batch then goes in with one statement and its refused rows come out named, instead
 * of an error halving the batch row by row. What no rule foresaw (a value that does not even
 * cast) still fails the statement, and copy.ts then halves the batch to find it.
 */
import type pg from "pg";
import { ident, literal } from "../pg.ts";
import type { TableMap } from "./tables.ts";

/** One rule as an SQL condition on the batch's rows (alias v): true means refused. */
export interface RowRule {
  /** The constraint's name, when the rule is one. */
  constraint: string | null;
  /** "rule|detail" as SQL text: the quarantine's reason. */
  reason: string;
  when: string;
  /** A foreign key: what the table cannot check itself while its triggers are off (replica role). */
  foreignKey?: boolean;
}

const reason = (rule: string, detail: string) => literal(`${rule}|${detail}`);

export async function targetRules(client: pg.Client, m: TableMap): Promise<RowRule[]> {
  const table = `public.${m.table}`;
  const mapped = new Set(m.columns.map((c) => c.target));
  const out: RowRule[] = [];
  const { rows: notNull } = await client.query(
    "select attname from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped and attnotnull order by attnum",
    [table],
  );
  for (const r of notNull.filter((r) => mapped.has(r.attname)))
    out.push({
      constraint: null,
      reason: reason(`${r.attname} NOT NULL`, `null value in column "${r.attname}"`),
      when: `v.${ident(r.attname)} IS NULL`,
    });
  for (const c of m.columns.filter((c) => c.type === "vector"))
    out.push({
      constraint: null,
      reason: `'embedding vector(384)|expected 384 dimensions, not ' || vector_dims(v.${ident(c.target)})`,
      when: `vector_dims(v.${ident(c.target)}) <> 384`,
    });
  const cols = (key: string, rel: string) =>
    `array(select a.attname::text from unnest(${key}) with ordinality k(n, o) join pg_attribute a on a.attrelid = ${rel} and a.attnum = k.n order by k.o)`;
  const { rows: cons } = await client.query(
    `select conname, contype, pg_get_constraintdef(oid) as def, confrelid::regclass::text as ref,
            ${cols("conkey", "conrelid")} as cols, ${cols("confkey", "confrelid")} as refcols
       from pg_constraint where conrelid = $1::regclass and contype in ('c', 'f') and conparentid = 0 order by contype, conname`,
    [table],
  );
  for (const c of cons) {
    const names = c.cols as string[];
    if (!names.every((n) => mapped.has(n))) continue; // columns the target defaults: the default holds
    if (c.contype === "c") {
      const expr = (c.def as string).replace(/^CHECK\s*/, "").replace(/\s+NOT VALID$/, "");
      // Unqualified: evaluated in a SELECT over the batch alone, as the table evaluates it.
      out.push({
        constraint: c.conname,
        reason: reason(c.conname, `violates ${c.def}`),
        when: `(${expr}) IS FALSE`,
      });
    } else {
      const refCols = c.refcols as string[];
      const match = names.map((n, i) => `x.${ident(refCols[i]!)} = v.${ident(n)}`).join(" AND ");
      const present = names.map((n) => `v.${ident(n)} IS NOT NULL`).join(" AND ");
      out.push({
        constraint: c.conname,
        reason: reason(
          c.conname,
          `no row in ${c.ref} with (${refCols.join(", ")}) equal to the row's (${names.join(", ")})`,
        ),
        when: `${present} AND NOT EXISTS (SELECT 1 FROM ${c.ref} x WHERE ${match})`,
        foreignKey: true,
      });
    }
  }
  return out;
}
