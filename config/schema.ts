/**
 * The one schema for the stack's config, under Pulumi's `jarvis:` namespace.
 *
 * Every top-level key below is a Pulumi config key (`jarvis:postgres`, `jarvis:backup`, ...).
 * Defaults are the audit's figures (S2, S12-S16, S20, S23). Types come from `z.infer`; nothing
 * else in the project restates a default. `parseConfig` returns every problem at once, each as
 * `jarvis:<key.path>: <what is wrong, what is allowed>`.
 */
import { z } from "zod";
import { cronProblem } from "./cron.ts";

const cron = (def: string) =>
  z
    .string()
    .default(def)
    .superRefine((v, ctx) => {
      const p = cronProblem(v);
      if (p) ctx.addIssue({ code: "custom", message: p });
    });
const days = (def: number) => z.number().int().min(1).max(36500).default(def);
const fraction = (def: number) => z.number().min(0).max(1).default(def);
const port = z.number().int().min(1).max(65535);
const megabytes = (def: number, min: number) => z.number().int().min(min).default(def);

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
] as const;
/** Credentials that only exist when an alert receiver needs them; never generated. */
export const OPTIONAL_SECRET_NAMES = ["alertSmtpPassword", "alertWebhookUrl"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];
export type OptionalSecretName = (typeof OPTIONAL_SECRET_NAMES)[number];

const secretValue = z.string().min(16);

const docker = z.strictObject({
  /** unix:///var/run/docker.sock for the workstation, ssh://user@host for prod. */
  host: z
    .string()
    .regex(/^(unix|tcp|ssh|npipe):\/\/.+/, {
      message: "must be a Docker host URL: unix://, tcp:// or ssh://user@host",
    })
    .default("unix:///var/run/docker.sock"),
  /** Extra ssh options for an ssh:// host (e.g. ["-i", "~/.ssh/deploy"]). */
  sshOpts: z.array(z.string()).default([]),
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
  /** S13: maxmemory 256 MB with allkeys-lru. */
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
  /** S13: `temp:*` keys expire after 1 h. */
  tempKeyPattern: z.string().default("temp:*"),
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
  /** S12: json-file rotation at 10 MB. */
  maxSizeMb: z.number().int().min(1).max(1024).default(10),
  /** Rotated files kept per container. */
  maxFiles: z.number().int().min(1).max(100).default(5),
  /** S12: days kept per application log family. */
  retentionDays: z
    .strictObject({
      default: days(30),
      api: days(14),
      memory: days(30),
      voice: days(7),
      performance: days(14),
    })
    .prefault({}),
});

const category = (d: number, t: number) =>
  z.strictObject({ days: days(d), importanceThreshold: fraction(t) }).prefault({});

const retention = z.strictObject({
  /** S14: monthly partitions of conversations/messages older than `days` are dropped, rows at or above the threshold rescued. */
  conversations: z
    .strictObject({ days: days(180), importanceThreshold: fraction(0.5), schedule: cron("0 2 * * 0") })
    .prefault({}),
  /** S15: per memory category, expired entries below the threshold are deleted. */
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
  /** S16: VACUUM ANALYZE, monthly. */
  vacuum: z.strictObject({ schedule: cron("0 4 1 * *") }).prefault({}),
  partmanMaintenance: z
    .strictObject({ schedule: cron("5 * * * *"), premakeMonths: z.number().int().min(1).max(24).default(4) })
    .prefault({}),
});

const tier = (d: number, ia?: number, glacier?: number) =>
  z
    .strictObject({
      /** Objects of this tier are kept this many days, then expire. */
      days: days(d),
      /** Move to STANDARD_IA after this many days (AWS requires >= 30); null: never. */
      infrequentAccessAfterDays: z
        .number()
        .int()
        .min(30)
        .nullable()
        .default(ia ?? null),
      /** Move to GLACIER_IR after this many days; null: never. */
      glacierAfterDays: z
        .number()
        .int()
        .min(1)
        .nullable()
        .default(glacier ?? null),
    })
    .prefault({});

const backup = z.strictObject({
  storage: z
    .strictObject({
      /** rustfs (default) or minio: an S3-compatible container of the stack (dev). aws: real S3 (prod). */
      provider: z.enum(["rustfs", "minio", "aws"]).default("rustfs"),
      region: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: "must be an AWS region such as eu-west-3" })
        .default("us-east-1"),
      /** The dev store's image with provider rustfs (docs/backup-storage.md: why RustFS, and this pin). */
      rustfsImage: z.string().default("rustfs/rustfs:1.0.1"),
      /** Opt-in, provider minio: MinIO publishes no images since 2025-10 and minio/minio is gone; bring your own. */
      minioImage: z.string().default("minio/minio:RELEASE.2025-04-22T22-12-26Z"),
      /** A KMS key for server-side encryption (prod). Absent: the stack creates one. */
      kmsKeyArn: z.string().optional(),
      /** Cross-region replication of the backup bucket (prod). */
      replicaRegion: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: "must be an AWS region such as eu-central-1" })
        .optional(),
    })
    .prefault({}),
  /** S1: weekly full on Sunday 02:00, daily differential. */
  schedules: z
    .strictObject({
      postgresFull: cron("0 2 * * 0"),
      postgresDiff: cron("0 2 * * 1-6"),
      postgresLogical: cron("30 2 * * *"),
      redis: cron("0 3 * * *"),
      chroma: cron("15 3 * * *"),
      /** S9: monthly recovery drill. */
      drill: cron("0 5 1 * *"),
    })
    .prefault({}),
  /** S2: the one retention policy; lifecycle rules and pgBackRest retention derive from it. */
  retention: z
    .strictObject({
      daily: tier(14),
      weekly: tier(35),
      monthly: tier(365, 30, 90),
      redis: tier(14),
      chroma: tier(30),
      /** Old versions of overwritten objects. */
      noncurrentDays: days(7),
    })
    .prefault({}),
  objectLock: z
    .strictObject({
      enabled: z.boolean().default(false),
      mode: z.enum(["GOVERNANCE", "COMPLIANCE"]).default("GOVERNANCE"),
      days: days(7),
    })
    .prefault({}),
  /** S23 targets. */
  rpoTargetSeconds: z.number().int().min(60).default(86400),
  rtoTargetSeconds: z.number().int().min(60).default(1800),
});

const monitoring = z.strictObject({
  /** S20 thresholds, in percent. */
  diskAlertPercent: z.number().min(1).max(100).default(80),
  memoryAlertPercent: z.number().min(1).max(100).default(85),
  connectionsAlertPercent: z.number().min(1).max(100).default(80),
  /** S20: the application's own containers, watched as well. */
  appContainers: z
    .array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, { message: "must be a Docker container name" }))
    .default([]),
  /** S21: checks run hourly; Prometheus scrapes more often. */
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
  grafana: z.boolean().default(false),
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
  .superRefine((c, ctx) => {
    const at = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: "custom", path, message });
    const loopback = /^(127\.|::1$)/.test(c.ports.bindAddress);
    if (!loopback && !c.ports.exposeBeyondLoopback) {
      at(
        ["ports", "bindAddress"],
        `${c.ports.bindAddress} is not loopback; use 127.0.0.1, or set jarvis:ports.exposeBeyondLoopback: true to mean it`,
      );
    }
    if (c.environment === "prod") {
      if (!c.docker.host.startsWith("ssh://"))
        at(["docker", "host"], "prod runs on a remote Docker host: must be ssh://user@host");
      if (c.backup.storage.provider !== "aws")
        at(["backup", "storage", "provider"], "prod stores backups on AWS S3: must be aws");
    }
    if (c.environment === "dev" && c.backup.storage.provider === "aws") {
      at(
        ["backup", "storage", "provider"],
        "dev stores backups on the stack's own S3-compatible container: must be rustfs (default) or minio",
      );
    }
    if (c.redis.memoryMb < c.redis.maxmemoryMb + 64) {
      at(
        ["redis", "memoryMb"],
        `container limit ${c.redis.memoryMb} MB leaves no room above maxmemory ${c.redis.maxmemoryMb} MB for fork and buffers; allowed: >= ${c.redis.maxmemoryMb + 64}`,
      );
    }
    if (c.postgres.sharedBuffersMb * 2 > c.postgres.memoryMb) {
      at(
        ["postgres", "sharedBuffersMb"],
        `${c.postgres.sharedBuffersMb} MB is more than half the container's ${c.postgres.memoryMb} MB; allowed: <= ${Math.floor(c.postgres.memoryMb / 2)}`,
      );
    }
    let shortest = Infinity;
    for (const [name, t] of Object.entries(c.backup.retention)) {
      if (typeof t === "number") continue;
      shortest = Math.min(shortest, t.days);
      const ia = t.infrequentAccessAfterDays;
      const gl = t.glacierAfterDays;
      if (ia !== null && ia >= t.days) {
        at(
          ["backup", "retention", name, "infrequentAccessAfterDays"],
          `transition at day ${ia} is not before expiration at day ${t.days}; allowed: < ${t.days}`,
        );
      }
      if (gl !== null && gl >= t.days) {
        at(
          ["backup", "retention", name, "glacierAfterDays"],
          `transition at day ${gl} is not before expiration at day ${t.days}; allowed: < ${t.days}`,
        );
      }
      if (ia !== null && gl !== null && gl <= ia) {
        at(
          ["backup", "retention", name, "glacierAfterDays"],
          `day ${gl} is not after the STANDARD_IA transition at day ${ia}; allowed: > ${ia}`,
        );
      }
    }
    if (c.backup.retention.weekly.days < c.backup.retention.daily.days) {
      at(
        ["backup", "retention", "weekly", "days"],
        `weekly fulls (${c.backup.retention.weekly.days} d) must outlive the dailies that depend on them (${c.backup.retention.daily.days} d)`,
      );
    }
    if (c.backup.objectLock.enabled && c.backup.objectLock.days > shortest) {
      at(
        ["backup", "objectLock", "days"],
        `a lock of ${c.backup.objectLock.days} days outlasts the shortest expiration in the bucket (${shortest} days), so lifecycle deletes would fail; allowed: <= ${shortest}`,
      );
    }
    if (c.backup.objectLock.enabled && c.backup.storage.provider !== "aws") {
      at(
        ["backup", "objectLock", "enabled"],
        "object lock needs AWS S3 (provider aws); the dev S3 container cannot enforce it",
      );
    }
    if (c.monitoring.alerting.email && !c.secrets.alertSmtpPassword) {
      at(
        ["secrets", "alertSmtpPassword"],
        "e-mail alerting is configured but the SMTP password is missing: pulumi config set --secret --path 'jarvis:secrets.alertSmtpPassword' ...",
      );
    }
    if (c.monitoring.alerting.webhook && !c.secrets.alertWebhookUrl) {
      at(
        ["secrets", "alertWebhookUrl"],
        "webhook alerting is on but the URL is missing: pulumi config set --secret --path 'jarvis:secrets.alertWebhookUrl' https://...",
      );
    }
  });

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

function describe(issue: z.core.$ZodIssue): string {
  const secretPath = issue.path[0] === "secrets";
  const got = (x: unknown) => (secretPath ? "" : ` (got ${JSON.stringify(x)})`);
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? `required, missing; expected ${issue.expected}`
        : `wrong type: expected ${issue.expected}, got ${Array.isArray(issue.input) ? "array" : typeof issue.input}${got(issue.input)}`;
    case "too_small":
      return `too small: must be ${issue.inclusive === false ? ">" : ">="} ${String(issue.minimum)}${got(issue.input)}`;
    case "too_big":
      return `too big: must be ${issue.inclusive === false ? "<" : "<="} ${String(issue.maximum)}${got(issue.input)}`;
    case "invalid_value":
      if (issue.input === undefined)
        return `required, missing; allowed: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}${got(issue.input)}`;
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against README's config reference`;
    default:
      return `${issue.message}${issue.code === "custom" ? "" : got(issue.input)}`;
  }
}

function keyOf(path: PropertyKey[]): string {
  return (
    "jarvis:" +
    path
      .map((p) => (typeof p === "number" ? `[${p}]` : String(p)))
      .join(".")
      .replace(/\.\[/g, "[")
  );
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
