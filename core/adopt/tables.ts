/**
 * How each legacy table becomes a table of the stack: per target column, the SQL expression that
 * reads it from the source (with its conversion), and the canonical text both sides hash for the
 * verification. Pure: built from the source's columns and the source time zone, no I/O.
 *
 * Every value crosses as text and is cast by the target, so nothing is lost in JavaScript, and a
 * value the target refuses (a bad uuid, a 3-dimension vector) fails there, in its own row.
 */
import { literal } from "../pg.ts";

/** A source column: information_schema's data_type and udt_name. */
export interface SourceColumn {
  dataType: string;
  udt: string;
}
export type SourceColumns = Record<string, SourceColumn>;

export type TargetType =
  | "bigint"
  | "uuid"
  | "text"
  | "boolean"
  | "double precision"
  | "jsonb"
  | "timestamptz"
  | "timestamptz(3)"
  | "vector";

export interface ColumnMap {
  target: string;
  type: TargetType;
  /** Source SQL producing the value (aliases: s = the table, c = its conversation). */
  expr: string;
  /** Part of the checksum: false for values the target derives (defaults, recomputed counts). */
  checksum: boolean;
  /** The source side of the checksum when it is not the expression itself (embeddings: as real[]). */
  canon?: string;
}

export interface TableMap {
  /** Target table (public schema), also the name in the report. */
  table: string;
  /** Source table. */
  source: string;
  /** Source primary key column (the batches walk it in order), and its type (udt name). */
  key: string;
  keyType: string;
  /** ON condition joining the conversation (alias c) for its created_at (messages, memories). */
  join?: string;
  columns: ColumnMap[];
  /** Conversions applied, in words, for the plan. */
  conversions: string[];
  /** Source columns with no place in the target: reported, not copied. */
  extra: string[];
  /** Target columns the source lacks, which take the target's default. */
  defaulted: string[];
}

/** The tables adopt brings, in dependency order. */
export const ADOPT_TABLES = ["users", "conversations", "messages", "memory_entries"] as const;
export type AdoptTable = (typeof ADOPT_TABLES)[number];

/** Columns a source table must have: without them there is nothing to adopt. */
export const REQUIRED: Record<AdoptTable, string[]> = {
  users: ["id", "username"],
  conversations: ["id", "user_id", "created_at"],
  messages: ["id", "conversation_id", "role", "content"],
  memory_entries: ["id", "content"],
};

const TS_NAIVE = "timestamp without time zone";

/** The SQL reading a timestamp as an instant: a naive one is read in the source time zone. */
export function instant(ref: string, col: SourceColumn | undefined, tz: string): string | null {
  if (!col) return null;
  return col.dataType === TS_NAIVE ? `(${ref} AT TIME ZONE ${literal(tz)})` : `${ref}::timestamptz`;
}

/** metadata as a JSON object: NULL and JSON null become {}. */
function metadataExpr(cols: SourceColumns): string {
  if (!cols.metadata) return `'{}'::jsonb`;
  return `coalesce(nullif(s.metadata::jsonb, 'null'::jsonb), '{}'::jsonb)`;
}

/**
 * Importance: the number in metadata when there is one (where the audit's purge reads it: the
 * ORM's default fills the column with 0.5 whenever the application did not set it), else the
 * column, else 0.5.
 */
function importanceExpr(cols: SourceColumns): string {
  const col = cols.importance ? "coalesce(s.importance::float8, 0.5)" : "0.5::float8";
  if (!cols.metadata) return col;
  const m = "s.metadata::jsonb";
  return (
    `CASE WHEN jsonb_typeof(${m}->'importance') = 'number' THEN (${m}->>'importance')::float8 ` +
    `WHEN jsonb_typeof(${m}->'importance') = 'string' AND ${m}->>'importance' ~ '^\\s*[0-9]*\\.?[0-9]+\\s*$' THEN (${m}->>'importance')::float8 ` +
    `ELSE ${col} END`
  );
}

/** float8[] as pgvector's text; a vector column as it is. */
function embeddingExpr(col: SourceColumn): string {
  if (col.udt === "vector") return "s.embedding::text";
  return `translate(s.embedding::real[]::text, '{}', '[]')`;
}

interface Draft {
  columns: ColumnMap[];
  conversions: string[];
  used: Set<string>;
  defaulted: string[];
}

function draft(): Draft {
  return { columns: [], conversions: [], used: new Set(), defaulted: [] };
}

/** Adds a target column from a source expression, or records it as defaulted when expr is null. */
function put(
  d: Draft,
  target: string,
  type: TargetType,
  expr: string | null,
  opts: { from?: string[]; checksum?: boolean; canon?: string } = {},
) {
  for (const f of opts.from ?? [target]) d.used.add(f);
  if (expr === null) {
    d.defaulted.push(target);
    return;
  }
  d.columns.push({
    target,
    type,
    expr,
    checksum: opts.checksum ?? true,
    ...(opts.canon ? { canon: opts.canon } : {}),
  });
}

function tsColumn(d: Draft, cols: SourceColumns, tz: string, name: string, type: TargetType = "timestamptz") {
  const e = instant(`s.${name}`, cols[name], tz);
  if (cols[name]?.dataType === TS_NAIVE) d.conversions.push(`${name}: naive timestamp read in ${tz}`);
  put(d, name, type, e);
}

function plain(d: Draft, cols: SourceColumns, name: string, type: TargetType) {
  put(d, name, type, cols[name] ? `s.${name}` : null);
}

/** c.id = s.conversation_id, through text when the two types differ (varchar ids). */
function joinOn(cols: SourceColumns, conv: SourceColumns): string {
  return cols.conversation_id?.udt === conv.id?.udt
    ? "c.id = s.conversation_id"
    : "c.id::text = s.conversation_id::text";
}

function finish(table: AdoptTable, source: string, cols: SourceColumns, d: Draft, join?: string): TableMap {
  return {
    table,
    source,
    key: "id",
    keyType: cols.id?.udt ?? "text",
    ...(join ? { join } : {}),
    columns: d.columns,
    conversions: d.conversions,
    extra: Object.keys(cols).filter((c) => !d.used.has(c)),
    defaulted: d.defaulted,
  };
}

function users(cols: SourceColumns, tz: string): TableMap {
  const d = draft();
  plain(d, cols, "id", "bigint");
  plain(d, cols, "username", "text");
  plain(d, cols, "email", "text");
  plain(d, cols, "full_name", "text");
  put(d, "is_active", "boolean", cols.is_active ? "coalesce(s.is_active, true)" : null);
  if (cols.is_active) d.conversions.push("is_active: NULL -> true");
  tsColumn(d, cols, tz, "created_at");
  const updated = instant("s.updated_at", cols.updated_at, tz);
  const created = instant("s.created_at", cols.created_at, tz);
  put(
    d,
    "updated_at",
    "timestamptz",
    updated && created ? `coalesce(${updated}, ${created})` : (updated ?? created),
    {
      from: ["updated_at"],
    },
  );
  if (updated) d.conversions.push("updated_at: NULL -> created_at");
  return finish("users", "users", cols, d);
}

function conversations(cols: SourceColumns, tz: string): TableMap {
  const d = draft();
  plain(d, cols, "id", "uuid");
  plain(d, cols, "user_id", "bigint");
  plain(d, cols, "title", "text");
  plain(d, cols, "summary", "text");
  put(d, "importance", "double precision", importanceExpr(cols), { from: ["importance"] });
  put(d, "metadata", "jsonb", metadataExpr(cols));
  tsColumn(d, cols, tz, "created_at", "timestamptz(3)");
  tsColumn(d, cols, tz, "ended_at");
  if (cols.updated_at) tsColumn(d, cols, tz, "updated_at");
  d.used.add("message_count");
  d.conversions.push(
    "message_count: recounted from the messages adopted",
    "created_at: rounded to milliseconds (the key messages carry)",
    cols.metadata
      ? "metadata: NULL -> {}; importance from metadata, else the column, else 0.5"
      : "metadata: {} and importance 0.5 (no such columns in the source)",
  );
  return finish("conversations", "conversations", cols, d);
}

function messages(cols: SourceColumns, conv: SourceColumns, tz: string): TableMap {
  const d = draft();
  plain(d, cols, "id", "uuid");
  plain(d, cols, "conversation_id", "uuid");
  put(d, "conversation_created_at", "timestamptz(3)", instant("c.created_at", conv.created_at, tz), {
    from: [],
  });
  plain(d, cols, "role", "text");
  plain(d, cols, "content", "text");
  put(d, "metadata", "jsonb", metadataExpr(cols));
  tsColumn(d, cols, tz, "created_at");
  d.conversions.push(
    "conversation_created_at: the conversation's created_at (the partition key the foreign key names)",
  );
  if (cols.metadata) d.conversions.push("metadata: NULL -> {}");
  return finish("messages", "messages", cols, d, joinOn(cols, conv));
}

function memoryEntries(source: string, cols: SourceColumns, conv: SourceColumns, tz: string): TableMap {
  const d = draft();
  plain(d, cols, "id", "uuid");
  put(d, "user_id", "bigint", cols.user_id ? "s.user_id" : "c.user_id");
  if (!cols.user_id) d.conversions.push("user_id: the conversation's user");
  plain(d, cols, "conversation_id", "uuid");
  put(
    d,
    "conversation_created_at",
    "timestamptz(3)",
    cols.conversation_id ? instant("c.created_at", conv.created_at, tz) : null,
    { from: [] },
  );
  plain(d, cols, "content", "text");
  put(d, "embedding", "vector", cols.embedding ? embeddingExpr(cols.embedding) : null, {
    canon: "s.embedding::real[]",
  });
  if (cols.embedding && cols.embedding.udt !== "vector")
    d.conversions.push("embedding: float8[] -> vector(384)");
  put(d, "metadata", "jsonb", metadataExpr(cols));
  put(d, "importance", "double precision", importanceExpr(cols), { from: ["importance"] });
  put(d, "memory_type", "text", cols.memory_type ? "coalesce(s.memory_type, 'episodic')" : null);
  const category = cols.category ? "s.category" : "NULL::text";
  put(
    d,
    "category",
    "text",
    cols.metadata
      ? `coalesce(s.metadata::jsonb->>'category', ${category}, 'conversations')`
      : `coalesce(${category}, 'conversations')`,
    { from: ["category"] },
  );
  tsColumn(d, cols, tz, "created_at");
  d.defaulted.push("tags");
  d.conversions.push(
    "metadata: NULL -> {}; importance from metadata, else the column, else 0.5",
    "category: metadata.category, else 'conversations'",
  );
  return finish("memory_entries", source, cols, d, cols.conversation_id ? joinOn(cols, conv) : undefined);
}

/** Problems that make the source unusable: a missing table or a required column. */
export function shapeProblems(tables: Record<string, SourceColumns>): string[] {
  const out: string[] = [];
  for (const t of ADOPT_TABLES) {
    const src = t === "memory_entries" && !tables[t] && tables.memory_embeddings ? "memory_embeddings" : t;
    const cols = tables[src];
    if (!cols) {
      out.push(`table ${t} is missing`);
      continue;
    }
    const missing = REQUIRED[t].filter((c) => !cols[c]);
    if (missing.length) out.push(`${src} lacks ${missing.join(", ")}`);
  }
  return out;
}

/** The maps of the four tables (memory_entries from memory_embeddings when that is what the source has). */
export function tableMaps(tables: Record<string, SourceColumns>, tz: string): TableMap[] {
  const conv = tables.conversations!;
  const memSource = tables.memory_entries ? "memory_entries" : "memory_embeddings";
  return [
    users(tables.users!, tz),
    conversations(conv, tz),
    messages(tables.messages!, conv, tz),
    memoryEntries(memSource, tables[memSource]!, conv, tz),
  ];
}
