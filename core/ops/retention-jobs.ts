/**
 * The store retention the ops agent runs on its schedules (A12, A13, A15): Chroma's memory
 * retention, the Redis `temp:*` sweep and the log files' retention. Each run is recorded in the
 * ops state file (core/ops/metrics.ts: last run, status, examined, deleted, skipped, duration,
 * bytes freed where known) whether it succeeds or fails, and a failure is thrown for the agent
 * to log (RetentionFailed alerts on the metric).
 */
import type { LogFamily } from "../../settings/monitoring/logs.ts";
import { JarvisError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { logRetention } from "../retention/logs.ts";
import { runRetention, type RetentionPolicy, type RetentionReport } from "../retention/index.ts";
import type { BackupStore } from "../backup/store.ts";
import { bucketUsage, directorySize } from "../status/storage.ts";
import { recordRetention, recordStorage, type StorageState } from "./metrics.ts";

export const RETENTION_JOBS = ["chroma", "redis-temp-keys", "logs"] as const;
export type RetentionJob = (typeof RETENTION_JOBS)[number];

export interface RetentionJobDeps {
  policy: RetentionPolicy;
  /** Chroma through its gateway, and the collections to clean (default: all). */
  chroma?: { url: string; token?: string; collections?: string[] };
  /** Redis as a user allowed SCAN, TTL, EXPIRE, INFO and DBSIZE (the `app` user). */
  redisUrl?: string;
  /** The shipper's log files (JARVIS_LOGS_DIR) and the days kept per family. */
  logsDir?: string;
  logDays?: Record<LogFamily, number>;
  stateFile?: string;
  dryRun?: boolean;
  now?: () => Date;
  log?: Logger;
}

export interface RetentionOutcome {
  job: RetentionJob;
  examined: number;
  deleted: number;
  skipped: number;
  freedBytes?: number;
  report: unknown;
}

export class RetentionJobError extends JarvisError {
  constructor(job: RetentionJob, message: string) {
    super("JARVIS_RETENTION_FAILED", `retention ${job} failed: ${message}`);
  }
}

function missing(job: RetentionJob, what: string): never {
  throw new RetentionJobError(job, `${what} is not configured for the ops agent`);
}

function failed(job: RetentionJob, r: RetentionReport): never {
  throw new RetentionJobError(job, r.errors.map((e) => `${e.code}: ${e.message}`).join("; "));
}

async function chromaJob(d: RetentionJobDeps): Promise<RetentionOutcome> {
  if (!d.chroma) missing("chroma", "CHROMA_URL");
  const r = await runRetention({
    policy: d.policy,
    stores: ["chroma"],
    chroma: d.chroma,
    dryRun: d.dryRun,
    now: d.now?.(),
  });
  if (!r.ok) failed("chroma", r);
  const c = r.chroma!;
  if (c.skipped.total > 0)
    (d.log ?? silentLogger).warn("chroma retention skipped records it cannot classify", {
      byReason: c.skipped.byReason,
      sample: c.skipped.sample.slice(0, 10),
    });
  return {
    job: "chroma",
    examined: c.totals.examined,
    deleted: c.totals.deleted,
    skipped: c.totals.skipped,
    report: r,
  };
}

async function redisJob(d: RetentionJobDeps): Promise<RetentionOutcome> {
  if (!d.redisUrl) missing("redis-temp-keys", "JARVIS_REDIS_RETENTION_URL (or REDIS_URL)");
  const r = await runRetention({
    policy: d.policy,
    stores: ["redis"],
    redis: { url: d.redisUrl },
    dryRun: d.dryRun,
  });
  if (!r.ok) failed("redis-temp-keys", r);
  const x = r.redis!;
  return {
    job: "redis-temp-keys",
    examined: x.scanned,
    deleted: x.expireSet,
    skipped: 0,
    freedBytes: Math.max(0, x.usedMemoryBefore - x.usedMemoryAfter),
    report: r,
  };
}

async function logsJob(d: RetentionJobDeps): Promise<RetentionOutcome> {
  if (!d.logsDir || !d.logDays) missing("logs", "JARVIS_LOGS_DIR");
  const r = logRetention({ dir: d.logsDir, days: d.logDays, now: d.now?.(), dryRun: d.dryRun });
  return {
    job: "logs",
    examined: r.examined,
    deleted: r.deleted,
    skipped: 0,
    freedBytes: r.freedBytes,
    report: r,
  };
}

const JOBS: Record<RetentionJob, (d: RetentionJobDeps) => Promise<RetentionOutcome>> = {
  chroma: chromaJob,
  "redis-temp-keys": redisJob,
  logs: logsJob,
};

/** Runs one retention job and records its figures (or its failure) in the state file. */
export async function runRetentionJob(d: RetentionJobDeps, job: RetentionJob): Promise<RetentionOutcome> {
  const at = d.now?.() ?? new Date();
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  try {
    const o = await JOBS[job](d);
    if (d.stateFile && !d.dryRun)
      recordRetention(d.stateFile, job, { ok: true, at, durationSeconds: seconds(), ...o });
    return o;
  } catch (e) {
    if (d.stateFile && !d.dryRun)
      recordRetention(d.stateFile, job, {
        ok: false,
        at,
        durationSeconds: seconds(),
        error: (e as Error).message,
      });
    throw e;
  }
}

/** A22: lists the backup bucket by prefix and measures Chroma on disk, for /metrics. */
export async function runStorageReport(d: {
  store: BackupStore;
  chromaDataDir?: string;
  stateFile?: string;
  now?: () => Date;
}): Promise<StorageState> {
  const figures: StorageState = {
    at: (d.now?.() ?? new Date()).getTime() / 1000,
    prefixes: await bucketUsage(d.store),
    ...(d.chromaDataDir ? { chromaDiskBytes: directorySize(d.chromaDataDir) ?? undefined } : {}),
  };
  if (d.stateFile) recordStorage(d.stateFile, figures);
  return figures;
}
