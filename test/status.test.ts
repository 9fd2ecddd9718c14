/**
 * `jarvis-data status` against the harness's real servers: real figures, a stopped Redis
 * reported down with exit 1, backups and drills from the ops agent's metrics or the bucket.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import { createClient } from "redis";
import { MANIFEST_FORMAT, newBackupId, writeManifest } from "../core/backup/manifest.ts";
import { recordBackup, recordDrill, renderMetrics } from "../core/ops/metrics.ts";
import { parseMetrics } from "../core/status/metrics.ts";
import { createBucket, createDatabase, startRedis, storeOn, useServices } from "./harness/index.ts";
import { statusCli as cli } from "./support/status-cli.ts";

const { postgres, redis, chroma, s3 } = await useServices("postgres", "redis", "chroma", "s3");

test("status prints real figures: database size, connections, five largest tables, Redis memory and keys, disk", async (t) => {
  const db = await createDatabase(postgres, "status");
  t.after(() => db.drop());
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query("create table big (id int primary key, body text)");
    await c.query("insert into big select g, repeat(md5(g::text), 20) from generate_series(1, 20000) g");
    for (const n of ["t1", "t2", "t3", "t4", "t5", "t6"])
      await c.query(`create table ${n} (id int); insert into ${n} select generate_series(1, 10)`);
    await c.query("analyze");
  } finally {
    await c.end();
  }
  const prefix = `status:${process.pid}:${Date.now()}`;
  const rc = createClient({ url: redis.url("admin") });
  await rc.connect();
  for (let i = 0; i < 25; i++) await rc.set(`${prefix}:${i}`, "x".repeat(1000), { EX: 300 });
  t.after(async () => {
    for (let i = 0; i < 25; i++) await rc.del(`${prefix}:${i}`);
    await rc.quit();
  });

  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url("monitor"),
    CHROMA_URL: chroma.url,
    CHROMA_TOKEN: chroma.token,
  };
  const r = await cli(["--json"], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.ok, true);
  assert.deepEqual(s.down, []);

  const check = new pg.Client({ connectionString: db.url });
  await check.connect();
  const truth = (
    await check.query(
      "select pg_database_size(current_database())::bigint as size, pg_total_relation_size('big')::bigint as big",
    )
  ).rows[0];
  await check.end();
  assert.equal(s.postgres.up, true);
  assert.equal(s.postgres.database, db.name);
  assert.ok(
    Math.abs(s.postgres.sizeBytes - Number(truth.size)) < 1 << 20,
    `size ${s.postgres.sizeBytes} ~ ${truth.size}`,
  );
  assert.equal(s.postgres.connections.max, Number(postgres.settings.max_connections));
  assert.ok(s.postgres.connections.used >= 1);
  assert.equal(s.postgres.largestTables.length, 5, "five largest tables, no more");
  assert.deepEqual(s.postgres.largestTables[0], {
    name: "public.big",
    totalBytes: Number(truth.big),
    estimatedRows: 20000,
  });

  assert.equal(s.redis.up, true);
  assert.ok(s.redis.keys >= 25, `keys ${s.redis.keys}`);
  assert.ok(s.redis.usedMemoryBytes > 25_000 && s.redis.usedMemoryPeakBytes >= s.redis.usedMemoryBytes);
  assert.equal(s.redis.maxMemoryBytes, 256 * 1024 * 1024);
  assert.equal(s.chroma.up, true);
  assert.equal(typeof s.chroma.collections, "number", "with the token, the collection count is read (A22)");

  // The data directory is local here (the harness), so its filesystem use is measured.
  assert.equal(s.disk[0].path, postgres.dataDir);
  assert.ok(s.disk[0].percent > 0 && s.disk[0].percent <= 100 && s.disk[0].totalBytes > 0);
  assert.deepEqual(
    s.backups.map((b: any) => [b.store, b.lastStatus]),
    [
      ["postgres", "unknown"],
      ["redis", "unknown"],
      ["chroma", "unknown"],
    ],
  );

  const text = await cli([], env);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /: OK\n/);
  assert.match(text.stdout, /public\.big/);
  assert.match(
    text.stdout,
    /redis {5}up \(7\.[\d.]+\), memory [\d.]+ [kMG]B \(peak [\d.]+ [kMG]B, max 256\.0 MB\), \d+ keys/,
  );
  assert.match(text.stdout, /containers unknown \(set JARVIS_OPS_URL/);
});

test("status reports a stopped Redis as down and exits 1", async () => {
  const own = await startRedis();
  let stopped = false;
  try {
    const env = { DATABASE_URL: postgres.url("jarvis"), REDIS_URL: own.url("monitor") };
    const before = await cli(["--json"], env);
    assert.equal(before.code, 0, before.stdout + before.stderr);
    assert.equal(JSON.parse(before.stdout).redis.up, true);

    await own.stop();
    stopped = true;
    const after = await cli(["--json"], env);
    assert.equal(after.code, 1, after.stdout + after.stderr);
    const s = JSON.parse(after.stdout);
    assert.equal(s.ok, false);
    assert.equal(s.redis.up, false);
    assert.match(s.redis.error, /ECONNREFUSED/);
    assert.equal(s.down.length, 1);
    assert.match(s.down[0], /^redis: /);
    assert.equal(s.postgres.up, true, "the other stores are still read");
    assert.doesNotMatch(after.stdout, new RegExp(own.passwords.monitor), "no password in the output");

    const text = await cli([], env);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /: DOWN\n/);
    assert.match(text.stdout, /^redis {5}DOWN: /m);
  } finally {
    if (!stopped) await own.stop();
  }
});

test("status reads the last backup, the last drill and the containers from the ops agent's /metrics", async (t) => {
  const state = join(mkdtempSync(join(tmpdir(), "jarvis-ops-")), "state.json");
  const now = Date.now();
  recordBackup(state, "postgres", {
    ok: true,
    at: new Date(now - 3600_000),
    durationSeconds: 12,
    sizeBytes: 5_000_000,
    id: "a",
  });
  recordBackup(state, "redis", {
    ok: true,
    at: new Date(now - 3 * 86400_000),
    durationSeconds: 1,
    sizeBytes: 1000,
    id: "b",
  });
  recordDrill(state, "postgres", {
    ok: true,
    at: new Date(now - 86400_000),
    rtoSeconds: 2400,
    rpoSeconds: 600,
    id: "a",
  });
  const body =
    renderMetrics(
      recordDrill(state, "redis", { ok: false, at: new Date(now - 86400_000), error: "restore failed" }),
    ) +
    'jarvis_container_up{container="jarvis-dev-postgres"} 1\njarvis_container_up{container="jarvis-api"} 0\n';
  assert.equal(parseMetrics(body).filter((x) => x.name === "jarvis_backup_last_status").length, 2);
  const server = createServer((req, res) => {
    res.writeHead(req.url === "/metrics" ? 200 : 404, { "content-type": "text/plain; version=0.0.4" });
    res.end(req.url === "/metrics" ? body : "");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  t.after(() => new Promise<void>((ok) => server.close(() => ok())));
  const port = (server.address() as { port: number }).port;

  const r = await cli(["--json", "--ops-url", `http://127.0.0.1:${port}`], {
    DATABASE_URL: postgres.url("jarvis"),
  });
  assert.equal(r.code, 1, "a container down is something down");
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.down, ["container jarvis-api is not running"]);
  const pgBackup = s.backups.find((b: any) => b.store === "postgres");
  assert.equal(pgBackup.source, "ops-agent");
  assert.equal(pgBackup.lastStatus, "ok");
  assert.equal(pgBackup.sizeBytes, 5_000_000);
  assert.ok(Math.abs(pgBackup.ageSeconds - 3600) < 60);
  assert.ok(
    s.warnings.some((w: string) => /redis backup is \d+ s old \(RPO target 86400 s\)/.test(w)),
    s.warnings.join("\n"),
  );
  assert.ok(s.warnings.includes("the last redis recovery drill failed"));
  assert.ok(s.warnings.includes("the last postgres drill took 2400 s (RTO target 1800 s)"));
  assert.deepEqual(
    s.drills.find((d: any) => d.store === "postgres"),
    {
      store: "postgres",
      lastRunAt: new Date(Math.floor(now - 86400_000)).toISOString(),
      lastStatus: "ok",
      rtoSeconds: 2400,
      rpoSeconds: 600,
    },
  );
  assert.equal(s.drills.find((d: any) => d.store === "chroma").lastStatus, "unknown");

  // An ops agent that is configured but does not answer is down too.
  const dead = await cli(["--json", "--ops-url", "http://127.0.0.1:1"], {});
  assert.equal(dead.code, 1);
  assert.match(JSON.parse(dead.stdout).down[0], /^ops agent: /);
});

test("without an ops agent, status reads the last backups from the bucket's manifests", async () => {
  const bucket = await createBucket(s3, "status");
  const store = storeOn(s3, bucket);
  const finished = new Date(Date.now() - 7200_000);
  const id = newBackupId(finished);
  await writeManifest(store, {
    format: MANIFEST_FORMAT,
    id,
    store: "redis",
    kind: "rdb",
    tier: "redis",
    startedAt: finished.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: 1,
    files: [{ path: "dump.rdb", size: 4242, sha256: "0".repeat(64) }],
    totalBytes: 4242,
    schemaVersion: null,
    source: { host: "redis" },
    tools: {},
  });
  const r = await cli(["--json"], {
    JARVIS_S3_ENDPOINT: s3.endpoint,
    JARVIS_BACKUP_BUCKET: bucket,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.postgres.up, null, "not configured is unknown, not down");
  const b = s.backups.find((x: any) => x.store === "redis");
  assert.deepEqual(
    { source: b.source, lastSuccessAt: b.lastSuccessAt, sizeBytes: b.sizeBytes, lastStatus: b.lastStatus },
    { source: "s3", lastSuccessAt: finished.toISOString(), sizeBytes: 4242, lastStatus: "ok" },
  );
  assert.ok(Math.abs(b.ageSeconds - 7200) < 60);
  assert.equal(s.backups.find((x: any) => x.store === "postgres").lastStatus, "unknown");
});
