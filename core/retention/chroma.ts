/**
 * Chroma memory retention (A15) through Chroma's own API. Every record of every collection is read
 * (ids and metadata, page by page) and judged by chroma-records.ts: its category from the metadata
 * or the collection's name, its created_at in any format the application writes, its importance.
 * Expired records below their category's threshold are deleted by id, exactly those listed; a
 * dry run lists them instead. Records that cannot be judged are counted as skipped, by reason.
 *
 * Filtering happens here, not in Chroma's `where`: ISO strings cannot be compared as dates there,
 * and Chroma 1.0 compares a float filter wrongly with an integer importance (0 or 1 from JSON).
 */
import type { ChromaClient, Collection } from "chromadb";
import { precomputedEmbeddings } from "../chroma.ts";
import { collectionCategory, judgeRecord, type SkipReason } from "./chroma-records.ts";
import type { CategoryRule } from "./policy.ts";

export * from "./chroma-records.ts";

export interface ChromaCategoryReport {
  collection: string;
  category: string;
  /** Epoch seconds: records created before it are expired. */
  cutoff: number;
  importanceThreshold: number;
  /** Records of the category read. */
  examined: number;
  /** Expired records of the category (deleted + kept). */
  processed: number;
  deleted: number;
  /** Expired but at or above the threshold. */
  kept: number;
}

export interface ChromaDoomed {
  collection: string;
  category: string;
  id: string;
  createdAt: string;
  importance: number;
}

export interface ChromaRetentionReport {
  dryRun: boolean;
  collections: string[];
  /** Per collection: the category its name gives, when it does (a collection-per-category layout). */
  layout: Record<string, string | null>;
  categories: ChromaCategoryReport[];
  skipped: {
    total: number;
    byReason: Partial<Record<SkipReason, number>>;
    sample: { collection: string; id: string; reason: SkipReason }[];
  };
  /** What a dry run would delete (empty on a real run: `deleted` says how many went). */
  wouldDelete: ChromaDoomed[];
  totals: { examined: number; processed: number; deleted: number; kept: number; skipped: number };
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

/** Skipped records listed in the report (all are counted). */
const SKIP_SAMPLE = 50;

async function* pages(col: Collection, pageSize: number) {
  for (let offset = 0; ; offset += pageSize) {
    const page = await col.get({ include: ["metadatas"], limit: pageSize, offset });
    yield page;
    if (page.ids.length < pageSize) return;
  }
}

/** Reads one collection, judges each record, deletes the doomed ones (unless a dry run). */
async function cleanCollection(
  col: Collection,
  opts: ChromaRetentionOptions,
  nowS: number,
  report: ChromaRetentionReport,
): Promise<void> {
  const pageSize = opts.pageSize ?? 500;
  const fromName = collectionCategory(col.name, Object.keys(opts.categories)) ?? null;
  report.layout[col.name] = fromName;
  const rows = new Map<string, ChromaCategoryReport>();
  const row = (category: string) => {
    if (!rows.has(category)) {
      const rule = opts.categories[category]!;
      rows.set(category, {
        collection: col.name,
        category,
        cutoff: nowS - rule.days * 86400,
        importanceThreshold: rule.importanceThreshold,
        examined: 0,
        processed: 0,
        deleted: 0,
        kept: 0,
      });
    }
    return rows.get(category)!;
  };
  if (fromName) row(fromName);
  const doomed: ChromaDoomed[] = [];
  for await (const page of pages(col, pageSize)) {
    page.ids.forEach((id, i) => {
      const v = judgeRecord(
        page.metadatas[i] as Record<string, unknown> | null,
        fromName ?? undefined,
        opts.categories,
        nowS,
      );
      report.totals.examined++;
      if (v.kind === "skip") {
        report.skipped.total++;
        report.skipped.byReason[v.reason] = (report.skipped.byReason[v.reason] ?? 0) + 1;
        if (report.skipped.sample.length < SKIP_SAMPLE)
          report.skipped.sample.push({ collection: col.name, id, reason: v.reason });
        return;
      }
      const r = row(v.category);
      r.examined++;
      if (v.kind === "fresh") return;
      r.processed++;
      if (!v.doomed) return void r.kept++;
      r.deleted++;
      doomed.push({
        collection: col.name,
        category: v.category,
        id,
        createdAt: new Date(v.createdAt * 1000).toISOString(),
        importance: v.importance,
      });
    });
  }
  if (opts.dryRun) report.wouldDelete.push(...doomed);
  else
    for (let i = 0; i < doomed.length; i += pageSize)
      await col.delete({ ids: doomed.slice(i, i + pageSize).map((d) => d.id) });
  report.categories.push(...rows.values());
}

export async function chromaRetention(opts: ChromaRetentionOptions): Promise<ChromaRetentionReport> {
  const nowS = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const names = opts.collections ?? (await opts.client.listCollections({ limit: 100000 })).map((c) => c.name);
  const report: ChromaRetentionReport = {
    dryRun: Boolean(opts.dryRun),
    collections: names,
    layout: {},
    categories: [],
    skipped: { total: 0, byReason: {}, sample: [] },
    wouldDelete: [],
    totals: { examined: 0, processed: 0, deleted: 0, kept: 0, skipped: 0 },
    recordsBefore: 0,
    recordsAfter: 0,
  };
  for (const name of names) {
    const col = await opts.client.getCollection({ name, embeddingFunction: precomputedEmbeddings });
    report.recordsBefore += await col.count();
    await cleanCollection(col, opts, nowS, report);
    report.recordsAfter += await col.count();
  }
  for (const c of report.categories) {
    report.totals.processed += c.processed;
    report.totals.deleted += c.deleted;
    report.totals.kept += c.kept;
  }
  report.totals.skipped = report.skipped.total;
  return report;
}
