/**
 * The ops agent: the cron matcher, the schedule from config, and a real Redis backup run on its
 * schedule, reported on /metrics (success, then a failure turning the status to 0).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createBucket, startRedis, storeOn, testConfig, useServices } from "./harness/index.ts";
import { cronMatches, nextRun } from "../core/ops/cron.ts";
import { startAgent } from "../core/ops/agent.ts";
import { agentJobs, agentSchedule } from "../core/ops/schedule.ts";
import { runBackup } from "../core/ops/jobs.ts";
import { listBackups } from "../core/backup/manifest.ts";

const { s3 } = await useServices("s3");

test("the cron matcher follows cron's rules, in UTC", () => {
  const at = (s: string) => new Date(`${s}Z`);
  assert.equal(cronMatches("0 2 * * 0", at("2026-11-01T02:00:00")), true); // a Sunday
  assert.equal(cronMatches("0 2 * * 0", at("2026-11-02T02:00:00")), false);
  assert.equal(cronMatches("0 2 * * 1-6", at("2026-11-02T02:00:00")), true);
  assert.equal(cronMatches("*/15 * * * *", at("2026-11-02T02:45:00")), true);
  assert.equal(cronMatches("*/15 * * * *", at("2026-11-02T02:46:00")), false);
  assert.equal(cronMatches("0 5 1 * *", at("2026-12-01T05:00:00")), true);
  assert.equal(cronMatches("0 0 * * 7", at("2026-11-01T00:00:00")), true); // 7 is Sunday too
  // Both day fields restricted: either one matches (cron's OR rule).
  assert.equal(cronMatches("0 0 13 * 5", at("2026-11-06T00:00:00")), true); // a Friday, not the 13th
  assert.equal(nextRun("0 5 1 * *", at("2026-11-15T10:00:00"))?.toISOString(), "2026-12-01T05:00:00.000Z");
  assert.throws(() => cronMatches("0 2 * *", new Date()), /has 4 fields; use 5/);
});

test("the agent's jobs come from config.backup.schedules: Sunday 02:00 is the full, Monday 02:00 the differential", () => {
  const cfg = testConfig();
  const names = (d: string) =>
    agentJobs(agentSchedule(cfg, true), { backup: async () => {}, drill: async () => [] })
      .filter((j) => cronMatches(j.cron, new Date(d)))
      .map((j) => j.name);
  assert.deepEqual(names("2026-11-01T02:00:00Z"), ["postgres-full"]);
  assert.deepEqual(names("2026-11-02T02:00:00Z"), ["postgres-diff"]);
  assert.deepEqual(names("2026-11-02T03:00:00Z"), ["redis"]);
  assert.deepEqual(names("2026-12-01T05:00:00Z"), ["drill"]);
  assert.ok(
    !agentJobs(agentSchedule(cfg, false), { backup: async () => {}, drill: async () => [] }).some((j) =>
      j.name.startsWith("postgres-full"),
    ),
  );
});

test("the agent runs a due Redis backup and serves its result on /metrics; a failure sets the status to 0", async () => {
  const bucket = await createBucket(s3, "a");
  const redis = await startRedis();
  after(() => redis.stop());
  const work = mkdtempSync(join(tmpdir(), "jarvis-agent-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  const store = storeOn(s3, bucket, { attempts: 1 });
  after(() => store.destroy());
  const stateFile = join(work, "state.json");
  let redisUrl = redis.url("backup");
  const jobs = agentJobs(agentSchedule(testConfig(), false), {
    backup: (s) => runBackup({ store, redisBackupUrl: redisUrl, stateFile }, s),
    drill: async () => [],
  });
  const agent = await startAgent({
    jobs: jobs.filter((j) => j.name === "redis"),
    stateFile,
    port: 0,
    clock: false,
  });
  after(() => agent.stop());

  assert.deepEqual(await agent.tick(new Date("2026-11-02T02:59:00Z")), []);
  assert.deepEqual(await agent.tick(new Date("2026-11-02T03:00:00Z")), [{ job: "redis", ok: true }]);
  assert.equal((await listBackups(store, "redis")).length, 1);
  let metrics = await (await fetch(`${agent.url}/metrics`)).text();
  assert.match(metrics, /# TYPE jarvis_backup_last_success_timestamp_seconds gauge/);
  assert.match(metrics, /jarvis_backup_last_status\{store="redis"\} 1/);
  assert.match(metrics, /jarvis_backup_last_size_bytes\{store="redis"\} [1-9]\d*/);
  const success = /jarvis_backup_last_success_timestamp_seconds\{store="redis"\} (\S+)/.exec(metrics)![1];

  redisUrl = redisUrl.replace(/:[^:@/]+@/, ":wrong-password@");
  const [r] = await agent.tick(new Date("2026-11-03T03:00:00Z"));
  assert.equal(r!.ok, false);
  assert.match(r!.error!, /refused the backup user/);
  metrics = await (await fetch(`${agent.url}/metrics`)).text();
  assert.match(metrics, /jarvis_backup_last_status\{store="redis"\} 0/);
  // The last success is still reported, so the alert on its age keeps counting.
  assert.match(
    metrics,
    new RegExp(
      `jarvis_backup_last_success_timestamp_seconds\\{store="redis"\\} ${success!.replace(".", "\\.")}`,
    ),
  );
});

test("container states: running and healthy is up; stopped or unhealthy is down but present; a missing name is not found", async () => {
  const { containerStates, renderContainerMetrics } = await import("../core/ops/containers.ts");
  const states = containerStates(
    ["jarvis-dev-postgres", "jarvis-dev-redis", "jarvis-dev-chroma", "jarvis-api", "jarvis-voice"],
    [
      { Names: ["/jarvis-dev-postgres"], State: "running", Status: "Up 3 hours (healthy)" },
      { Names: ["/jarvis-dev-redis"], State: "running", Status: "Up 2 minutes (unhealthy)" },
      { Names: ["/jarvis-dev-chroma"], State: "exited", Status: "Exited (137) 5 minutes ago" },
      { Names: ["/jarvis-api"], State: "running", Status: "Up 1 hour" },
      { Names: ["/someone-else"], State: "running", Status: "Up 1 hour" },
    ],
  );
  assert.deepEqual(states, {
    "jarvis-dev-postgres": { present: 1, up: 1, state: "running" },
    "jarvis-dev-redis": { present: 1, up: 0, state: "unhealthy" },
    "jarvis-dev-chroma": { present: 1, up: 0, state: "exited" },
    "jarvis-api": { present: 1, up: 1, state: "running" },
    "jarvis-voice": { present: 0, up: 0, state: "not found" },
  });
  const text = renderContainerMetrics(states);
  assert.match(text, /^jarvis_container_up\{container="jarvis-voice"\} 0$/m);
  assert.match(text, /^jarvis_container_present\{container="jarvis-voice"\} 0$/m);
  assert.match(text, /^jarvis_container_present\{container="jarvis-dev-chroma"\} 1$/m);
  assert.match(text, /^jarvis_container_up\{container="jarvis-dev-postgres"\} 1$/m);
  assert.ok(!text.includes("someone-else"), "only watched containers are exported");
});

test("/metrics carries jarvis_container_up from the container states read at scrape time", async () => {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-agent-c-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let reads = 0;
  const a = await startAgent({
    jobs: [],
    stateFile: join(dir, "state.json"),
    port: 0,
    clock: false,
    containerStates: async () => {
      reads++;
      return {
        "jarvis-dev-postgres": { present: 1, up: 1, state: "running" },
        "jarvis-api": { present: 0, up: 0, state: "not found" },
      };
    },
  });
  try {
    const text = await (await fetch(`${a.url}/metrics`)).text();
    assert.equal(reads, 1);
    assert.match(text, /^jarvis_container_up\{container="jarvis-api"\} 0$/m);
    assert.match(text, /^jarvis_container_up\{container="jarvis-dev-postgres"\} 1$/m);
    assert.match(text, /^jarvis_container_present\{container="jarvis-api"\} 0$/m);
    assert.match(text, /^# TYPE jarvis_backup_last_status gauge$/m, "the backup metrics are still there");
  } finally {
    await a.stop();
  }
});
