/**
 * The exporters' own configs: blackbox_exporter's probe of Chroma's heartbeat, and
 * postgres_exporter's custom queries (WAL archiving, pg_cron runs), and the two database
 * exporters' environments. Pure functions.
 */
import { MONITORING_PATHS } from "./common.ts";

/**
 * postgres_exporter's environment: it connects as jarvis_monitor, the password a file, the DSN
 * carrying none; `target` is host[:port]. Its flags read these variables (kingpin Envar in
 * postgres_exporter's main: DATA_SOURCE_URI, DATA_SOURCE_USER, DATA_SOURCE_PASS_FILE,
 * PG_EXPORTER_EXTEND_QUERY_PATH for --extend.query-path).
 */
export function postgresExporterEnv(target: string, database: string): string[] {
  const [host, port] = target.split(":");
  return [
    `DATA_SOURCE_URI=${host}:${port ?? "5432"}/${database}?sslmode=disable`,
    "DATA_SOURCE_USER=jarvis_monitor",
    `DATA_SOURCE_PASS_FILE=${MONITORING_PATHS.postgresExporterPasswordFile}`,
    `PG_EXPORTER_EXTEND_QUERY_PATH=${MONITORING_PATHS.postgresExporterQueries}`,
  ];
}

/** redis_exporter's environment, as the Redis ACL user `monitor`. */
export function redisExporterEnv(uri: string): string[] {
  return [
    `REDIS_ADDR=${uri}`,
    "REDIS_USER=monitor",
    `REDIS_PASSWORD_FILE=${MONITORING_PATHS.redisExporterPasswordFile}`,
  ];
}

/** redis_exporter's password file: a JSON map of Redis URI -> password. */
export function redisExporterPasswordFile(uri: string, password: string): string {
  return JSON.stringify({ [uri]: password });
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

/** One exporter metric column: its usage and description. */
const column = (name: string, usage: "COUNTER" | "GAUGE" | "LABEL", description: string) => ({
  [name]: { usage, description },
});

/**
 * postgres_exporter's custom queries (--extend.query-path). They run in the `jarvis` database
 * as jarvis_monitor, which needs sql/migrations/0005_monitoring_access.sql (cron's rows sit behind
 * row-level security). Metric names are `<query>_<column>`.
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
        column("archived_count", "COUNTER", "WAL segments archived since the statistics reset"),
        column("failed_count", "COUNTER", "Failed attempts to archive a WAL segment"),
        column("last_archived_age_seconds", "GAUGE", "Seconds since the last successful archive (-1: never)"),
        column(
          "failing",
          "GAUGE",
          "1 when the last archive attempt failed (last_failed_time > last_archived_time)",
        ),
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
        column("jobname", "LABEL", "pg_cron job name"),
        column("failed_runs", "GAUGE", "Failed runs in the last 24 hours"),
        column("last_run_failed", "GAUGE", "1 when the job's most recent finished run failed"),
        column("last_failed_timestamp_seconds", "GAUGE", "Start of the last failed run (0: none kept)"),
      ],
    },
  };
}

/**
 * The exporter metrics the rules and dashboards rely on, by the exporter that serves them (the
 * dashboard test checks every panel's metrics against this list, the agent's and the shipper's).
 */
export const EXPORTER_METRICS: Record<string, readonly string[]> = {
  prometheus: ["up"],
  postgresExporter: [
    "pg_up",
    "pg_database_size_bytes",
    "pg_stat_activity_count",
    "pg_settings_max_connections",
    "jarvis_pg_archiver_failing",
    "jarvis_pg_archiver_failed_count",
    "jarvis_pg_archiver_last_archived_age_seconds",
    "jarvis_cron_job_last_run_failed",
    "jarvis_cron_job_failed_runs",
  ],
  redisExporter: [
    "redis_up",
    "redis_memory_used_bytes",
    "redis_memory_max_bytes",
    "redis_memory_used_peak_bytes",
    "redis_db_keys",
    "redis_connected_clients",
  ],
  blackboxExporter: ["probe_success", "probe_duration_seconds"],
  nodeExporter: [
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
  ],
};
