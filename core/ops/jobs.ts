/**
 * The operations the CLI and the ops agent share: a backup of one store, a drill, each recorded
 * in the ops state file (core/ops/metrics.ts) whether it succeeds or fails.
 */
import { backupChroma, type ChromaTarget } from "../backup/chroma.ts";
import { drill, type DrillResult } from "../backup/drill.ts";
import type { StoreName } from "../backup/manifest.ts";
import type { PgBackRest } from "../backup/pgbackrest.ts";
import { backupPostgresLogical } from "../backup/postgres-logical.ts";
import { backupRedis } from "../backup/redis.ts";
import type { BackupStore } from "../backup/store.ts";
import { UsageError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
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
  log?: Logger;
}

export interface BackupSummary {
  id: string;
  store: StoreName;
  kind: string;
  tier?: string;
  files?: number;
  bytes: number;
  durationSeconds: number;
}

export type BackupKindOption = "logical" | "physical";

export async function runBackup(
  d: OpsDeps,
  which: StoreName,
  opts: { kind?: BackupKindOption; physicalType?: "full" | "diff" | "incr" } = {},
): Promise<BackupSummary> {
  const log = d.log ?? silentLogger;
  const at = new Date();
  const t0 = performance.now();
  try {
    let s: BackupSummary;
    if (which === "postgres" && opts.kind === "physical") {
      if (!d.pgbackrest)
        throw new UsageError(
          "physical backups need pgBackRest's config: set JARVIS_PGBACKREST_CONFIG_PATH (the directory of pgbackrest.conf)",
        );
      const b = await d.pgbackrest.backup(opts.physicalType ?? "full");
      s = {
        id: b.label,
        store: "postgres",
        kind: `physical-${b.type}`,
        bytes: b.repoSize,
        durationSeconds: (performance.now() - t0) / 1000,
      };
    } else if (which === "postgres") {
      if (!d.postgresUrl)
        throw new UsageError(
          "DATABASE_URL is not set; set it to the database to back up (the jarvis_backup role)",
        );
      const r = await backupPostgresLogical({ url: d.postgresUrl, store: d.store, jobs: d.jobs, log });
      s = {
        id: r.id,
        store: "postgres",
        kind: r.kind,
        tier: r.tier,
        files: r.files,
        bytes: r.bytes,
        durationSeconds: r.durationSeconds,
      };
    } else if (which === "redis") {
      if (!d.redisBackupUrl)
        throw new UsageError(
          "JARVIS_REDIS_BACKUP_URL (or REDIS_URL) is not set; e.g. redis://backup:<password>@127.0.0.1:6379",
        );
      const r = await backupRedis({ url: d.redisBackupUrl, store: d.store, log });
      s = {
        id: r.id,
        store: "redis",
        kind: r.kind,
        tier: r.tier,
        files: r.files,
        bytes: r.bytes,
        durationSeconds: r.durationSeconds,
      };
    } else {
      if (!d.chroma)
        throw new UsageError(
          "CHROMA_URL is not set; e.g. CHROMA_URL=http://127.0.0.1:8000 (and CHROMA_TOKEN)",
        );
      const r = await backupChroma({ source: d.chroma, store: d.store, log });
      s = {
        id: r.id,
        store: "chroma",
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
