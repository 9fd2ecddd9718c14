/**
 * Chroma memory retention (S15) through Chroma's own API: per collection and category, records
 * whose metadata says `category = C`, `created_at < cutoff` (epoch seconds, a number) and
 * `importance < threshold` are deleted, by id, exactly those that were listed. Records without
 * these metadata are never matched, so they are never deleted.
 */
import type { ChromaClient, Collection, Where } from "chromadb";
import { precomputedEmbeddings } from "../chroma.ts";
import type { CategoryRule } from "./policy.ts";

export interface ChromaCategoryReport {
  collection: string;
  category: string;
  /** Epoch seconds: records created before it are expired. */
  cutoff: number;
  importanceThreshold: number;
  /** Expired records of the category (deleted + kept). */
  processed: number;
  deleted: number;
  /** Expired but at or above the threshold. */
  kept: number;
}

export interface ChromaRetentionReport {
  dryRun: boolean;
  collections: string[];
  categories: ChromaCategoryReport[];
  totals: { processed: number; deleted: number; kept: number };
  recordsBefore: number;
  recordsAfter: number;
}

export interface ChromaRetentionOptions {
  client: ChromaClient;
  categories: Record<string, CategoryRule>;
  /** Collections to clean (default: every collection of the database). */
  collections?: string[];
  now?: Date;
  dryRun?: boolean;
  /** Ids per get/delete call. */
  pageSize?: number;
}

/**
 * Expired records of one category: the server filters on category and created_at (an integer
 * cutoff, which Chroma 1.0 compares correctly with integer and float metadata alike); importance
 * is compared here, because Chroma 1.0 compares a float filter value wrongly with a value stored
 * as an integer (importance 0 or 1 from JSON): `{importance: {$lt: 0.3}}` misses 0, and `$gte 0.1`
 * matches it. Records without a numeric importance are left alone.
 */
async function expiredRecords(
  col: Collection,
  category: string,
  cutoff: number,
  pageSize: number,
): Promise<{ id: string; importance: number | null }[]> {
  const where: Where = { $and: [{ category: { $eq: category } }, { created_at: { $lt: cutoff } }] };
  const out: { id: string; importance: number | null }[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await col.get({ where, include: ["metadatas"], limit: pageSize, offset });
    page.ids.forEach((id, i) => {
      const imp = page.metadatas[i]?.importance;
      out.push({ id, importance: typeof imp === "number" ? imp : null });
    });
    if (page.ids.length < pageSize) return out;
  }
}

export async function chromaRetention(opts: ChromaRetentionOptions): Promise<ChromaRetentionReport> {
  const pageSize = opts.pageSize ?? 500;
  const nowS = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const names = opts.collections ?? (await opts.client.listCollections({ limit: 100000 })).map((c) => c.name);
  const report: ChromaRetentionReport = {
    dryRun: Boolean(opts.dryRun),
    collections: names,
    categories: [],
    totals: { processed: 0, deleted: 0, kept: 0 },
    recordsBefore: 0,
    recordsAfter: 0,
  };
  for (const name of names) {
    const col = await opts.client.getCollection({ name, embeddingFunction: precomputedEmbeddings });
    report.recordsBefore += await col.count();
    for (const [category, rule] of Object.entries(opts.categories)) {
      const cutoff = nowS - rule.days * 86400;
      const expired = await expiredRecords(col, category, cutoff, pageSize);
      const doomed = expired
        .filter((r) => r.importance !== null && r.importance < rule.importanceThreshold)
        .map((r) => r.id);
      const kept = expired.length - doomed.length;
      if (!opts.dryRun) {
        for (let i = 0; i < doomed.length; i += pageSize)
          await col.delete({ ids: doomed.slice(i, i + pageSize) });
      }
      const row = {
        collection: name,
        category,
        cutoff,
        importanceThreshold: rule.importanceThreshold,
        processed: doomed.length + kept,
        deleted: doomed.length,
        kept,
      };
      report.categories.push(row);
      report.totals.processed += row.processed;
      report.totals.deleted += row.deleted;
      report.totals.kept += row.kept;
    }
    report.recordsAfter += await col.count();
  }
  return report;
}
