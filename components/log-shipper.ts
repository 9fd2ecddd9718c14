import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import {
  MONITORING_HOSTS,
  MONITORING_PATHS as P,
  stackContainerName,
  vectorConfig,
  type MonitoringConfig,
} from "../settings/monitoring.ts";
import { VECTOR_DOCKER_API_GET } from "../settings/monitoring/logs.ts";
import { dockerApiProxy, DOCKER_PROXY_URL } from "./docker-proxy.ts";
import { containerCommon, dockerProxyUser } from "../settings/containers.ts";
import { dataVolume, monitoringContainer, upload } from "./monitoring-container.ts";

export interface LogShipperArgs {
  /** logs (rotation, shipper.errorPattern) and environment (labels). */
  /** The log settings, and the Docker host's socket group for its Docker API proxy. */
  config: Pick<MonitoringConfig, "environment" | "logs"> & { docker: { socketGid?: number } };
  /** The stack's name, for container names and labels. */
  stack: string;
  /** The private network Prometheus scrapes the shipper on. */
  network: pulumi.Input<string>;
  /** The uid the ops agent runs as: the log files are its own, so it can expire and back them up. */
  logsOwnerUid: string;
}

/**
 * The log shipper (A12, A20, A6): Vector reads every container's output, writes it to the
 * `logs` volume as /var/log/jarvis/<container>/<family>-<date>.log (the ops agent mounts the same
 * volume read-write as JARVIS_LOGS_DIR: it enforces each family's days and backs the last 7 days
 * up with each weekly full), and serves jarvis_log_lines_total{container,level} for Prometheus.
 *
 * It reads Docker through its own socket proxy (components/docker-proxy.ts), which answers only
 * the GET paths Vector calls (VECTOR_DOCKER_API_GET), only to the shipper, on an internal network
 * only the two join: never a container's archive or export, nor any write.
 */
export class LogShipper extends pulumi.ComponentResource {
  /** The volume of the log files, for the ops agent to mount at JARVIS_LOGS_DIR. */
  public readonly logsVolume: pulumi.Output<string>;

  constructor(name: string, args: LogShipperArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:monitoring:LogShipper", name, {}, opts);
    const site = { parent: this, name, stack: args.stack, config: args.config, network: args.network };
    const selfName = stackContainerName(args.stack, "log-shipper");
    const uid = args.logsOwnerUid;
    const logs = new docker.Volume(
      `${name}-logs`,
      {
        name: `${stackContainerName(args.stack, "logs")}`,
        labels: containerCommon(args.config, args.stack, "logs").labels,
      },
      { parent: this, retainOnDelete: true },
    );
    const client = MONITORING_HOSTS.logShipper;
    const dockerNet = dockerApiProxy(
      name,
      {
        client,
        allowGet: VECTOR_DOCKER_API_GET,
        common: containerCommon(args.config, args.stack, "log-shipper-docker-proxy"),
        user: dockerProxyUser(args.config.docker),
        dockerName: selfName,
      },
      this,
    );
    const config = YAML.stringify(vectorConfig(args.config, { dockerUrl: DOCKER_PROXY_URL, selfName }));
    monitoringContainer(
      site,
      "logShipper",
      "log-shipper",
      {
        // Vector needs no root (it reads Docker over the network): it gives the volumes to the agent's
        // uid and drops to it (setpriv is in Debian's util-linux, present in the -debian image).
        entrypoints: ["/bin/sh", "-c"],
        command: [
          `chown ${uid}:${uid} ${P.logsDir} ${P.logShipperData} && exec setpriv --reuid=${uid} --regid=${uid} --clear-groups /usr/bin/vector --config ${P.logShipperConfig}`,
        ],
        uploads: [upload("logShipper", P.logShipperConfig, config)],
        volumes: [
          { volumeName: logs.name, containerPath: P.logsDir },
          { volumeName: dataVolume(site, "log-shipper").name, containerPath: P.logShipperData },
        ],
        healthcheck: {
          // Vector's API answers /health on 8686; the image has bash but neither curl nor wget.
          tests: [
            "CMD",
            "bash",
            "-c",
            'exec 3<>/dev/tcp/127.0.0.1/8686 && printf "GET /health HTTP/1.0\\r\\n\\r\\n" >&3 && grep -q " 200 " <&3',
          ],
          interval: "30s",
          timeout: "5s",
          retries: 3,
          startPeriod: "20s",
        },
      },
      [{ name: dockerNet, aliases: [client] }],
    );
    this.logsVolume = logs.name;
    this.registerOutputs({ logsVolume: this.logsVolume });
  }
}
