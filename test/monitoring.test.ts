/**
 * The alert rules, proven with promtool: `check rules` on the generated file, and `test rules`
 * with a firing case for every alert (and silent cases around the thresholds), for the default
 * config and for one with other thresholds. The exporter's custom queries run on real PostgreSQL.
 */
import { ensureRoles } from "../core/postgres/roles.ts";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import pg from "pg";
import YAML from "yaml";
import type { JarvisConfig } from "../config/schema.ts";
import {
  ALERT_NAMES,
  DRILL_MAX_AGE_SECONDS,
  MONITORING_PATHS,
  alertRules,
  alertmanagerConfig,
  blackboxConfig,
  postgresExporterQueries,
  prometheusConfig,
} from "../settings/monitoring.ts";
import { testConfig, useServices } from "./harness/index.ts";
import { dayTwoRuleTests, promtool, runRuleTests, series } from "./support/rule-cases.ts";

const ROOT = resolve(import.meta.dirname, "..");

const PG = { instance: "postgres-exporter:9187", job: "postgres" };
const REDIS = { instance: "redis-exporter:9121", job: "redis" };
const CHROMA = { instance: "http://chroma:8000/api/v2/heartbeat", job: "chroma" };
const NODE = { instance: "node-exporter:9100", job: "node" };
const AGENT = { instance: "ops-agent:9187", job: "ops-agent" };
const runbook = (a: string) => `docs/monitoring.md#${a.toLowerCase()}`;

interface Expect {
  labels: Record<string, string>;
  summary: string;
  description: string;
}
const alert = (name: string, e: Expect) => ({
  exp_labels: e.labels,
  exp_annotations: { summary: e.summary, description: e.description, runbook: runbook(name) },
});

/** One firing case (and the silent cases next to it) for every alert, for thresholds from `cfg`. */
function ruleTests(cfg: JarvisConfig, stack: string) {
  const m = cfg.monitoring;
  const rpo = cfg.backup.rpoTargetSeconds;
  const rto = cfg.backup.rtoTargetSeconds;
  const pct = (p: number) => String(p);
  const fsLabels = (mountpoint: string, fstype = "ext4", device = "/dev/sda1") => ({
    ...NODE,
    device,
    fstype,
    mountpoint,
  });
  return [
    {
      name: "StoreDown: each store down for a minute fires once per store; a store that is up stays silent",
      interval: "1m",
      input_series: [
        series("pg_up", PG, "0x10"),
        series("redis_up", REDIS, "0x10"),
        series("probe_success", CHROMA, "0x10"),
      ],
      alert_rule_test: [
        { eval_time: "0m", alertname: "StoreDown", exp_alerts: [] },
        {
          eval_time: "5m",
          alertname: "StoreDown",
          exp_alerts: (["postgres", "redis", "chroma"] as const).map((store) =>
            alert("StoreDown", {
              labels: {
                ...({ postgres: PG, redis: REDIS, chroma: CHROMA } as const)[store],
                store,
                severity: "critical",
              },
              summary: `${store} is down`,
              description: `The exporter cannot reach ${store} for 1 minute: JARVIS has lost that part of its memory.`,
            }),
          ),
        },
      ],
    },
    {
      name: "StoreDown: stores that answer raise nothing",
      interval: "1m",
      input_series: [
        series("pg_up", PG, "1x10"),
        series("redis_up", REDIS, "1x10"),
        series("probe_success", CHROMA, "1x10"),
      ],
      alert_rule_test: [{ eval_time: "5m", alertname: "StoreDown", exp_alerts: [] }],
    },
    {
      name: "MonitoringTargetDown: a target unscraped for 5 minutes",
      interval: "1m",
      input_series: [series("up", AGENT, "0x10"), series("up", PG, "1x10")],
      alert_rule_test: [
        { eval_time: "4m", alertname: "MonitoringTargetDown", exp_alerts: [] },
        {
          eval_time: "6m",
          alertname: "MonitoringTargetDown",
          exp_alerts: [
            alert("MonitoringTargetDown", {
              labels: { ...AGENT, severity: "warning" },
              summary: "Prometheus cannot scrape ops-agent",
              description:
                "ops-agent:9187 (job ops-agent) has not answered for 5 minutes; the alerts fed by it are blind.",
            }),
          ],
        },
      ],
    },
    {
      name: `HostDiskUsageHigh: a disk above ${m.diskAlertPercent}% fires; one just below and a tmpfs at 99% do not`,
      interval: "1m",
      input_series: [
        series("node_filesystem_avail_bytes", fsLabels("/"), `${100 - (m.diskAlertPercent + 5)}x20`),
        series("node_filesystem_size_bytes", fsLabels("/"), "100x20"),
        series(
          "node_filesystem_avail_bytes",
          fsLabels("/srv", "xfs", "/dev/sdb1"),
          `${100 - (m.diskAlertPercent - 1)}x20`,
        ),
        series("node_filesystem_size_bytes", fsLabels("/srv", "xfs", "/dev/sdb1"), "100x20"),
        series("node_filesystem_avail_bytes", fsLabels("/run", "tmpfs", "tmpfs"), "1x20"),
        series("node_filesystem_size_bytes", fsLabels("/run", "tmpfs", "tmpfs"), "100x20"),
      ],
      alert_rule_test: [
        { eval_time: "5m", alertname: "HostDiskUsageHigh", exp_alerts: [] },
        {
          eval_time: "15m",
          alertname: "HostDiskUsageHigh",
          exp_alerts: [
            alert("HostDiskUsageHigh", {
              labels: { ...fsLabels("/"), severity: "warning" },
              summary: `Disk / is ${pct(m.diskAlertPercent + 5)}% full`,
              description: `The filesystem / (/dev/sda1) is above ${m.diskAlertPercent}% used.`,
            }),
          ],
        },
      ],
    },
    {
      name: `HostMemoryUsageHigh: memory above ${m.memoryAlertPercent}% for 10 minutes`,
      interval: "1m",
      input_series: [
        series("node_memory_MemAvailable_bytes", NODE, `${100 - (m.memoryAlertPercent + 5)}x20`),
        series("node_memory_MemTotal_bytes", NODE, "100x20"),
      ],
      alert_rule_test: [
        { eval_time: "5m", alertname: "HostMemoryUsageHigh", exp_alerts: [] },
        {
          eval_time: "15m",
          alertname: "HostMemoryUsageHigh",
          exp_alerts: [
            alert("HostMemoryUsageHigh", {
              labels: { ...NODE, severity: "warning" },
              summary: `Host memory is ${pct(m.memoryAlertPercent + 5)}% used`,
              description: `The Docker host has used more than ${m.memoryAlertPercent}% of its memory for 10 minutes.`,
            }),
          ],
        },
      ],
    },
    {
      name: "HostMemoryUsageHigh: memory just below the threshold stays silent",
      interval: "1m",
      input_series: [
        series("node_memory_MemAvailable_bytes", NODE, `${100 - (m.memoryAlertPercent - 1)}x20`),
        series("node_memory_MemTotal_bytes", NODE, "100x20"),
      ],
      alert_rule_test: [{ eval_time: "15m", alertname: "HostMemoryUsageHigh", exp_alerts: [] }],
    },
    {
      name: `PostgresConnectionsHigh: connections of every state above ${m.connectionsAlertPercent}% of max_connections`,
      interval: "1m",
      input_series: [
        series(
          "pg_stat_activity_count",
          { ...PG, datname: "jarvis", state: "active" },
          `${m.connectionsAlertPercent - 10}x20`,
        ),
        series("pg_stat_activity_count", { ...PG, datname: "jarvis", state: "idle" }, "15x20"),
        series("pg_settings_max_connections", { ...PG, server: "postgres:5432" }, "100x20"),
      ],
      alert_rule_test: [
        { eval_time: "3m", alertname: "PostgresConnectionsHigh", exp_alerts: [] },
        {
          eval_time: "10m",
          alertname: "PostgresConnectionsHigh",
          exp_alerts: [
            alert("PostgresConnectionsHigh", {
              labels: { ...PG, severity: "warning" },
              summary: `PostgreSQL uses ${m.connectionsAlertPercent + 5}% of max_connections`,
              description: `Connections have been above ${m.connectionsAlertPercent}% of max_connections for 5 minutes; new ones will soon be refused.`,
            }),
          ],
        },
      ],
    },
    {
      name: "WalArchivingFailing: failing since the last success and still failing; a failure that recovered is silent",
      interval: "1m",
      input_series: [
        series("jarvis_pg_archiver_failing", PG, "1x30"),
        series("jarvis_pg_archiver_failed_count", PG, "0+1x30"),
        series("jarvis_pg_archiver_failing", { ...PG, instance: "recovered:9187" }, "0x30"),
        series("jarvis_pg_archiver_failed_count", { ...PG, instance: "recovered:9187" }, "0+1x30"),
      ],
      alert_rule_test: [
        { eval_time: "3m", alertname: "WalArchivingFailing", exp_alerts: [] },
        {
          eval_time: "10m",
          alertname: "WalArchivingFailing",
          exp_alerts: [
            alert("WalArchivingFailing", {
              labels: { ...PG, severity: "critical" },
              summary: "WAL archiving is failing",
              description:
                "archive_command has failed again and again since its last success: point-in-time recovery stops at the last archived segment and pg_wal grows.",
            }),
          ],
        },
      ],
    },
    {
      name: "CronJobFailed: a job whose last run failed, and one that failed earlier today",
      interval: "1m",
      input_series: [
        series("jarvis_cron_job_last_run_failed", { ...PG, jobname: "jarvis-retention-memory" }, "1x5"),
        series("jarvis_cron_job_failed_runs", { ...PG, jobname: "jarvis-retention-memory" }, "1x5"),
        series("jarvis_cron_job_last_run_failed", { ...PG, jobname: "jarvis-vacuum" }, "0x5"),
        series("jarvis_cron_job_failed_runs", { ...PG, jobname: "jarvis-vacuum" }, "2x5"),
        series("jarvis_cron_job_last_run_failed", { ...PG, jobname: "jarvis-partman" }, "0x5"),
        series("jarvis_cron_job_failed_runs", { ...PG, jobname: "jarvis-partman" }, "0x5"),
      ],
      alert_rule_test: [
        {
          eval_time: "1m",
          alertname: "CronJobFailed",
          exp_alerts: ["jarvis-retention-memory", "jarvis-vacuum"].map((jobname) =>
            alert("CronJobFailed", {
              labels: { ...PG, jobname, severity: "warning" },
              summary: `pg_cron job ${jobname} failed`,
              description: `A run of ${jobname} failed in the last 24 hours (cron.job_run_details).`,
            }),
          ),
        },
      ],
    },
    {
      name: "BackupTooOld: a backup older than the RPO and a store with none fire; a fresh one does not, nor the weekly logs export",
      interval: "1m",
      input_series: [
        series("up", AGENT, "1x30"),
        // A6: the logs go out weekly, so a week-old logs backup is no RPO breach.
        series(
          "jarvis_backup_last_success_timestamp_seconds",
          { ...AGENT, store: "logs" },
          `${-(6 * 86400)}x30`,
        ),
        // promtool's clock starts at 0: a negative timestamp is a backup from before the test.
        series(
          "jarvis_backup_last_success_timestamp_seconds",
          { ...AGENT, store: "postgres" },
          `${-(rpo + 600)}x30`,
        ),
        series("jarvis_backup_last_success_timestamp_seconds", { ...AGENT, store: "redis" }, "0x30"),
      ],
      alert_rule_test: [
        { eval_time: "10m", alertname: "BackupTooOld", exp_alerts: [] },
        {
          eval_time: "20m",
          alertname: "BackupTooOld",
          exp_alerts: [
            alert("BackupTooOld", {
              labels: { ...AGENT, store: "postgres", severity: "critical" },
              summary: "No postgres backup within the RPO target",
              description: `The last successful postgres backup is older than the RPO target (${rpo} s), or none is known.`,
            }),
            alert("BackupTooOld", {
              labels: { store: "chroma", severity: "critical" },
              summary: "No chroma backup within the RPO target",
              description: `The last successful chroma backup is older than the RPO target (${rpo} s), or none is known.`,
            }),
          ],
        },
      ],
    },
    {
      name: "BackupTooOld: an ops agent that is down raises no 'backup missing' (MonitoringTargetDown covers it)",
      interval: "1m",
      input_series: [series("up", AGENT, "0x30")],
      alert_rule_test: [{ eval_time: "20m", alertname: "BackupTooOld", exp_alerts: [] }],
    },
    {
      name: "BackupFailed and DrillFailed: a last status of 0",
      interval: "1m",
      input_series: [
        series("jarvis_backup_last_status", { ...AGENT, store: "redis" }, "0x5"),
        series("jarvis_backup_last_status", { ...AGENT, store: "postgres" }, "1x5"),
        series("jarvis_drill_last_status", { ...AGENT, store: "postgres" }, "0x5"),
        series("jarvis_drill_last_status", { ...AGENT, store: "chroma" }, "1x5"),
      ],
      alert_rule_test: [
        {
          eval_time: "1m",
          alertname: "BackupFailed",
          exp_alerts: [
            alert("BackupFailed", {
              labels: { ...AGENT, store: "redis", severity: "critical" },
              summary: "The last redis backup failed",
              description: "The most recent redis backup run ended in failure.",
            }),
          ],
        },
        {
          eval_time: "1m",
          alertname: "DrillFailed",
          exp_alerts: [
            alert("DrillFailed", {
              labels: { ...AGENT, store: "postgres", severity: "critical" },
              summary: "The last postgres recovery drill failed",
              description:
                "The monthly restore drill of postgres could not restore or verify the backup (A9).",
            }),
          ],
        },
      ],
    },
    {
      name: `DrillRtoAboveTarget: a drill slower than ${rto} s; one at the target is fine`,
      interval: "1m",
      input_series: [
        series("jarvis_drill_rto_seconds", { ...AGENT, store: "postgres" }, `${rto + 600}x5`),
        series("jarvis_drill_rto_seconds", { ...AGENT, store: "redis" }, `${rto}x5`),
      ],
      alert_rule_test: [
        {
          eval_time: "1m",
          alertname: "DrillRtoAboveTarget",
          exp_alerts: [
            alert("DrillRtoAboveTarget", {
              labels: { ...AGENT, store: "postgres", severity: "warning" },
              summary: `postgres restore took ${rto + 600} s`,
              description: `The last postgres drill measured an RTO above the target (${rto} s).`,
            }),
          ],
        },
      ],
    },
    {
      name: "DrillOverdue: no drill for 35 days",
      interval: "1m",
      input_series: [
        series("up", AGENT, "1x100"),
        series(
          "jarvis_drill_last_run_timestamp_seconds",
          { ...AGENT, store: "postgres" },
          `${-DRILL_MAX_AGE_SECONDS}x100`,
        ),
        series("jarvis_drill_last_run_timestamp_seconds", { ...AGENT, store: "redis" }, "0x100"),
        series("jarvis_drill_last_run_timestamp_seconds", { ...AGENT, store: "chroma" }, "0x100"),
      ],
      alert_rule_test: [
        { eval_time: "30m", alertname: "DrillOverdue", exp_alerts: [] },
        {
          eval_time: "70m",
          alertname: "DrillOverdue",
          exp_alerts: [
            alert("DrillOverdue", {
              labels: { ...AGENT, store: "postgres", severity: "warning" },
              summary: "No postgres recovery drill for 35 days",
              description:
                "The monthly restore drill of postgres has not run (A9): the backups are unproven.",
            }),
          ],
        },
      ],
    },
    ...dayTwoRuleTests(cfg, stack),
  ];
}

/** Alerts and recording rules: what promtool counts. */
const ruleCount = (cfg: JarvisConfig) => alertRules(cfg).groups.reduce((n, g) => n + g.rules.length, 0);

const alertNamesTested = (tests: ReturnType<typeof ruleTests>) =>
  new Set(
    tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
  );

test("the generated rules define exactly the documented alerts, and promtool check rules accepts them", () => {
  const cfg = testConfig();
  const names = alertRules(cfg).groups.flatMap((g) =>
    g.rules.flatMap((r) => ("alert" in r ? [r.alert] : [])),
  );
  assert.deepEqual([...names].sort(), [...ALERT_NAMES].sort());
  const docs = readFileSync(join(ROOT, "docs/monitoring.md"), "utf8");
  for (const a of ALERT_NAMES)
    assert.match(docs, new RegExp(`^### ${a}$`, "m"), `docs/monitoring.md explains ${a}`);
  const { check } = runRuleTests(cfg, "dev", []);
  assert.equal(check.code, 0, check.out);
  assert.match(check.out, new RegExp(`SUCCESS: ${ruleCount(cfg)} rules found`));
});

test("promtool test rules: every alert fires on its condition (default thresholds, app containers from config)", () => {
  const cfg = testConfig({ monitoring: { appContainers: ["jarvis-api", "jarvis-voice"] } });
  const tests = ruleTests(cfg, "dev");
  assert.deepEqual(
    [...alertNamesTested(tests)].sort(),
    [...ALERT_NAMES].sort(),
    "a firing test case for every alert",
  );
  const r = runRuleTests(cfg, "dev", tests);
  assert.equal(r.check.code, 0, r.check.out);
  assert.equal(r.test.code, 0, r.test.out);
  assert.match(r.test.out, /SUCCESS/);
});

test("promtool test rules: thresholds, targets and container names follow the config", () => {
  const cfg = testConfig({
    monitoring: {
      diskAlertPercent: 60,
      memoryAlertPercent: 70,
      connectionsAlertPercent: 50,
      appContainers: ["assistant.web"],
    },
    backup: { rpoTargetSeconds: 3600, rtoTargetSeconds: 600 },
  });
  const tests = ruleTests(cfg, "staging");
  const r = runRuleTests(cfg, "staging", tests);
  assert.equal(r.test.code, 0, r.test.out);
  // The same inputs against the default rules: what fires at 65 % disk here does not fire at 80 %.
  const defaults = runRuleTests(
    testConfig(),
    "staging",
    tests.filter((t) => t.name.startsWith("HostDiskUsageHigh")),
  );
  assert.notEqual(defaults.test.code, 0, "the default 80 % threshold must not fire on a 65 % disk");
  assert.match(defaults.test.out, /HostDiskUsageHigh/);
  const expr = alertRules(cfg, { stack: "staging" })
    .groups.flatMap((g) => g.rules)
    .find((x) => "alert" in x && x.alert === "ContainerNotFound")!.expr;
  assert.match(expr, /assistant\\\\\.web/, "container names are regex-escaped");
  assert.match(expr, /jarvis-staging-postgres/);
});

test("promtool check config accepts prometheus.yml with the rules it names", () => {
  const cfg = testConfig();
  const dir = mkdtempSync(join(tmpdir(), "jarvis-prom-"));
  const conf = prometheusConfig(cfg, { stack: "dev" }) as {
    rule_files: string[];
    scrape_configs: { job_name: string }[];
  };
  assert.deepEqual(conf.rule_files, [MONITORING_PATHS.prometheusRules]);
  assert.deepEqual(conf.scrape_configs.map((s) => s.job_name).sort(), [
    "alertmanager",
    "chroma",
    "log-shipper",
    "node",
    "ops-agent",
    "postgres",
    "prometheus",
    "redis",
  ]);
  writeFileSync(join(dir, "rules.yml"), YAML.stringify(alertRules(cfg, { stack: "dev" })));
  writeFileSync(join(dir, "prometheus.yml"), YAML.stringify({ ...conf, rule_files: ["rules.yml"] }));
  const r = promtool(["check", "config", "prometheus.yml"], dir);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`SUCCESS: ${ruleCount(cfg)} rules found`));
  assert.equal((blackboxConfig() as any).modules.http_2xx.prober, "http");
});

test("alertmanager receivers come from config, with credentials as file references only", () => {
  const none = alertmanagerConfig(testConfig()) as any;
  assert.deepEqual(
    none.receivers,
    [{ name: "jarvis-operators" }],
    "no receiver configured: alerts stay in Alertmanager's UI",
  );
  const cfg = testConfig({
    monitoring: {
      alerting: {
        email: {
          to: "ops@example.org",
          from: "jarvis@example.org",
          smarthost: "smtp.example.org:587",
          username: "jarvis",
        },
        webhook: true,
      },
    },
    secrets: {
      alertSmtpPassword: "SENTINEL-smtp-0123456789",
      alertWebhookUrl: "https://hooks.example.org/SENTINEL-0123456789",
    },
  });
  const am = alertmanagerConfig(cfg) as any;
  const text = YAML.stringify(am);
  assert.doesNotMatch(text, /SENTINEL/, "no secret value inline");
  const [receiver] = am.receivers;
  assert.equal(am.route.receiver, receiver.name);
  assert.deepEqual(receiver.email_configs[0], {
    to: "ops@example.org",
    from: "jarvis@example.org",
    smarthost: "smtp.example.org:587",
    auth_username: "jarvis",
    auth_password_file: MONITORING_PATHS.smtpPasswordFile,
    require_tls: true,
    send_resolved: true,
  });
  assert.deepEqual(receiver.webhook_configs, [
    { url_file: MONITORING_PATHS.webhookUrlFile, send_resolved: true },
  ]);
});

test("postgres_exporter's custom queries run as jarvis_monitor and report a failed pg_cron run", async (t) => {
  const { postgres } = await useServices("postgres");
  const queries = postgresExporterQueries() as Record<
    string,
    { query: string; metrics: Record<string, { usage: string }>[] }
  >;
  const admin = new pg.Client({ connectionString: postgres.url("jarvis") });
  await admin.connect();
  await admin.query("create extension if not exists pg_cron").catch((e) => {
    if (!/already exists/.test(e.message)) throw e;
  });
  await admin.query(
    `DO $$ BEGIN CREATE ROLE jarvis_monitor NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
  );
  await admin.query("GRANT pg_monitor TO jarvis_monitor").catch(() => {});
  // A failed run of a job that does not exist: pg_cron never schedules it, the query still sees it.
  const jobid = 900000 + Math.floor(Math.random() * 90000);
  await admin.query(
    `insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status, return_message, start_time, end_time)
     values ($1, nextval('cron.runid_seq'), 1, 'jarvis', 'postgres', 'select 1/0', 'failed', 'ERROR: division by zero', now() - interval '2 minutes', now() - interval '2 minutes'),
            ($1, nextval('cron.runid_seq'), 1, 'jarvis', 'postgres', 'select 1/0', 'failed', 'ERROR: division by zero', now() - interval '1 minute', now() - interval '1 minute')`,
    [jobid],
  );
  t.after(async () => {
    await admin.query("delete from cron.job_run_details where jobid = $1", [jobid]);
    await admin.end();
  });

  const asMonitor = async (sql: string) => {
    await admin.query("begin; set local role jarvis_monitor");
    try {
      return await admin.query(sql);
    } finally {
      await admin.query("rollback");
    }
  };
  // Without sql/migrations/0005_monitoring_access.sql the monitor role sees no cron rows at all (row-level security).
  await admin.query("revoke usage on schema cron from jarvis_monitor; alter role jarvis_monitor nobypassrls");
  await assert.rejects(asMonitor(queries.jarvis_cron_job!.query), /permission denied for schema cron/);
  // The stack grants it in two places: the migration (schema USAGE) and the roles job (BYPASSRLS).
  await admin.query(readFileSync(join(ROOT, "sql/migrations/0005_monitoring_access.sql"), "utf8"));
  await ensureRoles(admin, postgres.roles);
  const cron = await asMonitor(queries.jarvis_cron_job!.query);
  const mine = cron.rows.find((r) => r.jobname === `job_${jobid}`);
  assert.ok(
    mine,
    `the failed run of job ${jobid} is visible to jarvis_monitor: ${JSON.stringify(cron.rows)}`,
  );
  assert.equal(Number(mine.failed_runs), 2);
  assert.equal(Number(mine.last_run_failed), 1);
  assert.ok(Math.abs(Number(mine.last_failed_timestamp_seconds) - (Date.now() / 1000 - 60)) < 30);
  // Every column the exporter maps exists in the result, and nothing else.
  assert.deepEqual(
    cron.fields.map((f) => f.name).sort(),
    queries.jarvis_cron_job!.metrics.map((m) => Object.keys(m)[0]).sort(),
  );

  const arch = await asMonitor(queries.jarvis_pg_archiver!.query);
  assert.equal(arch.rows.length, 1);
  assert.deepEqual(
    arch.fields.map((f) => f.name).sort(),
    queries.jarvis_pg_archiver!.metrics.map((m) => Object.keys(m)[0]).sort(),
  );
  assert.ok([0, 1].includes(Number(arch.rows[0].failing)));
});
