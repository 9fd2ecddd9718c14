/**
 * `adopt postgres --dry-run`: per table, the source rows, the conversions, and the rows the target
 * would refuse with the rule each breaks. The rules are the target's own: its CHECK constraints
 * (read from its catalog) evaluated on the converted source rows, its NOT NULL columns, the
 * embedding dimension and the foreign keys to conversations and users. Reads only.
 */
import type pg from "pg";
import { ident } from "../pg.ts";
import { sourceFrom } from "./checksum.ts";
import type { Source } from "./source.ts";
import type { TableMap } from "./tables.ts";

export interface Refusal {
  rule: string;
  rows: number;
}

export interface TablePlan {
  source: number;
  from: string;
  conversions: string[];
  extraColumns: string[];
  defaultedColumns: string[];
  refusals: Refusal[];
  /** Rules that could not be evaluated on the source (a function it lacks); the copy still applies them. */
  unchecked: string[];
}

/** A source query in its own savepoint: the snapshot survives an error. */
async function tryCount(source: Source, sql: string): Promise<number | Error> {
  const c = source.client;
  await c.query("savepoint adopt_plan");
  try {
    const { rows } = await c.query(sql);
    await c.query("release savepoint adopt_plan");
    return Number(rows[0].n);
  } catch (e) {
    await c.query("rollback to savepoint adopt_plan");
    return e as Error;
  }
}

/** The converted rows as a subquery with the target's column names (vectors left out: the source may lack the type). */
function convertedRows(m: TableMap): string {
  const cols = m.columns
    .filter((c) => c.type !== "vector")
    .map(
      (c) => `(${c.expr})::${c.type === "timestamptz(3)" ? "timestamptz(3)" : c.type} AS ${ident(c.target)}`,
    );
  return `(SELECT ${cols.join(", ")} FROM ${sourceFrom(m)}) x`;
}

async function targetRules(target: pg.Client, table: string) {
  const { rows: checks } = await target.query(
    `select conname, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = $1::regclass and contype = 'c' order by conname`,
    [`public.${table}`],
  );
  const { rows: notNull } = await target.query(
    `select attname from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped and attnotnull`,
    [`public.${table}`],
  );
  const { rows: fks } = await target.query(
    `select conname, confrelid::regclass::text as ref from pg_constraint where conrelid = $1::regclass and contype = 'f' and conparentid = 0`,
    [`public.${table}`],
  );
  return {
    checks: checks.map((r) => ({
      name: r.conname as string,
      expr: (r.def as string).replace(/^CHECK\s*/, "").replace(/\s+NOT VALID$/, ""),
    })),
    notNull: new Set(notNull.map((r) => r.attname as string)),
    fks: fks.map((r) => ({ name: r.conname as string, ref: r.ref as string })),
  };
}

function specialRules(m: TableMap, fks: { name: string; ref: string }[]): { rule: string; where: string }[] {
  const out: { rule: string; where: string }[] = [];
  const fkTo = (ref: string) => fks.find((f) => f.ref === ref || f.ref === `public.${ref}`)?.name;
  if (m.join)
    out.push({
      rule: fkTo("conversations") ?? "conversation foreign key",
      where: "s.conversation_id IS NOT NULL AND c.id IS NULL",
    });
  if (m.table === "conversations")
    out.push({
      rule: fkTo("users") ?? "user foreign key",
      where: "NOT EXISTS (SELECT 1 FROM public.users u WHERE u.id = s.user_id)",
    });
  const emb = m.columns.find((c) => c.type === "vector");
  if (emb && !emb.expr.startsWith("s.embedding::text"))
    out.push({
      rule: "embedding vector(384)",
      where:
        "s.embedding IS NOT NULL AND (array_ndims(s.embedding) <> 1 OR array_length(s.embedding, 1) <> 384 OR array_position(s.embedding, NULL) IS NOT NULL)",
    });
  return out;
}

export async function planTable(source: Source, target: pg.Client, m: TableMap): Promise<TablePlan> {
  const total = await tryCount(source, `SELECT count(*) AS n FROM public.${ident(m.source)}`);
  const rules = await targetRules(target, m.table);
  const refusals: Refusal[] = [];
  const unchecked: string[] = [];
  // A rule on a column the source lacks holds: that column takes the target's default.
  const onDefault = (e: Error) => m.defaulted.some((c) => e.message.includes(`column "${c}" does not exist`));
  const record = (rule: string, n: number | Error) => {
    if (n instanceof Error) {
      if (!onDefault(n)) unchecked.push(`${rule} (${n.message})`);
    } else if (n > 0) refusals.push({ rule, rows: n });
  };
  for (const r of specialRules(m, rules.fks))
    record(r.rule, await tryCount(source, `SELECT count(*) AS n FROM ${sourceFrom(m)} WHERE ${r.where}`));
  for (const c of m.columns.filter((c) => rules.notNull.has(c.target)))
    record(
      `${m.table}.${c.target} NOT NULL`,
      await tryCount(source, `SELECT count(*) AS n FROM ${sourceFrom(m)} WHERE (${c.expr}) IS NULL`),
    );
  for (const chk of rules.checks)
    record(
      chk.name,
      await tryCount(source, `SELECT count(*) AS n FROM ${convertedRows(m)} WHERE (${chk.expr}) IS FALSE`),
    );
  return {
    source: total instanceof Error ? 0 : total,
    from: m.source,
    conversions: m.conversions,
    extraColumns: m.extra,
    defaultedColumns: m.defaulted,
    refusals,
    unchecked,
  };
}
