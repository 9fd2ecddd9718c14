import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { JarvisConfig } from "../config/schema.ts";
import { opsJob } from "./ops-job.ts";
import {
  PGBACKREST_CONF,
  PGBACKREST_SECRETS_CONF,
  pgbackrestConf,
  pgbackrestSecretsConf,
} from "../settings/pgbackrest.ts";
import {
  containerCommon,
  containerLimits,
  healthcheckTiming,
  publishedPorts,
} from "../settings/containers.ts";
import {
  POSTGRES_DATA_DIR,
  POSTGRES_PASSWORD_FILE,
  POSTGRES_UID,
  postgresArgs,
  postgresHealthcheck,
  postgresImageBuildArgs,
  postgresInitdbArgs,
  postgresSettings,
} from "../settings/postgres.ts";

/** Network alias and port of PostgreSQL on the stack's private network. */
export const POSTGRES_HOST = "postgres";
export const POSTGRES_PORT = 5432;

export interface PostgresArgs {
  /** The validated stack config. */
  config: JarvisConfig;
  /** The stack's name, for labels. */
  stack: string;
  /** The private network the stores and the ops containers share. */
  network: pulumi.Input<string>;
  /** The `postgres` superuser's password (secret); it reaches the container as a file. */
  superuserPassword: pulumi.Input<string>;
  /** Where WAL and physical backups go: the pgBackRest repository bucket (components/backup-vault.ts). */
  pgbackrest: PgBackRestTarget;
}

/** The pgBackRest repository as the container reaches it. */
export interface PgBackRestTarget {
  bucket: pulumi.Input<string>;
  /** host[:port] of the S3 endpoint on the container's network, without scheme (always TLS). */
  endpoint: string;
  /** "path" for the dev S3 container, "host" for AWS. */
  uriStyle: "path" | "host";
  /** dev: the CA that signed the S3 container's certificate. */
  caCertPem?: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  /** Secret. */
  secretAccessKey: pulumi.Input<string>;
  /** Repository encryption passphrase (secret). */
  cipherPass: pulumi.Input<string>;
}

const PGBACKREST_CA_FILE = "/etc/pgbackrest/s3-ca.pem";
/** The server's Unix socket directory (the official image's). */
export const POSTGRES_SOCKET_DIR = "/var/run/postgresql";

/**
 * PostgreSQL 16 + pgvector, pg_cron, pg_partman and pgBackRest: an image built by the stack from
 * docker/postgres/Dockerfile (versions pinned in config), a named volume for the cluster, and the
 * server flags of settings/postgres.ts (the same ones the tests boot a real server with).
 */
export class PostgresServer extends pulumi.ComponentResource {
  /** The image built from docker/postgres (repo digest: changes when the image changes). */
  public readonly image: pulumi.Output<string>;
  /** The image's local name:tag (the ops image builds FROM it, to get the same client tools). */
  public readonly imageName: pulumi.Output<string>;
  public readonly containerName: pulumi.Output<string>;
  /** Name of the data volume (kept on `pulumi destroy`). */
  public readonly volumeName: pulumi.Output<string>;
  /** The server's Unix socket directory, shared with the ops agent (pgBackRest runs beside the server). */
  public readonly socketVolumeName: pulumi.Output<string>;
  /** pgBackRest's files, as the server's container gets them; the ops agent gets the same ones. */
  public readonly pgbackrestFiles: { file: string; content: pulumi.Input<string>; secret: boolean }[];
  /** Host name and port on the private network. */
  public readonly host: string = POSTGRES_HOST;
  public readonly port: number = POSTGRES_PORT;
  public readonly database: string;
  /** Host address and port published on the Docker host, when config publishes one. */
  public readonly published: { host: string; port: number } | undefined;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:database:PostgresServer", name, {}, opts);
    const cfg = args.config;
    const common = containerCommon(cfg, args.stack, "postgres");
    const build = postgresImageBuildArgs(cfg);
    const image = new docker.Image(
      `${name}-image`,
      {
        // A local image: no registry, no push. The tag names the pinned versions.
        imageName: `jarvis-data/postgres:pg16-cron${build.PG_CRON_VERSION}-partman${build.PG_PARTMAN_VERSION}-pgbackrest${build.PGBACKREST_VERSION}`,
        build: { context: "docker/postgres", dockerfile: "docker/postgres/Dockerfile", args: build },
        skipPush: true,
      },
      { parent: this },
    );
    this.imageName = image.imageName;
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `${name}-data`, labels: common.labels },
      { parent: this, retainOnDelete: true },
    );
    const socketVolume = new docker.Volume(
      `${name}-socket`,
      { name: `${name}-socket`, labels: common.labels },
      { parent: this },
    );
    const pgbr = args.pgbackrest;
    const pgbackrestFiles = [
      {
        file: PGBACKREST_CONF,
        secret: false,
        content: pulumi.output(pgbr.bucket).apply((bucket) =>
          pgbackrestConf(cfg, {
            pgPath: POSTGRES_DATA_DIR,
            pgSocketPath: POSTGRES_SOCKET_DIR,
            repo: {
              type: "s3",
              bucket,
              endpoint: pgbr.endpoint,
              region: cfg.backup.storage.region,
              uriStyle: pgbr.uriStyle,
              ...(pgbr.caCertPem ? { caFile: PGBACKREST_CA_FILE } : {}),
            },
          }),
        ),
      },
      {
        file: PGBACKREST_SECRETS_CONF,
        secret: true,
        content: pulumi
          .all([pgbr.accessKeyId, pgbr.secretAccessKey, pgbr.cipherPass])
          .apply(([s3Key, s3KeySecret, cipherPass]) =>
            pgbackrestSecretsConf({ s3Key, s3KeySecret, cipherPass }),
          ),
      },
      ...(pgbr.caCertPem ? [{ file: PGBACKREST_CA_FILE, secret: false, content: pgbr.caCertPem }] : []),
    ];
    const container = new docker.Container(
      name,
      {
        name,
        image: image.repoDigest,
        command: ["postgres", ...postgresArgs(postgresSettings(cfg))],
        envs: [
          `POSTGRES_PASSWORD_FILE=${POSTGRES_PASSWORD_FILE}`,
          `POSTGRES_DB=${cfg.postgres.database}`,
          `POSTGRES_INITDB_ARGS=${postgresInitdbArgs()}`,
          `PGDATA=${POSTGRES_DATA_DIR}`,
        ],
        // The superuser password reaches the entrypoint as a file readable by postgres only.
        // pgBackRest's config (no secrets), its secrets file and the dev CA, from settings/pgbackrest.ts:
        // the same functions the PITR tests run pgBackRest with.
        uploads: [
          {
            file: POSTGRES_PASSWORD_FILE,
            content: args.superuserPassword,
            owner: POSTGRES_UID,
            group: POSTGRES_UID,
            permissions: "0400",
          },
          ...pgbackrestFiles.map((f) => ({
            file: f.file,
            content: f.secret ? pulumi.secret(f.content) : f.content,
            owner: POSTGRES_UID,
            group: POSTGRES_UID,
            permissions: f.secret ? "0400" : "0444",
          })),
        ],
        volumes: [
          { volumeName: volume.name, containerPath: POSTGRES_DATA_DIR },
          { volumeName: socketVolume.name, containerPath: POSTGRES_SOCKET_DIR },
        ],
        networksAdvanced: [{ name: args.network, aliases: [POSTGRES_HOST] }],
        ports: publishedPorts(cfg, "postgres", POSTGRES_PORT),
        healthcheck: { tests: postgresHealthcheck(cfg), ...healthcheckTiming("60s") },
        ...containerLimits(cfg.postgres.memoryMb, cfg.postgres.cpus),
        // Docker's 64 MB /dev/shm is too small for parallel queries and index builds.
        shmSize: Math.min(1024, Math.max(128, cfg.postgres.sharedBuffersMb)),
        // The image stops with SIGINT (fast shutdown); give it time to checkpoint.
        stopTimeout: 120,
        // restart policy, json-file log rotation (S12), labels
        ...common,
        wait: true,
        waitTimeout: 600,
      },
      { parent: this },
    );
    this.image = image.repoDigest;
    this.containerName = container.name;
    this.volumeName = volume.name;
    this.socketVolumeName = socketVolume.name;
    this.pgbackrestFiles = pgbackrestFiles;
    this.database = cfg.postgres.database;
    const hostPort = cfg.ports.publish.postgres;
    this.published = hostPort === undefined ? undefined : { host: cfg.ports.bindAddress, port: hostPort };
    this.registerOutputs({
      image: this.image,
      containerName: this.containerName,
      volumeName: this.volumeName,
    });
  }
}

export interface PostgresRolesArgs {
  config: JarvisConfig;
  stack: string;
  network: pulumi.Input<string>;
  /** The ops image (components/ops-image.ts), which ships the jarvis-data CLI. */
  opsImage: pulumi.Input<string>;
  /** UID the ops image runs as; the password files are made readable by it only. */
  opsUid?: string;
  /** CLI entry point inside the ops image. */
  cli?: string[];
  /** The server to create the roles on. */
  server: PostgresServer;
  superuserPassword: pulumi.Input<string>;
  /** Passwords of jarvis_owner, jarvis_app, jarvis_readonly, jarvis_backup, jarvis_monitor (secrets). */
  passwords: Record<"owner" | "app" | "readonly" | "backup" | "monitor", pulumi.Input<string>>;
}

/** Where the one-shot container finds the role passwords, one file per role. */
export const ROLE_PASSWORDS_DIR = "/run/secrets/roles";

/**
 * The stack's database roles, created or updated by a one-shot container of the ops image
 * running `jarvis-data roles apply` on the private network (prod publishes no database port, so
 * the workstation could not reach it). Passwords travel as files; the container's env holds
 * none. Changing a password changes an upload, which replaces the container and runs it again.
 */
export class PostgresRoles extends pulumi.ComponentResource {
  /** "applied" once the job exited 0; the update fails otherwise. */
  public readonly status: pulumi.Output<string>;

  constructor(name: string, args: PostgresRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:database:PostgresRoles", name, {}, opts);
    const cfg = args.config;
    const roleFiles = (Object.entries(args.passwords) as [string, pulumi.Input<string>][]).map(([k, v]) => ({
      file: `${ROLE_PASSWORDS_DIR}/jarvis_${k}`,
      content: v,
    }));
    this.status = opsJob(
      name,
      {
        config: cfg,
        stack: args.stack,
        service: "postgres-roles",
        containerName: name,
        network: args.network,
        opsImage: args.opsImage,
        cli: args.cli,
        opsUid: args.opsUid,
        args: ["roles", "apply", "--json"],
        envs: [
          `DATABASE_URL=postgresql://postgres@${args.server.host}:${args.server.port}/${args.server.database}`,
          "PGPASSWORD_FILE=/run/secrets/postgres_password",
          `JARVIS_ROLE_PASSWORDS_DIR=${ROLE_PASSWORDS_DIR}`,
        ],
        files: [{ file: "/run/secrets/postgres_password", content: args.superuserPassword }, ...roleFiles],
        what: "the roles job",
      },
      { parent: this, dependsOn: [args.server] },
    );
    this.registerOutputs({ status: this.status });
  }
}
