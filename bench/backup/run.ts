/**
 * Backup and restore benchmark, side by side in one run, against the audit's scripts:
 *   baseline backup:  pg_dump --clean --if-exists > a.sql; pg_dump -Fc > b.backup; pg_dump --data-only > c.sql; gzip a.sql
 *   baseline restore: psql < a.sql (the audit's restore of its SQL dump), then the same vector query,
 *                     in a session with the audit's server settings (the stock pgvector image:
 *                     PostgreSQL's defaults, maintenance_work_mem 64MB), and again with the stack's
 *                     settings (maintenance_work_mem 512MB) for comparison
 *   ours:             pgBackRest full backup (the stack's config: zst 1, bundled, 2 processes) and
 *                     restore into an empty data directory, started with the stack's settings:
 *                     "queryable" when the vector query answers (reads are served from the moment
 *                     recovery is consistent), "writable" once WAL is replayed to the latest and
 *                     the server promoted; and jarvis-data's logical backup (pg_dump -Fd -j,
 *                     streamed to S3, manifest last) and restore (download, check, pg_restore -j)
 * The server runs with fsync on, as in production (the tests run it off), so every tool pays for
 * durable writes.
 * Usage:
 *   DATABASE_URL=... npm run bench:data -- --scale 100   builds the dataset in DATABASE_URL and exits
 *   npm run bench:backup -- --scale 100 [--jobs 2] [--skip-baseline]
 * Prints JSON figures (seconds, bytes, ratios). Runs on the throwaway servers of the test harness.
 */
import { spawn } from "node:child_process";
import {
  mkdtempSync,
  rmSync,
  statSync,
  readdirSync,
  openSync,
  closeSync,
  chownSync,
  mkdirSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  startPostgres,
  startRestoredPostgres,
  startS3,
  createDatabase,
  testConfig,
  PG_BIN,
} from "../../test/harness/servers.ts";
import { createBucket, storeOn } from "../../test/harness/buckets.ts";
import { PgBackRest, restorePhysical } from "../../core/backup/pgbackrest.ts";
import { osUser } from "../../core/backup/proc.ts";
import { pgbackrestConf } from "../../settings/pgbackrest.ts";
import { buildDataset } from "./dataset.ts";
import { backupPostgresLogical, restorePostgresLogical } from "../../core/backup/postgres-logical.ts";
import { pgEnv } from "../../core/backup/proc.ts";
import { vectorProbe } from "../../core/backup/pg-inspect.ts";
import { withClient } from "../../core/pg.ts";

const { values } = parseArgs({
  options: {
    scale: { type: "string" },
    jobs: { type: "string" },
    "skip-baseline": { type: "boolean" },
    "data-only": { type: "boolean" },
  },
});
const scale = Number(values.scale ?? 100);
const jobs = Number(values.jobs ?? 2);

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, out?: string): Promise<void> {
  return new Promise((ok, fail) => {
    const fd = out ? openSync(out, "w") : "ignore";
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", fd, "pipe"] });
    let err = "";
    c.stderr!.on("data", (d) => (err = (err + d).slice(-4000)));
    c.on("exit", (code) => {
      if (typeof fd === "number") closeSync(fd);
      if (code === 0) ok();
      else fail(new Error(`${cmd} ${args.join(" ")}: ${err}`));
    });
  });
}
const time = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};
const dirSize = (d: string): number =>
  readdirSync(d, { withFileTypes: true }).reduce(
    (a, e) => a + (e.isDirectory() ? dirSize(join(d, e.name)) : statSync(join(d, e.name)).size),
    0,
  );

if (values["data-only"]) {
  // bench:data: build the dataset in an existing database (a superuser URL: the migrations create extensions).
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error(
      "bench:data: set DATABASE_URL to the (empty) database to fill, e.g. postgresql://postgres:...@127.0.0.1:5432/jarvis_bench",
    );
    process.exit(2);
  }
  const t = await time(() => buildDataset(url, scale));
  console.log(
    JSON.stringify({
      scale,
      ...(await withClient(url, async (c) => ({
        databaseBytes: Number((await c.query("select pg_database_size(current_database()) s")).rows[0].s),
      }))),
      seconds: t,
    }),
  );
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "jarvis-bench-"));
// pgBackRest (posix repository here: the benchmark measures pgBackRest, not the S3 server) runs as
// the cluster's owner; its config directory exists before the server starts archiving into it.
const ids = process.getuid?.() === 0 ? osUser("postgres") : undefined;
const own = (p: string) => ids && chownSync(p, ids.uid, ids.gid);
own(work);
for (const d of ["conf", "repo", "log", "lock", "spool"]) {
  mkdirSync(join(work, d));
  own(join(work, d));
}
const pgbr = new PgBackRest({ configPath: join(work, "conf"), stanza: "jarvis", ...ids });
const pg = await startPostgres({ settings: { archive_command: pgbr.archiveCommand(), fsync: "on" } });
writeFileSync(
  join(work, "conf", "pgbackrest.conf"),
  pgbackrestConf(testConfig(), {
    pgPath: pg.dataDir,
    pgPort: pg.port,
    pgSocketPath: pg.socketDir,
    repo: { type: "posix", path: join(work, "repo") },
    processMax: jobs,
    logPath: join(work, "log"),
    lockPath: join(work, "lock"),
    spoolPath: join(work, "spool"),
  }),
);
own(join(work, "conf", "pgbackrest.conf"));
await pgbr.stanzaCreate();
const s3 = await startS3();
try {
  const src = await createDatabase(pg, "bench");
  const built = await time(() => buildDataset(src.url, scale));
  const size = await withClient(src.url, async (c) =>
    Number((await c.query("select pg_database_size(current_database()) s")).rows[0].s),
  );
  console.error(`dataset: scale ${scale}, ${(size / 1e6).toFixed(0)} MB, built in ${built.toFixed(0)} s`);
  const figures: Record<string, unknown> = { scale, databaseBytes: size, jobs };

  // Ours: logical backup to S3 and restore to a queryable database.
  const store = storeOn(s3, await createBucket(s3, "bench"));
  // Every timed step starts from a checkpointed server (building the dataset left the next
  // checkpoint a lot to write, which would be charged to whichever step came first).
  const checkpoint = () => withClient(pg.url(), (c) => c.query("checkpoint"));
  await checkpoint();
  let id = "";
  let bytes = 0;
  const oursBackup = await time(async () => {
    const r = await backupPostgresLogical({ url: src.url, store, jobs });
    id = r.id;
    bytes = r.bytes;
  });
  const dst = await createDatabase(pg, "benchdst");
  const oursRestore = await time(async () => {
    await restorePostgresLogical({ store, id, targetUrl: dst.url, jobs });
    await withClient(dst.url, vectorProbe);
  });
  figures.ours = { backupSeconds: oursBackup, backupBytes: bytes, restoreSeconds: oursRestore };
  // The restored copy goes, so the physical backup holds the same data as the others.
  await dst.drop();
  await checkpoint();

  // Ours, physical: pgBackRest full backup, restore into a new data directory, start, query.
  const physBackup = await time(() => pgbr.backup("full"));
  const physDir = join(work, "restored");
  mkdirSync(physDir, { mode: 0o700 });
  own(physDir);
  const t0 = performance.now();
  await restorePhysical(pgbr, { pgPath: physDir });
  const physFiles = (performance.now() - t0) / 1000;
  const restored = await startRestoredPostgres(pg, physDir);
  const poll = { database: src.name, timeoutMs: 600_000, intervalMs: 20 };
  await restored.ready(async (c) => (await vectorProbe(c)) !== null, poll);
  const physQueryable = (performance.now() - t0) / 1000;
  await restored.ready(
    async (c) => (await c.query("select pg_is_in_recovery() r")).rows[0].r === false,
    poll,
  );
  const physWritable = (performance.now() - t0) / 1000;
  await restored.stop();
  const physRestore = physQueryable;
  figures.physical = {
    backupSeconds: physBackup,
    restoreFilesSeconds: physFiles,
    restoreQueryableSeconds: physQueryable,
    restoreWritableSeconds: physWritable,
    repoBytes: dirSize(join(work, "repo")),
  };

  if (!values["skip-baseline"]) {
    // The audit's scripts, as written (docker exec removed: same server, same machine).
    const env = pgEnv(src.url);
    await checkpoint();
    const base = await time(async () => {
      await sh(join(PG_BIN, "pg_dump"), ["--verbose", "--clean", "--if-exists"], env, join(work, "a.sql"));
      await sh(join(PG_BIN, "pg_dump"), ["--verbose", "--format=custom"], env, join(work, "b.backup"));
      await sh(join(PG_BIN, "pg_dump"), ["--verbose", "--data-only"], env, join(work, "c.sql"));
      await sh("gzip", [join(work, "a.sql")], {});
    });
    const baseBytes = ["a.sql.gz", "b.backup", "c.sql"].reduce((a, f) => a + statSync(join(work, f)).size, 0);
    const auditRestore = async (maintenanceWorkMem: string) => {
      const dst2 = await createDatabase(pg, "benchbase");
      const env = { ...pgEnv(dst2.url), PGOPTIONS: `-c maintenance_work_mem=${maintenanceWorkMem}` };
      const seconds = await time(async () => {
        await sh(
          "sh",
          ["-c", `gzip -dc '${join(work, "a.sql.gz")}' | '${join(PG_BIN, "psql")}' -q -v ON_ERROR_STOP=0`],
          env,
        );
        await withClient(dst2.url, vectorProbe);
      });
      await dst2.drop();
      return seconds;
    };
    const baseRestore = await auditRestore("64MB");
    const baseRestoreTuned = await auditRestore(pg.settings.maintenance_work_mem ?? "512MB");
    figures.audit = {
      backupSeconds: base,
      backupBytes: baseBytes,
      restoreSeconds: baseRestore,
      restoreSecondsWithStackSettings: baseRestoreTuned,
    };
    figures.ratios = {
      logicalBackupSpeedup: base / oursBackup,
      logicalRestoreSpeedup: baseRestore / oursRestore,
      physicalBackupSpeedup: base / physBackup,
      physicalRestoreSpeedup: baseRestore / physRestore,
      physicalRestoreSpeedupVsStackSettings: baseRestoreTuned / physRestore,
      physicalRestoreToWritableSpeedup: baseRestore / physWritable,
    };
  }
  console.log(JSON.stringify(figures, null, 2));
  store.destroy();
} finally {
  rmSync(work, { recursive: true, force: true });
  await s3.stop();
  await pg.stop();
}
