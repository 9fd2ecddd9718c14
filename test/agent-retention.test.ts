/**
 * The ops agent runs store retention on its schedules (A13, A15, A12) and the storage figures
 * (A22), each visible on /metrics: a shortened schedule is driven with `tick`, against real
 * Chroma, Redis and S3 servers and a real log directory.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createClient } from "redis";
import { chromaClient, precomputedEmbeddings } from "../core/chroma.ts";
import { startAgent } from "../core/ops/agent.ts";
import { runRetentionJob, runStorageReport } from "../core/ops/retention-jobs.ts";
import { agentJobs, agentSchedule } from "../core/ops/schedule.ts";
import { parseMetrics, valueOf } from "../core/status/metrics.ts";
import { createBucket, storeOn, testConfig, useServices } from "./harness/index.ts";

const { chroma, redis, s3 } = await useServices("chroma", "redis", "s3");
const DAY = 86400;

async function metricsOf(url: string) {
  return parseMetrics(await (await fetch(`${url}/metrics`)).text());
}

test("the agent runs Chroma, Redis and log retention on their schedules, and /metrics shows each run", async () => {
  const tag = `t${randomBytes(4).toString("hex")}`;
  const work = mkdtempSync(join(tmpdir(), "jarvis-agent-ret-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  const col = `${tag}_commands`;
  // Shortened schedules: every 5 minutes, so a tick at :05 runs all three.
  const cfg = testConfig({
    redis: { tempKeyPattern: `temp:${tag}:*` },
    retention: {
      agent: {
        chroma: "*/5 * * * *",
        redisTempKeys: "*/5 * * * *",
        logs: "*/5 * * * *",
        chromaCollections: [col],
      },
    },
  });
  const now = Math.floor(Date.now() / 1000);
  const c = chromaClient(chroma.url, chroma.token);
  await (
    await c.createCollection({ name: col, embeddingFunction: precomputedEmbeddings })
  ).add({
    ids: ["old-low", "old-high", "fresh", "undated"],
    embeddings: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 0],
    ],
    metadatas: [
      { created_at: new Date((now - 100 * DAY) * 1000).toISOString(), importance: 0.1 },
      { created_at: now - 100 * DAY, importance: 0.9 },
      { created_at: (now - DAY) * 1000, importance: 0 },
      { importance: 0 },
    ],
  });
  after(() => c.deleteCollection({ name: col }));
  const r = createClient({ url: redis.url() });
  await r.connect();
  after(() => r.quit());
  for (let i = 0; i < 3; i++) await r.set(`temp:${tag}:${i}`, "x");
  const logs = join(work, "logs");
  mkdirSync(join(logs, "jarvis_brain"), { recursive: true });
  const old = join(logs, "jarvis_brain", "voice-2026-01-01.log");
  const recent = join(logs, "jarvis_brain", "api-2026-11-20.log");
  writeFileSync(old, "x".repeat(1000));
  writeFileSync(recent, "y".repeat(10));
  utimesSync(old, new Date((now - 8 * DAY) * 1000), new Date((now - 8 * DAY) * 1000)); // voice: 7 days
  utimesSync(recent, new Date((now - 8 * DAY) * 1000), new Date((now - 8 * DAY) * 1000)); // api: 14 days

  const stateFile = join(work, "state.json");
  const s = agentSchedule(cfg, false);
  const deps = {
    policy: s.retention!.policy,
    chroma: { url: chroma.url, token: chroma.token, collections: s.retention!.chromaCollections },
    redisUrl: redis.url("app"),
    logsDir: logs,
    logDays: s.retention!.logDays,
    stateFile,
  };
  const jobs = agentJobs(s, {
    backup: async () => {},
    drill: async () => [],
    retention: (job) => runRetentionJob(deps, job),
  }).filter((j) => j.name.startsWith("retention-"));
  assert.deepEqual(jobs.map((j) => j.name).sort(), [
    "retention-chroma",
    "retention-logs",
    "retention-redis-temp-keys",
  ]);
  const agent = await startAgent({ jobs, stateFile, port: 0, clock: false });
  after(() => agent.stop());

  assert.deepEqual(await agent.tick(new Date("2026-11-28T10:04:00Z")), [], "nothing is due at :04");
  const ran = await agent.tick(new Date("2026-11-28T10:05:00Z"));
  assert.deepEqual(ran.map((x) => [x.job, x.ok]).sort(), [
    ["retention-chroma", true],
    ["retention-logs", true],
    ["retention-redis-temp-keys", true],
  ]);
  const m = await metricsOf(agent.url);
  const v = (name: string, job: string) => valueOf(m, name, "retention", job);
  assert.equal(v("jarvis_retention_last_status", "chroma"), 1);
  assert.equal(v("jarvis_retention_last_examined", "chroma"), 4);
  assert.equal(v("jarvis_retention_last_deleted", "chroma"), 1);
  assert.equal(v("jarvis_retention_last_skipped", "chroma"), 1, "the undated record is skipped and counted");
  assert.ok(v("jarvis_retention_last_duration_seconds", "chroma")! > 0);
  assert.ok(Math.abs(v("jarvis_retention_last_run_timestamp_seconds", "chroma")! - Date.now() / 1000) < 120);
  assert.equal(v("jarvis_retention_last_examined", "redis-temp-keys"), 3);
  assert.equal(v("jarvis_retention_last_deleted", "redis-temp-keys"), 3, "three temp keys got their TTL");
  assert.ok(v("jarvis_retention_last_freed_bytes", "redis-temp-keys")! >= 0);
  assert.ok((await r.ttl(`temp:${tag}:0`)) > 0);
  assert.equal(v("jarvis_retention_last_deleted", "logs"), 1);
  assert.equal(v("jarvis_retention_last_freed_bytes", "logs"), 1000);
  assert.ok(!existsSync(old) && existsSync(recent), "voice logs go after 7 days, api logs stay 14");
  const left = await (
    await c.getCollection({ name: col, embeddingFunction: precomputedEmbeddings })
  ).get({ include: [] });
  assert.deepEqual(left.ids.sort(), ["fresh", "old-high", "undated"]);

  // A failing run turns the status to 0 (RetentionFailed) and keeps the running total.
  deps.chroma = { url: "http://127.0.0.1:9", token: "x", collections: [col] };
  const [failed] = await agent
    .tick(new Date("2026-11-28T10:10:00Z"))
    .then((x) => x.filter((y) => y.job === "retention-chroma"));
  assert.equal(failed!.ok, false);
  const m2 = await metricsOf(agent.url);
  assert.equal(valueOf(m2, "jarvis_retention_last_status", "retention", "chroma"), 0);
  assert.equal(valueOf(m2, "jarvis_retention_deleted_total", "retention", "chroma"), 1);
});

test("the storage figures: bytes and objects per prefix of a bucket with known content, on /metrics", async () => {
  const bucket = await createBucket(s3, "st");
  const store = storeOn(s3, bucket, { attempts: 1 });
  after(() => store.destroy());
  await store.putBuffer("postgres/a/data.dump", Buffer.alloc(1000));
  await store.putBuffer("postgres/a/manifest.json", Buffer.alloc(24));
  await store.putBuffer("redis/b/dump.rdb", Buffer.alloc(300));
  await store.putBuffer("logs/c/x.log", Buffer.alloc(7));
  const work = mkdtempSync(join(tmpdir(), "jarvis-storage-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  const chromaDir = join(work, "chroma");
  mkdirSync(join(chromaDir, "seg"), { recursive: true });
  writeFileSync(join(chromaDir, "chroma.sqlite3"), Buffer.alloc(4096));
  writeFileSync(join(chromaDir, "seg", "data_level0.bin"), Buffer.alloc(512));
  const stateFile = join(work, "state.json");
  const figures = await runStorageReport({ store, chromaDataDir: chromaDir, stateFile });
  assert.deepEqual(figures.prefixes, [
    { bucket, prefix: "logs/", bytes: 7, objects: 1 },
    { bucket, prefix: "postgres/", bytes: 1024, objects: 2 },
    { bucket, prefix: "redis/", bytes: 300, objects: 1 },
  ]);
  assert.equal(figures.chromaDiskBytes, 4608);
  const agent = await startAgent({ jobs: [], stateFile, port: 0, clock: false });
  after(() => agent.stop());
  const m = await metricsOf(agent.url);
  const at = (name: string, prefix: string) =>
    m.find((x) => x.name === name && x.labels.prefix === prefix && x.labels.bucket === bucket)?.value;
  assert.equal(at("jarvis_backup_storage_bytes", "postgres/"), 1024);
  assert.equal(at("jarvis_backup_storage_objects", "postgres/"), 2);
  assert.equal(m.find((x) => x.name === "jarvis_chroma_disk_bytes")?.value, 4608);
});
