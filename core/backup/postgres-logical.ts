/**
 * PostgreSQL logical backups: `pg_dump -Fd -j N -Z L` taken in an exported snapshot (so the row
 * counts in the manifest are exactly the dump's), streamed to S3 while pg_dump writes (pg-dump.ts).
 *
 * Restores never empty their target first: `pg_restore -j N` loads a side database
 * `<db>_restoring_<hex>`, which is checked (row counts against the manifest, constraints
 * validated, migration version), then swapped in by rename. The old database is renamed
 * `<db>_replaced_<hex>` for the swap and dropped once the swap has succeeded; when the swap
 * fails it is renamed back. pg_cron is left out of the side database (the extension can live only
 * in cron.database_name) and restored into the target after the swap when the target is that one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../log.ts";
import { connect } from "../pg.ts";
import type { BackupResult, RestoreResult } from "./common.ts";
import type { BackupDriver } from "./driver.ts";
import { rowCounts, schemaVersion } from "./pg-inspect.ts";
import { dumpToStore } from "./pg-dump.ts";
import {
  isPgCronEntry,
  pgLogicalRestoreDriver,
  type PgLogicalRestoreOptions,
  type PgRestorePlan,
} from "./pg-restore.ts";
import { databaseOf, pgBinary, run } from "./proc.ts";
import { runBackup, runRestore, type RestorePlan, type RunBackupOptions } from "./run.ts";

export { finishedDumpItems } from "./pg-dump.ts";
export { RestoreMismatchError, compareCounts, type BackupResult, type RestoreResult } from "./common.ts";
export { downloadBackup } from "./run.ts";

export interface PgLogicalBackupOptions extends RunBackupOptions {
  /** Source database (a role that can read everything: jarvis_backup or a superuser). */
  url: string;
  /** pg_dump -j: parallel workers. Default 2. */
  jobs?: number;
  /** pg_dump -Z: gzip level 0-9. Default 1 (fast; the dump is mostly vectors, which hardly compress). */
  compressLevel?: number;
}

/** The capture step: counts and pg_dump in one exported snapshot. */
export function pgLogicalBackupDriver(
  opts: Pick<PgLogicalBackupOptions, "url" | "jobs" | "compressLevel">,
): BackupDriver {
  return {
    store: "postgres",
    kind: "logical",
    async capture(ctx) {
      const tmp = await mkdtemp(join(tmpdir(), "jarvis-pgdump-"));
      const client = await connect(opts.url, { applicationName: "jarvis-data-backup" });
      try {
        // One snapshot for the counts and for every pg_dump worker.
        await client.query("begin isolation level repeatable read read only");
        const snapshot = (await client.query("select pg_export_snapshot() as s")).rows[0].s as string;
        const counts = await rowCounts(client);
        const version = await schemaVersion(client);
        const server = (await client.query("show server_version")).rows[0].server_version as string;
        ctx.log.info("pg_dump started", { id: ctx.id, database: databaseOf(opts.url), jobs: opts.jobs ?? 2 });
        const dump = { ...opts, store: ctx.store, progress: ctx.progress };
        const files = await dumpToStore(dump, snapshot, join(tmp, "dump"), `${ctx.dir}dump/`);
        await client.query("commit");
        const u = new URL(opts.url);
        return {
          files,
          schemaVersion: version,
          rowCounts: counts,
          source: {
            host: u.hostname,
            port: Number(u.port || 5432),
            database: databaseOf(opts.url),
            serverVersion: server,
          },
          tools: { pg_dump: (await run(pgBinary("pg_dump"), ["--version"])).stdout.trim() },
        };
      } finally {
        await client.query("rollback").catch(() => {});
        await client.end().catch(() => {});
        await rm(tmp, { recursive: true, force: true });
      }
    },
  };
}

export async function backupPostgresLogical(opts: PgLogicalBackupOptions): Promise<BackupResult> {
  return runBackup(pgLogicalBackupDriver(opts), opts);
}

export async function restorePostgresLogical(opts: PgLogicalRestoreOptions): Promise<RestoreResult> {
  return runRestore(pgLogicalRestoreDriver(opts), {
    ...opts,
    onPlan: opts.onPlan as ((p: RestorePlan) => void) | undefined,
    log: opts.log ?? silentLogger,
  });
}

export { pgLogicalRestoreDriver, isPgCronEntry, type PgRestorePlan, type PgLogicalRestoreOptions };
