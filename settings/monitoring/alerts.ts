/**
 * The alert rules (A20, A21, A23): thresholds from `jarvis:monitoring`, `jarvis:backup` and
 * `jarvis:logs`. Every alert is described in docs/monitoring.md (what it means, what to do).
 *
 * Where each alert's figures come from:
 * - PostgreSQL: postgres_exporter (`pg_up`, `pg_stat_activity_count`, `pg_settings_max_connections`)
 *   plus the custom queries of exporters.ts (`jarvis_pg_archiver_*`, `jarvis_cron_job_*`).
 * - Redis: redis_exporter (`redis_up`). Chroma: the blackbox probe (`probe_success{job="chroma"}`).
 * - Host disk and memory: node_exporter.
 * - Backups, drills, retention and containers: the ops agent's /metrics (OPS_AGENT_METRICS).
 * - Log errors: the log shipper's counter, through the recording rules of slo.ts.
 */
import {
  JOBS,
  OPS_AGENT_METRICS as M,
  PSEUDO_FS,
  STORES,
  regexLiteral,
  storeContainers,
  watchedContainers,
  type MonitoringConfig,
} from "./common.ts";
import { rule, type AlertRule, type RuleGroup } from "./rule.ts";
import { availabilityAlerts, sloRecordingRules, LOG_ERRORS_24H } from "./slo.ts";

export * from "./rule.ts";

/** A drill runs monthly (A9): one missing for this long is overdue. */
export const DRILL_MAX_AGE_SECONDS = 35 * 86400;

/** Gate for absent(): only when the ops agent is scraped fine, so a dead agent raises one alert, not twenty. */
const AGENT_UP = `on() (up{job="${JOBS.opsAgent}"} == 1)`;

const absentPerStore = (metric: string) =>
  STORES.map((s) => `(absent(${metric}{store="${s}"}) and ${AGENT_UP})`).join("\n  or ");

export interface RulesOptions {
  stack?: string;
}

function storeRules(): AlertRule[] {
  return [
    rule({
      alert: "StoreDown",
      severity: "critical",
      expr: [
        `label_replace(pg_up == 0, "store", "postgres", "", "")`,
        `label_replace(redis_up == 0, "store", "redis", "", "")`,
        `label_replace(probe_success{job="${JOBS.chroma}"} == 0, "store", "chroma", "", "")`,
      ],
      for: "1m",
      summary: "{{ $labels.store }} is down",
      description:
        "The exporter cannot reach {{ $labels.store }} for 1 minute: JARVIS has lost that part of its memory.",
    }),
    rule({
      alert: "MonitoringTargetDown",
      severity: "warning",
      expr: `up == 0`,
      for: "5m",
      summary: "Prometheus cannot scrape {{ $labels.job }}",
      description:
        "{{ $labels.instance }} (job {{ $labels.job }}) has not answered for 5 minutes; the alerts fed by it are blind.",
    }),
  ];
}

function hostRules(m: MonitoringConfig["monitoring"]): AlertRule[] {
  return [
    rule({
      alert: "HostDiskUsageHigh",
      severity: "warning",
      expr: `100 * (1 - node_filesystem_avail_bytes{${PSEUDO_FS}} / node_filesystem_size_bytes{${PSEUDO_FS}}) > ${m.diskAlertPercent}`,
      for: "10m",
      summary: 'Disk {{ $labels.mountpoint }} is {{ $value | printf "%.0f" }}% full',
      description: `The filesystem {{ $labels.mountpoint }} ({{ $labels.device }}) is above ${m.diskAlertPercent}% used.`,
    }),
    rule({
      alert: "HostMemoryUsageHigh",
      severity: "warning",
      expr: `100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > ${m.memoryAlertPercent}`,
      for: "10m",
      summary: 'Host memory is {{ $value | printf "%.0f" }}% used',
      description: `The Docker host has used more than ${m.memoryAlertPercent}% of its memory for 10 minutes.`,
    }),
  ];
}

function postgresRules(m: MonitoringConfig["monitoring"]): AlertRule[] {
  return [
    rule({
      alert: "PostgresConnectionsHigh",
      severity: "warning",
      expr: `100 * sum by (instance, job) (pg_stat_activity_count)\n  / on (instance, job) max by (instance, job) (pg_settings_max_connections) > ${m.connectionsAlertPercent}`,
      for: "5m",
      summary: 'PostgreSQL uses {{ $value | printf "%.0f" }}% of max_connections',
      description: `Connections have been above ${m.connectionsAlertPercent}% of max_connections for 5 minutes; new ones will soon be refused.`,
    }),
    rule({
      alert: "WalArchivingFailing",
      severity: "critical",
      // Failing now (the last failure is newer than the last success) and still failing (the count grows).
      expr: `jarvis_pg_archiver_failing == 1\n  and on (instance, job) increase(jarvis_pg_archiver_failed_count[15m]) > 0`,
      for: "5m",
      summary: "WAL archiving is failing",
      description:
        "archive_command has failed again and again since its last success: point-in-time recovery stops at the last archived segment and pg_wal grows.",
    }),
    rule({
      alert: "CronJobFailed",
      severity: "warning",
      expr: `jarvis_cron_job_last_run_failed == 1 or jarvis_cron_job_failed_runs > 0`,
      summary: "pg_cron job {{ $labels.jobname }} failed",
      description: "A run of {{ $labels.jobname }} failed in the last 24 hours (cron.job_run_details).",
    }),
  ];
}

function backupRules(b: MonitoringConfig["backup"]): AlertRule[] {
  return [
    rule({
      alert: "BackupTooOld",
      severity: "critical",
      // The logs export is weekly (A6): its age is not an RPO; a failed one still fires BackupFailed.
      expr: `time() - ${M.backupLastSuccess}{store!="logs"} > ${b.rpoTargetSeconds}\n  or ${absentPerStore(M.backupLastSuccess)}`,
      for: "15m",
      summary: "No {{ $labels.store }} backup within the RPO target",
      description: `The last successful {{ $labels.store }} backup is older than the RPO target (${b.rpoTargetSeconds} s), or none is known.`,
    }),
    rule({
      alert: "BackupFailed",
      severity: "critical",
      expr: `${M.backupLastStatus} == 0`,
      summary: "The last {{ $labels.store }} backup failed",
      description: "The most recent {{ $labels.store }} backup run ended in failure.",
    }),
    rule({
      alert: "DrillFailed",
      severity: "critical",
      expr: `${M.drillLastStatus} == 0`,
      summary: "The last {{ $labels.store }} recovery drill failed",
      description:
        "The monthly restore drill of {{ $labels.store }} could not restore or verify the backup (A9).",
    }),
    rule({
      alert: "DrillRtoAboveTarget",
      severity: "warning",
      expr: `${M.drillRto} > ${b.rtoTargetSeconds}`,
      summary: "{{ $labels.store }} restore took {{ $value }} s",
      description: `The last {{ $labels.store }} drill measured an RTO above the target (${b.rtoTargetSeconds} s).`,
    }),
    rule({
      alert: "DrillOverdue",
      severity: "warning",
      expr: `time() - ${M.drillLastRun} > ${DRILL_MAX_AGE_SECONDS}\n  or ${absentPerStore(M.drillLastRun)}`,
      for: "1h",
      summary: "No {{ $labels.store }} recovery drill for 35 days",
      description:
        "The monthly restore drill of {{ $labels.store }} has not run (A9): the backups are unproven.",
    }),
  ];
}

/** Not found and stopped are distinct: a wrong name in config is not an outage, and the fixes differ. */
function containerRules(containers: string[]): AlertRule[] {
  const watched = `container=~"${containers.map(regexLiteral).join("|")}"`;
  return [
    rule({
      alert: "ContainerStopped",
      severity: "critical",
      expr: `${M.containerUp}{${watched}} == 0\n  and on (instance, job, container) ${M.containerPresent} == 1`,
      for: "2m",
      summary: "Container {{ $labels.container }} is stopped or unhealthy",
      description:
        "Docker knows {{ $labels.container }} but it has not been running (or has been unhealthy) for 2 minutes.",
    }),
    rule({
      alert: "ContainerNotFound",
      severity: "critical",
      expr: [
        `${M.containerPresent}{${watched}} == 0`,
        ...containers.map((c) => `(absent(${M.containerPresent}{container="${c}"}) and ${AGENT_UP})`),
      ],
      for: "5m",
      summary: "Container {{ $labels.container }} does not exist",
      description:
        "No container is named {{ $labels.container }} on the Docker host: it was removed or renamed, or jarvis:monitoring.appContainers names it wrongly.",
    }),
  ];
}

function logRules(threshold: number, stack: string): AlertRule[] {
  const stores = storeContainers(stack).map(regexLiteral).join("|");
  return [
    rule({
      alert: "LogErrorsHigh",
      severity: "warning",
      expr: `${LOG_ERRORS_24H}{container=~"${stores}"} > ${threshold}`,
      for: "10m",
      summary: "{{ $labels.container }} logs too many errors",
      description: `The store container {{ $labels.container }} wrote more than ${threshold} error lines in the last 24 hours (jarvis:monitoring.logErrorsAlert).`,
    }),
  ];
}

function retentionRules(): AlertRule[] {
  return [
    rule({
      alert: "RetentionFailed",
      severity: "warning",
      expr: `${M.retentionLastStatus} == 0`,
      summary: "The last {{ $labels.retention }} retention run failed",
      description:
        "The ops agent's scheduled {{ $labels.retention }} retention ended in an error: expired data stays and the store grows.",
    }),
    rule({
      alert: "RetentionRecordsSkipped",
      severity: "warning",
      expr: `${M.retentionSkipped} > 0`,
      summary: '{{ $labels.retention }} retention skipped {{ $value | printf "%.0f" }} records',
      description:
        "The last {{ $labels.retention }} retention run found records it could not classify (no category, no or unreadable created_at, no importance); they are kept and listed in the agent's log.",
    }),
  ];
}

/** Every group: the recording rules first (the alerts read them), then the alerts. */
export function alertRules(cfg: MonitoringConfig, opts: RulesOptions = {}): { groups: RuleGroup[] } {
  const stack = opts.stack ?? "prod";
  return {
    groups: [
      ...sloRecordingRules(cfg),
      { name: "jarvis-stores", rules: storeRules() },
      { name: "jarvis-availability", rules: availabilityAlerts(cfg) },
      { name: "jarvis-host", rules: hostRules(cfg.monitoring) },
      { name: "jarvis-postgres", rules: postgresRules(cfg.monitoring) },
      { name: "jarvis-backups", rules: backupRules(cfg.backup) },
      { name: "jarvis-containers", rules: containerRules(watchedContainers(cfg, stack)) },
      { name: "jarvis-logs", rules: logRules(cfg.monitoring.logErrorsAlert, stack) },
      { name: "jarvis-retention", rules: retentionRules() },
    ],
  };
}
