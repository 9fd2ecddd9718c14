/**
 * The log shipper (A12, A20, A6): Vector reads every container's output from the Docker API (the
 * read-only socket proxy), marks error lines, writes them to files the ops agent reads, one
 * folder per container and one file per family and day, and counts lines per container and
 * level for Prometheus. Why Vector: one small binary that does all three (docker_logs source,
 * file sink with templated paths, log_to_metric + prometheus_exporter), with a config that
 * `vector validate` checks; Loki would add a store to run and back up, for one counter and files.
 * Pure: the component uploads `vectorConfig(...)` as YAML.
 */
import { LOG_SHIPPER_METRICS, MONITORING_PATHS, MONITORING_PORTS, type MonitoringConfig } from "./common.ts";

/** A12's log families; a container (or file) belongs to the first family whose name it contains. */
export const LOG_FAMILIES = ["api", "memory", "voice", "performance"] as const;
export type LogFamily = (typeof LOG_FAMILIES)[number] | "default";

/** The family of a container name: `jarvis_brain_api` is api, `jarvis_memory_db` is memory. */
export function logFamily(containerName: string): LogFamily {
  const n = containerName.toLowerCase();
  return LOG_FAMILIES.find((f) => n.includes(f)) ?? "default";
}

/** Days kept per family (A12: api 14, memory 30, voice 7, performance 14, others 30). */
export function logRetentionDays(cfg: Pick<MonitoringConfig, "logs">): Record<LogFamily, number> {
  return { ...cfg.logs.retentionDays };
}

/** A VRL raw string literal (single quotes cannot appear inside one, so they are refused). */
function vrlRegex(pattern: string): string {
  if (pattern.includes("'"))
    throw new Error(`jarvis:logs.shipper.errorPattern: a single quote cannot appear in it (${pattern})`);
  return `r'(?i)${pattern}'`;
}

/** The file the shipper writes for a line: <logsDir>/<container>/<family>-<UTC date>.log. */
export const LOG_FILE_TEMPLATE = `${MONITORING_PATHS.logsDir}/{{ container }}/{{ family }}-%Y-%m-%d.log`;

/**
 * The GET paths (any API version, anchored by the proxy) that Vector's docker_logs source calls,
 * and nothing else: its own socket proxy (components/docker-proxy.ts) refuses the rest. From
 * vectordotdev/vector src/sources/docker_logs/mod.rs: `list_containers` (GET /containers/json),
 * `events` (GET /events, the start/die/pause/unpause stream), `inspect_container` (GET
 * /containers/{id}/json, for the name, image, labels and creation time), `logs` (GET
 * /containers/{id}/logs, followed); src/docker.rs connects with bollard's `connect_with_http` at a
 * fixed API version, so no /_ping or /version. Ids are what the list and the events give: hex.
 */
export const VECTOR_DOCKER_API_GET =
  "/(v[0-9.]+/)?(containers/json|events|containers/[0-9a-f]{12,64}/(json|logs))";

export interface VectorOptions {
  /** The Docker API (the shipper's own read-only socket proxy, components/log-shipper.ts). */
  dockerUrl: string;
  /** The shipper's own container, never read (its errors would count themselves). */
  selfName: string;
}

/** VRL: the container's name without Docker's slash, the level (error or other), the family. */
function classifySource(cfg: Pick<MonitoringConfig, "logs">): string {
  const families = LOG_FAMILIES.map((f) => `if contains(name, "${f}") { "${f}" }`).join(" else ");
  return [
    `name = downcase(replace(to_string(.container_name) ?? "unknown", r'^/', ""))`,
    `.container = replace(to_string(.container_name) ?? "unknown", r'^/', "")`,
    `.level = if match(to_string(.message) ?? "", ${vrlRegex(cfg.logs.shipper.errorPattern)}) { "error" } else { "other" }`,
    `.family = ${families} else { "default" }`,
  ].join("\n");
}

export function vectorConfig(cfg: Pick<MonitoringConfig, "logs">, o: VectorOptions): Record<string, unknown> {
  const [namespace, ...rest] = LOG_SHIPPER_METRICS.lines.split("_");
  return {
    data_dir: MONITORING_PATHS.logShipperData,
    api: { enabled: true, address: "0.0.0.0:8686" },
    sources: {
      containers: { type: "docker_logs", docker_host: o.dockerUrl, exclude_containers: [o.selfName] },
    },
    transforms: {
      classify: { type: "remap", inputs: ["containers"], source: classifySource(cfg) },
      count: {
        type: "log_to_metric",
        inputs: ["classify"],
        metrics: [
          {
            type: "counter",
            field: "message",
            namespace,
            name: rest.join("_"),
            tags: { container: "{{ container }}", level: "{{ level }}" },
          },
        ],
      },
    },
    sinks: {
      files: {
        type: "file",
        inputs: ["classify"],
        path: LOG_FILE_TEMPLATE,
        encoding: { codec: "json" },
      },
      metrics: {
        type: "prometheus_exporter",
        inputs: ["count"],
        address: `0.0.0.0:${MONITORING_PORTS.logShipper}`,
      },
    },
  };
}
