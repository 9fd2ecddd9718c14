/** What every container of the stack gets, whatever the service (A12 log rotation, labels, restart). */
import type { JarvisConfig } from "../config/schema.ts";

export interface ContainerCommon {
  restart: "unless-stopped";
  logDriver: "json-file";
  logOpts: Record<string, string>;
  labels: { label: string; value: string }[];
  /**
   * Seconds the provider waits when it deletes the container, which every replacement does first.
   * Unset means 0, which overrides stopTimeout: a replaced store would be SIGKILLed. It is the
   * service's stop timeout (STOP_TIMEOUTS, which the stores also set as `stopTimeout`) plus a margin.
   */
  destroyGraceSeconds: number;
}

/**
 * How long each service may take to stop cleanly: PostgreSQL checkpoints (fast shutdown), Redis
 * writes its AOF/RDB, Chroma flushes its segments. Services not listed get 10 s, Docker's default.
 */
export const STOP_TIMEOUTS: Readonly<Record<string, number>> = { postgres: 120, redis: 60, chroma: 30 };
/** Margin of the provider's destroy wait over the stop timeout (the stop request's own latency). */
const DESTROY_GRACE_MARGIN = 10;

/** Stop timeout and destroy grace of one service. */
export function stopTimeouts(service: string): { stopTimeout: number; destroyGraceSeconds: number } {
  const stopTimeout = STOP_TIMEOUTS[service] ?? 10;
  return { stopTimeout, destroyGraceSeconds: stopTimeout + DESTROY_GRACE_MARGIN };
}

/**
 * Container fields the docker provider replaces the container for, that a config change can touch
 * on every store at once (log rotation, A12). The stores ignore them (resource option
 * `ignoreChanges`), so a `jarvis:logs.*` change reaches a store at its next replacement (an image
 * or settings change) instead of restarting PostgreSQL, Redis and Chroma together; docs/first-up.md.
 */
export const STORE_IGNORED_CHANGES = ["logDriver", "logOpts"];

export function containerCommon(
  cfg: Pick<JarvisConfig, "logs" | "environment">,
  stack: string,
  service: string,
): ContainerCommon {
  return {
    destroyGraceSeconds: stopTimeouts(service).destroyGraceSeconds,
    restart: "unless-stopped",
    // A12: rotate at maxSizeMb, keep maxFiles files, compressed. Docker's json-file driver does it.
    logDriver: "json-file",
    logOpts: {
      "max-size": `${cfg.logs.maxSizeMb}m`,
      "max-file": String(cfg.logs.maxFiles),
      compress: "true",
    },
    labels: serviceLabels(cfg.environment, stack, service),
  };
}

/** The labels every container, volume and network of the stack carries. */
export function serviceLabels(
  environment: string,
  stack: string,
  service: string,
): { label: string; value: string }[] {
  return [
    { label: "jarvis.stack", value: stack },
    { label: "jarvis.environment", value: environment },
    { label: "jarvis.service", value: service },
    { label: "com.docker.compose.project", value: `jarvis-${stack}` },
  ];
}

/** Host port bindings: only those config lists, on the configured (loopback) address. */
export function publishedPorts(
  cfg: Pick<JarvisConfig, "ports">,
  service: keyof JarvisConfig["ports"]["publish"],
  internal: number,
) {
  const external = cfg.ports.publish[service];
  return external === undefined ? [] : [{ internal, external, ip: cfg.ports.bindAddress, protocol: "tcp" }];
}

/** Memory (MB) and CPU limits of a container, in the docker provider's units. */
export function containerLimits(
  memoryMb: number,
  cpus: number,
): { memory: number; memorySwap: number; cpus: string } {
  // memorySwap = memory: no swap on top of the limit, so the limit is the limit.
  return { memory: memoryMb, memorySwap: memoryMb, cpus: String(cpus) };
}

/** Healthcheck timing shared by the stores; the tests come from each service's settings. */
export function healthcheckTiming(startPeriod = "30s") {
  return { interval: "10s", timeout: "5s", retries: 6, startPeriod };
}

/** A healthcheck for the ops image's Node services: GET http://127.0.0.1:<port><path> answers 2xx. */
export function nodeHttpCheck(port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  return ["CMD", "node", "-e", `fetch('${url}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`];
}

/**
 * node-exporter's bind mount of the host's / (propagation rslave), for the host's disks (A20). Off
 * unless asked for in dev: Docker Desktop, WSL2 and rootless Docker refuse that mount
 * (prometheus/node_exporter #2742, #2518). On in prod, a plain Linux host.
 */
export function nodeExporterHostMounts(cfg: Pick<JarvisConfig, "monitoring" | "environment">): boolean {
  return cfg.monitoring.nodeExporterHostMounts ?? cfg.environment === "prod";
}

/**
 * The user the Docker API proxy runs as. Its image (wollomatic/socket-proxy) is built with `USER
 * 65534:65534`, which cannot open a socket owned root:docker with mode 0660; its README runs it
 * as `user: "65534:<your docker group id>"`. With jarvis:docker.socketGid that is what it gets.
 * Without, it runs as root with every capability dropped: root owns the socket on a rootful host
 * (and stands for the daemon's user under rootless Docker), so it opens the socket as its owner,
 * without CAP_DAC_OVERRIDE.
 */
export function dockerProxyUser(docker: { socketGid?: number }): string {
  return docker.socketGid === undefined ? "0:0" : `65534:${docker.socketGid}`;
}
