/**
 * Physical backups and point-in-time recovery with pgBackRest against real servers: a
 * PostgreSQL whose archive_command pushes WAL to a pgBackRest repository on S3 (s3rver over TLS
 * with a certificate made here: pgBackRest 2.45 only speaks HTTPS to S3), encrypted.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  startPostgres,
  startRestoredPostgres,
  startS3,
  testConfig,
  type PostgresServer,
  type S3Server,
} from "./harness/index.ts";
import {
  PgBackRest,
  restorePhysical,
  walSegmentsBetween,
  SYNC_ARCHIVE_GET_MAX_SEGMENTS,
} from "../core/backup/pgbackrest.ts";
import { pgbackrestDirs, writeS3RepoConfig } from "./harness/pgbackrest.ts";
import { tableChecksums } from "../core/backup/pg-inspect.ts";
import { RefusedError } from "../core/errors.ts";
import { withClient } from "../core/pg.ts";
import { buildDataset } from "../bench/backup/dataset.ts";

const dirs = pgbackrestDirs("jarvis-pitr");
const { work, confDir, ids, own } = dirs;
// A self-signed certificate for the S3 server; pgBackRest trusts it through its CA file option.
spawnSync(
  "openssl",
  [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout",
    join(work, "s3.key"),
    "-out",
    join(work, "s3.crt"),
  ],
  { stdio: "ignore" },
);
chmodSync(join(work, "s3.crt"), 0o644);

let s3: S3Server;
let pg: PostgresServer;
let pgbr: PgBackRest;
const stanza = "jarvis";

before(async () => {
  s3 = await startS3({
    buckets: ["pgbackrest-repo"],
    tls: {
      key: readFileSync(join(work, "s3.key"), "utf8"),
      cert: readFileSync(join(work, "s3.crt"), "utf8"),
    },
  });
  pgbr = new PgBackRest({ configPath: confDir, stanza, ...ids });
  pg = await startPostgres({ settings: { archive_command: pgbr.archiveCommand() } });
  writeS3RepoConfig(dirs, pg, stanza, {
    bucket: "pgbackrest-repo",
    server: s3,
    caFile: join(work, "s3.crt"),
    path: "/repo",
  });
  await pgbr.stanzaCreate();
});

const started: { stop(): Promise<void> }[] = [];
after(async () => {
  for (const s of started) await s.stop();
  await pg?.stop();
  await s3?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Starts PostgreSQL on a restored data directory (no archiving) and waits until it has promoted. */
async function startRestored(
  dataDir: string,
): Promise<{ url: (db: string) => string; stop(): Promise<void> }> {
  const server = await startRestoredPostgres(pg, dataDir);
  const stop = async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  started.push({ stop });
  await server.ready(async (c) => (await c.query("select pg_is_in_recovery() as r")).rows[0].r === false, {
    timeoutMs: 60_000,
  });
  return { url: server.url, stop };
}

function emptyDir(): string {
  const d = mkdtempSync(join(work, "restore-"));
  own(d);
  chmodSync(d, 0o700);
  return d;
}

/** Switches WAL and waits until the segment is in the repository. */
async function archiveNow(db: string) {
  await withClient(pg.url(db), (c) => c.query("select pg_switch_wal()"));
  await pgbr.check();
}

test("a physical backup restores to identical data, then PITR to a time between two writes brings back the first and not the second", async () => {
  await buildDataset(pg.url("jarvis"), 0.05);
  const full = await pgbr.backup("full");
  assert.equal(full.type, "full");
  assert.match(full.label, /^\d{8}-\d{6}F$/);

  await withClient(pg.url("jarvis"), async (c) => {
    await c.query("create table pitr_marks (id int primary key, note text not null)");
    await c.query("insert into pitr_marks values (1, 'first write')");
  });
  await new Promise((r) => setTimeout(r, 1100));
  const between = await withClient(
    pg.url("jarvis"),
    async (c) =>
      (await c.query("select to_char(now() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t"))
        .rows[0].t as string,
  );
  await new Promise((r) => setTimeout(r, 1100));
  await withClient(pg.url("jarvis"), (c) => c.query("insert into pitr_marks values (2, 'second write')"));
  await archiveNow("jarvis");
  const sourceSums = await withClient(pg.url("jarvis"), tableChecksums);

  // Latest: everything, identical.
  const latestDir = emptyDir();
  await restorePhysical(pgbr, { pgPath: latestDir });
  // A few segments to replay: fetched one by one, without starting the async prefetch queue.
  const restoreCommand = (dir: string) =>
    /^restore_command = '(.*)'$/m.exec(readFileSync(join(dir, "postgresql.auto.conf"), "utf8"))?.[1];
  assert.match(restoreCommand(latestDir) ?? "", /--no-archive-async archive-get %f "%p"$/);
  const latest = await startRestored(latestDir);
  assert.deepEqual(await withClient(latest.url("jarvis"), tableChecksums), sourceSums);
  await latest.stop();

  // To a time between the writes: the first is there, the second is not.
  const pitrDir = emptyDir();
  await restorePhysical(pgbr, { pgPath: pitrDir, target: { type: "time", time: between } });
  // To a time, pgBackRest picks the backup: the replay's length is unknown, the config's default stays.
  assert.doesNotMatch(restoreCommand(pitrDir) ?? "", /--no-archive-async/);
  const pitr = await startRestored(pitrDir);
  const notes = await withClient(pitr.url("jarvis"), async (c) =>
    (await c.query("select note from pitr_marks order by id")).rows.map((r) => r.note),
  );
  assert.deepEqual(notes, ["first write"]);
  await pitr.stop();
});

test("a differential backup and a named restore point: restore to the name stops before later writes", async () => {
  await withClient(pg.url("jarvis"), (c) => c.query("create table named_marks (id int primary key)"));
  const diff = await pgbr.backup("diff");
  assert.equal(diff.type, "diff");
  await withClient(pg.url("jarvis"), async (c) => {
    await c.query("insert into named_marks values (1)");
    await c.query("select pg_create_restore_point('before_migration_0005')");
    await c.query("insert into named_marks values (2)");
  });
  await archiveNow("jarvis");
  const dir = emptyDir();
  await restorePhysical(pgbr, { pgPath: dir, target: { type: "name", name: "before_migration_0005" } });
  const srv = await startRestored(dir);
  assert.deepEqual(
    await withClient(srv.url("jarvis"), async (c) =>
      (await c.query("select id from named_marks order by id")).rows.map((r) => r.id),
    ),
    [1],
  );
  await srv.stop();
  const labels = (await pgbr.info()).map((b) => b.type);
  assert.deepEqual(labels.slice(0, 2), ["full", "diff"]);
});

test("a physical restore refuses a non-empty data directory without --confirm, and a running one always", async () => {
  const dir = emptyDir();
  writeFileSync(join(dir, "PG_VERSION"), "15\n");
  await assert.rejects(
    restorePhysical(pgbr, { pgPath: dir }),
    (e: unknown) => e instanceof RefusedError && e.message.includes(`--confirm ${dir}`),
  );
  assert.equal(readFileSync(join(dir, "PG_VERSION"), "utf8"), "15\n");
  await assert.rejects(
    restorePhysical(pgbr, { pgPath: pg.dataDir, confirm: pg.dataDir }),
    (e: unknown) => e instanceof RefusedError && /a server is running/.test(e.message),
  );
});

test("RPO: with the stack's archive_timeout, a write reaches the archive unaided within it, and a restore to latest brings it back", async () => {
  const timeout = Number(pg.settings.archive_timeout);
  assert.equal(
    timeout,
    testConfig().postgres.archiveTimeoutSeconds,
    "the server runs the stack's archive_timeout",
  );
  const { lsnFile, t0 } = await withClient(pg.url("jarvis"), async (c) => {
    await c.query(
      "create table if not exists rpo_marks (id int primary key, written_at timestamptz not null default now())",
    );
    await c.query("insert into rpo_marks (id) values (1)");
    const r = await c.query("select pg_walfile_name(pg_current_wal_lsn()) as f");
    return { lsnFile: r.rows[0].f as string, t0: performance.now() };
  });
  // No pg_switch_wal here: only archive_timeout may ship the segment.
  let rpoSeconds = Infinity;
  while ((performance.now() - t0) / 1000 < timeout + 30) {
    const last = await withClient(
      pg.url("postgres"),
      async (c) =>
        (await c.query("select coalesce(last_archived_wal, '') as w from pg_stat_archiver")).rows[0]
          .w as string,
    );
    if (last >= lsnFile) {
      rpoSeconds = (performance.now() - t0) / 1000;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`measured RPO: ${rpoSeconds.toFixed(1)} s (archive_timeout ${timeout} s)`);
  assert.ok(
    rpoSeconds <= timeout + 5,
    `the write was archived after ${rpoSeconds.toFixed(1)} s; the promise is archive_timeout (${timeout} s)`,
  );
  const dir = emptyDir();
  await restorePhysical(pgbr, { pgPath: dir });
  const srv = await startRestored(dir);
  assert.deepEqual(
    await withClient(srv.url("jarvis"), async (c) =>
      (await c.query("select id from rpo_marks")).rows.map((r) => r.id),
    ),
    [1],
  );
  await srv.stop();
});

test("a physical restore uses its own spool path and leaves the live server's spool alone", async () => {
  // What the live server's asynchronous archiving keeps in its spool (queued WAL status).
  const live = join(work, "spool", "archive", stanza, "in");
  mkdirSync(live, { recursive: true });
  for (const d of [join(work, "spool", "archive"), join(work, "spool", "archive", stanza), live]) own(d);
  writeFileSync(join(live, "000000010000000000000099.ok"), "");
  const dir = emptyDir();
  const now = `${new Date().toISOString().replace("T", " ").slice(0, 19)}+00`;
  await restorePhysical(pgbr, { pgPath: dir, target: { type: "time", time: now } });
  assert.ok(existsSync(join(live, "000000010000000000000099.ok")), "the live spool was not cleaned");
  assert.ok(existsSync(`${dir}.spool`), "the restore's own spool");
  const command = /^restore_command = '(.*)'$/m.exec(
    readFileSync(join(dir, "postgresql.auto.conf"), "utf8"),
  )?.[1];
  assert.match(command ?? "", new RegExp(`--spool-path=${dir}\\.spool archive-get`));
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.spool`, { recursive: true, force: true });
});

test("WAL segment distance spans log files and timelines, and rejects what is not a segment name", () => {
  assert.equal(walSegmentsBetween("000000010000000000000052", "000000010000000000000052"), 0);
  assert.equal(walSegmentsBetween("0000000100000000000000FE", "000000010000000100000001"), 3);
  assert.equal(walSegmentsBetween("000000010000000000000052", "000000020000000100000003"), 256 + 3 - 0x52);
  assert.ok(
    walSegmentsBetween("000000010000000000000000", "000000010000000000000011") >
      SYNC_ARCHIVE_GET_MAX_SEGMENTS,
  );
  assert.throws(
    () => walSegmentsBetween("00000002.history", "000000010000000000000001"),
    /not a WAL segment name/,
  );
});
