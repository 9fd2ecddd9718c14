import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import YAML from "yaml";
import { publishedPorts } from "../settings/containers.ts";
import {
  MONITORING_PATHS as P,
  MONITORING_PORTS,
  grafanaDashboards,
  grafanaEnv,
  grafanaProvisioning,
  type MonitoringConfig,
} from "../settings/monitoring.ts";
import { dataVolume, httpCheck, monitoringContainer, upload } from "./monitoring-container.ts";

export interface GrafanaArgs {
  /** environment (anonymous viewers), monitoring.grafana, logs (rotation), ports.publish.grafana. */
  config: Pick<MonitoringConfig, "environment" | "monitoring" | "logs" | "ports">;
  /** The stack's name, for container names and labels. */
  stack: string;
  /** The private network Prometheus is on. */
  network: pulumi.Input<string>;
}

/**
 * Grafana (A21) with the Prometheus data source and the dashboards of monitoring/grafana/dashboards,
 * provisioned read-only. The admin password is generated, kept secret in the state, and reaches
 * the container as a file (GF_SECURITY_ADMIN_PASSWORD__FILE).
 */
export class Grafana extends pulumi.ComponentResource {
  /** The generated admin password (secret): `pulumi stack output --show-secrets grafanaAdminPassword`. */
  public readonly adminPassword: pulumi.Output<string>;
  /** Grafana as seen from the workstation, when its port is published. */
  public readonly url?: pulumi.Output<string>;

  constructor(name: string, args: GrafanaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:monitoring:Grafana", name, {}, opts);
    const site = { parent: this, name, stack: args.stack, config: args.config, network: args.network };
    const admin = new random.RandomPassword(
      `${name}-admin`,
      { length: 32, special: false },
      { parent: this },
    );
    const provisioning = grafanaProvisioning();
    monitoringContainer(site, "grafana", "grafana", {
      envs: grafanaEnv(args.config),
      uploads: [
        upload("grafana", P.grafanaAdminPasswordFile, admin.result, true),
        upload("grafana", P.grafanaDatasources, YAML.stringify(provisioning.datasources)),
        upload("grafana", P.grafanaDashboardProviders, YAML.stringify(provisioning.dashboards)),
        ...grafanaDashboards().map((d) => upload("grafana", `${P.grafanaDashboardsDir}/${d.name}`, d.json)),
      ],
      volumes: [{ volumeName: dataVolume(site, "grafana").name, containerPath: "/var/lib/grafana" }],
      ports: publishedPorts(args.config, "grafana", MONITORING_PORTS.grafana),
      healthcheck: httpCheck(MONITORING_PORTS.grafana, "/api/health"),
    });
    this.adminPassword = pulumi.secret(admin.result);
    const port = args.config.ports.publish.grafana;
    this.url =
      port === undefined ? undefined : pulumi.output(`http://${args.config.ports.bindAddress}:${port}`);
    this.registerOutputs({ adminPassword: this.adminPassword, url: this.url });
  }
}
