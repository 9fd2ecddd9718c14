/**
 * What the PostgreSQL and Redis containers are, as plain data from the config: the components
 * (components/postgres.ts, redis.ts) only turn these into resources. The server flags come from the
 * same functions the test harness boots its servers with (settings parity).
 */
import type { JarvisConfig } from "../config/schema.ts";
import {
  containerCommon,
  containerLimits,
  healthcheckTiming,
  publishedPorts,
  stopTimeouts,
  type ContainerCommon,
} from "./containers.ts";
import { keepOptions, type KeepOptions } from "./keep.ts";
import { pgbackrestConf } from "./pgbackrest.ts";
import {
  POSTGRES_DATA_DIR,
  POSTGRES_PASSWORD_FILE,
  postgresArgs,
  postgresHealthcheck,
  postgresImageBuildArgs,
  postgresInitdbArgs,
  postgresSettings,
} from "./postgres.ts";
import { redisConfig, redisHealthcheck } from "./redis.ts";

/** Network alias and port of PostgreSQL on the stack's private network. */
export const POSTGRES_HOST = "postgres";
export const POSTGRES_PORT = 5432;
/** The server's Unix socket directory (the official image's). */
export const POSTGRES_SOCKET_DIR = "/var/run/postgresql";
export const REDIS_HOST = "redis";
export const REDIS_PORT = 6379;

/** Where a store's host port is published, when config publishes one. */
export type Published = { host: string; port: number } | undefined;

function published(cfg: JarvisConfig, service: keyof JarvisConfig["ports"]["publish"]): Published {
  const port = cfg.ports.publish[service];
  return port === undefined ? undefined : { host: cfg.ports.bindAddress, port };
}

/** The container fields every store shares: restart, logs, labels, stop and destroy grace, limits, ports. */
export interface StoreContainer extends ContainerCommon {
  /** Seconds Docker waits after the stop signal before SIGKILL; destroyGraceSeconds covers it. */
  stopTimeout: number;
  memory: number;
  memorySwap: number;
  cpus: string;
  ports: ReturnType<typeof publishedPorts>;
}

function storeContainer(
  cfg: JarvisConfig,
  stack: string,
  service: "postgres" | "redis",
  port: number,
): StoreContainer {
  return {
    ...containerCommon(cfg, stack, service),
    stopTimeout: stopTimeouts(service).stopTimeout,
    ...containerLimits(cfg[service].memoryMb, cfg[service].cpus),
    ports: publishedPorts(cfg, service, port),
  };
}

export interface PostgresServerSpec {
  /** Local image name:tag (no registry); the tag names the pinned versions. */
  imageName: string;
  /** Build arguments of docker/postgres/Dockerfile and the platform (jarvis:docker.platform). */
  build: { args: Record<string, string>; platform: string };
  command: string[];
  envs: string[];
  database: string;
  container: StoreContainer;
  healthcheck: { tests: string[] } & ReturnType<typeof healthcheckTiming>;
  /** Docker's 64 MB /dev/shm is too small for parallel queries and index builds. */
  shmSize: number;
  published: Published;
  keep: KeepOptions;
  /** pgBackRest's config (no secrets) for a repository bucket, from settings/pgbackrest.ts. */
  pgbackrestConf: (repo: {
    bucket: string;
    endpoint: string;
    uriStyle: "path" | "host";
    caFile?: string;
  }) => string;
}

export function postgresServerSpec(cfg: JarvisConfig, stack: string): PostgresServerSpec {
  const build = postgresImageBuildArgs(cfg);
  return {
    imageName: `jarvis-data/postgres:pg16-cron${build.PG_CRON_VERSION}-partman${build.PG_PARTMAN_VERSION}-pgbackrest${build.PGBACKREST_VERSION}`,
    build: { args: build, platform: cfg.docker.platform },
    command: ["postgres", ...postgresArgs(postgresSettings(cfg))],
    envs: [
      `POSTGRES_PASSWORD_FILE=${POSTGRES_PASSWORD_FILE}`,
      `POSTGRES_DB=${cfg.postgres.database}`,
      `POSTGRES_INITDB_ARGS=${postgresInitdbArgs()}`,
      `PGDATA=${POSTGRES_DATA_DIR}`,
    ],
    database: cfg.postgres.database,
    container: storeContainer(cfg, stack, "postgres", POSTGRES_PORT),
    healthcheck: { tests: postgresHealthcheck(cfg), ...healthcheckTiming("60s") },
    shmSize: Math.min(1024, Math.max(128, cfg.postgres.sharedBuffersMb)),
    published: published(cfg, "postgres"),
    keep: keepOptions(cfg.environment),
    pgbackrestConf: (repo) =>
      pgbackrestConf(cfg, {
        pgPath: POSTGRES_DATA_DIR,
        pgSocketPath: POSTGRES_SOCKET_DIR,
        repo: { type: "s3", region: cfg.backup.storage.region, ...repo },
      }),
  };
}

export interface RedisServerSpec {
  image: string;
  container: StoreContainer;
  healthcheck: { tests: string[] } & ReturnType<typeof healthcheckTiming>;
  published: Published;
  keep: KeepOptions;
  /** redis.conf for the ACL lines (password hashes), from settings/redis.ts. */
  conf: (users: string[]) => string;
}

export function redisServerSpec(cfg: JarvisConfig, stack: string): RedisServerSpec {
  return {
    image: cfg.redis.image,
    container: storeContainer(cfg, stack, "redis", REDIS_PORT),
    healthcheck: { tests: redisHealthcheck({ port: REDIS_PORT }), ...healthcheckTiming("20s") },
    published: published(cfg, "redis"),
    keep: keepOptions(cfg.environment),
    conf: (users) => redisConfig(cfg, { port: REDIS_PORT, dir: "/data", users }).join("\n") + "\n",
  };
}
