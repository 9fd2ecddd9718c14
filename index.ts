/**
 * jarvis-data: composition only. Config is parsed once (config/), components turn it into
 * resources (components/), and nothing here decides anything on its own.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config/pulumi.ts";
import { containerCommon, dockerProxyUser, publishedPorts, serviceLabels } from "./settings/containers.ts";
import { CHROMA_GATEWAY_PORT } from "./settings/chroma.ts";
import { agentSchedule } from "./core/ops/schedule.ts";
import { postgresServerSpec, redisServerSpec } from "./settings/stores.ts";
import {
  backupWriters,
  storageEndpoint,
  storageProviderTarget,
  type DevStoreAccess,
} from "./settings/backup-credentials.ts";
import { keepOptions } from "./settings/keep.ts";
import { backupStorageProvider, dockerProvider } from "./components/providers.ts";
import type { JobRunner } from "./components/ops-job.ts";
import { StackSecrets } from "./components/secrets.ts";
import { PrivateNetwork } from "./components/network.ts";
import { PostgresRoles, PostgresServer, POSTGRES_SOCKET_DIR } from "./components/postgres.ts";
import { POSTGRES_DATA_DIR, POSTGRES_UID } from "./settings/postgres.ts";
import { databaseUrl, redisUrl } from "./components/ops-job.ts";
import { watchedContainers } from "./settings/monitoring.ts";
import { RedisServer } from "./components/redis.ts";
import { ChromaServer } from "./components/chroma.ts";
import { ROLE_NAMES } from "./core/postgres/roles.ts";
import { DevObjectStore, DEV_S3_ROOT_USER } from "./components/dev-object-store.ts";
import { devStoreSettings } from "./settings/dev-object-store.ts";
import { BucketLifecycle } from "./components/bucket-lifecycle.ts";
import {
  AWS_LIFECYCLE_ON_S3_COMPATIBLE,
  lifecycleRules,
  repositoryLifecycleRules,
  S3_COMPATIBLE_LIFECYCLE,
} from "./settings/lifecycle.ts";
import { BackupVault } from "./components/backup-vault.ts";
import { Monitoring } from "./components/monitoring.ts";
import { OpsImage } from "./components/ops-image.ts";
import { SchemaMigrations } from "./components/migrations.ts";
import { loadMigrations, manifestHash, migrationManifest } from "./core/migrate/files.ts";
import { CronSchedules } from "./components/cron-schedules.ts";
import { OpsAgent, OPS_AGENT_PORT } from "./components/ops-agent.ts";
import { cronJobs, cronDatabase } from "./settings/cron.ts";

const cfg = loadStackConfig(); // throws, listing every problem, before any resource exists
const stack = pulumi.getStack();
const prefix = `jarvis-${stack}`;

const dockerHost = dockerProvider(`${prefix}-docker`, cfg.docker);
const onDocker = { providers: [dockerHost] };

const secrets = new StackSecrets(`${prefix}-secrets`, { provided: cfg.secrets });
const network = new PrivateNetwork(
  prefix,
  { labels: serviceLabels(cfg.environment, stack, "network") },
  onDocker,
);

const devStore = devStoreSettings(cfg);
const devS3 = devStore
  ? new DevObjectStore(
      `${prefix}-s3`,
      {
        ...devStore,
        common: containerCommon(cfg, stack, "s3"),
        network: network.name,
        rootPassword: secrets.values.s3RootPassword,
      },
      onDocker,
    )
  : undefined;
/** The dev store as the backups reach it (settings/backup-credentials.ts picks dev or AWS credentials). */
const devAccess: DevStoreAccess<pulumi.Input<string>> | undefined = devS3 && {
  endpoint: devS3.endpoint,
  internalEndpoint: devS3.internalEndpoint,
  pgbackrestEndpoint: "s3:9000",
  caCertPem: devS3.caCertPem,
  accessKey: DEV_S3_ROOT_USER,
  secretKey: secrets.values.s3RootPassword,
};
const backupStorage = backupStorageProvider(
  `${prefix}-aws`,
  cfg.backup.storage.region,
  storageProviderTarget(devAccess),
);

export const environment = cfg.environment;
export const networkName = network.name;
export const backupEndpoint = storageEndpoint(cfg.backup.storage.region, devAccess);

// Backup storage (docs/backup-storage.md): vault + pgBackRest repository, on MinIO in dev, S3 in prod.
const vault = new BackupVault(
  `${prefix}-vault`,
  { namePrefix: prefix, backup: cfg.backup, protect: keepOptions(cfg.environment).protect },
  { providers: [backupStorage] },
);
export const backupBucket = vault.backupBucket;
export const pgbackrestBucket = vault.repositoryBucket;
export const backupReplicaBucket = vault.replicaBucket;
export const backupKmsKeyArn = vault.kmsKeyArn;
export const backupWriterAccessKeyId = vault.backupWriter?.accessKeyId;
export const backupWriterSecretAccessKey = vault.backupWriter?.secretAccessKey;
export const pgbackrestAccessKeyId = vault.repositoryWriter?.accessKeyId;
export const pgbackrestSecretAccessKey = vault.repositoryWriter?.secretAccessKey;
/** dev: the CA that signed the S3 container's certificate, for clients that verify TLS. */
export const devS3CaCert = devS3?.caCertPem;

// The three stores (docs/services.md): private network only, ports on loopback in dev, none in prod.
// The ops image ships the jarvis-data CLI (roles job, Chroma token gateway).
const sv = secrets.values;
// WAL archiving and physical backups go to the pgBackRest bucket, logical ones to the vault.
const writers = backupWriters(cfg.backup.storage.region, devAccess, vault);
const pgServer = new PostgresServer(
  `${prefix}-postgres`,
  {
    spec: postgresServerSpec(cfg, stack),
    network: network.name,
    superuserPassword: sv.postgresSuperuser,
    pgbackrest: { ...writers.pgbackrest, bucket: vault.repositoryBucket, cipherPass: sv.pgbackrestCipher },
  },
  onDocker,
);
const ops = new OpsImage(
  `${prefix}-ops`,
  { postgresImage: pgServer.imageName, platform: cfg.docker.platform },
  onDocker,
);
/** Where every one-shot job runs (docker run --rm on the private network, docs/first-up.md). */
const runner: JobRunner = {
  environment: cfg.environment,
  stack,
  network: network.name,
  image: ops.imageName,
  cli: ops.cli,
  dockerHost: cfg.docker.host,
};
// dev: lifecycle rules by a job per bucket keyed on the rules, not the aws provider
// (docs/backup-storage.md); it needs the buckets, not the roles.
if (devS3 && !AWS_LIFECYCLE_ON_S3_COMPATIBLE.converges) {
  new BucketLifecycle(
    `${prefix}-lifecycle`,
    {
      runner,
      buckets: [
        { bucket: vault.backupBucket, rules: lifecycleRules(cfg.backup.retention, S3_COMPATIBLE_LIFECYCLE) },
        {
          bucket: vault.repositoryBucket,
          rules: repositoryLifecycleRules(cfg.backup.retention, S3_COMPATIBLE_LIFECYCLE),
        },
      ],
      endpoint: devS3.internalEndpoint,
      caCertPem: devS3.caCertPem,
      region: cfg.backup.storage.region,
      accessKeyId: DEV_S3_ROOT_USER,
      secretAccessKey: secrets.values.s3RootPassword,
    },
    { ...onDocker, dependsOn: [vault, devS3, ops] },
  );
}
const pgRoles = new PostgresRoles(
  `${prefix}-postgres-roles`,
  {
    runner,
    server: pgServer,
    superuserPassword: sv.postgresSuperuser,
    passwords: {
      owner: sv.postgresOwner,
      app: sv.postgresApp,
      readonly: sv.postgresReadonly,
      backup: sv.postgresBackup,
      monitor: sv.postgresMonitor,
    },
  },
  { ...onDocker, dependsOn: [ops] },
);
// Schema migrations (docs/migrations.md): a one-shot job of the ops image on the private network,
// replaced (and so run) exactly when the set of sql/migrations files changes.
const migrationSet = loadMigrations();
const schema = new SchemaMigrations(
  `${prefix}-migrations`,
  {
    runner,
    migrations: migrationManifest(migrationSet),
    manifestHash: manifestHash(migrationSet),
    dbHost: pgServer.host,
    dbPort: pgServer.port,
    database: pgServer.database,
    password: sv.postgresSuperuser,
    ownerPassword: sv.postgresOwner,
    restorePoint: cfg.environment === "prod",
  },
  { ...onDocker, dependsOn: [pgRoles, ops] },
);
export const schemaMigrations = {
  files: schema.files,
  manifestHash: schema.manifestHash,
  status: schema.status,
};
// pg_cron schedules (docs/retention.md): reconciled by name after the migrations that create the
// functions they call; the declared jobs are the resource's inputs, so a preview shows a change.
const cron = new CronSchedules(
  `${prefix}-cron`,
  {
    runner,
    jobs: cronJobs(cfg),
    dbHost: pgServer.host,
    dbPort: pgServer.port,
    database: cronDatabase(cfg),
    password: sv.postgresSuperuser,
  },
  { ...onDocker, dependsOn: [schema, ops] },
);
export const cronSchedules = {
  jobs: cron.jobs.map((j) => ({ name: j.name, schedule: j.schedule, active: j.active })),
  status: cron.status,
};
const redisServer = new RedisServer(
  `${prefix}-redis`,
  {
    spec: redisServerSpec(cfg, stack),
    network: network.name,
    passwords: { admin: sv.redisAdmin, app: sv.redisApp, backup: sv.redisBackup, monitor: sv.redisMonitor },
  },
  onDocker,
);
// The gateway is a long-running service: it follows the ops image's digest, so a rebuild rolls it.
const chromaServer = new ChromaServer(
  `${prefix}-chroma`,
  {
    image: cfg.chroma.image,
    memoryMb: cfg.chroma.memoryMb,
    cpus: cfg.chroma.cpus,
    ports: publishedPorts(cfg, "chroma", CHROMA_GATEWAY_PORT),
    common: containerCommon(cfg, stack, "chroma"),
    gatewayCommon: containerCommon(cfg, stack, "chroma-gateway"),
    network: network.name,
    token: sv.chromaToken,
    opsImage: ops.repoDigest,
    keep: keepOptions(cfg.environment),
  },
  onDocker,
);

/** Connection details; passwords only as secrets. `published` is null when the port is not published. */
export const postgresConnection = {
  host: pgServer.host,
  port: pgServer.port,
  database: pgServer.database,
  published: pgServer.published ?? null,
  users: ROLE_NAMES,
  roles: pgRoles.status,
};
export const postgresPasswords = pulumi.secret({
  superuser: sv.postgresSuperuser,
  owner: sv.postgresOwner,
  app: sv.postgresApp,
  readonly: sv.postgresReadonly,
  backup: sv.postgresBackup,
  monitor: sv.postgresMonitor,
});
export const postgresAppUrl = databaseUrl(
  ROLE_NAMES.app,
  sv.postgresApp,
  pgServer.host,
  pgServer.port,
  pgServer.database,
);
export const redisConnection = {
  host: redisServer.host,
  port: redisServer.port,
  published: redisServer.published ?? null,
  users: ["admin", "app", "backup", "monitor"],
};
export const redisPasswords = pulumi.secret({
  admin: sv.redisAdmin,
  app: sv.redisApp,
  backup: sv.redisBackup,
  monitor: sv.redisMonitor,
});
export const chromaConnection = {
  url: chromaServer.internalUrl,
  published: chromaServer.published ?? null,
  tokenHeader: "x-chroma-token",
};
export const chromaToken = pulumi.secret(sv.chromaToken);
/** Signs backup manifests; an operator's CLI needs it as JARVIS_MANIFEST_KEY (docs/backup-restore.md). */
export const manifestKey = pulumi.secret(sv.manifestKey);

// The ops agent (docs/backup-restore.md): scheduled backups and recovery drills, /metrics for Prometheus.
const opsAgent = new OpsAgent(
  `${prefix}-ops-agent`,
  {
    // A20: the agent exports jarvis_container_up/_present for the watched containers
    // (ContainerStopped, ContainerNotFound).
    schedule: agentSchedule(cfg, true, watchedContainers(cfg, stack)),
    stack,
    environment: cfg.environment,
    region: cfg.backup.storage.region,
    common: containerCommon(cfg, stack, "ops-agent"),
    proxyCommon: containerCommon(cfg, stack, "docker-proxy"),
    proxyUser: dockerProxyUser(cfg.docker),
    ports: publishedPorts(cfg, "opsAgent", OPS_AGENT_PORT),
    network: network.name,
    opsImage: ops.repoDigest,
    cli: ops.cli,
    opsUid: ops.uid,
    // Drills create and drop scratch databases: the superuser, over the private network only.
    postgresUrl: databaseUrl(
      "postgres",
      sv.postgresSuperuser,
      pgServer.host,
      pgServer.port,
      pgServer.database,
    ),
    redisBackupUrl: redisUrl("backup", sv.redisBackup, redisServer.host, redisServer.port),
    chromaUrl: chromaServer.internalUrl,
    chromaToken: sv.chromaToken,
    manifestKey: sv.manifestKey,
    bucket: vault.backupBucket,
    s3Endpoint: writers.agent.endpoint,
    s3AccessKeyId: writers.agent.accessKeyId,
    s3SecretAccessKey: writers.agent.secretAccessKey,
    s3CaCert: writers.agent.caCert,
    // Issue 18: the Redis temp-key sweep (as `app`) and Chroma's size on disk.
    redisRetentionUrl: redisUrl("app", sv.redisApp, redisServer.host, redisServer.port),
    chromaVolume: chromaServer.volumeName,
    // pgBackRest runs in the agent, beside the server: scheduled full and differential backups (A1).
    physical: {
      dataVolume: pgServer.volumeName,
      dataDir: POSTGRES_DATA_DIR,
      socketVolume: pgServer.socketVolumeName,
      socketDir: POSTGRES_SOCKET_DIR,
      files: pgServer.pgbackrestFiles,
      uid: POSTGRES_UID,
    },
  },
  // After the cron schedules (which come after the migrations): the agent starts on a complete schema.
  { ...onDocker, dependsOn: [cron, redisServer, chromaServer, ops] },
);
export const opsAgentContainer = opsAgent.containerName;

// Monitoring and alerting (docs/monitoring.md): exporters, Prometheus with the generated rules, Alertmanager.
const monitoring = new Monitoring(
  `${prefix}-monitoring`,
  {
    config: cfg,
    stack,
    network: network.name,
    postgresMonitorPassword: sv.postgresMonitor,
    redisMonitorPassword: sv.redisMonitor,
    alertSmtpPassword: secrets.optional.alertSmtpPassword,
    alertWebhookUrl: secrets.optional.alertWebhookUrl,
    targets: {
      postgres: `${pgServer.host}:${pgServer.port}`,
      redis: `${redisServer.host}:${redisServer.port}`,
      chroma: chromaServer.internalUrl,
    },
  },
  { ...onDocker, dependsOn: [pgRoles, redisServer, chromaServer] },
);
export const prometheusUrl = monitoring.prometheusUrl ?? null;
export const alertmanagerUrl = monitoring.alertmanagerUrl ?? null;
export const grafanaUrl = monitoring.grafanaUrl ?? null;
export const grafanaAdminPassword = monitoring.grafanaAdminPassword ?? null;
