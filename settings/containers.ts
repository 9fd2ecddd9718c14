/** What every container of the stack gets, whatever the service (S12 log rotation, labels, restart). */
import type { JarvisConfig } from "../config/schema.ts";

export interface ContainerCommon {
  restart: "unless-stopped";
  logDriver: "json-file";
  logOpts: Record<string, string>;
  labels: { label: string; value: string }[];
}

export function containerCommon(
  cfg: Pick<JarvisConfig, "logs" | "environment">,
  stack: string,
  service: string,
): ContainerCommon {
  return {
    restart: "unless-stopped",
    // S12: rotate at maxSizeMb, keep maxFiles files, compressed. Docker's json-file driver does it.
    logDriver: "json-file",
    logOpts: {
      "max-size": `${cfg.logs.maxSizeMb}m`,
      "max-file": String(cfg.logs.maxFiles),
      compress: "true",
    },
    labels: [
      { label: "jarvis.stack", value: stack },
      { label: "jarvis.environment", value: cfg.environment },
      { label: "jarvis.service", value: service },
      { label: "com.docker.compose.project", value: `jarvis-${stack}` },
    ],
  };
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
