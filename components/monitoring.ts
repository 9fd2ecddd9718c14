import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { publishedPorts } from "../settings/containers.ts";
import {
  DEFAULT_TARGETS,
  MONITORING_PATHS as P,
  MONITORING_PORTS as PORT,
  PROMETHEUS_RETENTION,
  alertRules,
  alertmanagerConfig,
  alertmanagerSecretFiles,
  blackboxConfig,
  postgresExporterEnv,
  postgresExporterQueries,
  prometheusConfig,
  redisExporterEnv,
  redisExporterPasswordFile,
  type MonitoredTargets,
  type MonitoringConfig,
} from "../settings/monitoring.ts";
import { nodeExporterHostMounts } from "../settings/containers.ts";
import { POSTGRES_UID } from "../settings/postgres.ts";
import { Grafana } from "./grafana.ts";
import { LogShipper } from "./log-shipper.ts";
import {
  dataVolume,
  httpCheck,
  monitoringContainer,
  upload,
  type MonitoringSite,
} from "./monitoring-container.ts";

export interface MonitoringArgs {
  /** What monitoring reads of the stack config: thresholds, receivers, Grafana, logs, published ports. */
  config: MonitoringConfig & { postgres: { database: string }; docker: { socketGid?: number } };
  /** The stack's name, for container names and labels. */
  stack: string;
  /** The private network the stores, the ops agent and these containers share. */
  network: pulumi.Input<string>;
  /** jarvis_monitor's PostgreSQL password (secret), for postgres_exporter. */
  postgresMonitorPassword: pulumi.Input<string>;
  /** The `monitor` Redis ACL user's password (secret), for redis_exporter. */
  redisMonitorPassword: pulumi.Input<string>;
  /** `jarvis:secrets.alertSmtpPassword`, needed when e-mail alerting is configured. */
  alertSmtpPassword?: pulumi.Input<string>;
  /** `jarvis:secrets.alertWebhookUrl`, needed when webhook alerting is on. */
  alertWebhookUrl?: pulumi.Input<string>;
  /** Where the stores and the ops agent answer on the network; defaults to their aliases. */
  targets?: Partial<MonitoredTargets>;
  /** The ops agent's uid, owner of the log files (default: PostgreSQL's, as the agent runs pgBackRest). */
  logsOwnerUid?: string;
}

/**
 * A20-A23: postgres_exporter, redis_exporter, node_exporter, a blackbox probe of Chroma, Prometheus
 * with the generated rules, Alertmanager with the configured receivers, the log shipper and
 * Grafana. Every config file comes from settings/monitoring/ and is uploaded; every credential
 * arrives as a file (mode 0400, owned by the image's user).
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Prometheus as seen from the workstation, when its port is published. */
  public readonly prometheusUrl?: pulumi.Output<string>;
  /** Alertmanager as seen from the workstation, when its port is published. */
  public readonly alertmanagerUrl?: pulumi.Output<string>;
  /** Grafana as seen from the workstation, when it runs and its port is published. */
  public readonly grafanaUrl?: pulumi.Output<string>;
  /** Grafana's generated admin password (secret), when Grafana runs. */
  public readonly grafanaAdminPassword?: pulumi.Output<string>;
  /** The log files' volume (the ops agent mounts it at JARVIS_LOGS_DIR), when the shipper runs. */
  public readonly logsVolume?: pulumi.Output<string>;
  /** The rules file uploaded into Prometheus (not secret), for review in previews. */
  public readonly rules: string;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:monitoring:Monitoring", name, {}, opts);
    const cfg = args.config;
    const site: MonitoringSite = {
      parent: this,
      name,
      stack: args.stack,
      config: cfg,
      network: args.network,
    };
    const targets = { ...DEFAULT_TARGETS, ...args.targets };
    this.checkReceiverSecrets(args);
    this.postgresExporter(site, args, targets.postgres);
    this.redisExporter(site, args.redisMonitorPassword, `redis://${targets.redis}`);
    this.nodeExporter(site, nodeExporterHostMounts(cfg));
    monitoringContainer(site, "blackboxExporter", "blackbox-exporter", {
      command: [`--config.file=${P.blackboxConfig}`],
      uploads: [upload("blackboxExporter", P.blackboxConfig, YAML.stringify(blackboxConfig()))],
      healthcheck: httpCheck(PORT.blackboxExporter, "/-/healthy"),
    });
    this.rules = YAML.stringify(alertRules(cfg, { stack: args.stack }));
    this.prometheus(site, cfg, YAML.stringify(prometheusConfig(cfg, { stack: args.stack, targets })));
    this.alertmanager(site, args);
    const grafana = cfg.monitoring.grafana.enabled
      ? new Grafana(
          `${name}-grafana`,
          { config: cfg, stack: args.stack, network: args.network },
          { parent: this },
        )
      : undefined;
    const shipper = cfg.logs.shipper.enabled
      ? new LogShipper(
          `${name}-log-shipper`,
          {
            config: cfg,
            stack: args.stack,
            network: args.network,
            logsOwnerUid: args.logsOwnerUid ?? POSTGRES_UID,
          },
          { parent: this },
        )
      : undefined;
    this.prometheusUrl = this.hostUrl(cfg, "prometheus");
    this.alertmanagerUrl = this.hostUrl(cfg, "alertmanager");
    this.grafanaUrl = grafana?.url;
    this.grafanaAdminPassword = grafana?.adminPassword;
    this.logsVolume = shipper?.logsVolume;
    this.registerOutputs({
      prometheusUrl: this.prometheusUrl,
      alertmanagerUrl: this.alertmanagerUrl,
      grafanaUrl: this.grafanaUrl,
      grafanaAdminPassword: this.grafanaAdminPassword,
      logsVolume: this.logsVolume,
      rules: this.rules,
    });
  }

  /** Validate early: a configured receiver needs its credential. */
  private checkReceiverSecrets(args: MonitoringArgs): void {
    const wanted = alertmanagerSecretFiles(args.config);
    if (wanted.smtpPassword && args.alertSmtpPassword === undefined)
      throw new Error(
        "jarvis:secrets.alertSmtpPassword: e-mail alerting is configured but no SMTP password was passed to Monitoring",
      );
    if (wanted.webhookUrl && args.alertWebhookUrl === undefined)
      throw new Error(
        "jarvis:secrets.alertWebhookUrl: webhook alerting is on but no URL was passed to Monitoring",
      );
  }

  /** postgres_exporter (settings: postgresExporterEnv). */
  private postgresExporter(site: MonitoringSite, args: MonitoringArgs, target: string): void {
    monitoringContainer(site, "postgresExporter", "postgres-exporter", {
      envs: postgresExporterEnv(target, args.config.postgres.database),
      uploads: [
        upload("postgresExporter", P.postgresExporterPasswordFile, args.postgresMonitorPassword, true),
        upload("postgresExporter", P.postgresExporterQueries, YAML.stringify(postgresExporterQueries())),
      ],
      healthcheck: httpCheck(PORT.postgresExporter, "/"),
    });
  }

  /** redis_exporter (settings: redisExporterEnv, redisExporterPasswordFile). */
  private redisExporter(site: MonitoringSite, password: pulumi.Input<string>, uri: string): void {
    const file = pulumi.output(password).apply((pw) => redisExporterPasswordFile(uri, pw));
    monitoringContainer(site, "redisExporter", "redis-exporter", {
      envs: redisExporterEnv(uri),
      uploads: [upload("redisExporter", P.redisExporterPasswordFile, file, true)],
      healthcheck: httpCheck(PORT.redisExporter, "/"),
    });
  }

  /**
   * node_exporter reads the Docker host's filesystems and memory (A20 disk 80 %, memory 85 %). The
   * host's / is mounted only where `nodeExporterHostMounts` says: its rslave propagation fails on
   * Docker Desktop, WSL2 and rootless Docker; without it the exporter sees the Docker VM's view.
   */
  private nodeExporter(site: MonitoringSite, hostMounts: boolean): void {
    monitoringContainer(site, "nodeExporter", "node-exporter", {
      command: [
        ...(hostMounts ? ["--path.rootfs=/host"] : []),
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/docker/.+)($|/)",
      ],
      mounts: hostMounts
        ? [
            {
              type: "bind",
              source: "/",
              target: "/host",
              readOnly: true,
              bindOptions: { propagation: "rslave" },
            },
          ]
        : [],
      healthcheck: httpCheck(PORT.nodeExporter, "/"),
    });
  }

  private prometheus(site: MonitoringSite, cfg: MonitoringConfig, config: string): void {
    monitoringContainer(site, "prometheus", "prometheus", {
      command: [
        `--config.file=${P.prometheusConfig}`,
        "--storage.tsdb.path=/prometheus",
        `--storage.tsdb.retention.time=${PROMETHEUS_RETENTION}`,
        `--web.listen-address=:${PORT.prometheus}`,
      ],
      uploads: [
        upload("prometheus", P.prometheusConfig, config),
        upload("prometheus", P.prometheusRules, this.rules),
      ],
      volumes: [{ volumeName: dataVolume(site, "prometheus").name, containerPath: "/prometheus" }],
      ports: publishedPorts(cfg, "prometheus", PORT.prometheus),
      healthcheck: httpCheck(PORT.prometheus, "/-/healthy"),
    });
  }

  private alertmanager(site: MonitoringSite, args: MonitoringArgs): void {
    const wanted = alertmanagerSecretFiles(args.config);
    monitoringContainer(site, "alertmanager", "alertmanager", {
      command: [
        `--config.file=${P.alertmanagerConfig}`,
        "--storage.path=/alertmanager",
        `--web.listen-address=:${PORT.alertmanager}`,
      ],
      uploads: [
        upload("alertmanager", P.alertmanagerConfig, YAML.stringify(alertmanagerConfig(args.config))),
        ...(wanted.smtpPassword
          ? [upload("alertmanager", P.smtpPasswordFile, args.alertSmtpPassword!, true)]
          : []),
        ...(wanted.webhookUrl ? [upload("alertmanager", P.webhookUrlFile, args.alertWebhookUrl!, true)] : []),
      ],
      volumes: [{ volumeName: dataVolume(site, "alertmanager").name, containerPath: "/alertmanager" }],
      ports: publishedPorts(args.config, "alertmanager", PORT.alertmanager),
      healthcheck: httpCheck(PORT.alertmanager, "/-/healthy"),
    });
  }

  private hostUrl(cfg: MonitoringConfig, service: "prometheus" | "alertmanager") {
    const port = cfg.ports.publish[service];
    return port === undefined ? undefined : pulumi.output(`http://${cfg.ports.bindAddress}:${port}`);
  }
}
