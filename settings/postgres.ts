/**
 * PostgreSQL server settings, generated once from config. The container's command line and the
 * test harness's local server both come from `postgresArgs`, so the tests prove these settings boot.
 */
import type { JarvisConfig } from "../config/schema.ts";

export interface PostgresSettingsOptions {
  /** Listen address: '*' inside the container's private network, 127.0.0.1 for a local server. */
  listenAddresses?: string;
  port?: number;
  /** Directory of the Unix socket (the harness uses its temp dir). */
  socketDir?: string;
  /** archive_command; the container's default pushes WAL to pgBackRest. */
  archiveCommand?: string;
  /** pgBackRest stanza used by the default archive_command. */
  stanza?: string;
}

/** GUC name -> value. Values are plain strings, exactly what `-c name=value` receives. */
export function postgresSettings(
  cfg: JarvisConfig,
  opts: PostgresSettingsOptions = {},
): Record<string, string> {
  const pg = cfg.postgres;
  const stanza = opts.stanza ?? "jarvis";
  return {
    listen_addresses: opts.listenAddresses ?? "*",
    port: String(opts.port ?? 5432),
    ...(opts.socketDir ? { unix_socket_directories: opts.socketDir } : {}),
    max_connections: String(pg.maxConnections),
    shared_buffers: `${pg.sharedBuffersMb}MB`,
    work_mem: `${pg.workMemMb}MB`,
    maintenance_work_mem: `${pg.maintenanceWorkMemMb}MB`,
    password_encryption: "scram-sha-256",
    // pg_cron schedules the jobs; pg_stat_statements feeds monitoring.
    shared_preload_libraries: "pg_cron,pg_stat_statements",
    "cron.database_name": pg.database,
    // Jobs run in background workers, so pg_cron needs no password and no loopback login.
    "cron.use_background_workers": "on",
    max_worker_processes: "16",
    "cron.max_running_jobs": "4",
    timezone: "UTC",
    "cron.timezone": "UTC",
    // WAL archiving for point-in-time recovery: a segment is shipped at least every archive_timeout.
    wal_level: "replica",
    archive_mode: "on",
    archive_timeout: String(pg.archiveTimeoutSeconds),
    archive_command: opts.archiveCommand ?? `pgbackrest --stanza=${stanza} archive-push %p`,
    max_wal_senders: "4",
    wal_compression: "on",
    // Logs go to stderr, which Docker's json-file driver rotates (A12).
    logging_collector: "off",
    log_line_prefix: "%m [%p] %q%u@%d ",
    log_min_duration_statement: "1000",
    log_lock_waits: "on",
    log_checkpoints: "on",
  };
}

/** `-c name=value` pairs for the `postgres` binary. */
export function postgresArgs(settings: Record<string, string>): string[] {
  return Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
}

/** Where the image keeps the cluster; the stack's named volume is mounted here. */
export const POSTGRES_DATA_DIR = "/var/lib/postgresql/data";
/** The superuser's password file inside the container (POSTGRES_PASSWORD_FILE). */
export const POSTGRES_PASSWORD_FILE = "/run/secrets/postgres_password";
/** UID/GID of `postgres` in the Debian-based image (the Dockerfile asserts it). */
export const POSTGRES_UID = "999";

/** Build arguments of docker/postgres/Dockerfile: the pinned extension versions from config. */
export function postgresImageBuildArgs(cfg: JarvisConfig): Record<string, string> {
  return {
    BASE_IMAGE: cfg.postgres.baseImage,
    PG_CRON_VERSION: cfg.postgres.pgCronVersion,
    PG_PARTMAN_VERSION: cfg.postgres.pgPartmanVersion,
    PGBACKREST_VERSION: cfg.postgres.pgBackRestVersion,
  };
}

/**
 * initdb options of the image's entrypoint: SCRAM for every TCP login, peer (OS user = role) on
 * the Unix socket, which only processes inside the container can reach.
 */
export function postgresInitdbOptions(): string[] {
  return [
    "--auth-host=scram-sha-256",
    "--auth-local=peer",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
    "--data-checksums",
  ];
}

/** The same, as the image's POSTGRES_INITDB_ARGS. */
export function postgresInitdbArgs(): string {
  return postgresInitdbOptions().join(" ");
}

/** The container's healthcheck: the server accepts TCP connections to the app database. */
export function postgresHealthcheck(
  cfg: JarvisConfig,
  opts: { port?: number; host?: string; bin?: string } = {},
): string[] {
  return [
    "CMD",
    opts.bin ?? "pg_isready",
    "-q",
    "-h",
    opts.host ?? "127.0.0.1",
    "-p",
    String(opts.port ?? 5432),
    "-U",
    "postgres",
    "-d",
    cfg.postgres.database,
  ];
}
