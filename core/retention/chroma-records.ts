/**
 * How Chroma retention reads a record (A15), whatever layout the application chose: a collection
 * per category (`conversations`, `jarvis_commands`, ...) or a `category` in each record's metadata,
 * and `created_at` as the application writes it (ISO 8601 strings from Python's
 * `datetime.isoformat()`, with or without an offset; epoch seconds from `time.time()`, or
 * milliseconds). A record that cannot be read is skipped with its reason, never ignored.
 */
import type { CategoryRule } from "./policy.ts";

export type SkipReason =
  "no-category" | "unknown-category" | "no-created_at" | "bad-created_at" | "no-importance";

/** Metadata keys read, in order of preference. */
const CATEGORY_KEYS = ["category", "memory_type", "type"] as const;
const CREATED_KEYS = ["created_at", "timestamp", "createdAt"] as const;

/** The category a collection holds when its name says so: `commands`, `jarvis_commands`, `memory-commands`. */
export function collectionCategory(name: string, categories: readonly string[]): string | undefined {
  const n = name.toLowerCase();
  return categories.find((c) => n === c || n.endsWith(`_${c}`) || n.endsWith(`-${c}`));
}

/** Epoch seconds from a number (seconds, or milliseconds above 1e11) or an ISO 8601 / numeric string. */
export function parseCreatedAt(v: unknown): number | null {
  if (typeof v === "number") return Number.isFinite(v) && v > 0 ? (v > 1e11 ? v / 1000 : v) : null;
  if (typeof v !== "string" || v.trim() === "") return null;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return parseCreatedAt(Number(s));
  // Python's isoformat(): "2025-08-01T12:00:00.123456", "2025-08-01 12:00:00+02:00", "2025-08-01".
  const m =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  if (!m) return null;
  const [, date, hm = "00:00", sec = "00", frac = "", zone = "Z"] = m;
  const offset = zone.toUpperCase() === "Z" ? "Z" : zone.replace(/^([+-]\d{2})(\d{2})$/, "$1:$2");
  const t = Date.parse(`${date}T${hm}:${sec}.${(frac + "000").slice(0, 3)}${offset}`);
  return Number.isNaN(t) ? null : t / 1000;
}

function firstOf(md: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const k of keys) if (md[k] !== undefined && md[k] !== null) return md[k];
  return undefined;
}

export type RecordVerdict =
  | { kind: "skip"; reason: SkipReason }
  | { kind: "fresh"; category: string }
  | { kind: "expired"; category: string; createdAt: number; importance: number; doomed: boolean };

/**
 * What retention does with one record: the category from its metadata (when it names a known
 * one) or else from its collection, then its age against the category's days, then, once expired,
 * its importance against the threshold (deleted strictly below it).
 */
export function judgeRecord(
  md: Record<string, unknown> | null | undefined,
  collectionCat: string | undefined,
  rules: Record<string, CategoryRule>,
  nowS: number,
): RecordVerdict {
  const meta = md ?? {};
  const named = firstOf(meta, CATEGORY_KEYS);
  const known = typeof named === "string" && rules[named] ? named : undefined;
  const category = known ?? collectionCat;
  if (!category) return { kind: "skip", reason: named === undefined ? "no-category" : "unknown-category" };
  const raw = firstOf(meta, CREATED_KEYS);
  if (raw === undefined) return { kind: "skip", reason: "no-created_at" };
  const createdAt = parseCreatedAt(raw);
  if (createdAt === null) return { kind: "skip", reason: "bad-created_at" };
  const rule = rules[category]!;
  if (createdAt >= nowS - rule.days * 86400) return { kind: "fresh", category };
  const imp = typeof meta.importance === "string" ? Number(meta.importance) : meta.importance;
  if (typeof imp !== "number" || !Number.isFinite(imp)) return { kind: "skip", reason: "no-importance" };
  return { kind: "expired", category, createdAt, importance: imp, doomed: imp < rule.importanceThreshold };
}
