/**
 * What every monitoring file shares: the pinned images, the ports and network aliases of the
 * monitoring containers, the paths of their config files, the scrape jobs, the ops agent's metric
 * names, and the containers the stack watches (A20). Pure constants and functions.
 */
import type { JarvisConfig } from "../../config/schema.ts";

/** The parts of the stack config monitoring reads (the component takes no more). */
export type MonitoringConfig = Pick<JarvisConfig, "environment" | "monitoring" | "backup" | "logs" | "ports">;

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
  // The debian variant: it has a shell for the healthcheck; tags are <version>-{debian,alpine,distroless-*}.
  logShipper: "timberio/vector:0.45.0-debian",
} as const;
export type MonitoringService = keyof typeof MONITORING_IMAGES;

/** The port each monitoring service listens on inside the private network. */
export const MONITORING_PORTS: Record<MonitoringService, number> = {
  prometheus: 9090,
  alertmanager: 9093,
  postgresExporter: 9187,
  redisExporter: 9121,
  nodeExporter: 9100,
  blackboxExporter: 9115,
  grafana: 3000,
  // Vector's prometheus_exporter sink (its API, for the healthcheck, listens on 8686).
  logShipper: 9598,
};

/** Network aliases of the monitoring containers (their DNS names on the private network). */
export const MONITORING_HOSTS: Record<MonitoringService, string> = {
  prometheus: "prometheus",
  alertmanager: "alertmanager",
  postgresExporter: "postgres-exporter",
  redisExporter: "redis-exporter",
  nodeExporter: "node-exporter",
  blackboxExporter: "blackbox-exporter",
  grafana: "grafana",
  logShipper: "log-shipper",
};

/** Container limits of the monitoring services (MB of memory, CPUs). */
export const MONITORING_LIMITS: Record<MonitoringService, { memoryMb: number; cpus: string }> = {
  prometheus: { memoryMb: 1024, cpus: "1" },
  alertmanager: { memoryMb: 128, cpus: "0.25" },
  postgresExporter: { memoryMb: 128, cpus: "0.25" },
  redisExporter: { memoryMb: 64, cpus: "0.25" },
  nodeExporter: { memoryMb: 64, cpus: "0.25" },
  blackboxExporter: { memoryMb: 64, cpus: "0.25" },
  grafana: { memoryMb: 256, cpus: "0.5" },
  logShipper: { memoryMb: 256, cpus: "0.5" },
};

/** The user each image runs as (uploaded files are owned by it, so secrets can be mode 0400). */
export const MONITORING_USERS: Record<MonitoringService, string> = {
  prometheus: "65534",
  alertmanager: "65534",
  postgresExporter: "65534",
  redisExporter: "59000",
  nodeExporter: "65534",
  blackboxExporter: "65534",
  grafana: "472",
  logShipper: "0",
};

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
  grafanaAdminPasswordFile: "/run/secrets/grafana_admin_password",
  grafanaDatasources: "/etc/grafana/provisioning/datasources/jarvis.yml",
  grafanaDashboardProviders: "/etc/grafana/provisioning/dashboards/jarvis.yml",
  grafanaDashboardsDir: "/etc/grafana/dashboards",
  logShipperConfig: "/etc/vector/vector.yaml",
  logShipperData: "/var/lib/vector",
  /** The log files the shipper writes and the ops agent reads (JARVIS_LOGS_DIR there). */
  logsDir: "/var/log/jarvis",
} as const;

/**
 * Metrics the ops agent (components/ops-agent.ts, port 9187 on the private network) exports for
 * these rules and dashboards (core/ops/metrics.ts, core/ops/containers.ts).
 */
export const OPS_AGENT_METRICS = {
  backupLastSuccess: "jarvis_backup_last_success_timestamp_seconds",
  backupLastStatus: "jarvis_backup_last_status",
  backupLastSize: "jarvis_backup_last_size_bytes",
  drillLastRun: "jarvis_drill_last_run_timestamp_seconds",
  drillLastStatus: "jarvis_drill_last_status",
  drillRto: "jarvis_drill_rto_seconds",
  drillRpo: "jarvis_drill_rpo_seconds",
  /** jarvis_container_up{container}: 1 when it runs and is not unhealthy, else 0 (stopped or absent). */
  containerUp: "jarvis_container_up",
  /** jarvis_container_present{container}: 1 when Docker knows the container, 0 when it was not found. */
  containerPresent: "jarvis_container_present",
  /** jarvis_retention_*{job}: the scheduled store retention runs (Chroma, Redis, log files). */
  retentionLastRun: "jarvis_retention_last_run_timestamp_seconds",
  retentionLastStatus: "jarvis_retention_last_status",
  retentionExamined: "jarvis_retention_last_examined",
  retentionDeleted: "jarvis_retention_last_deleted",
  retentionSkipped: "jarvis_retention_last_skipped",
  retentionDuration: "jarvis_retention_last_duration_seconds",
  retentionFreed: "jarvis_retention_last_freed_bytes",
  retentionDeletedTotal: "jarvis_retention_deleted_total",
  /** jarvis_backup_storage_{bytes,objects}{bucket,prefix}: what the backup buckets hold (A22). */
  storageBytes: "jarvis_backup_storage_bytes",
  storageObjects: "jarvis_backup_storage_objects",
  /** jarvis_chroma_disk_bytes: Chroma's size on disk (A22). */
  chromaDiskBytes: "jarvis_chroma_disk_bytes",
} as const;

/** Metrics the log shipper (Vector's log_to_metric, settings/monitoring/logs.ts) exports. */
export const LOG_SHIPPER_METRICS = {
  /** jarvis_log_lines_total{container, level}: lines shipped, by container and level (error or other). */
  lines: "jarvis_log_lines_total",
} as const;

/** The data stores (backups, drills, availability are per store): named once, in settings/store-names.ts. */
export { STORES, type StoreName as DataStore } from "../store-names.ts";

/** Scrape jobs, by name: the `job` label the rules match on. */
export const JOBS = {
  prometheus: "prometheus",
  alertmanager: "alertmanager",
  postgres: "postgres",
  redis: "redis",
  node: "node",
  chroma: "chroma",
  opsAgent: "ops-agent",
  logShipper: "log-shipper",
} as const;

/** The application's containers in the audit's deployment (its check_containers), watched in prod by default. */
export const AUDIT_APP_CONTAINERS = ["jarvis_brain", "jarvis_ollama"] as const;

/** Docker name of one of the stack's own containers (`jarvis-<stack>-<service>`). */
export function stackContainerName(stack: string, service: string): string {
  return `jarvis-${stack}-${service}`;
}

/** `jarvis:monitoring.appContainers`, or the audit's application containers in prod and none in dev. */
export function appContainers(cfg: MonitoringConfig): string[] {
  return cfg.monitoring.appContainers ?? (cfg.environment === "prod" ? [...AUDIT_APP_CONTAINERS] : []);
}

/** The stack's store containers (their errors in the logs alert: LogErrorsHigh). */
export function storeContainers(stack: string): string[] {
  return ["postgres", "redis", "chroma"].map((s) => stackContainerName(stack, s));
}

/**
 * The containers watched by the ContainerStopped / ContainerNotFound alerts (A20): the stores, the
 * ops agent, the monitoring containers of this stack, and the application's own containers.
 */
export function watchedContainers(cfg: MonitoringConfig, stack: string): string[] {
  const services = [
    "postgres",
    "redis",
    "chroma",
    "chroma-gateway",
    "ops-agent",
    ...(cfg.backup.storage.provider !== "aws" ? ["s3"] : []),
    "prometheus",
    "alertmanager",
    "postgres-exporter",
    "redis-exporter",
    "node-exporter",
    "blackbox-exporter",
    ...(cfg.monitoring.grafana.enabled ? ["grafana"] : []),
    ...(cfg.logs.shipper.enabled ? ["log-shipper"] : []),
  ];
  return [...new Set([...services.map((s) => stackContainerName(stack, s)), ...appContainers(cfg)])];
}

/** Escapes a literal for a PromQL regex matcher (inside a double-quoted PromQL string: `\\.`). */
export function regexLiteral(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&");
}

/** Filesystems that are not disks (their "usage" means nothing). */
export const PSEUDO_FS = 'fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|autofs|proc|sysfs|fuse.lxcfs"';
