/**
 * Connection settings, from the usual environment variables. This is the only place below
 * bin/ that reads the environment; everything in core/ takes explicit inputs.
 */
import { existsSync, readFileSync } from "node:fs";
import { PgBackRest } from "../core/backup/pgbackrest.ts";
import { osUser } from "../core/backup/proc.ts";
import { BackupStore } from "../core/backup/store.ts";
import { UsageError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { createProgress, type Progress, type ProgressUnit } from "../core/progress.ts";
import type { OpsDeps } from "../core/ops/jobs.ts";

export interface Connections {
  /** DATABASE_URL (or the file JARVIS_DATABASE_URL_FILE names: how containers get it), or one built from PG*. */
  databaseUrl?: string;
  /** JARVIS_MIGRATE_OWNER_URL (or _FILE): `migrate apply|down` run the non-superuser files logged in as it. */
  migrateOwnerUrl?: string;
  /** JARVIS_ENVIRONMENT (dev | prod), set in the stack's containers; guards destructive commands. */
  environment?: string;
  redisUrl?: string;
  chromaUrl?: string;
  chromaToken?: string;
  /** JARVIS_OPS_URL: the ops agent (its /metrics tells the last backup and drill). */
  opsUrl?: string;
  /** JARVIS_DOCKER_URL: the Docker API (a read-only socket proxy) the agent reads container states from. */
  dockerUrl?: string;
  /** JARVIS_PROMETHEUS_URL: Prometheus, for the 30-day availability `status` shows. */
  prometheusUrl?: string;
  /** The ops agent's day-2 inputs: the log files, Chroma's data directory, a Redis URL for the temp-key sweep. */
  logsDir?: string;
  chromaDataDir?: string;
  redisRetentionUrl?: string;
  /** JARVIS_ROLE_PASSWORDS_DIR and PGPASSWORD_FILE: how the roles job receives its secrets, as files. */
  rolePasswordsDir?: string;
  pgPasswordFile?: string;
  s3: {
    endpoint?: string;
    bucket?: string;
    region: string;
    accessKeyId?: string;
    secretAccessKey?: string;
  };
}

export function connectionsFromEnv(env: NodeJS.ProcessEnv = process.env): Connections {
  let databaseUrl = env.JARVIS_DATABASE_URL_FILE
    ? fileValue("JARVIS_DATABASE_URL_FILE", env)
    : env.DATABASE_URL;
  if (!databaseUrl && (env.PGHOST || env.PGDATABASE || env.PGUSER)) {
    const u = new URL("postgresql://localhost");
    u.hostname = env.PGHOST ?? "localhost";
    u.port = env.PGPORT ?? "5432";
    u.username = env.PGUSER ?? "postgres";
    if (env.PGPASSWORD) u.password = env.PGPASSWORD;
    u.pathname = `/${env.PGDATABASE ?? "jarvis"}`;
    databaseUrl = u.toString();
  }
  return {
    databaseUrl,
    environment: env.JARVIS_ENVIRONMENT,
    migrateOwnerUrl: envValue("JARVIS_MIGRATE_OWNER_URL", env),
    redisUrl: env.REDIS_URL,
    chromaUrl: env.CHROMA_URL,
    chromaToken: env.CHROMA_TOKEN,
    opsUrl: env.JARVIS_OPS_URL,
    dockerUrl: env.JARVIS_DOCKER_URL,
    prometheusUrl: env.JARVIS_PROMETHEUS_URL,
    logsDir: env.JARVIS_LOGS_DIR,
    chromaDataDir: env.JARVIS_CHROMA_DATA_DIR,
    redisRetentionUrl: envValue("JARVIS_REDIS_RETENTION_URL", env) ?? env.REDIS_URL,
    rolePasswordsDir: env.JARVIS_ROLE_PASSWORDS_DIR,
    pgPasswordFile: env.PGPASSWORD_FILE,
    s3: {
      endpoint: env.JARVIS_S3_ENDPOINT,
      bucket: env.JARVIS_BACKUP_BUCKET,
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    },
  };
}

/** The value, or a usage error naming the variable to set. */
export function need<T>(value: T | undefined, variable: string, example: string): T {
  if (value === undefined || value === "")
    throw new UsageError(`${variable} is not set; set it, e.g. ${variable}=${example}`);
  return value;
}

/**
 * The content of the file `variable` names (how containers receive secrets). A variable naming a
 * file that is not there is a usage error, never a silent fallback: a missing manifest key file
 * would otherwise turn signature checks off, and a missing URL file point at another server.
 */
function fileValue(variable: string, env: NodeJS.ProcessEnv): string {
  const file = env[variable]!;
  if (!existsSync(file))
    throw new UsageError(
      `${variable} names ${file}, which does not exist; mount the file there or unset ${variable}`,
    );
  return readFileSync(file, "utf8").trim();
}

/** NAME, or the content of the file NAME_FILE names. */
export function envValue(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[`${name}_FILE`]) return fileValue(`${name}_FILE`, env);
  return env[name] || undefined;
}

export function storeFromEnv(c: Connections, log: Logger, env: NodeJS.ProcessEnv = process.env): BackupStore {
  return new BackupStore({
    endpoint: c.s3.endpoint,
    bucket: need(c.s3.bucket, "JARVIS_BACKUP_BUCKET", "jarvis-dev-backups"),
    region: c.s3.region,
    accessKeyId: c.s3.accessKeyId ?? envValue("AWS_ACCESS_KEY_ID", env),
    secretAccessKey: c.s3.secretAccessKey ?? envValue("AWS_SECRET_ACCESS_KEY", env),
    prefix: env.JARVIS_BACKUP_PREFIX ?? "",
    attempts: env.JARVIS_S3_ATTEMPTS ? Number(env.JARVIS_S3_ATTEMPTS) : undefined,
    manifestKey: envValue("JARVIS_MANIFEST_KEY", env),
    log,
  });
}

/**
 * A progress line per long step, on stderr: drawn on a TTY (or when JARVIS_PROGRESS=1 forces
 * it), never under --json or JARVIS_PROGRESS=0, so machine output never changes.
 */
export function progressFromEnv(
  json: boolean,
  env: NodeJS.ProcessEnv = process.env,
): (label: string, unit?: ProgressUnit) => Progress {
  const forced = env.JARVIS_PROGRESS === "1" ? true : env.JARVIS_PROGRESS === "0" ? false : undefined;
  return (label, unit = "bytes") => createProgress({ label, unit, enabled: json ? false : forced });
}

/** Everything the backup, restore, verify, drill and agent commands read from the environment. */
export function opsFromEnv(
  ctx: { env: Connections; log: Logger; json?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): OpsDeps {
  const c = ctx.env;
  const pgbrPath = env.JARVIS_PGBACKREST_CONFIG_PATH;
  const runAs = process.getuid?.() === 0 ? osUser(env.JARVIS_PGBACKREST_USER ?? "postgres") : undefined;
  return {
    store: storeFromEnv(c, ctx.log, env),
    postgresUrl: c.databaseUrl,
    redisBackupUrl: envValue("JARVIS_REDIS_BACKUP_URL", env) ?? envValue("REDIS_URL", env) ?? c.redisUrl,
    chroma: c.chromaUrl
      ? {
          url: c.chromaUrl,
          token: c.chromaToken ?? envValue("CHROMA_TOKEN", env),
          database: env.JARVIS_CHROMA_DATABASE,
        }
      : undefined,
    pgbackrest: pgbrPath
      ? new PgBackRest({
          configPath: pgbrPath,
          stanza: env.JARVIS_PGBACKREST_STANZA ?? "jarvis",
          ...runAs,
          log: ctx.log,
        })
      : undefined,
    stateFile: env.JARVIS_OPS_STATE,
    jobs: env.JARVIS_BACKUP_JOBS ? Number(env.JARVIS_BACKUP_JOBS) : undefined,
    logsDir: c.logsDir || undefined,
    environment: c.environment,
    progress: progressFromEnv(Boolean(ctx.json), env),
    log: ctx.log,
  };
}
