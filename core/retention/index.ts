/**
 * Retention across the stores, with one report: `jarvis-data retention run` prints it, and the
 * ops runtime calls `runRetention` on its schedule (Chroma and Redis; PostgreSQL's retention runs
 * as pg_cron jobs, and on demand here). Explicit inputs only: no environment reads.
 */
import { createClient } from "redis";
import { chromaClient } from "../chroma.ts";
import { JarvisError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { withClient } from "../pg.ts";
import { chromaRetention, type ChromaRetentionReport } from "./chroma.ts";
import { postgresRetention, type PostgresRetentionReport } from "./postgres.ts";
import { redisRetention, type RedisRetentionReport } from "./redis.ts";
import type { RetentionPolicy } from "./policy.ts";

export * from "./policy.ts";
export * from "./chroma.ts";
export * from "./redis.ts";
export * from "./postgres.ts";

export type RetentionStore = "chroma" | "redis" | "postgres";
export const RETENTION_STORES: readonly RetentionStore[] = ["chroma", "redis", "postgres"];

export interface RetentionInputs {
  policy: RetentionPolicy;
  /** Stores to clean (default: those with a connection below). */
  stores?: RetentionStore[];
  chroma?: { url: string; token?: string; collections?: string[] };
  redis?: { url: string };
  /** jarvis_owner's connection to the application database (a superuser is refused). */
  postgres?: { url: string };
  dryRun?: boolean;
  now?: Date;
  log?: Logger;
}

export interface RetentionReport {
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  ok: boolean;
  chroma?: ChromaRetentionReport;
  redis?: RedisRetentionReport;
  postgres?: PostgresRetentionReport;
  errors: { store: RetentionStore; code: string; message: string }[];
}

export class RetentionInputError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_RETENTION_INPUT", message, 2);
  }
}

/** Runs each store's retention; a failing store is reported and the others still run. */
export async function runRetention(inputs: RetentionInputs): Promise<RetentionReport> {
  const log = inputs.log ?? silentLogger;
  const stores = inputs.stores ?? RETENTION_STORES.filter((s) => inputs[s] !== undefined);
  for (const s of stores)
    if (!inputs[s]) throw new RetentionInputError(`retention for ${s} needs its connection (the ${s} input)`);
  const report: RetentionReport = {
    startedAt: new Date().toISOString(),
    finishedAt: "",
    dryRun: Boolean(inputs.dryRun),
    ok: true,
    errors: [],
  };
  for (const store of stores) {
    try {
      if (store === "chroma") {
        const c = inputs.chroma!;
        report.chroma = await chromaRetention({
          client: chromaClient(c.url, c.token),
          categories: inputs.policy.categories,
          collections: c.collections,
          now: inputs.now,
          dryRun: inputs.dryRun,
        });
      } else if (store === "redis") {
        const client = createClient({
          url: inputs.redis!.url,
          socket: { reconnectStrategy: false, connectTimeout: 10_000 },
        });
        client.on("error", () => {});
        await client.connect();
        try {
          report.redis = await redisRetention({
            client,
            pattern: inputs.policy.tempKeyPattern,
            ttlSeconds: inputs.policy.tempKeyTtlSeconds,
            dryRun: inputs.dryRun,
          });
        } finally {
          await client.quit().catch(() => client.destroy());
        }
      } else {
        report.postgres = await withClient(
          inputs.postgres!.url,
          (c) => postgresRetention(c, inputs.policy, { dryRun: inputs.dryRun }),
          { applicationName: "jarvis-data retention" },
        );
      }
      log.info(`retention ${store} done`);
    } catch (e) {
      const err = e as Error & { code?: string };
      report.ok = false;
      report.errors.push({
        store,
        code: typeof err.code === "string" ? err.code : "JARVIS_RETENTION_FAILED",
        message: err.message,
      });
      log.error(`retention ${store} failed: ${err.message}`);
    }
  }
  report.finishedAt = new Date().toISOString();
  return report;
}

const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

/** The report for people (the CLI's text output). */
export function formatRetentionReport(r: RetentionReport): string {
  const out: string[] = [
    `retention ${r.dryRun ? "dry run (nothing deleted)" : "run"}: ${r.ok ? "ok" : "FAILED"}`,
  ];
  if (r.chroma) {
    out.push(
      `chroma: ${r.chroma.collections.length} collection(s), ${r.chroma.recordsBefore} -> ${r.chroma.recordsAfter} records`,
    );
    for (const c of r.chroma.categories)
      out.push(
        `  ${c.collection}/${c.category}: processed ${c.processed}, deleted ${c.deleted}, kept ${c.kept} (importance >= ${c.importanceThreshold})`,
      );
    const sk = r.chroma.skipped;
    if (sk.total > 0)
      out.push(
        `  skipped ${sk.total} record(s) that cannot be classified: ${Object.entries(sk.byReason)
          .map(([k, n]) => `${k} ${n}`)
          .join(", ")}; e.g. ${sk.sample
          .slice(0, 5)
          .map((x) => `${x.collection}/${x.id} (${x.reason})`)
          .join(", ")}`,
      );
    for (const d of r.chroma.wouldDelete.slice(0, 50))
      out.push(
        `  would delete ${d.collection}/${d.id}: ${d.category}, created ${d.createdAt}, importance ${d.importance}`,
      );
    if (r.chroma.wouldDelete.length > 50)
      out.push(`  ... and ${r.chroma.wouldDelete.length - 50} more (--json lists all)`);
  }
  if (r.redis) {
    const x = r.redis;
    out.push(
      `redis: ${x.scanned} key(s) match ${x.pattern}, ${x.withoutTtl} without TTL${x.dryRun ? "" : `, EXPIRE ${x.ttlSeconds}s set on ${x.expireSet}`}`,
    );
    out.push(
      `  keys ${x.keysBefore} -> ${x.keysAfter}, memory ${mb(x.usedMemoryBefore)} -> ${mb(x.usedMemoryAfter)} (maxmemory ${mb(x.maxmemory)}, ${x.maxmemoryPolicy})`,
    );
  }
  if (r.postgres) {
    out.push("postgres:");
    for (const p of r.postgres.runs)
      out.push(`  ${p.job}/${p.category}: processed ${p.processed}, deleted ${p.deleted}, kept ${p.kept}`);
  }
  for (const e of r.errors) out.push(`error: ${e.store}: ${e.code}: ${e.message}`);
  return out.join("\n");
}
