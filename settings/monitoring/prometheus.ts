/**
 * prometheus.yml: every exporter, the ops agent, the log shipper, the Chroma probe and
 * Alertmanager. Pure: components/monitoring.ts uploads it, the tests run `promtool check config`.
 */
import {
  DEFAULT_TARGETS,
  JOBS,
  MONITORING_HOSTS as H,
  MONITORING_PATHS,
  MONITORING_PORTS as P,
  type MonitoredTargets,
  type MonitoringConfig,
} from "./common.ts";

/** How long Prometheus keeps samples: the 30-day availability window (A23) and a month of A22 reports. */
export const PROMETHEUS_RETENTION = "45d";

export interface PrometheusOptions {
  stack?: string;
  targets?: Partial<MonitoredTargets>;
}

const at = (host: string, port: number) => `${host}:${port}`;
const job = (name: string, target: string) => ({ job_name: name, static_configs: [{ targets: [target] }] });

/** Chroma serves no /metrics: the blackbox exporter probes its heartbeat instead. */
function chromaProbe(chromaUrl: string): Record<string, unknown> {
  return {
    job_name: JOBS.chroma,
    metrics_path: "/probe",
    params: { module: ["http_2xx"] },
    static_configs: [{ targets: [`${chromaUrl.replace(/\/$/, "")}/api/v2/heartbeat`] }],
    relabel_configs: [
      { source_labels: ["__address__"], target_label: "__param_target" },
      { source_labels: ["__param_target"], target_label: "instance" },
      { target_label: "__address__", replacement: at(H.blackboxExporter, P.blackboxExporter) },
    ],
  };
}

export function prometheusConfig(
  cfg: MonitoringConfig,
  opts: PrometheusOptions = {},
): Record<string, unknown> {
  const t = { ...DEFAULT_TARGETS, ...opts.targets };
  const interval = `${cfg.monitoring.scrapeIntervalSeconds}s`;
  return {
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      // Scrapes must finish within the interval; 10 s is Prometheus' own default ceiling.
      scrape_timeout: `${Math.min(10, cfg.monitoring.scrapeIntervalSeconds)}s`,
      external_labels: { environment: cfg.environment, ...(opts.stack ? { stack: opts.stack } : {}) },
    },
    rule_files: [MONITORING_PATHS.prometheusRules],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [at(H.alertmanager, P.alertmanager)] }] }] },
    scrape_configs: [
      job(JOBS.prometheus, at("localhost", P.prometheus)),
      job(JOBS.alertmanager, at(H.alertmanager, P.alertmanager)),
      job(JOBS.postgres, at(H.postgresExporter, P.postgresExporter)),
      job(JOBS.redis, at(H.redisExporter, P.redisExporter)),
      job(JOBS.node, at(H.nodeExporter, P.nodeExporter)),
      job(JOBS.opsAgent, t.opsAgent),
      ...(cfg.logs.shipper.enabled ? [job(JOBS.logShipper, at(H.logShipper, P.logShipper))] : []),
      chromaProbe(t.chroma),
    ],
  };
}
