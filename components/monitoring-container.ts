/**
 * What every monitoring container shares: its pinned image (pulled once per service), the private
 * network alias, limits, the stack's restart and log settings, and uploaded files owned by the
 * image's user (secrets mode 0400). Used by Monitoring, Grafana and LogShipper.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerCommon } from "../settings/containers.ts";
import {
  MONITORING_HOSTS,
  MONITORING_IMAGES,
  MONITORING_LIMITS,
  MONITORING_USERS,
  stackContainerName,
  type MonitoringConfig,
  type MonitoringService,
} from "../settings/monitoring.ts";

export type ContainerSpec = Omit<
  docker.ContainerArgs,
  "image" | "name" | "restart" | "logDriver" | "logOpts" | "labels" | "memory" | "cpus" | "networksAdvanced"
>;

/** Where a monitoring container lives: the component, its name, the stack and the network. */
export interface MonitoringSite {
  parent: pulumi.Resource;
  /** The component's name; children are `${name}-<service>`. */
  name: string;
  stack: string;
  config: Pick<MonitoringConfig, "logs" | "environment">;
  network: pulumi.Input<string>;
}

/** An uploaded file owned by the service's user; secrets are mode 0400. */
export function upload(s: MonitoringService, file: string, content: pulumi.Input<string>, secret = false) {
  return {
    file,
    content: secret ? pulumi.secret(content) : content,
    owner: MONITORING_USERS[s],
    group: MONITORING_USERS[s],
    permissions: secret ? "0400" : "0444",
  };
}

/** A wget of an HTTP path inside the container. */
export function httpCheck(port: number, path: string) {
  return {
    tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`],
    interval: "30s",
    timeout: "5s",
    retries: 3,
    startPeriod: "20s",
  };
}

export function monitoringContainer(
  site: MonitoringSite,
  s: MonitoringService,
  service: string,
  spec: ContainerSpec,
  /** Networks besides the stack's (e.g. the log shipper's Docker API network), with their aliases. */
  moreNetworks: { name: pulumi.Input<string>; aliases: string[] }[] = [],
): docker.Container {
  const image = new docker.RemoteImage(
    `${site.name}-${MONITORING_HOSTS[s]}-image`,
    { name: MONITORING_IMAGES[s], keepLocally: true },
    { parent: site.parent },
  );
  return new docker.Container(
    `${site.name}-${service}`,
    {
      name: stackContainerName(site.stack, service),
      image: image.imageId,
      networksAdvanced: [{ name: site.network, aliases: [MONITORING_HOSTS[s]] }, ...moreNetworks],
      memory: MONITORING_LIMITS[s].memoryMb,
      cpus: MONITORING_LIMITS[s].cpus,
      // restart policy, json-file log rotation (A12), labels
      ...containerCommon(site.config, site.stack, service),
      wait: true,
      waitTimeout: 120,
      ...spec,
    },
    { parent: site.parent },
  );
}

/** A named data volume kept when the stack is destroyed. */
export function dataVolume(site: MonitoringSite, service: string): docker.Volume {
  return new docker.Volume(
    `${site.name}-${service}-data`,
    {
      name: `${stackContainerName(site.stack, service)}-data`,
      labels: containerCommon(site.config, site.stack, service).labels,
    },
    { parent: site.parent, retainOnDelete: true },
  );
}
