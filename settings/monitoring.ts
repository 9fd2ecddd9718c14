/**
 * Monitoring settings (S20, S21), generated once from config: Prometheus' scrape config, the alert
 * rules, Alertmanager's routing and receivers, postgres_exporter's custom queries and the
 * blackbox probe. Pure functions: components/monitoring.ts uploads their YAML into the
 * containers, and the tests feed the very same rules to `promtool test rules`.
 *
 * Where each alert's figures come from:
 * - PostgreSQL: postgres_exporter (`pg_up`, `pg_stat_activity_count`, `pg_settings_max_connections`)
 *   plus the custom queries below (`jarvis_pg_archiver_*`, `jarvis_cron_job_*`).
 * - Redis: redis_exporter (`redis_up`).
 * - Chroma: a blackbox_exporter HTTP probe of `/api/v2/heartbeat` (`probe_success{job="chroma"}`).
 * - Host disk and memory: node_exporter, which reads the Docker host's /proc and filesystems.
 * - Backups, drills and containers: the ops agent's /metrics (names in OPS_AGENT_METRICS).
 */
import type { JarvisConfig } from "../config/schema.ts";
import { STORES } from "./stores.ts";

/** Pinned images of the monitoring containers (the versions these settings are written for). */
export const MONITORING_IMAGES = {
  prometheus: "prom/prometheus:v2.55.1",
  alertmanager: "prom/alertmanager:v0.28.1",
  postgresExporter: "prometheuscommunity/postgres-exporter:v0.16.0",
  // The alpine variant: it has a shell and wget for the healthcheck (the default image is scratch).
  redisExporter: "oliver006/redis_exporter:v1.67.0-alpine",
  nodeExporter: "prom/node-exporter:v1.8.2",
  blackboxExporter: "prom/blackbox-exporter:v0.25.0",
  grafana: "grafana/grafana:11.4.0",
} as const;

/** The port each monitoring service listens on inside the private network. */
export const MONITORING_PORTS = {
  prometheus: 9090,
  alertmanager: 9093,
  postgresExporter: 9187,
  redisExporter: 9121,
  nodeExporter: 9100,
  blackboxExporter: 9115,
  grafana: 3000,
} as const;

/** Network aliases of the monitoring containers (their DNS names on the private network). */
export const MONITORING_HOSTS = {
  prometheus: "prometheus",
  alertmanager: "alertmanager",
  postgresExporter: "postgres-exporter",
  redisExporter: "redis-exporter",
  nodeExporter: "node-exporter",
  blackboxExporter: "blackbox-exporter",
  grafana: "grafana",
} as const;

/** Where the monitored services answer on the private network (their aliases and ports). */
export interface MonitoredTargets {
  /** host:port of PostgreSQL. */
  postgres: string;
  /** host:port of Redis. */
  redis: string;
  /** Base URL of Chroma. */
  chroma: string;
  /** host:port of the ops agent's /metrics. */
  opsAgent: string;
}

export const DEFAULT_TARGETS: MonitoredTargets = {
  postgres: "postgres:5432",
  redis: "redis:6379",
  chroma: "http://chroma:8000",
  opsAgent: "ops-agent:9187",
};

/** Paths inside the containers, shared by the configs and the component that uploads them. */
export const MONITORING_PATHS = {
  prometheusConfig: "/etc/prometheus/prometheus.yml",
  prometheusRules: "/etc/prometheus/rules/jarvis.rules.yml",
  alertmanagerConfig: "/etc/alertmanager/alertmanager.yml",
  smtpPasswordFile: "/etc/alertmanager/secrets/smtp_password",
  webhookUrlFile: "/etc/alertmanager/secrets/webhook_url",
  postgresExporterQueries: "/etc/postgres_exporter/queries.yaml",
  postgresExporterPasswordFile: "/run/secrets/pg_monitor_password",
  redisExporterPasswordFile: "/run/secrets/redis_monitor_password",
  blackboxConfig: "/etc/blackbox_exporter/config.yml",
} as const;

/**
 * Metrics the ops agent (components/ops-agent.ts, port 9187 on the private network) must export
 * for these rules. The backup and drill names are the ones shared by the whole project; the
 * container one is defined here, for the ops agent to add.
 */
export const OPS_AGENT_METRICS = {
  backupLastSuccess: "jarvis_backup_last_success_timestamp_seconds",
  backupLastStatus: "jarvis_backup_last_status",
  drillLastRun: "jarvis_drill_last_run_timestamp_seconds",
  drillLastStatus: "jarvis_drill_last_status",
  drillRto: "jarvis_drill_rto_seconds",
  drillRpo: "jarvis_drill_rpo_seconds",
  /**
   * jarvis_container_up{container="<docker name>"}: 1 when the container runs and its
   * healthcheck (if any) is not unhealthy, else 0. Exported for every name of
   * `watchedContainers()` (passed to the agent), 0 when the container does not exist.
   */
  containerUp: "jarvis_container_up",
} as const;

export { STORES };

/** Every alert the rules define; the promtool test must hold a case for each. */
export const ALERT_NAMES = [
  "StoreDown",
  "MonitoringTargetDown",
  "HostDiskUsageHigh",
  "HostMemoryUsageHigh",
  "PostgresConnectionsHigh",
  "WalArchivingFailing",
  "CronJobFailed",
  "BackupTooOld",
  "BackupFailed",
  "DrillFailed",
  "DrillRtoAboveTarget",
  "DrillOverdue",
  "ContainerDown",
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** A drill runs monthly (S9): one missing for this long is overdue. */
export const DRILL_MAX_AGE_SECONDS = 35 * 86400;

/** Docker name of one of the stack's own containers (`jarvis-<stack>-<service>`). */
export function stackContainerName(stack: string, service: string): string {
  return `jarvis-${stack}-${service}`;
}

/**
 * The containers watched by the ContainerDown alert (S20): the stores, the ops agent, the
 * monitoring containers of this stack, and the application's own containers from
 * `jarvis:monitoring.appContainers`.
 */
export function watchedContainers(cfg: JarvisConfig, stack: string): string[] {
  const services = [
    "postgres",
    "redis",
    "chroma",
    "chroma-gateway",
    "ops-agent",
    ...(cfg.backup.storage.provider === "minio" ? ["s3"] : []),
    "prometheus",
    "alertmanager",
    "postgres-exporter",
    "redis-exporter",
    "node-exporter",
    "blackbox-exporter",
    ...(cfg.monitoring.grafana ? ["grafana"] : []),
  ];
  return [
    ...new Set([...services.map((s) => stackContainerName(stack, s)), ...cfg.monitoring.appContainers]),
  ];
}

/** Scrape jobs, by name: the `job` label the rules match on. */
export const JOBS = {
  prometheus: "prometheus",
  alertmanager: "alertmanager",
  postgres: "postgres",
  redis: "redis",
  node: "node",
  chroma: "chroma",
  opsAgent: "ops-agent",
} as const;

export interface PrometheusOptions {
  stack?: string;
  targets?: Partial<MonitoredTargets>;
}

/** prometheus.yml: every exporter, the ops agent, the Chroma probe and Alertmanager. */
export function prometheusConfig(cfg: JarvisConfig, opts: PrometheusOptions = {}): Record<string, unknown> {
  const t = { ...DEFAULT_TARGETS, ...opts.targets };
  const interval = `${cfg.monitoring.scrapeIntervalSeconds}s`;
  const at = (host: string, port: number) => `${host}:${port}`;
  const job = (name: string, target: string, extra: Record<string, unknown> = {}) => ({
    job_name: name,
    static_configs: [{ targets: [target] }],
    ...extra,
  });
  return {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      // Scrapes must finish within the interval; 10 s is Prometheus' own default ceiling.
      scrape_timeout: `${Math.min(10, cfg.monitoring.scrapeIntervalSeconds)}s`,
      external_labels: { environment: cfg.environment, ...(opts.stack ? { stack: opts.stack } : {}) },
    },
    rule_files: [MONITORING_PATHS.prometheusRules],
    alerting: {
      alertmanagers: [
        { static_configs: [{ targets: [at(MONITORING_HOSTS.alertmanager, MONITORING_PORTS.alertmanager)] }] },
      ],
    },
    scrape_configs: [
      job(JOBS.prometheus, at("localhost", MONITORING_PORTS.prometheus)),
      job(JOBS.alertmanager, at(MONITORING_HOSTS.alertmanager, MONITORING_PORTS.alertmanager)),
      job(JOBS.postgres, at(MONITORING_HOSTS.postgresExporter, MONITORING_PORTS.postgresExporter)),
      job(JOBS.redis, at(MONITORING_HOSTS.redisExporter, MONITORING_PORTS.redisExporter)),
      job(JOBS.node, at(MONITORING_HOSTS.nodeExporter, MONITORING_PORTS.nodeExporter)),
      job(JOBS.opsAgent, t.opsAgent),
      // Chroma serves no /metrics: the blackbox exporter probes its heartbeat instead.
      {
        job_name: JOBS.chroma,
        metrics_path: "/probe",
        params: { module: ["http_2xx"] },
        static_configs: [{ targets: [`${t.chroma.replace(/\/$/, "")}/api/v2/heartbeat`] }],
        relabel_configs: [
          { source_labels: ["__address__"], target_label: "__param_target" },
          { source_labels: ["__param_target"], target_label: "instance" },
          {
            target_label: "__address__",
            replacement: at(MONITORING_HOSTS.blackboxExporter, MONITORING_PORTS.blackboxExporter),
          },
        ],
      },
    ],
  };
}

/** blackbox_exporter's config: one HTTP module for the Chroma heartbeat. */
export function blackboxConfig(): Record<string, unknown> {
  return {
    modules: {
      http_2xx: {
        prober: "http",
        timeout: "5s",
        http: { valid_status_codes: [200], method: "GET", preferred_ip_protocol: "ip4" },
      },
    },
  };
}

/** Escapes a literal for a PromQL regex matcher (inside a double-quoted PromQL string: `\\.`). */
function regexLiteral(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&");
}

/** Filesystems that are not disks (their "usage" means nothing). */
const PSEUDO_FS = 'fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|autofs|proc|sysfs|fuse.lxcfs"';

export interface Rule {
  alert: AlertName;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RulesOptions {
  stack?: string;
}

/** Gate for absent(): only when the ops agent is scraped fine, so a dead agent raises one alert, not twenty. */
const AGENT_UP = `on() (up{job="${JOBS.opsAgent}"} == 1)`;

const runbook = (a: AlertName) => `docs/monitoring.md#${a.toLowerCase()}`;

/**
 * The alert rules (S20, S21, S23), thresholds from `jarvis:monitoring` and `jarvis:backup`.
 * Every alert is described in docs/monitoring.md (what it means, what to do).
 */
export function alertRules(
  cfg: JarvisConfig,
  opts: RulesOptions = {},
): { groups: { name: string; rules: Rule[] }[] } {
  const m = cfg.monitoring;
  const rpo = cfg.backup.rpoTargetSeconds;
  const rto = cfg.backup.rtoTargetSeconds;
  const containers = watchedContainers(cfg, opts.stack ?? "prod");
  const absentPerStore = (metric: string) =>
    STORES.map((s) => `(absent(${metric}{store="${s}"}) and ${AGENT_UP})`).join("\n  or ");
  const r = (
    alert: AlertName,
    severity: "critical" | "warning",
    expr: string,
    forDur: string | undefined,
    summary: string,
    description: string,
  ): Rule => ({
    alert,
    expr,
    ...(forDur ? { for: forDur } : {}),
    labels: { severity },
    annotations: { summary, description, runbook: runbook(alert) },
  });
  return {
    groups: [
      {
        name: "jarvis-stores",
        rules: [
          r(
            "StoreDown",
            "critical",
            [
              `label_replace(pg_up == 0, "store", "postgres", "", "")`,
              `label_replace(redis_up == 0, "store", "redis", "", "")`,
              `label_replace(probe_success{job="${JOBS.chroma}"} == 0, "store", "chroma", "", "")`,
            ].join("\nor "),
            "1m",
            "{{ $labels.store }} is down",
            "The exporter cannot reach {{ $labels.store }} for 1 minute: JARVIS has lost that part of its memory.",
          ),
          r(
            "MonitoringTargetDown",
            "warning",
            `up == 0`,
            "5m",
            "Prometheus cannot scrape {{ $labels.job }}",
            "{{ $labels.instance }} (job {{ $labels.job }}) has not answered for 5 minutes; the alerts fed by it are blind.",
          ),
        ],
      },
      {
        name: "jarvis-host",
        rules: [
          r(
            "HostDiskUsageHigh",
            "warning",
            `100 * (1 - node_filesystem_avail_bytes{${PSEUDO_FS}} / node_filesystem_size_bytes{${PSEUDO_FS}}) > ${m.diskAlertPercent}`,
            "10m",
            'Disk {{ $labels.mountpoint }} is {{ $value | printf "%.0f" }}% full',
            `The filesystem {{ $labels.mountpoint }} ({{ $labels.device }}) is above ${m.diskAlertPercent}% used.`,
          ),
          r(
            "HostMemoryUsageHigh",
            "warning",
            `100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > ${m.memoryAlertPercent}`,
            "10m",
            'Host memory is {{ $value | printf "%.0f" }}% used',
            `The Docker host has used more than ${m.memoryAlertPercent}% of its memory for 10 minutes.`,
          ),
        ],
      },
      {
        name: "jarvis-postgres",
        rules: [
          r(
            "PostgresConnectionsHigh",
            "warning",
            `100 * sum by (instance, job) (pg_stat_activity_count)\n  / on (instance, job) max by (instance, job) (pg_settings_max_connections) > ${m.connectionsAlertPercent}`,
            "5m",
            'PostgreSQL uses {{ $value | printf "%.0f" }}% of max_connections',
            `Connections have been above ${m.connectionsAlertPercent}% of max_connections for 5 minutes; new ones will soon be refused.`,
          ),
          r(
            "WalArchivingFailing",
            "critical",
            // Failing now (the last failure is newer than the last success) and still failing (the count grows).
            `jarvis_pg_archiver_failing == 1\n  and on (instance, job) increase(jarvis_pg_archiver_failed_count[15m]) > 0`,
            "5m",
            "WAL archiving is failing",
            "archive_command has failed again and again since its last success: point-in-time recovery stops at the last archived segment and pg_wal grows.",
          ),
          r(
            "CronJobFailed",
            "warning",
            `jarvis_cron_job_last_run_failed == 1 or jarvis_cron_job_failed_runs > 0`,
            undefined,
            "pg_cron job {{ $labels.jobname }} failed",
            "A run of {{ $labels.jobname }} failed in the last 24 hours (cron.job_run_details).",
          ),
        ],
      },
      {
        name: "jarvis-backups",
        rules: [
          r(
            "BackupTooOld",
            "critical",
            `time() - ${OPS_AGENT_METRICS.backupLastSuccess} > ${rpo}\n  or ${absentPerStore(OPS_AGENT_METRICS.backupLastSuccess)}`,
            "15m",
            "No {{ $labels.store }} backup within the RPO target",
            `The last successful {{ $labels.store }} backup is older than the RPO target (${rpo} s), or none is known.`,
          ),
          r(
            "BackupFailed",
            "critical",
            `${OPS_AGENT_METRICS.backupLastStatus} == 0`,
            undefined,
            "The last {{ $labels.store }} backup failed",
            "The most recent {{ $labels.store }} backup run ended in failure.",
          ),
          r(
            "DrillFailed",
            "critical",
            `${OPS_AGENT_METRICS.drillLastStatus} == 0`,
            undefined,
            "The last {{ $labels.store }} recovery drill failed",
            "The monthly restore drill of {{ $labels.store }} could not restore or verify the backup (S9).",
          ),
          r(
            "DrillRtoAboveTarget",
            "warning",
            `${OPS_AGENT_METRICS.drillRto} > ${rto}`,
            undefined,
            "{{ $labels.store }} restore took {{ $value }} s",
            `The last {{ $labels.store }} drill measured an RTO above the target (${rto} s).`,
          ),
          r(
            "DrillOverdue",
            "warning",
            `time() - ${OPS_AGENT_METRICS.drillLastRun} > ${DRILL_MAX_AGE_SECONDS}\n  or ${absentPerStore(OPS_AGENT_METRICS.drillLastRun)}`,
            "1h",
            "No {{ $labels.store }} recovery drill for 35 days",
            "The monthly restore drill of {{ $labels.store }} has not run (S9): the backups are unproven.",
          ),
        ],
      },
      {
        name: "jarvis-containers",
        rules: [
          r(
            "ContainerDown",
            "critical",
            [
              `${OPS_AGENT_METRICS.containerUp}{container=~"${containers.map(regexLiteral).join("|")}"} == 0`,
              ...containers.map(
                (c) => `(absent(${OPS_AGENT_METRICS.containerUp}{container="${c}"}) and ${AGENT_UP})`,
              ),
            ].join("\nor "),
            "2m",
            "Container {{ $labels.container }} is down",
            "The container {{ $labels.container }} is not running (or is unhealthy) for 2 minutes.",
          ),
        ],
      },
    ],
  };
}

/**
 * alertmanager.yml (S21). Receivers come from `jarvis:monitoring.alerting`; their credentials
 * are file references (uploaded as secrets), never inline.
 */
export function alertmanagerConfig(cfg: JarvisConfig): Record<string, unknown> {
  const a = cfg.monitoring.alerting;
  const receiver: Record<string, unknown> = { name: "jarvis-operators" };
  if (a.email) {
    receiver.email_configs = [
      {
        to: a.email.to,
        from: a.email.from,
        smarthost: a.email.smarthost,
        auth_username: a.email.username ?? a.email.from,
        auth_password_file: MONITORING_PATHS.smtpPasswordFile,
        require_tls: true,
        send_resolved: true,
      },
    ];
  }
  if (a.webhook) {
    receiver.webhook_configs = [{ url_file: MONITORING_PATHS.webhookUrlFile, send_resolved: true }];
  }
  return {
    route: {
      receiver: "jarvis-operators",
      group_by: ["alertname", "store", "container"],
      group_wait: "30s",
      group_interval: "5m",
      // S21: checks hourly; a standing problem is repeated every 4 hours.
      repeat_interval: "4h",
      routes: [{ matchers: ['severity="critical"'], receiver: "jarvis-operators", repeat_interval: "1h" }],
    },
    receivers: [receiver],
    inhibit_rules: [
      // A store that is down explains its failing backups and drills.
      {
        source_matchers: ['alertname="StoreDown"'],
        target_matchers: ['alertname=~"BackupFailed|BackupTooOld|DrillFailed"'],
        equal: ["store"],
      },
    ],
  };
}

/** The receivers' secret files Alertmanager needs, given the config. */
export function alertmanagerSecretFiles(cfg: JarvisConfig): { smtpPassword: boolean; webhookUrl: boolean } {
  return {
    smtpPassword: Boolean(cfg.monitoring.alerting.email),
    webhookUrl: cfg.monitoring.alerting.webhook,
  };
}

/**
 * postgres_exporter's custom queries (--extend.query-path). They run in the `jarvis` database
 * as jarvis_monitor, which needs sql/migrations/0005_monitoring_access.sql (cron's rows sit behind row-level security).
 * Metric names are `<query>_<column>`.
 */
export function postgresExporterQueries(): Record<string, unknown> {
  return {
    jarvis_pg_archiver: {
      query: [
        "SELECT archived_count, failed_count,",
        "  COALESCE(EXTRACT(EPOCH FROM now() - last_archived_time), -1) AS last_archived_age_seconds,",
        "  CASE WHEN last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time) THEN 1 ELSE 0 END AS failing",
        "FROM pg_stat_archiver",
      ].join("\n"),
      metrics: [
        {
          archived_count: {
            usage: "COUNTER",
            description: "WAL segments archived since the statistics reset",
          },
        },
        { failed_count: { usage: "COUNTER", description: "Failed attempts to archive a WAL segment" } },
        {
          last_archived_age_seconds: {
            usage: "GAUGE",
            description: "Seconds since the last successful archive (-1: never)",
          },
        },
        {
          failing: {
            usage: "GAUGE",
            description: "1 when the last archive attempt failed (last_failed_time > last_archived_time)",
          },
        },
      ],
    },
    jarvis_cron_job: {
      query: [
        "SELECT COALESCE(j.jobname, 'job_' || d.jobid) AS jobname,",
        "  count(*) FILTER (WHERE d.status = 'failed' AND d.start_time > now() - interval '24 hours') AS failed_runs,",
        "  CASE WHEN (array_agg(d.status ORDER BY d.start_time DESC) FILTER (WHERE d.status IN ('succeeded', 'failed')))[1] = 'failed'",
        "    THEN 1 ELSE 0 END AS last_run_failed,",
        "  COALESCE(EXTRACT(EPOCH FROM max(d.start_time) FILTER (WHERE d.status = 'failed')), 0) AS last_failed_timestamp_seconds",
        "FROM cron.job_run_details d LEFT JOIN cron.job j ON j.jobid = d.jobid",
        "GROUP BY 1",
      ].join("\n"),
      metrics: [
        { jobname: { usage: "LABEL", description: "pg_cron job name" } },
        { failed_runs: { usage: "GAUGE", description: "Failed runs in the last 24 hours" } },
        {
          last_run_failed: {
            usage: "GAUGE",
            description: "1 when the job's most recent finished run failed",
          },
        },
        {
          last_failed_timestamp_seconds: {
            usage: "GAUGE",
            description: "Start of the last failed run (0: none kept)",
          },
        },
      ],
    },
  };
}

/** Container limits of the monitoring services (MB of memory, CPUs). */
export const MONITORING_LIMITS: Record<keyof typeof MONITORING_IMAGES, { memoryMb: number; cpus: string }> = {
  prometheus: { memoryMb: 1024, cpus: "1" },
  alertmanager: { memoryMb: 128, cpus: "0.25" },
  postgresExporter: { memoryMb: 128, cpus: "0.25" },
  redisExporter: { memoryMb: 64, cpus: "0.25" },
  nodeExporter: { memoryMb: 64, cpus: "0.25" },
  blackboxExporter: { memoryMb: 64, cpus: "0.25" },
  grafana: { memoryMb: 256, cpus: "0.5" },
};

/** The user each image runs as (uploaded files are owned by it, so secrets can be mode 0400). */
export const MONITORING_USERS: Record<keyof typeof MONITORING_IMAGES, string> = {
  prometheus: "65534",
  alertmanager: "65534",
  postgresExporter: "65534",
  redisExporter: "59000",
  nodeExporter: "65534",
  blackboxExporter: "65534",
  grafana: "472",
};

/** How long Prometheus keeps samples (enough for a month of S22 reports). */
export const PROMETHEUS_RETENTION = "45d";

/** Grafana (optional, `jarvis:monitoring.grafana`): the Prometheus data source and one dashboard of the S20 figures. */
export function grafanaProvisioning(): {
  datasources: Record<string, unknown>;
  dashboards: Record<string, unknown>;
  dashboard: Record<string, unknown>;
} {
  const panel = (
    id: number,
    title: string,
    expr: string,
    unit: string,
    x: number,
    y: number,
    type = "timeseries",
  ) => ({
    id,
    type,
    title,
    gridPos: { x, y, w: 8, h: 7 },
    datasource: { type: "prometheus", uid: "jarvis-prometheus" },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: [{ refId: "A", expr, legendFormat: "" }],
  });
  return {
    datasources: {
      apiVersion: 1,
      datasources: [
        {
          name: "Prometheus",
          uid: "jarvis-prometheus",
          type: "prometheus",
          access: "proxy",
          url: `http://${MONITORING_HOSTS.prometheus}:${MONITORING_PORTS.prometheus}`,
          isDefault: true,
          editable: false,
        },
      ],
    },
    dashboards: {
      apiVersion: 1,
      providers: [
        {
          name: "jarvis",
          type: "file",
          disableDeletion: true,
          allowUiUpdates: false,
          options: { path: "/etc/grafana/dashboards" },
        },
      ],
    },
    dashboard: {
      uid: "jarvis-data",
      title: "JARVIS data stores (S20)",
      schemaVersion: 39,
      time: { from: "now-24h", to: "now" },
      panels: [
        panel(1, "Stores up", 'pg_up or redis_up or probe_success{job="chroma"}', "none", 0, 0, "stat"),
        panel(2, "PostgreSQL database size", 'pg_database_size_bytes{datname="jarvis"}', "bytes", 8, 0),
        panel(
          3,
          "PostgreSQL connections / max",
          "sum(pg_stat_activity_count) / max(pg_settings_max_connections)",
          "percentunit",
          16,
          0,
        ),
        panel(
          4,
          "Redis memory used and peak",
          "redis_memory_used_bytes or redis_memory_max_bytes",
          "bytes",
          0,
          7,
        ),
        panel(5, "Redis keys", "sum(redis_db_keys)", "none", 8, 7),
        panel(
          6,
          "Disk used",
          `1 - node_filesystem_avail_bytes{${PSEUDO_FS}} / node_filesystem_size_bytes{${PSEUDO_FS}}`,
          "percentunit",
          16,
          7,
        ),
        panel(
          7,
          "Host memory used",
          "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
          "percentunit",
          0,
          14,
        ),
        panel(8, "Age of the last backup", `time() - ${OPS_AGENT_METRICS.backupLastSuccess}`, "s", 8, 14),
        panel(9, "Last drill RTO", OPS_AGENT_METRICS.drillRto, "s", 16, 14),
      ],
    },
  };
}
