/**
 * A manifest is read from a bucket that others may write to, so nothing in it is trusted until it
 * is checked here: its shape (zod), its paths (relative, no `..`, no absolute, no odd bytes), the
 * files its kind cannot be restored without, and, when the stack has a manifest key
 * (JARVIS_MANIFEST_KEY), its HMAC-SHA256 signature. Pure: no I/O.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { BACKUP_SOURCES } from "../../settings/store-names.ts";
import { TIER_NAMES } from "../../settings/lifecycle.ts";
import { JarvisError } from "../errors.ts";

export const MANIFEST_FORMAT = 1;
export const BACKUP_KINDS = ["logical", "physical", "rdb", "export", "files"] as const;

/** One path segment: letters, digits and . _ - @ + =, never "." or "..". */
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._@+=-]{1,200}$/;

export function isSafeRelativePath(p: string): boolean {
  return p.length <= 1000 && !p.startsWith("/") && p.split("/").every((s) => SEGMENT.test(s));
}

const fileSchema = z.object({
  path: z.string().refine(isSafeRelativePath, "must be a relative path without '..' or odd characters"),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
});

const collectionSchema = z.object({
  name: z.string().regex(SEGMENT),
  count: z.number().int().nonnegative(),
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
  embeddingSum: z.number(),
  embeddingWeightedSum: z.number(),
  embeddingScale: z.number(),
});

const counts = z.record(z.string(), z.number().int().nonnegative());

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string().regex(/^\d{8}T\d{9}Z-[0-9a-f]{6}$/),
  store: z.enum(BACKUP_SOURCES),
  kind: z.enum(BACKUP_KINDS),
  tier: z.enum(TIER_NAMES as unknown as [string, ...string[]]),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationSeconds: z.number().nonnegative(),
  files: z.array(fileSchema),
  totalBytes: z.number().int().nonnegative(),
  schemaVersion: z.string().nullable(),
  rowCounts: counts.optional(),
  collections: z.array(collectionSchema).optional(),
  keys: counts.optional(),
  source: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
  tools: z.record(z.string(), z.string()),
  signature: z.string().optional(),
});

export type ParsedManifest = z.infer<typeof manifestSchema>;

/** The files a backup of this kind cannot be restored without. */
export function requiredFiles(m: Pick<ParsedManifest, "store" | "kind" | "collections">): string[] {
  if (m.store === "postgres" && m.kind === "logical") return ["dump/toc.dat"];
  if (m.store === "redis") return ["dump.rdb"];
  if (m.store === "chroma") return (m.collections ?? []).map((c) => `collections/${c.name}/collection.json`);
  return [];
}

/** Why a parsed manifest cannot be used (no files, a needed file missing, duplicates), or []. */
export function completenessProblems(m: ParsedManifest): string[] {
  const problems: string[] = [];
  if (m.files.length === 0) problems.push("it lists no files");
  const paths = new Set(m.files.map((f) => f.path));
  if (paths.size !== m.files.length) problems.push("it lists a path twice");
  for (const need of requiredFiles(m))
    if (!paths.has(need)) problems.push(`it lacks ${need}, which a ${m.store} restore needs`);
  if (m.totalBytes !== m.files.reduce((a, f) => a + f.size, 0))
    problems.push("totalBytes is not the sum of the file sizes");
  return problems;
}

/** JSON with object keys sorted: what the signature covers. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v ?? null);
}

/** "hmac-sha256:<hex>" over the manifest without its signature. */
export function signManifest<T extends { signature?: string }>(m: T, key: string): string {
  const { signature: _, ...body } = m;
  return `hmac-sha256:${createHmac("sha256", key).update(canonicalJson(body)).digest("hex")}`;
}

function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Parses and checks a manifest's text; `what` names the backup in messages. With a key, an
 * unsigned or badly signed manifest is refused (JARVIS_MANIFEST_SIGNATURE).
 */
export function parseManifest(text: string, what: string, key?: string): ParsedManifest {
  const invalid = (why: string) =>
    new JarvisError(
      "JARVIS_MANIFEST_INVALID",
      `the manifest of ${what} ${why}; the backup cannot be trusted: restore another one (jarvis-data backups list) and take a new one`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalid(`is not valid JSON (${(e as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw invalid(`is malformed (${issues.join("; ")})`);
  }
  const m = parsed.data;
  if (key) {
    if (!m.signature || !sameSignature(m.signature, signManifest(m, key)))
      throw new JarvisError(
        "JARVIS_MANIFEST_SIGNATURE",
        `the manifest of ${what} is ${m.signature ? "badly signed" : "unsigned"}, and JARVIS_MANIFEST_KEY is set: it was not written by this stack (or was altered); do not use it: restore another backup`,
      );
  }
  const problems = completenessProblems(m);
  if (problems.length) throw invalid(`is incomplete: ${problems.join("; ")}`);
  return m;
}
