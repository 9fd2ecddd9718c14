/**
 * `jarvis-data status`, day 2: storage per backup prefix (A22) from a bucket of known content,
 * containers not found versus stopped and the last retention runs from the ops agent, and each
 * store's 30-day availability (A23) from a real Prometheus evaluating the stack's own rules.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import YAML from "yaml";
import { recordRetention, renderMetrics } from "../core/ops/metrics.ts";
import { renderContainerMetrics } from "../core/ops/containers.ts";
import { alertRules } from "../settings/monitoring.ts";
import { createBucket, freePort, storeOn, testConfig, useServices } from "./harness/index.ts";
import { statusCli as cli } from "./support/status-cli.ts";

const { s3 } = await useServices("s3");

/** A tiny /metrics server (the shape the ops agent and the exporters serve). */
async function serveMetrics(body: () => string): Promise<string> {
  const server = createServer((req, res) => {
    res
      .writeHead(req.url === "/metrics" ? 200 : 404, { "content-type": "text/plain; version=0.0.4" })
      .end(req.url === "/metrics" ? body() : "");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  after(() => new Promise<void>((ok) => server.close(() => ok())));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

test("status shows the backup storage per prefix from a bucket of known content", async () => {
  const bucket = await createBucket(s3, "sd2");
  const store = storeOn(s3, bucket);
  after(() => store.destroy());
  await store.putBuffer("postgres/x/a", Buffer.alloc(2048));
  await store.putBuffer("postgres/x/b", Buffer.alloc(2048));
  await store.putBuffer("chroma/y/c", Buffer.alloc(100));
  const env = {
    JARVIS_BACKUP_BUCKET: bucket,
    JARVIS_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  };
  const r = await cli(["--json"], env);
  const s = JSON.parse(r.stdout);
  assert.equal(s.storage.source, "s3");
  assert.deepEqual(s.storage.prefixes, [
    { bucket, prefix: "chroma/", bytes: 100, objects: 1 },
    { bucket, prefix: "postgres/", bytes: 4096, objects: 2 },
  ]);
  assert.equal(s.storage.totalBytes, 4196);
  assert.equal(s.availability.source, null);
  assert.match(s.availability.reason, /JARVIS_PROMETHEUS_URL/);
  const text = await cli([], env);
  assert.match(text.stdout, /storage {3}backups 4\.1 kB in 3 objects \[s3\]/);
  assert.match(text.stdout, new RegExp(`${bucket}/postgres/ +4\\.0 kB {2}2 objects`));
  assert.match(text.stdout, /availability unknown \(set JARVIS_PROMETHEUS_URL/);
});

test("status tells a container not found from a stopped one, and shows the last retention runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-sd2-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, "state.json");
  recordRetention(state, "chroma", {
    ok: true,
    at: new Date(),
    durationSeconds: 2,
    examined: 40,
    deleted: 7,
    skipped: 3,
  });
  const s2 = recordRetention(state, "logs", {
    ok: false,
    at: new Date(),
    durationSeconds: 0.1,
    error: "EACCES",
  });
  const body =
    renderMetrics(s2) +
    renderContainerMetrics({
      jarvis_brain: { present: 0, up: 0, state: "not found" },
      "jarvis-dev-redis": { present: 1, up: 0, state: "exited" },
      "jarvis-dev-postgres": { present: 1, up: 1, state: "running" },
    });
  const url = await serveMetrics(() => body);
  const r = await cli(["--json", "--ops-url", url], {});
  assert.equal(r.code, 1);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.down, [
    "container jarvis_brain not found (removed, renamed, or misnamed in jarvis:monitoring.appContainers)",
    "container jarvis-dev-redis is stopped or unhealthy",
  ]);
  const chroma = s.retention.find((x: any) => x.retention === "chroma");
  assert.deepEqual(
    { ...chroma, lastRunAt: undefined },
    {
      retention: "chroma",
      lastRunAt: undefined,
      lastStatus: "ok",
      examined: 40,
      deleted: 7,
      skipped: 3,
      freedBytes: null,
    },
  );
  assert.ok(s.warnings.includes("the last logs retention run failed"));
  assert.ok(s.warnings.includes("chroma retention skipped 3 records it cannot classify"));
  const text = (await cli(["--ops-url", url], {})).stdout;
  assert.match(text, /jarvis_brain:NOT FOUND/);
  assert.match(text, /jarvis-dev-redis:STOPPED/);
  assert.match(text, /retention chroma .* ok, examined 40, deleted 7, skipped 3, freed unknown/);
});

test("status shows each store's 30-day availability from Prometheus evaluating the stack's rules", async () => {
  // The exporters' view: PostgreSQL and Redis answer their probes.
  const exporter = await serveMetrics(() => "pg_up 1\nredis_up 1\n");
  const dir = mkdtempSync(join(tmpdir(), "jarvis-prom-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const rules = alertRules(testConfig(), { stack: "dev" });
  // Evaluate every group each second (the 30-day group runs every 5 minutes in the stack).
  for (const g of rules.groups) delete g.interval;
  writeFileSync(join(dir, "rules.yml"), YAML.stringify(rules));
  const target = exporter.replace("http://", "");
  writeFileSync(
    join(dir, "prometheus.yml"),
    YAML.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: ["rules.yml"],
      scrape_configs: [
        {
          job_name: "postgres",
          static_configs: [{ targets: [target] }],
          metric_relabel_configs: [{ source_labels: ["__name__"], regex: "pg_up", action: "keep" }],
        },
        {
          job_name: "redis",
          static_configs: [{ targets: [target] }],
          metric_relabel_configs: [{ source_labels: ["__name__"], regex: "redis_up", action: "keep" }],
        },
      ],
    }),
  );
  const port = await freePort();
  const prom = spawn(
    process.env.JARVIS_PROMETHEUS ?? "/usr/bin/prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: "ignore" },
  );
  after(() => void prom.kill());
  const url = `http://127.0.0.1:${port}`;
  let s: any;
  for (let i = 0; i < 60; i++) {
    await new Promise((ok) => setTimeout(ok, 500));
    const r = await cli(["--json", "--prometheus-url", url], {});
    s = JSON.parse(r.stdout);
    if (
      s.availability.source &&
      s.availability.stores.find((x: any) => x.store === "redis").ratio30d !== null
    )
      break;
  }
  assert.equal(s.availability.source, url, JSON.stringify(s.availability));
  assert.equal(s.availability.target, 0.999);
  assert.deepEqual(
    s.availability.stores.map((x: any) => [x.store, x.ratio30d, x.budgetRemaining]),
    [
      ["postgres", 1, 1],
      ["redis", 1, 1],
      ["chroma", null, null],
    ],
    "no Chroma probe: unknown, not a guess",
  );
  const text = (await cli(["--prometheus-url", url], {})).stdout;
  assert.match(
    text,
    /availability postgres 100\.000% over 30 days \(objective 99\.900%\), error budget left 100\.0%/,
  );
  assert.match(text, /availability chroma {3}unknown \(no data in Prometheus\)/);
});
