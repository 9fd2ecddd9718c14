/** One alerting or recording rule, built with named fields (pgBackRest's `backupRegExpP(.full = true)` habit). */

/** Every alert the rules define; the promtool tests hold a firing case for each. */
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
  "ContainerStopped",
  "ContainerNotFound",
  "LogErrorsHigh",
  "RetentionFailed",
  "RetentionRecordsSkipped",
  "AvailabilityFastBurn",
  "AvailabilitySlowBurn",
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export interface AlertRule {
  alert: AlertName;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export type Rule = AlertRule | RecordingRule;
export interface RuleGroup {
  name: string;
  /** Recording rules over long windows need not run at every scrape. */
  interval?: string;
  rules: Rule[];
}

/** Where docs/monitoring.md explains an alert (the heading's anchor). */
export const runbook = (a: AlertName) => `docs/monitoring.md#${a.toLowerCase()}`;

export interface RuleSpec {
  alert: AlertName;
  severity: "critical" | "warning";
  /** PromQL; an array is joined with `or` (one alternative per line). */
  expr: string | string[];
  /** How long the condition must hold (absent: fires at the first evaluation). */
  for?: string;
  summary: string;
  description: string;
  /** Extra labels beyond severity. */
  labels?: Record<string, string>;
}

export function rule(s: RuleSpec): AlertRule {
  return {
    alert: s.alert,
    expr: Array.isArray(s.expr) ? s.expr.join("\nor ") : s.expr,
    ...(s.for ? { for: s.for } : {}),
    labels: { severity: s.severity, ...s.labels },
    annotations: { summary: s.summary, description: s.description, runbook: runbook(s.alert) },
  };
}
