/**
 * The operations the CLI and the ops agent share: a backup of one store, a drill, each recorded
 * in the ops state file (core/ops/metrics.ts) whether it succeeds or fails.
 */
import { chromaBackupDriver, type ChromaTarget } from "../backup/chroma.ts";
import { drill, type DrillResult } from "../backup/drill.ts";
import type { BackupDriver } from "../backup/driver.ts";
import { DEFAULT_LOGS_DIR, logsBackupDriver } from "../backup/logs.ts";
import type { BackupSource, StoreName } from "../backup/manifest.ts";
import type { PgBackRest } from "../backup/pgbackrest.ts";
import { pgLogicalBackupDriver } from "../backup/postgres-logical.ts";
import { redisBackupDriver } from "../backup/redis.ts";
import { runBackup as runStoreBackup } from "../backup/run.ts";
import type { BackupStore } from "../backup/store.ts";
import { UsageError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import type { Progress, ProgressUnit } from "../progress.ts";
import { recordBackup, recordDrill } from "./metrics.ts";

export interface OpsDeps {
  store: BackupStore;
  /** PostgreSQL: source of logical backups, and the server drills restore into. */
  postgresUrl?: string;
  /** Redis as the backup user. */
  redisBackupUrl?: string;
  chroma?: ChromaTarget;
  /** Physical backups; absent when pgBackRest is not set up here. */
  pgbackrest?: PgBackRest;
  /** The ops state file behind /metrics; absent: nothing recorded. */
  stateFile?: string;
  /** pg_dump/pg_restore parallelism. */
  jobs?: number;
  /** The stack's logs (JARVIS_LOGS_DIR, default /var/log/jarvis): <dir>/<container>/<files>. */
  logsDir?: string;
  /** JARVIS_ENVIRONMENT: "prod" makes restores over a live store ask for --force. */
  environment?: string;
  /** Progress lines for long work (the CLI on a TTY); default none. */
  progress?: (label: string, unit?: ProgressUnit) => Progress;
  log?: Logger;
}

export interface BackupSummary {
  id: string;
  store: BackupSource;
  kind: string;
  tier?: string;
  files?: number;
  bytes: number;
  durationSeconds: number;
}

export type BackupKindOption = "logical" | "physical";

/** The driver that backs up `which`, from what the environment gave; a usage error names what is missing. */
export function backupDriverFor(d: OpsDeps, which: BackupSource): BackupDriver {
  switch (which) {
    case "postgres":
      if (!d.postgresUrl)
        throw new UsageError(
          "DATABASE_URL is not set; set it to the database to back up (the jarvis_backup role)",
        );
      return pgLogicalBackupDriver({ url: d.postgresUrl, jobs: d.jobs });
    case "redis":
      if (!d.redisBackupUrl)
        throw new UsageError(
          "JARVIS_REDIS_BACKUP_URL (or REDIS_URL) is not set; e.g. redis://backup:<password>@127.0.0.1:6379",
        );
      return redisBackupDriver(d.redisBackupUrl);
    case "chroma":
      if (!d.chroma)
        throw new UsageError(
          "CHROMA_URL is not set; e.g. CHROMA_URL=http://127.0.0.1:8000 (and CHROMA_TOKEN)",
        );
      return chromaBackupDriver(d.chroma);
    case "logs":
      return logsBackupDriver(d.logsDir ?? DEFAULT_LOGS_DIR);
  }
}

async function physicalBackup(d: OpsDeps, type: "full" | "diff" | "incr"): Promise<BackupSummary> {
  if (!d.pgbackrest)
    throw new UsageError(
      "physical backups need pgBackRest's config: set JARVIS_PGBACKREST_CONFIG_PATH (the directory of pgbackrest.conf)",
    );
  const t0 = performance.now();
  const b = await d.pgbackrest.backup(type);
  const durationSeconds = (performance.now() - t0) / 1000;
  return { id: b.label, store: "postgres", kind: `physical-${b.type}`, bytes: b.repoSize, durationSeconds };
}

/**
 * A backup of one store (or of the stack's logs), recorded in the ops state whether it succeeds
 * or fails. The weekly full backup asks for the logs too: `runBackup(deps, "logs")`.
 */
export async function runBackup(
  d: OpsDeps,
  which: BackupSource,
  opts: { kind?: BackupKindOption; physicalType?: "full" | "diff" | "incr" } = {},
): Promise<BackupSummary> {
  const log = d.log ?? silentLogger;
  const at = new Date();
  const t0 = performance.now();
  try {
    let s: BackupSummary;
    if (which === "postgres" && opts.kind === "physical")
      s = await physicalBackup(d, opts.physicalType ?? "full");
    else {
      const driver = backupDriverFor(d, which);
      const progress = d.progress?.(`backup ${which}`, which === "chroma" ? "rows" : "bytes");
      const r = await runStoreBackup(driver, { store: d.store, log, progress });
      s = {
        id: r.id,
        store: which,
        kind: r.kind,
        tier: r.tier,
        files: r.files,
        bytes: r.bytes,
        durationSeconds: r.durationSeconds,
      };
    }
    if (d.stateFile)
      recordBackup(d.stateFile, which, {
        ok: true,
        at,
        durationSeconds: s.durationSeconds,
        sizeBytes: s.bytes,
        id: s.id,
      });
    return s;
  } catch (e) {
    if (d.stateFile)
      recordBackup(d.stateFile, which, {
        ok: false,
        at,
        durationSeconds: (performance.now() - t0) / 1000,
        error: (e as Error).message,
      });
    throw e;
  }
}

export async function runDrill(d: OpsDeps, stores: StoreName[]): Promise<DrillResult[]> {
  const at = new Date();
  const results = await drill({
    store: d.store,
    stores,
    postgresUrl: d.postgresUrl,
    chroma: d.chroma,
    log: d.log,
    progress: d.progress,
  });
  if (d.stateFile) {
    for (const r of results)
      recordDrill(d.stateFile, r.store, {
        ok: r.ok,
        at,
        rtoSeconds: r.rtoSeconds,
        rpoSeconds: r.rpoSeconds,
        id: r.id,
        error:
          r.error ??
          r.checks
            .filter((c) => !c.ok)
            .map((c) => `${c.name}: ${c.detail}`)
            .join("; "),
      });
  }
  return results;
}
