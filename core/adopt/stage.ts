/**
 * The careful path of a batch: its rows cross by COPY into a temporary stage of text columns,
 * which takes any row, and one statement casts them to the table's types, judges them by the
 * target's rules (rules.ts) and inserts what they accept, naming each refused row's rule. A row
 * that fails in a way no rule foresaw (a value that does not even cast) is found by halving the
 * batch until it stands alone. Catch-up passes take this path (their rows may already be here),
 * and so does any batch the straight COPY (copy.ts) could not take whole.
 */
import type pg from "pg";
import { ident } from "../pg.ts";
import type { RowRule } from "./rules.ts";
import type { TableMap } from "./tables.ts";

/** A row the target refuses: its source key, the constraint when one is named, and why. */
export interface Refusal {
  key: string;
  constraint: string | null;
  reason: string;
}

/** The batch on the target, as the source's text: cleared at each commit. */
const STAGE = "pg_temp.adopt_stage";

export async function createStage(target: pg.Client, m: TableMap): Promise<void> {
  const cols = m.columns.map((_, i) => `c${i} text`).join(", ");
  await dropStage(target);
  await target.query(`CREATE TEMP TABLE adopt_stage (_key text, ${cols}) ON COMMIT DELETE ROWS`);
}

export async function dropStage(target: pg.Client): Promise<void> {
  await target.query(`DROP TABLE IF EXISTS ${STAGE}`);
}

export const STAGE_COPY = `COPY ${STAGE} FROM STDIN`;

/** Every staged key (a catch-up pass records what the source still has). */
export async function stagedKeys(target: pg.Client): Promise<string[]> {
  const { rows } = await target.query(`SELECT _key FROM ${STAGE}`);
  return rows.map((r) => r._key as string);
}

/** A rule's "rule|detail" (rules.ts) as a refusal, the constraint named when the rule is one. */
export function refusal(key: string, why: string, constraints: Set<string | null>): Refusal {
  const [rule, detail] = [why.slice(0, why.indexOf("|")), why.slice(why.indexOf("|") + 1)];
  return { key, constraint: constraints.has(rule) ? rule : null, reason: `${rule}: ${detail}` };
}

/** Errors a row causes (SQLSTATE classes 22 data exception, 23 integrity violation). */
export function isRowError(e: unknown): e is { code: string; constraint?: string; message: string } {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("22") || code.startsWith("23"));
}

/** The rule a refused row broke: the constraint's name, or what the type enforces. */
function ruleOf(e: { code: string; constraint?: string; message: string }): string {
  if (e.constraint) return e.constraint;
  if (/expected \d+ dimensions/.test(e.message)) return "embedding vector(384)";
  return `SQLSTATE ${e.code}`;
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
 * One statement per batch: the staged rows ($1: only these keys, or all) cast to the target's
 * types, judged by the rules, the accepted ones inserted; returns how many went in and the refused
 * keys with their "rule|detail". `fresh`: nothing can conflict, so a plain INSERT, without ON
 * CONFLICT's speculative insertion (a conflict would still fail its row, never silently).
 */
export function judgedInsertSql(m: TableMap, rules: RowRule[], upsert?: string[], fresh?: boolean): string {
  const names = m.columns.map((c) => ident(c.target)).join(", ");
  const casts = m.columns.map((c, i) => `r.c${i}::${c.type} AS ${ident(c.target)}`).join(", ");
  const judge = rules.length
    ? `CASE ${rules.map((r) => `WHEN ${r.when} THEN ${r.reason}`).join(" ")} END`
    : "NULL::text";
  return `WITH v AS (SELECT r._key, ${casts} FROM ${STAGE} r WHERE $1::text[] IS NULL OR r._key = ANY($1::text[])),
    judged AS (SELECT v.*, ${judge} AS _refused FROM v),
    ins AS (INSERT INTO public.${ident(m.table)} (${names}) SELECT ${names} FROM judged WHERE _refused IS NULL ${fresh ? "" : onConflict(m, upsert)} RETURNING 1)
    SELECT (SELECT count(*) FROM ins)::int AS inserted,
           coalesce((SELECT json_agg(json_build_array(_key, _refused)) FROM judged WHERE _refused IS NOT NULL), '[]'::json) AS refused`;
}

/**
 * Inserts what the target accepts of the stage (or of `keys`) and adds the refused rows, with
 * their rule, to `refused`; returns how many went in.
 */
export async function insertJudged(
  target: pg.Client,
  sql: string,
  rules: RowRule[],
  refused: Refusal[],
  keys: string[] | null = null,
): Promise<number> {
  if (keys?.length === 0) return 0;
  await target.query("savepoint adopt_rows");
  try {
    const { rows: res } = await target.query(sql, [keys]);
    await target.query("release savepoint adopt_rows");
    const named = new Set(rules.map((r) => r.constraint).filter(Boolean));
    for (const [key, why] of res[0].refused as [string, string][]) refused.push(refusal(key, why, named));
    return res[0].inserted as number;
  } catch (e) {
    await target.query("rollback to savepoint adopt_rows");
    if (!isRowError(e)) throw e;
    keys ??= await stagedKeys(target);
    if (keys.length === 1) {
      refused.push({ key: keys[0]!, constraint: e.constraint ?? null, reason: `${ruleOf(e)}: ${e.message}` });
      return 0;
    }
    const half = Math.ceil(keys.length / 2);
    return (
      (await insertJudged(target, sql, rules, refused, keys.slice(0, half))) +
      (await insertJudged(target, sql, rules, refused, keys.slice(half)))
    );
  }
}

/** A catch-up pass: staged rows that now went in are no longer in quarantine. */
export async function unquarantine(
  target: pg.Client,
  sourceId: string,
  table: string,
  refused: Refusal[],
): Promise<void> {
  await target.query(
    `DELETE FROM jarvis.adopt_quarantine WHERE source_id = $1 AND table_name = $2
        AND source_key IN (SELECT _key FROM ${STAGE}) AND source_key <> ALL($3::text[])`,
    [sourceId, table, refused.map((r) => r.key)],
  );
}
