/**
 * The one schema for the stack's config, under Pulumi's `jarvis:` namespace.
 *
 * Every top-level key below is a Pulumi config key (`jarvis:postgres`, `jarvis:backup`, ...).
 * Defaults are the audit's figures (A2, A12-A16, A20, A23). Types come from `z.infer`; nothing
 * else in the project restates a default. `parseConfig` returns every problem at once, each as
 * `jarvis:<key.path>: <what is wrong, what is allowed>`.
 */
import { z } from "zod";
import { backup } from "./backup-schema.ts";
import { cron, days, fraction, megabytes, port } from "./fields.ts";
import { describe, keyOf } from "./describe.ts";
import { crossFieldRules } from "./rules.ts";

/** The credentials the stack needs. Each one comes from `jarvis:secrets.<name>` or is generated. */
export const SECRET_NAMES = [
  "postgresSuperuser",
  "postgresOwner",
  "postgresApp",
  "postgresReadonly",
  "postgresBackup",
  "postgresMonitor",
  "redisAdmin",
  "redisApp",
  "redisBackup",
  "redisMonitor",
  "chromaToken",
  "s3RootPassword",
  "pgbackrestCipher",
  /** HMAC key that signs every backup manifest (JARVIS_MANIFEST_KEY): a bucket writer cannot forge one. */
  "manifestKey",
] as const;
/** Credentials that only exist when an alert receiver needs them; never generated. */
export const OPTIONAL_SECRET_NAMES = ["alertSmtpPassword", "alertWebhookUrl"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];
export type OptionalSecretName = (typeof OPTIONAL_SECRET_NAMES)[number];

const secretValue = z.string().min(16);

const docker = z.strictObject({
  /**
   * ssh://user@host for prod. Unset (the dev default): the provider and the jobs' docker CLI use
   * DOCKER_HOST or the CLI's current context, so Docker Desktop, Colima, OrbStack and rootless work.
   */
  host: z
    .string()
    .regex(/^(unix|tcp|ssh|npipe):\/\/.+/, {
      message: "must be a Docker host URL: unix://, tcp:// or ssh://user@host",
    })
    .optional(),
  /** Extra ssh options for an ssh:// host (e.g. ["-i", "~/.ssh/deploy"]); the provider's only (docs/first-up.md). */
  sshOpts: z.array(z.string()).default([]),
  /** The platform of every image the stack builds (the ops image builds FROM the postgres one: same platform). */
  platform: z
    .string()
    .regex(/^linux\/(amd64|arm64)$/, { message: "must be linux/amd64 or linux/arm64" })
    .default("linux/amd64"),
  /**
   * The group id owning the Docker socket on the Docker host (`stat -c %g /var/run/docker.sock`):
   * the Docker API proxies then run as 65534:<gid>, not as root (settings/containers.ts dockerProxyUser).
   */
  socketGid: z.number().int().min(0).optional(),
});

const ports = z.strictObject({
  /** Where published ports listen. Loopback unless `exposeBeyondLoopback` says otherwise. */
  bindAddress: z.ipv4().or(z.ipv6()).default("127.0.0.1"),
  /** Deliberately allow a non-loopback bindAddress. */
  exposeBeyondLoopback: z.boolean().default(false),
  /** Host ports to publish, per service. Absent means not published. */
  publish: z
    .strictObject({
      postgres: port.optional(),
      redis: port.optional(),
      chroma: port.optional(),
      s3: port.optional(),
      prometheus: port.optional(),
      alertmanager: port.optional(),
      grafana: port.optional(),
      opsAgent: port.optional(),
    })
    .prefault({}),
});

const postgres = z.strictObject({
  /** Base image; the stack builds pg_cron, pg_partman and pgBackRest on top of it. */
  baseImage: z.string().default("pgvector/pgvector:pg16"),
  /** Pinned extension versions baked into the image. */
  pgCronVersion: z.string().default("1.6.4"),
  pgPartmanVersion: z.string().default("5.2.4"),
  pgBackRestVersion: z.string().default("2.56.0"),
  database: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: "must be a lowercase SQL identifier" })
    .default("jarvis"),
  maxConnections: z.number().int().min(10).max(5000).default(100),
  sharedBuffersMb: megabytes(256, 16),
  workMemMb: megabytes(16, 1),
  maintenanceWorkMemMb: megabytes(512, 16),
  /** Seconds before a partly filled WAL segment is archived anyway: the RPO bound of PITR. */
  archiveTimeoutSeconds: z.number().int().min(10).max(3600).default(60),
  /** Container limits. */
  memoryMb: megabytes(2048, 256),
  cpus: z.number().positive().max(64).default(2),
});

const redis = z.strictObject({
  image: z.string().default("redis:7.4"),
  /** A13: maxmemory 256 MB with allkeys-lru. */
  maxmemoryMb: megabytes(256, 8),
  maxmemoryPolicy: z
    .enum([
      "allkeys-lru",
      "allkeys-lfu",
      "volatile-lru",
      "volatile-lfu",
      "allkeys-random",
      "volatile-random",
      "volatile-ttl",
      "noeviction",
    ])
    .default("allkeys-lru"),
  appendfsync: z.enum(["always", "everysec", "no"]).default("everysec"),
  /** RDB snapshot points, as redis `save` pairs (seconds changes). */
  save: z.array(z.tuple([z.number().int().positive(), z.number().int().positive()])).default([
    [3600, 1],
    [300, 100],
    [60, 10000],
  ]),
  /** A13: `temp:*` keys expire after 1 h. */
  tempKeyPattern: z
    .string()
    .regex(/^[^\s*?[\]\\]+[:._/-]\*$/, {
      message:
        'must be a fixed key prefix ending in a separator, then *, such as "temp:*"; a pattern without one (e.g. "*") would put a TTL on every key',
    })
    .default("temp:*"),
  tempKeyTtlSeconds: z.number().int().min(1).default(3600),
  memoryMb: megabytes(512, 32),
  cpus: z.number().positive().max(64).default(1),
});

const chroma = z.strictObject({
  image: z
    .string()
    .regex(/^chromadb\/chroma:1\.0\.\d+$/, {
      message: "must be chromadb/chroma:1.0.N (the 1.0 line the stack is tested with)",
    })
    .default("chromadb/chroma:1.0.15"),
  memoryMb: megabytes(1024, 128),
  cpus: z.number().positive().max(64).default(1),
});

const logs = z.strictObject({
  /** A12: json-file rotation at 10 MB. */
  maxSizeMb: z.number().int().min(1).max(1024).default(10),
  /** Rotated files kept per container. */
  maxFiles: z.number().int().min(1).max(100).default(5),
  /** A12: days kept per application log family. */
  retentionDays: z
    .strictObject({
      default: days(30),
      api: days(14),
      memory: days(30),
      voice: days(7),
      performance: days(14),
    })
    .prefault({}),
  /**
   * The log shipper (Vector, settings/monitoring/logs.ts): reads every container's output, writes
   * it under /var/log/jarvis/<container>/, counts errors per container for Prometheus.
   */
  shipper: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** A line is an error when it matches this (case-insensitive) regular expression. */
      errorPattern: z
        .string()
        .min(1)
        .default("\\b(ERROR|CRITICAL|FATAL|PANIC)\\b")
        .refine((p) => !p.includes("'"), {
          message: "cannot contain a single quote (it ends Vector's regex literal)",
        }),
    })
    .prefault({}),
});

const category = (d: number, t: number) =>
  z.strictObject({ days: days(d), importanceThreshold: fraction(t) }).prefault({});

const retention = z.strictObject({
  /** A14: monthly partitions of conversations/messages older than `days` are dropped, rows at or above the threshold rescued. */
  conversations: z
    .strictObject({ days: days(180), importanceThreshold: fraction(0.5), schedule: cron("0 2 * * 0") })
    .prefault({}),
  /** A15: per memory category, expired entries below the threshold are deleted. */
  memory: z
    .strictObject({
      categories: z
        .strictObject({
          conversations: category(180, 0.3),
          commands: category(90, 0.2),
          preferences: category(365, 0.0),
          patterns: category(120, 0.4),
          knowledge: category(365, 0.5),
        })
        .prefault({}),
      schedule: cron("30 2 * * *"),
      batchSize: z.number().int().min(100).max(100000).default(5000),
    })
    .prefault({}),
  auditLog: z.strictObject({ days: days(365), schedule: cron("45 2 * * *") }).prefault({}),
  /** pg_cron's own run history, which otherwise grows forever. */
  cronHistory: z.strictObject({ days: days(14), schedule: cron("50 2 * * *") }).prefault({}),
  /** A16: VACUUM ANALYZE, monthly. */
  vacuum: z.strictObject({ schedule: cron("0 4 1 * *") }).prefault({}),
  partmanMaintenance: z
    .strictObject({ schedule: cron("5 * * * *"), premakeMonths: z.number().int().min(1).max(24).default(4) })
    .prefault({}),
  /** Store retention the ops agent runs (core/ops/retention-jobs.ts), each exported as metrics. */
  agent: z
    .strictObject({
      /** A15: Chroma memory retention, monthly (the audit's `0 2 1 * *`). */
      chroma: cron("0 2 1 * *"),
      /** A13: `temp:*` keys without a TTL get one; hourly, since they live 1 h. */
      redisTempKeys: cron("10 * * * *"),
      /** A12: log files older than their family's days (`jarvis:logs.retentionDays`) are deleted. */
      logs: cron("40 3 * * *"),
      /** Chroma collections to clean; absent: every collection of the database. */
      chromaCollections: z.array(z.string().min(1)).optional(),
    })
    .prefault({}),
});

const monitoring = z.strictObject({
  /** A20 thresholds, in percent. */
  diskAlertPercent: z.number().min(1).max(100).default(80),
  memoryAlertPercent: z.number().min(1).max(100).default(85),
  connectionsAlertPercent: z.number().min(1).max(100).default(80),
  /**
   * A20: the application's own containers, watched as well. Absent: the audit's deployment
   * (`jarvis_brain`, `jarvis_ollama`) in prod, none in dev (settings/monitoring/common.ts).
   */
  appContainers: z
    .array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, { message: "must be a Docker container name" }))
    .optional(),
  /** A20: a store container with more error lines than this in 24 h raises LogErrorsHigh. */
  logErrorsAlert: z.number().int().min(1).default(50),
  /** A23: availability objective of each store, over 30 days (the error budget is 1 - this). */
  availabilityTarget: z.number().min(0.9).max(0.99999).default(0.999),
  /** A21: checks run hourly; Prometheus scrapes more often. */
  scrapeIntervalSeconds: z.number().int().min(5).max(3600).default(30),
  alerting: z
    .strictObject({
      email: z
        .strictObject({
          to: z.email(),
          from: z.email(),
          /** host:port of the SMTP relay; its password is `jarvis:secrets.alertSmtpPassword`. */
          smarthost: z.string().regex(/^[^:\s]+:\d+$/, { message: "must be host:port" }),
          username: z.string().optional(),
        })
        .optional(),
      /** POST alerts to the URL in `jarvis:secrets.alertWebhookUrl`. */
      webhook: z.boolean().default(false),
    })
    .prefault({}),
  /** A21: Grafana, on by default; published only where `jarvis:ports.publish.grafana` says. */
  grafana: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Viewers without an account. Absent: on in dev (loopback), off in prod. */
      anonymousViewers: z.boolean().optional(),
    })
    .prefault({}),
  /**
   * node-exporter mounts the host's / (rslave) to report its disks. Absent: on in prod, off in dev,
   * where Docker Desktop, WSL2 and rootless Docker refuse that mount (settings/containers.ts).
   */
  nodeExporterHostMounts: z.boolean().optional(),
});

const secrets = z
  .strictObject(
    Object.fromEntries(
      [...SECRET_NAMES, ...OPTIONAL_SECRET_NAMES].map((n) => [n, secretValue.optional()]),
    ) as Record<SecretName | OptionalSecretName, z.ZodOptional<typeof secretValue>>,
  )
  .prefault({});

export const configSchema = z
  .strictObject({
    environment: z.enum(["dev", "prod"], { message: "must be dev or prod" }),
    docker: docker.prefault({}),
    ports: ports.prefault({}),
    postgres: postgres.prefault({}),
    redis: redis.prefault({}),
    chroma: chroma.prefault({}),
    logs: logs.prefault({}),
    retention: retention.prefault({}),
    backup: backup.prefault({}),
    monitoring: monitoring.prefault({}),
    secrets,
  })
  .superRefine((c, ctx) =>
    crossFieldRules(c, (path, message) => ctx.addIssue({ code: "custom", path, message })),
  );

export type JarvisConfig = z.infer<typeof configSchema>;
export type Environment = JarvisConfig["environment"];

export class ConfigError extends Error {
  readonly code = "JARVIS_CONFIG_INVALID";
  constructor(readonly problems: string[]) {
    super(
      `invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`,
    );
    this.name = "ConfigError";
  }
}

/** Validates raw config (the `jarvis:*` keys without the prefix, values already JSON-decoded). */
export function parseConfig(raw: Record<string, unknown>): JarvisConfig {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => {
    if (i.code === "unrecognized_keys" && i.path.length === 0) {
      return i.keys
        .map((k) => `jarvis:${k}: unknown key; allowed: ${Object.keys(configSchema.shape).join(", ")}`)
        .join("\n  ");
    }
    return `${keyOf(i.path)}: ${describe(i)}`;
  });
  throw new ConfigError(problems);
}
