/**
 * alertmanager.yml (A21). Receivers come from `jarvis:monitoring.alerting`; their credentials are
 * file references (uploaded as secrets), never inline. Pure functions.
 */
import { MONITORING_PATHS, type MonitoringConfig } from "./common.ts";

export function alertmanagerConfig(cfg: MonitoringConfig): Record<string, unknown> {
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
      // A21: checks hourly; a standing problem is repeated every 4 hours.
      repeat_interval: "4h",
      routes: [{ matchers: ['severity="critical"'], receiver: "jarvis-operators", repeat_interval: "1h" }],
    },
    receivers: [receiver],
    inhibit_rules: [
      // A store that is down explains its failing backups and drills, and its burning budget.
      {
        source_matchers: ['alertname="StoreDown"'],
        target_matchers: [
          'alertname=~"BackupFailed|BackupTooOld|DrillFailed|AvailabilityFastBurn|AvailabilitySlowBurn"',
        ],
        equal: ["store"],
      },
    ],
  };
}

/** The receivers' secret files Alertmanager needs, given the config. */
export function alertmanagerSecretFiles(cfg: MonitoringConfig): {
  smtpPassword: boolean;
  webhookUrl: boolean;
} {
  return {
    smtpPassword: Boolean(cfg.monitoring.alerting.email),
    webhookUrl: cfg.monitoring.alerting.webhook,
  };
}
