import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { JarvisConfig } from "../config/schema.ts";
import { agentSchedule } from "../core/ops/schedule.ts";
import { containerCommon, publishedPorts } from "../settings/containers.ts";
import { MONITORING_PATHS, stackContainerName } from "../settings/monitoring.ts";

/** The agent's port on the private network (Prometheus scrapes ops-agent:9187, settings/monitoring.ts). */
export const OPS_AGENT_PORT = 9187;
export const OPS_AGENT_HOST = "ops-agent";
const SECRETS_DIR = "/run/secrets/jarvis";
const SCHEDULE_FILE = "/etc/jarvis/agent-schedule.json";
const CA_FILE = "/etc/jarvis/s3-ca.pem";
const STATE_DIR = "/var/lib/jarvis-ops";
const LOGS_DIR = MONITORING_PATHS.logsDir;
const CHROMA_DATA_MOUNT = "/var/lib/chroma-data";
/** A read-only Docker API proxy (haproxy) that exposes only the endpoints its env allows. */
const DOCKER_PROXY_IMAGE = "tecnativa/docker-socket-proxy:0.3.0";
const DOCKER_PROXY_HOST = "docker-proxy";

export interface OpsAgentArgs {
  /** The validated stack config: schedules (backup.schedules) and the published port. */
  config: JarvisConfig;
  /** The stack's name, for labels. */
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
  /** PEM of the CA that signed a dev S3 server's certificate. */
  s3CaCert?: pulumi.Input<string>;
  /**
   * pgBackRest beside the server: the agent mounts the cluster's volume read-only and shares its
   * socket directory, runs as the server's user, and takes the scheduled full and differential
   * backups itself (PostgresServer.socketVolumeName / volumeName / pgbackrestFiles).
   */
  /** Containers whose state the agent exports as jarvis_container_up (settings/monitoring.ts watchedContainers). */
  watchedContainers?: string[];
  /** Day-2 (issue 18): redis://app:...@redis:6379 for the temp-key sweep (secret), and Chroma's data volume (read-only, for its size on disk). */
  redisRetentionUrl?: pulumi.Input<string>;
  chromaVolume?: pulumi.Input<string>;
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
 */
export class OpsAgent extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  /** Where Prometheus scrapes it on the private network. */
  public readonly metricsTarget: string = `${OPS_AGENT_HOST}:${OPS_AGENT_PORT}`;

  constructor(name: string, args: OpsAgentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:ops:OpsAgent", name, {}, opts);
    const cfg = args.config;
    const common = containerCommon(cfg, args.stack, "ops-agent");
    // With `physical`, the agent is pgBackRest's sidecar and runs the full/diff schedules too.
    const physical = args.physical;
    const schedule = agentSchedule(cfg, Boolean(physical), args.watchedContainers ?? []);
    // The Docker API, for container states only: a socket proxy that answers GET /containers and
    // refuses everything else (no exec, no create, no POST), on the private network, no port.
    const proxyImage = args.watchedContainers?.length
      ? new docker.RemoteImage(
          `${name}-docker-proxy-image`,
          { name: DOCKER_PROXY_IMAGE, keepLocally: true },
          { parent: this },
        )
      : undefined;
    const proxy = proxyImage
      ? new docker.Container(
          `${name}-docker-proxy`,
          {
            name: `${name}-docker-proxy`,
            image: proxyImage.imageId,
            envs: ["CONTAINERS=1", "POST=0", "INFO=0", "IMAGES=0", "NETWORKS=0", "VOLUMES=0", "EXEC=0"],
            volumes: [
              { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
            ],
            networksAdvanced: [{ name: args.network, aliases: [DOCKER_PROXY_HOST] }],
            healthcheck: {
              tests: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:2375/containers/json || exit 1"],
              interval: "30s",
              timeout: "5s",
              retries: 3,
              startPeriod: "10s",
            },
            memory: 64,
            memorySwap: 64,
            cpus: "0.2",
            ...containerCommon(cfg, args.stack, "docker-proxy"),
          },
          { parent: this },
        )
      : undefined;
    const uid = physical?.uid ?? args.opsUid;
    const secret = (file: string, content: pulumi.Input<string>) => ({
      file: `${SECRETS_DIR}/${file}`,
      content: pulumi.secret(content),
      owner: uid,
      group: uid,
      permissions: "0400",
    });
    const state = new docker.Volume(
      `${name}-state`,
      { name: `${name}-state`, labels: common.labels },
      { parent: this, retainOnDelete: true },
    );
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
        envs: pulumi
          .all([args.bucket, args.s3Endpoint, args.chromaUrl])
          .apply(([bucket, endpoint, chromaUrl]) => [
            `JARVIS_BACKUP_BUCKET=${bucket}`,
            ...(endpoint ? [`JARVIS_S3_ENDPOINT=${endpoint}`] : []),
            `AWS_REGION=${cfg.backup.storage.region}`,
            `CHROMA_URL=${chromaUrl}`,
            `JARVIS_OPS_STATE=${STATE_DIR}/state.json`,
            `JARVIS_ENVIRONMENT=${cfg.environment}`,
            `JARVIS_DATABASE_URL_FILE=${SECRETS_DIR}/database_url`,
            `JARVIS_REDIS_BACKUP_URL_FILE=${SECRETS_DIR}/redis_backup_url`,
            `CHROMA_TOKEN_FILE=${SECRETS_DIR}/chroma_token`,
            `AWS_ACCESS_KEY_ID_FILE=${SECRETS_DIR}/s3_access_key_id`,
            `AWS_SECRET_ACCESS_KEY_FILE=${SECRETS_DIR}/s3_secret_access_key`,
            ...(args.s3CaCert ? [`NODE_EXTRA_CA_CERTS=${CA_FILE}`] : []),
            ...(physical ? ["JARVIS_PGBACKREST_CONFIG_PATH=/etc/pgbackrest"] : []),
            ...(proxy ? [`JARVIS_DOCKER_URL=http://${DOCKER_PROXY_HOST}:2375`] : []),
            // Day-2 (issue 18): the log shipper's files, Chroma on disk, the Redis temp-key sweep.
            `JARVIS_LOGS_DIR=${LOGS_DIR}`,
            ...(args.chromaVolume ? [`JARVIS_CHROMA_DATA_DIR=${CHROMA_DATA_MOUNT}`] : []),
            ...(args.redisRetentionUrl
              ? [`JARVIS_REDIS_RETENTION_URL_FILE=${SECRETS_DIR}/redis_retention_url`]
              : []),
          ]),
        ...(physical ? { user: `${physical.uid}:${physical.uid}` } : {}),
        uploads: [
          { file: SCHEDULE_FILE, content: JSON.stringify(schedule, null, 2), permissions: "0444" },
          ...(args.s3CaCert ? [{ file: CA_FILE, content: args.s3CaCert, permissions: "0444" }] : []),
          secret("database_url", args.postgresUrl),
          secret("redis_backup_url", args.redisBackupUrl),
          secret("chroma_token", args.chromaToken),
          secret("s3_access_key_id", args.s3AccessKeyId),
          secret("s3_secret_access_key", args.s3SecretAccessKey),
          ...(args.redisRetentionUrl ? [secret("redis_retention_url", args.redisRetentionUrl)] : []),
          ...(physical?.files ?? []).map((f) => ({
            file: f.file,
            content: f.secret ? pulumi.secret(f.content) : f.content,
            owner: uid,
            group: uid,
            permissions: f.secret ? "0400" : "0444",
          })),
        ],
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
        networksAdvanced: [{ name: args.network, aliases: [OPS_AGENT_HOST] }],
        ports: publishedPorts(cfg, "opsAgent", OPS_AGENT_PORT),
        healthcheck: {
          tests: [
            "CMD",
            "node",
            "-e",
            `fetch('http://127.0.0.1:${OPS_AGENT_PORT}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
          ],
          interval: "30s",
          timeout: "5s",
          retries: 3,
          startPeriod: "20s",
        },
        memory: 1024,
        // restart policy, json-file log rotation (S12), labels
        ...common,
      },
      { parent: this },
    );
    this.containerName = container.name;
    this.registerOutputs({ containerName: this.containerName });
  }
}
