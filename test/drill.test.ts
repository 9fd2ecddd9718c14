/**
 * The CLI end to end on real servers: `backup all`, `backups list`, `verify`, `restore` refusing
 * without --confirm, and `drill`, whose failure is loud (a metric and a non-zero exit).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createBucket, createDatabase, s3ClientFor, startRedis, useServices } from "./harness/index.ts";
import { buildDataset } from "../bench/backup/dataset.ts";
import { ChromaApi } from "../core/backup/chroma.ts";
import { renderMetrics, loadState } from "../core/ops/metrics.ts";
import { withClient } from "../core/pg.ts";

const ROOT = resolve(import.meta.dirname, "..");
const { postgres, chroma, s3 } = await useServices("postgres", "chroma", "s3");

const bucket = await createBucket(s3, "d");
const s3c = s3ClientFor(s3);
after(() => s3c.destroy());

const db = await createDatabase(postgres, "dsrc");
after(() => db.drop());
await buildDataset(db.url, 0.05);
const redis = await startRedis();
after(() => redis.stop());
const chromaDb = new ChromaApi({
  url: chroma.url,
  token: chroma.token,
  database: `drill_src_${randomBytes(3).toString("hex")}`,
});
await chromaDb.createDatabase();
after(() => chromaDb.deleteDatabase().catch(() => {}));
const col = await chromaDb.create("memories", null, { hnsw: { space: "cosine" } });
await chromaDb.add(col, {
  ids: ["m1", "m2", "m3"],
  embeddings: [1, 2, 3].map((k) => Array.from({ length: 384 }, (_, d) => Math.cos(k * (d + 1)))),
  documents: ["one", "two", "three"],
  metadatas: [{ a: 1 }, { a: 2 }, { a: 3 }],
});
const { createClient } = await import("redis");
const rc = createClient({ url: redis.url("admin") });
await rc.connect();
for (let i = 0; i < 50; i++) await rc.set(`k:${i}`, String(i));
await rc.quit();

const work = mkdtempSync(join(tmpdir(), "jarvis-drill-"));
after(() => rmSync(work, { recursive: true, force: true }));
const stateFile = join(work, "state.json");
const env = {
  ...process.env,
  DATABASE_URL: db.url,
  REDIS_URL: redis.url("admin"),
  JARVIS_REDIS_BACKUP_URL: redis.url("backup"),
  CHROMA_URL: chroma.url,
  CHROMA_TOKEN: chroma.token,
  JARVIS_CHROMA_DATABASE: chromaDb.database,
  JARVIS_S3_ENDPOINT: s3.endpoint,
  JARVIS_BACKUP_BUCKET: bucket,
  AWS_ACCESS_KEY_ID: s3.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  AWS_REGION: s3.region,
  JARVIS_OPS_STATE: stateFile,
  JARVIS_PGBACKREST_CONFIG_PATH: "",
};

/** The CLI with extra environment and its own arguments (no --json added). */
function cliRaw(
  extra: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], {
      cwd: ROOT,
      env: { ...env, ...extra },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}

/** The CLI with --json; `out` is its parsed output (null when not JSON: the test reads stdout/stderr). */
async function cli(...args: string[]): Promise<{ code: number; out: any; stdout: string; stderr: string }> {
  const r = await cliRaw({}, ...args, "--json");
  let out: unknown = null;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    // not JSON
  }
  return { ...r, out };
}

test("backup all, list, verify, drill: the CLI end to end, with RTO and RPO in /metrics", async () => {
  const b = await cli("backup", "all");
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(
    b.out.backups.map((x: any) => x.store),
    ["postgres", "redis", "chroma"],
  );
  for (const x of b.out.backups) assert.match(x.id, /^\d{8}T\d{9}Z-[0-9a-f]{6}$/);
  assert.ok(b.out.backups.every((x: any) => x.bytes > 0));

  const list = await cli("backups", "list");
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.out.backups.map((x: any) => x.id).sort(), b.out.backups.map((x: any) => x.id).sort());

  const v = await cli("verify", "all");
  assert.equal(v.code, 0, v.stderr);
  assert.ok(v.out.results.every((r: any) => r.ok));

  const d = await cli("drill");
  assert.equal(d.code, 0, d.stdout + d.stderr);
  assert.equal(d.out.ok, true);
  for (const r of d.out.results) {
    assert.ok(r.rtoSeconds > 0 && r.rpoSeconds >= 0, JSON.stringify(r));
    assert.ok(r.checks.length >= 2);
  }
  const pgChecks = d.out.results.find((r: any) => r.store === "postgres").checks.map((c: any) => c.name);
  assert.deepEqual(pgChecks, [
    "manifest checksums",
    "row counts",
    "constraints valid",
    "migration version",
    "vector query",
  ]);
  assert.match(
    d.out.results.find((r: any) => r.store === "postgres").checks[4].detail,
    /memory_entries\.embedding: 5 nearest rows/,
  );
  const metrics = renderMetrics(loadState(stateFile));
  for (const s of ["postgres", "redis", "chroma"]) {
    assert.match(metrics, new RegExp(`jarvis_backup_last_status\\{store="${s}"\\} 1`));
    assert.match(metrics, new RegExp(`jarvis_drill_last_status\\{store="${s}"\\} 1`));
    assert.match(metrics, new RegExp(`jarvis_drill_rto_seconds\\{store="${s}"\\} [0-9.]+`));
    assert.match(metrics, new RegExp(`jarvis_backup_last_size_bytes\\{store="${s}"\\} [1-9]`));
  }
});

test("a corrupt object fails verify naming it, and fails the drill loudly (metric 0, exit 1)", async () => {
  const b = await cli("backup", "redis");
  assert.equal(b.code, 0, b.stderr);
  const key = `redis/rdb/redis/${b.out.id}/dump.rdb`;
  await s3c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from("REDIS0011 garbage") }));
  const v = await cli("verify", "redis", "--backup", b.out.id);
  assert.equal(v.code, 1);
  assert.equal(v.out.ok, false);
  assert.deepEqual(
    v.out.problems.map((p: any) => p.object),
    [`s3://${bucket}/${key}`],
  );
  const d = await cli("drill", "--store", "redis");
  assert.equal(d.code, 1);
  assert.equal(d.out.results[0].ok, false);
  assert.match(d.out.results[0].checks[0].detail, new RegExp(key.replace(/\//g, "\\/")));
  const state = JSON.parse(readFileSync(stateFile, "utf8"));
  assert.equal(state.drill.redis.lastStatus, 0);
  assert.match(renderMetrics(loadState(stateFile)), /jarvis_drill_last_status\{store="redis"\} 0/);
});

test("restore refuses a non-empty target without --confirm (exit 4) and restores with it", async () => {
  const target = await createDatabase(postgres, "dtgt");
  after(() => target.drop());
  await withClient(target.url, (c) => c.query("create table keep_me (id int)"));
  const noCreds = target.url.replace(/\/\/[^@]+@/, "//");
  const refused = await cli("restore", "postgres", "--target", noCreds);
  assert.equal(refused.code, 4, refused.stderr);
  assert.equal(refused.out.error.code, "JARVIS_REFUSED");
  assert.match(refused.stderr, /keep_me/); // what would be overwritten, printed first
  const ok = await cli("restore", "postgres", "--target", noCreds, "--confirm", target.name);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(ok.out.rowCounts["public.memory_entries"] > 0);
});

test("a restore target that is not a URL is a usage error (exit 2), not 'please report'", async () => {
  const r = await cli("restore", "postgres", "--target", "not a url");
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.out.error.code, "JARVIS_USAGE");
  assert.match(r.out.error.message, /is not a URL; expected e\.g\. postgresql:\/\//);
});

test("in prod, a restore over a non-empty target needs --force as well as --confirm", async () => {
  const b = await cli("backup", "redis");
  assert.equal(b.code, 0, b.stderr);
  const target = `redis://127.0.0.1:${redis.port}`;
  const prod = { JARVIS_ENVIRONMENT: "prod" };
  const args = ["restore", "redis", "--target", target, "--confirm", `127.0.0.1:${redis.port}`, "--json"];
  const refused = await cliRaw(prod, ...args);
  assert.equal(refused.code, 4, refused.stderr);
  assert.match(JSON.parse(refused.stdout).error.message, /--force/);
  const forced = await cliRaw(prod, ...args, "--force");
  assert.equal(forced.code, 0, forced.stderr);
});

test("progress: forced on (JARVIS_PROGRESS=1) lines are redrawn in place on stderr; --json output is unchanged and has none", async () => {
  const shown = await cliRaw({ JARVIS_PROGRESS: "1" }, "verify", "redis");
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stderr, /\rverify redis: [0-9.]+ \S+ of [0-9.]+ \S+ \(100%\)/);
  assert.match(shown.stdout, /^redis \S+: ok \(1 objects/);
  const json = await cliRaw({ JARVIS_PROGRESS: "1" }, "verify", "redis", "--json");
  assert.equal(json.code, 0, json.stderr);
  assert.ok(!json.stderr.includes("\r"), json.stderr);
  assert.equal(JSON.parse(json.stdout).ok, true);
  const backup = await cliRaw({ JARVIS_PROGRESS: "1" }, "backup", "redis");
  assert.equal(backup.code, 0, backup.stderr);
  assert.match(backup.stderr, /\rbackup redis: [0-9.]+ \S+, [0-9.]+ \S+\/s/);
  assert.match(backup.stdout, /^redis rdb: \S+ \([0-9.]+ MB/);
  const quiet = await cliRaw({}, "verify", "redis");
  assert.ok(!quiet.stderr.includes("\r"), "quiet off a TTY");
});
