import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { AgentSchedule } from "../core/ops/schedule.ts";
import { nodeHttpCheck, type ContainerCommon } from "../settings/containers.ts";
import { MONITORING_PATHS, stackContainerName } from "../settings/monitoring.ts";
import { dockerApiProxy, DOCKER_PROXY_URL } from "./docker-proxy.ts";

/** The agent's port on the private network (Prometheus scrapes ops-agent:9187, settings/monitoring.ts). */
export const OPS_AGENT_PORT = 9187;
export const OPS_AGENT_HOST = "ops-agent";
const SECRETS_DIR = "/run/secrets/jarvis";
const SCHEDULE_FILE = "/etc/jarvis/agent-schedule.json";
const CA_FILE = "/etc/jarvis/s3-ca.pem";
const STATE_DIR = "/var/lib/jarvis-ops";
const LOGS_DIR = MONITORING_PATHS.logsDir;
const CHROMA_DATA_MOUNT = "/var/lib/chroma-data";

/** The one request the agent makes (core/ops/containers.ts): the container list, any API version. */
export const DOCKER_PROXY_ALLOW_GET = "/(v[0-9.]+/)?containers/json";

type Upload = docker.types.input.ContainerUpload;
type Published = { internal: number; external: number; ip: string; protocol: string };

export interface OpsAgentArgs {
  /** What the agent runs and watches: core/ops/schedule.ts agentSchedule(cfg, physical, containers). */
  schedule: AgentSchedule;
  /** JARVIS_ENVIRONMENT (dev | prod) and the S3 region the CLI signs for. */
  environment: string;
  region: string;
  /** Restart policy, log rotation (A12), labels: containerCommon(cfg, stack, "ops-agent"). */
  common: ContainerCommon;
  /** The same for the Docker API proxy: containerCommon(cfg, stack, "docker-proxy"). */
  proxyCommon: ContainerCommon;
  /** The Docker API proxy's user (settings/containers.ts dockerProxyUser). */
  proxyUser: string;
  /** Host bindings of /metrics: publishedPorts(cfg, "opsAgent", OPS_AGENT_PORT); none by default. */
  ports: Published[];
  /** The stack's name: the log shipper's volume is named from it (components/log-shipper.ts). */
  stack: string;
  /** The private network the stores are on. */
  network: pulumi.Input<string>;
  /** The ops image (components/ops-image.ts): its digest, so a rebuild rolls the agent. */
  opsImage: pulumi.Input<string>;
  /** The command that runs the CLI in the image. */
  cli: string[];
  /** The image's user; secret files are owned by it. */
  opsUid: string;
  /** postgresql://...: a role with CREATEDB for drills and read access for logical backups (secret). */
  postgresUrl: pulumi.Input<string>;
  /** redis://backup:...@redis:6379 (secret). */
  redisBackupUrl: pulumi.Input<string>;
  /** Chroma (through its token gateway) on the private network, and its token (secret). */
  chromaUrl: pulumi.Input<string>;
  chromaToken: pulumi.Input<string>;
  /** The backup bucket, the S3 endpoint as containers reach it (absent: AWS) and credentials (secret). */
  bucket: pulumi.Input<string>;
  s3Endpoint?: pulumi.Input<string>;
  s3AccessKeyId: pulumi.Input<string>;
  s3SecretAccessKey: pulumi.Input<string>;
  /** The key that signs and checks backup manifests (JARVIS_MANIFEST_KEY, secret): docs/security.md. */
  manifestKey: pulumi.Input<string>;
  /** PEM of the CA that signed a dev S3 server's certificate. */
  s3CaCert?: pulumi.Input<string>;
  /** redis://app:...@redis:6379 for the temp-key sweep (secret), issue 18. */
  redisRetentionUrl?: pulumi.Input<string>;
  /** Chroma's data volume, mounted read-only for its size on disk (A22). */
  chromaVolume?: pulumi.Input<string>;
  /**
   * pgBackRest beside the server: the agent mounts the cluster's volume read-only and shares its
   * socket directory, runs as the server's user, and takes the scheduled full and differential
   * backups itself (PostgresServer.socketVolumeName / volumeName / pgbackrestFiles).
   */
  physical?: {
    dataVolume: pulumi.Input<string>;
    dataDir: string;
    socketVolume: pulumi.Input<string>;
    socketDir: string;
    files: { file: string; content: pulumi.Input<string>; secret: boolean }[];
    /** The server's uid: the data files are readable by it only. */
    uid: string;
  };
}

/**
 * The ops agent: a container of the ops image running `jarvis-data agent`, which takes the
 * backups and runs the recovery drills on the config's schedules and serves /metrics. Credentials
 * reach it as uploaded files (read through the CLI's *_FILE variables), never as environment
 * values. /metrics is published only when `ports.publish.opsAgent` is set, on the loopback address.
 *
 * With containers to watch, it reads their states through a Docker API proxy that answers
 * `GET /containers/json` only, to the agent only, on an internal network only the two share.
 */
export class OpsAgent extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  /** Where Prometheus scrapes it on the private network. */
  public readonly metricsTarget: string = `${OPS_AGENT_HOST}:${OPS_AGENT_PORT}`;
  /** The internal network of the agent and the Docker API proxy (absent: nothing to watch). */
  public readonly dockerNetworkName?: pulumi.Output<string>;

  constructor(name: string, args: OpsAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:ops:OpsAgent", name, {}, opts);
    const proxyNet = args.schedule.containers?.length
      ? dockerApiProxy(
          name,
          {
            client: OPS_AGENT_HOST,
            allowGet: DOCKER_PROXY_ALLOW_GET,
            common: args.proxyCommon,
            user: args.proxyUser,
          },
          this,
        )
      : undefined;
    const state = new docker.Volume(
      `${name}-state`,
      { name: `${name}-state`, labels: args.common.labels },
      { parent: this, retainOnDelete: true },
    );
    const physical = args.physical;
    const container = new docker.Container(
      name,
      {
        name,
        image: args.opsImage,
        command: [
          ...args.cli,
          "agent",
          "--schedule-file",
          SCHEDULE_FILE,
          "--host",
          "0.0.0.0",
          "--port",
          String(OPS_AGENT_PORT),
        ],
        envs: this.envs(args, proxyNet !== undefined),
        ...(physical ? { user: `${physical.uid}:${physical.uid}` } : {}),
        uploads: this.uploads(args),
        volumes: [
          { volumeName: state.name, containerPath: STATE_DIR },
          // The log shipper writes this volume (components/log-shipper.ts, same name); docker creates it if first.
          { volumeName: stackContainerName(args.stack, "logs"), containerPath: LOGS_DIR },
          ...(args.chromaVolume
            ? [{ volumeName: args.chromaVolume, containerPath: CHROMA_DATA_MOUNT, readOnly: true }]
            : []),
          ...(physical
            ? [
                { volumeName: physical.dataVolume, containerPath: physical.dataDir, readOnly: true },
                { volumeName: physical.socketVolume, containerPath: physical.socketDir },
              ]
            : []),
        ],
        networksAdvanced: [
          { name: args.network, aliases: [OPS_AGENT_HOST] },
          ...(proxyNet ? [{ name: proxyNet, aliases: [OPS_AGENT_HOST] }] : []),
        ],
        ports: args.ports,
        healthcheck: {
          tests: nodeHttpCheck(OPS_AGENT_PORT, "/healthz"),
          interval: "30s",
          timeout: "5s",
          retries: 3,
          startPeriod: "20s",
        },
        memory: 1024,
        // restart policy, json-file log rotation (A12), labels
        ...args.common,
      },
      { parent: this },
    );
    this.containerName = container.name;
    this.dockerNetworkName = proxyNet;
    this.registerOutputs({ containerName: this.containerName, dockerNetworkName: this.dockerNetworkName });
  }

  /** Non-secret settings; every credential is a *_FILE path to an uploaded file. */
  private envs(args: OpsAgentArgs, watching: boolean): pulumi.Output<string[]> {
    return pulumi
      .all([args.bucket, args.s3Endpoint, args.chromaUrl])
      .apply(([bucket, endpoint, chromaUrl]) => [
        `JARVIS_BACKUP_BUCKET=${bucket}`,
        ...(endpoint ? [`JARVIS_S3_ENDPOINT=${endpoint}`] : []),
        `AWS_REGION=${args.region}`,
        `CHROMA_URL=${chromaUrl}`,
        `JARVIS_OPS_STATE=${STATE_DIR}/state.json`,
        `JARVIS_ENVIRONMENT=${args.environment}`,
        `JARVIS_DATABASE_URL_FILE=${SECRETS_DIR}/database_url`,
        `JARVIS_REDIS_BACKUP_URL_FILE=${SECRETS_DIR}/redis_backup_url`,
        `CHROMA_TOKEN_FILE=${SECRETS_DIR}/chroma_token`,
        `AWS_ACCESS_KEY_ID_FILE=${SECRETS_DIR}/s3_access_key_id`,
        `AWS_SECRET_ACCESS_KEY_FILE=${SECRETS_DIR}/s3_secret_access_key`,
        `JARVIS_MANIFEST_KEY_FILE=${SECRETS_DIR}/manifest_key`,
        ...(args.s3CaCert ? [`NODE_EXTRA_CA_CERTS=${CA_FILE}`] : []),
        ...(args.physical ? ["JARVIS_PGBACKREST_CONFIG_PATH=/etc/pgbackrest"] : []),
        ...(watching ? [`JARVIS_DOCKER_URL=${DOCKER_PROXY_URL}`] : []),
        // Day-2 (issue 18): the log shipper's files, Chroma on disk, the Redis temp-key sweep.
        `JARVIS_LOGS_DIR=${LOGS_DIR}`,
        ...(args.chromaVolume ? [`JARVIS_CHROMA_DATA_DIR=${CHROMA_DATA_MOUNT}`] : []),
        ...(args.redisRetentionUrl
          ? [`JARVIS_REDIS_RETENTION_URL_FILE=${SECRETS_DIR}/redis_retention_url`]
          : []),
      ]);
  }

  /** The schedule, the CA, and the secrets as files owned by the agent's user (0400). */
  private uploads(args: OpsAgentArgs): Upload[] {
    const uid = args.physical?.uid ?? args.opsUid;
    const owned = { owner: uid, group: uid };
    const secret = (file: string, content: pulumi.Input<string>): Upload => ({
      file: `${SECRETS_DIR}/${file}`,
      content: pulumi.secret(content),
      permissions: "0400",
      ...owned,
    });
    return [
      { file: SCHEDULE_FILE, content: JSON.stringify(args.schedule, null, 2), permissions: "0444" },
      ...(args.s3CaCert ? [{ file: CA_FILE, content: args.s3CaCert, permissions: "0444" }] : []),
      secret("database_url", args.postgresUrl),
      secret("redis_backup_url", args.redisBackupUrl),
      secret("chroma_token", args.chromaToken),
      secret("s3_access_key_id", args.s3AccessKeyId),
      secret("s3_secret_access_key", args.s3SecretAccessKey),
      secret("manifest_key", args.manifestKey),
      ...(args.redisRetentionUrl ? [secret("redis_retention_url", args.redisRetentionUrl)] : []),
      ...(args.physical?.files ?? []).map((f) => ({
        file: f.file,
        content: f.secret ? pulumi.secret(f.content) : f.content,
        permissions: f.secret ? "0400" : "0444",
        ...owned,
      })),
    ];
  }
}
