/**
 * Monitoring settings (A20-A23), one file per concern in settings/monitoring/: the shared names
 * (common), Prometheus' scrape config, the alert rules and their helper, the availability
 * recording rules and burn alerts (slo), Alertmanager, the exporters' configs, the log shipper and
 * Grafana. Pure functions: components/monitoring.ts uploads their output, and the tests feed the
 * very same rules to promtool. This file only re-exports them.
 */
export * from "./monitoring/common.ts";
export * from "./monitoring/prometheus.ts";
export * from "./monitoring/alerts.ts";
export * from "./monitoring/slo.ts";
export * from "./monitoring/alertmanager.ts";
export * from "./monitoring/exporters.ts";
export * from "./monitoring/logs.ts";
export * from "./monitoring/grafana.ts";
