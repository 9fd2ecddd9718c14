import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { opsJob, type JobRunner } from "./ops-job.ts";
import { PGBACKREST_CONF, PGBACKREST_SECRETS_CONF, pgbackrestSecretsConf } from "../settings/pgbackrest.ts";
import { STORE_IGNORED_CHANGES } from "../settings/containers.ts";
import { POSTGRES_DATA_DIR, POSTGRES_PASSWORD_FILE, POSTGRES_UID } from "../settings/postgres.ts";
import {
  POSTGRES_HOST,
  POSTGRES_PORT,
  POSTGRES_SOCKET_DIR,
  type PostgresServerSpec,
  type Published,
} from "../settings/stores.ts";

export { POSTGRES_HOST, POSTGRES_PORT, POSTGRES_SOCKET_DIR };

export interface PostgresArgs {
  /** What the server is: image, flags, limits, ports, kept storage (settings/stores.ts postgresServerSpec). */
  spec: PostgresServerSpec;
  /** The private network the stores and the ops containers share. */
  network: pulumi.Input<string>;
  /** The `postgres` superuser's password (secret); it reaches the container as a file, and is set at each start. */
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

/** One of pgBackRest's files, as the server's container (and the ops agent) get it. */
export interface PgBackRestFile {
  file: string;
  content: pulumi.Input<string>;
  secret: boolean;
}

const PGBACKREST_CA_FILE = "/etc/pgbackrest/s3-ca.pem";

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
  /** Name of the data volume (kept on `pulumi destroy`, protected in prod). */
  public readonly volumeName: pulumi.Output<string>;
  /** The server's Unix socket directory, shared with the ops agent (pgBackRest runs beside the server). */
  public readonly socketVolumeName: pulumi.Output<string>;
  /** pgBackRest's files, as the server's container gets them; the ops agent gets the same ones. */
  public readonly pgbackrestFiles: PgBackRestFile[];
  /** Host name and port on the private network. */
  public readonly host: string = POSTGRES_HOST;
  public readonly port: number = POSTGRES_PORT;
  public readonly database: string;
  /** Host address and port published on the Docker host, when config publishes one. */
  public readonly published: Published;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:database:PostgresServer", name, {}, opts);
    const { spec } = args;
    const image = this.buildImage(name, spec);
    const volume = this.volume(`${name}-data`, spec, true);
    const socketVolume = this.volume(`${name}-socket`, spec, false);
    const pgbackrestFiles = pgbackrestFilesFor(spec, args.pgbackrest);
    const container = new docker.Container(
      name,
      {
        name,
        image: image.repoDigest,
        command: spec.command,
        envs: spec.envs,
        uploads: serverUploads(args.superuserPassword, pgbackrestFiles),
        volumes: [
          { volumeName: volume.name, containerPath: POSTGRES_DATA_DIR },
          { volumeName: socketVolume.name, containerPath: POSTGRES_SOCKET_DIR },
        ],
        networksAdvanced: [{ name: args.network, aliases: [POSTGRES_HOST] }],
        healthcheck: spec.healthcheck,
        shmSize: spec.shmSize,
        // restart, json-file log rotation (A12), labels, limits, ports, stop and destroy grace
        // (the image stops with SIGINT, a fast shutdown: time to checkpoint, also on a replacement).
        ...spec.container,
        wait: true,
        waitTimeout: 600,
      },
      { parent: this, ignoreChanges: STORE_IGNORED_CHANGES },
    );
    this.image = image.repoDigest;
    this.imageName = image.imageName;
    this.containerName = container.name;
    this.volumeName = volume.name;
    this.socketVolumeName = socketVolume.name;
    this.pgbackrestFiles = pgbackrestFiles;
    this.database = spec.database;
    this.published = spec.published;
    this.registerOutputs({
      image: this.image,
      imageName: this.imageName,
      containerName: this.containerName,
      volumeName: this.volumeName,
      socketVolumeName: this.socketVolumeName,
      host: this.host,
      port: this.port,
      database: this.database,
      published: this.published,
    });
  }

  /** A local image: no registry, no push, built for the stack's one platform. */
  private buildImage(name: string, spec: PostgresServerSpec): docker.Image {
    return new docker.Image(
      `${name}-image`,
      {
        imageName: spec.imageName,
        build: {
          context: "docker/postgres",
          dockerfile: "docker/postgres/Dockerfile",
          args: spec.build.args,
          platform: spec.build.platform,
        },
        skipPush: true,
      },
      { parent: this },
    );
  }

  /** The cluster's volume is kept on destroy and protected in prod; the socket's holds nothing. */
  private volume(id: string, spec: PostgresServerSpec, data: boolean): docker.Volume {
    return new docker.Volume(
      id,
      { name: id, labels: spec.container.labels },
      { parent: this, ...(data ? spec.keep : {}) },
    );
  }
}

/** pgBackRest's config (no secrets), its secrets file and the dev CA: the same functions the PITR tests use. */
function pgbackrestFilesFor(spec: PostgresServerSpec, pgbr: PgBackRestTarget): PgBackRestFile[] {
  const repo = {
    endpoint: pgbr.endpoint,
    uriStyle: pgbr.uriStyle,
    ...(pgbr.caCertPem ? { caFile: PGBACKREST_CA_FILE } : {}),
  };
  return [
    {
      file: PGBACKREST_CONF,
      secret: false,
      content: pulumi.output(pgbr.bucket).apply((bucket) => spec.pgbackrestConf({ bucket, ...repo })),
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
}

/** The superuser's password (0400, read by the entrypoint at each start) and pgBackRest's files, owned by postgres. */
function serverUploads(password: pulumi.Input<string>, files: PgBackRestFile[]) {
  return [
    {
      file: POSTGRES_PASSWORD_FILE,
      content: password,
      owner: POSTGRES_UID,
      group: POSTGRES_UID,
      permissions: "0400",
    },
    ...files.map((f) => ({
      file: f.file,
      content: f.secret ? pulumi.secret(f.content) : f.content,
      owner: POSTGRES_UID,
      group: POSTGRES_UID,
      permissions: f.secret ? "0400" : "0444",
    })),
  ];
}

export interface PostgresRolesArgs {
  /** Where and with which image the job runs. */
  runner: JobRunner;
  /** The server to create the roles on. */
  server: PostgresServer;
  superuserPassword: pulumi.Input<string>;
  /** Passwords of jarvis_owner, jarvis_app, jarvis_readonly, jarvis_backup, jarvis_monitor (secrets). */
  passwords: Record<"owner" | "app" | "readonly" | "backup" | "monitor", pulumi.Input<string>>;
}

/** Where the one-shot container finds the role passwords, one file per role. */
export const ROLE_PASSWORDS_DIR = "/run/secrets/roles";
const SUPERUSER_PASSWORD_FILE = "/run/secrets/postgres_password";

/**
 * The stack's database roles, created or updated by a one-shot job of the ops image running
 * `jarvis-data roles apply` on the private network (prod publishes no database port, so the
 * workstation could not reach it). Passwords travel as files; the job's env holds none. Changing a
 * password changes the job's input, so `up` runs it again.
 */
export class PostgresRoles extends pulumi.ComponentResource {
  /** "applied" once the job exited 0; the `up` fails otherwise. */
  public readonly status: pulumi.Output<string>;

  constructor(name: string, args: PostgresRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:database:PostgresRoles", name, {}, opts);
    const { server } = args;
    const roleFiles = (Object.entries(args.passwords) as [string, pulumi.Input<string>][]).map(([k, v]) => ({
      file: `${ROLE_PASSWORDS_DIR}/jarvis_${k}`,
      content: v,
    }));
    this.status = opsJob(
      name,
      args.runner,
      {
        service: "postgres-roles",
        containerName: name,
        args: ["roles", "apply", "--json"],
        envs: [
          `DATABASE_URL=postgresql://postgres@${server.host}:${server.port}/${server.database}`,
          `PGPASSWORD_FILE=${SUPERUSER_PASSWORD_FILE}`,
          `JARVIS_ROLE_PASSWORDS_DIR=${ROLE_PASSWORDS_DIR}`,
        ],
        files: [{ file: SUPERUSER_PASSWORD_FILE, content: args.superuserPassword }, ...roleFiles],
        what: "the roles job",
      },
      { parent: this, dependsOn: [server, ...dependsOnList(opts?.dependsOn)] },
    ).status;
    this.registerOutputs({ status: this.status });
  }
}

/** A component's dependsOn as a list (it may be one resource). */
function dependsOnList(d: pulumi.ResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  if (d === undefined) return [];
  return Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];
}
