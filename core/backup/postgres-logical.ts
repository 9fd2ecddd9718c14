/**
 * PostgreSQL logical backups: `pg_dump -Fd -j N -Z L` taken in an exported snapshot (so the row
 * counts in the manifest are exactly the dump's), streamed to S3 file by file while pg_dump writes
 * them, with checksums, manifest last. Restores download and check every file, then `pg_restore -j N`, leaving pg_cron out when
 * the target is not the server's cron.database_name (the extension can live only there).
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RefusedError, JarvisError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { connect, ident, withClient } from "../pg.ts";
import {
  beginBackup,
  findBackup,
  readManifest,
  completeBackup,
  type BackupRef,
  type Manifest,
  type ManifestFile,
} from "./manifest.ts";
import { describeDatabase, rowCounts, schemaVersion, userTables } from "./pg-inspect.ts";
import { databaseOf, pgBinary, pgEnv, run, withDatabase } from "./proc.ts";
import { mapLimit, type BackupStore } from "./store.ts";

export interface PgLogicalBackupOptions {
  /** Source database (a role that can read everything: jarvis_backup or a superuser). */
  url: string;
  store: BackupStore;
  /** pg_dump -j: parallel workers. Default 2. */
  jobs?: number;
  /** pg_dump -Z: gzip level 0-9. Default 1 (fast; the dump is mostly vectors, which hardly compress). */
  compressLevel?: number;
  log?: Logger;
  now?: Date;
  /** Called after every data object is stored, just before the manifest (tests use it to kill -9). */
  beforeManifest?: (id: string) => Promise<void>;
}

export interface BackupResult {
  id: string;
  store: string;
  kind: string;
  tier: string;
  files: number;
  bytes: number;
  durationSeconds: number;
  manifest: Manifest;
}

export async function backupPostgresLogical(opts: PgLogicalBackupOptions): Promise<BackupResult> {
  const log = opts.log ?? silentLogger;
  const { started, t0, id, tier, dir } = beginBackup("postgres", "logical", opts.now);
  const tmp = await mkdtemp(join(tmpdir(), "jarvis-pgdump-"));
  const dumpDir = join(tmp, "dump");
  const client = await connect(opts.url, { applicationName: "jarvis-data-backup" });
  let uploaded = false;
  try {
    // One snapshot for the counts and for every pg_dump worker.
    await client.query("begin isolation level repeatable read read only");
    const snapshot = (await client.query("select pg_export_snapshot() as s")).rows[0].s as string;
    const counts = await rowCounts(client);
    const version = await schemaVersion(client);
    const server = (await client.query("show server_version")).rows[0].server_version as string;
    log.info("pg_dump started", { id, database: databaseOf(opts.url), jobs: opts.jobs ?? 2 });
    const files = await dumpToStore(opts, snapshot, dumpDir, `${dir}dump/`);
    await client.query("commit");
    uploaded = true;
    await opts.beforeManifest?.(id);
    const manifest = await completeBackup(opts.store, {
      id,
      store: "postgres",
      kind: "logical",
      tier,
      started,
      t0,
      files,
      schemaVersion: version,
      rowCounts: counts,
      source: {
        host: new URL(opts.url).hostname,
        port: Number(new URL(opts.url).port || 5432),
        database: databaseOf(opts.url),
        serverVersion: server,
      },
      tools: { pg_dump: (await run(pgBinary("pg_dump"), ["--version"])).stdout.trim() },
    });
    const { totalBytes: bytes, durationSeconds } = manifest;
    log.info("postgres logical backup complete", {
      id,
      files: files.length,
      bytes,
      seconds: durationSeconds.toFixed(1),
    });
    return {
      id,
      store: "postgres",
      kind: "logical",
      tier,
      files: files.length,
      bytes,
      durationSeconds,
      manifest,
    };
  } catch (e) {
    await client.query("rollback").catch(() => {});
    // Without a manifest the objects are never used; removing them just saves space.
    if (!uploaded) await opts.store.deletePrefix(dir).catch(() => {});
    throw e;
  } finally {
    await client.end().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The dump ids of the items a `pg_dump --verbose -j N` stderr line says are finished (their
 * files, `<id>.dat[.gz]`, are closed). Tested against pg_dump's own output.
 */
export function finishedDumpItems(line: string): string[] {
  // Not anchored, and every match: pg_dump's processes share stderr and its "pg_dump: " prefix is
  // a write of its own, so another process's output can land between a prefix and its message.
  return [...line.matchAll(/finished item (\d+) /g)].map((m) => m[1]!);
}

/**
 * pg_dump -Fd, streamed to the store: pg_dump writes one file per table (`<dumpId>.dat.gz`) and,
 * in parallel mode with --verbose, reports each one ("finished item <dumpId> ...") once it has
 * closed it. Every data file is uploaded while it grows, part by part, beside the dump instead
 * of after it; toc.dat (written last) and anything unreported once pg_dump has exited. When
 * pg_dump fails, the uploads in flight are aborted; when an upload fails, pg_dump is stopped.
 */
async function dumpToStore(
  opts: PgLogicalBackupOptions,
  snapshot: string,
  dumpDir: string,
  keyPrefix: string,
): Promise<ManifestFile[]> {
  const reported = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const reportedItem = (dumpId: string) => {
    let entry = reported.get(dumpId);
    if (!entry) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      reported.set(dumpId, (entry = { promise, resolve }));
    }
    return entry;
  };
  const stop = new AbortController();
  let exited = false;
  const dump = run(
    pgBinary("pg_dump"),
    [
      "-Fd",
      "-j",
      String(opts.jobs ?? 2),
      "-Z",
      String(opts.compressLevel ?? 1),
      "--verbose",
      `--snapshot=${snapshot}`,
      "-f",
      dumpDir,
    ],
    {
      env: pgEnv(opts.url),
      fix: "check that the role may read every table (jarvis_backup) and that pg_dump is at least the server's version",
      onStderrLine: (line) => {
        for (const dumpId of finishedDumpItems(line)) reportedItem(dumpId).resolve();
      },
      signal: stop.signal,
    },
  ).finally(() => (exited = true));
  dump.catch(() => {}); // observed below; the uploads see it through `closed`
  const uploads = new Map<string, Promise<ManifestFile>>();
  const upload = (name: string, closed: Promise<unknown>) => {
    const path = join(dumpDir, name);
    const p = opts.store
      .putGrowingFile(
        `${keyPrefix}${name}`,
        path,
        closed.then(() => {}),
      )
      .then(async ({ sha256, size }) => {
        await rm(path, { force: true }); // stored: the dump never holds more than what is still on its way
        return { path: `dump/${name}`, size, sha256 };
      });
    p.catch((e) => stop.abort(e));
    uploads.set(name, p);
    return p;
  };
  const listing = async () =>
    (await readdir(dumpDir).catch(() => [] as string[])).filter((n) => !uploads.has(n));
  while (!exited) {
    for (const name of await listing()) {
      const m = /^(\d+)\.dat(\.gz)?$/.exec(name);
      if (m) upload(name, Promise.race([reportedItem(m[1]!).promise, dump]));
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const settled = await Promise.allSettled([dump, ...uploads.values()]);
  const failed = settled.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (stop.signal.aborted) throw stop.signal.reason; // an upload failed first: its error, not pg_dump's
  if (failed) throw failed.reason;
  // pg_dump has exited: the rest (toc.dat, large objects) is complete on disk.
  const rest = await listing();
  await mapLimit(rest, 4, (name) => upload(name, Promise.resolve()));
  const files = await Promise.all(uploads.values());
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export interface PgRestorePlan {
  store: "postgres";
  backup: string;
  target: string;
  /** Filled when the target holds data: what the restore replaces. */
  overwrites: { tables: { table: string; rows: number }[]; sizeBytes: number } | null;
  pgCron: "kept" | "left out";
}

export interface PgLogicalRestoreOptions {
  store: BackupStore;
  /** Backup id; absent means the latest complete one. */
  id?: string;
  /** Target database; created when missing. */
  targetUrl: string;
  /** Must equal the target database's name when the target is not empty. */
  confirm?: string;
  jobs?: number;
  /** maintenance_work_mem for the index builds (HNSW is most of a restore's time). Default 512MB. */
  maintenanceWorkMem?: string;
  /** Skip ownership (restore into a cluster without the stack's roles). */
  noOwner?: boolean;
  log?: Logger;
  /** Shown the plan before anything is overwritten. */
  onPlan?: (plan: PgRestorePlan) => void;
}

export interface RestoreResult {
  id: string;
  target: string;
  durationSeconds: number;
  rowCounts?: Record<string, number>;
}

/** Thrown when a restored database does not hold what the manifest says it should. */
export class RestoreMismatchError extends JarvisError {
  constructor(what: string, problems: string[]) {
    super(
      "JARVIS_RESTORE_MISMATCH",
      `${what} does not match its backup's manifest: ${problems.slice(0, 10).join("; ")}${problems.length > 10 ? ` (+${problems.length - 10} more)` : ""}; the backup or the restore is broken: verify the backup (jarvis-data verify) and restore an older one`,
    );
  }
}

export function compareCounts(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [t, n] of Object.entries(expected)) {
    if (actual[t] === undefined) problems.push(`table ${t} is missing`);
    else if (actual[t] !== n) problems.push(`table ${t} has ${actual[t]} rows, expected ${n}`);
  }
  return problems;
}

/** Downloads a backup's files into `dest`, checking each one's size and sha256 against the manifest. */
export async function downloadBackup(
  store: BackupStore,
  ref: BackupRef,
  manifest: Manifest,
  dest: string,
  parallel = 4,
): Promise<void> {
  await mapLimit(manifest.files, parallel, async (f) => {
    const got = await store.getFile(ref.dir + f.path, join(dest, f.path));
    if (got.sha256 !== f.sha256 || got.size !== f.size) {
      throw new JarvisError(
        "JARVIS_BACKUP_CORRUPT",
        `${store.url(ref.dir + f.path)} is corrupt: sha256 ${got.sha256.slice(0, 12)}… (${got.size} B) ≠ manifest ${f.sha256.slice(0, 12)}… (${f.size} B); restore another backup (jarvis-data backups list)`,
      );
    }
  });
}

/** Does the list line (from `pg_restore -l`) belong to pg_cron? */
export function isPgCronEntry(line: string): boolean {
  return (
    / EXTENSION - pg_cron\b/.test(line) ||
    / COMMENT - EXTENSION pg_cron\b/.test(line) ||
    /^\d+; \d+ \d+ [A-Z ]+ cron /.test(line) ||
    / SCHEMA - cron\b/.test(line)
  );
}

export async function restorePostgresLogical(opts: PgLogicalRestoreOptions): Promise<RestoreResult> {
  const log = opts.log ?? silentLogger;
  const t0 = performance.now();
  const ref = await findBackup(opts.store, "postgres", opts.id, "logical");
  const manifest = await readManifest(opts.store, ref);
  const target = databaseOf(opts.targetUrl);
  const adminUrl = withDatabase(opts.targetUrl, "postgres");

  // Does the target exist, and what does it hold?
  const { exists, cronDb } = await withClient(adminUrl, async (c) => ({
    exists: (await c.query("select 1 from pg_database where datname = $1", [target])).rowCount === 1,
    cronDb:
      ((await c.query("select current_setting('cron.database_name', true) as d")).rows[0].d as
        string | null) ?? null,
  }));
  let overwrites: PgRestorePlan["overwrites"] = null;
  if (exists) {
    overwrites = await withClient(opts.targetUrl, async (c) =>
      (await userTables(c)).length ? describeDatabase(c) : null,
    );
  }
  const plan: PgRestorePlan = {
    store: "postgres",
    backup: ref.id,
    target,
    overwrites,
    pgCron: cronDb === target ? "kept" : "left out",
  };
  opts.onPlan?.(plan);
  if (overwrites && opts.confirm !== target) {
    throw new RefusedError(
      `refusing to restore into database "${target}": it is not empty (${overwrites.tables.length} tables, ${(overwrites.sizeBytes / 1e6).toFixed(1)} MB); ` +
        `everything in it would be replaced. To do it anyway, pass --confirm ${target}`,
    );
  }

  const tmp = await mkdtemp(join(tmpdir(), "jarvis-pgrestore-"));
  try {
    await downloadBackup(opts.store, ref, manifest, tmp);
    if (overwrites) {
      log.warn("replacing database", { database: target, tables: overwrites.tables.length });
      await withClient(adminUrl, async (c) => {
        const owner = (
          await c.query("select pg_get_userbyid(datdba) as o from pg_database where datname = $1", [target])
        ).rows[0].o as string;
        await c.query(`drop database ${ident(target)} with (force)`);
        await c.query(`create database ${ident(target)} owner ${ident(owner)}`);
      });
    } else if (!exists) {
      await withClient(adminUrl, (c) => c.query(`create database ${ident(target)}`));
    }
    const dumpDir = join(tmp, "dump");
    const args = ["-d", target, "-j", String(opts.jobs ?? 2), "--exit-on-error"];
    if (opts.noOwner) args.push("--no-owner", "--no-privileges");
    if (plan.pgCron === "left out") {
      const list = (await run(pgBinary("pg_restore"), ["-l", dumpDir])).stdout.split("\n");
      const kept = list.filter((l) => !isPgCronEntry(l));
      if (kept.length !== list.length) {
        await writeFile(join(tmp, "restore.list"), kept.join("\n"));
        args.push("-L", join(tmp, "restore.list"));
        log.info("pg_cron left out of the restore", {
          target,
          cronDatabase: cronDb,
          entries: list.length - kept.length,
        });
      }
    }
    log.info("pg_restore started", { id: ref.id, target, jobs: opts.jobs ?? 2 });
    await run(pgBinary("pg_restore"), [...args, dumpDir], {
      env: {
        ...pgEnv(opts.targetUrl),
        PGOPTIONS: `-c maintenance_work_mem=${opts.maintenanceWorkMem ?? "512MB"}`,
      },
      fix: "the target keeps whatever was restored before the error; fix the cause (missing role: pass --no-owner; missing extension: install it) and restore again with --confirm",
    });
    const counts = await withClient(opts.targetUrl, async (c) => {
      await c.query("analyze");
      return rowCounts(c);
    });
    const problems = compareCounts(manifest.rowCounts ?? {}, counts);
    if (problems.length)
      throw new RestoreMismatchError(`database "${target}" restored from ${ref.id}`, problems);
    const durationSeconds = (performance.now() - t0) / 1000;
    log.info("postgres logical restore complete", {
      id: ref.id,
      target,
      seconds: durationSeconds.toFixed(1),
    });
    return { id: ref.id, target, durationSeconds, rowCounts: counts };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
