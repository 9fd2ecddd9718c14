import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { JarvisConfig } from "../config/schema.ts";
import {
  containerCommon,
  containerLimits,
  healthcheckTiming,
  publishedPorts,
} from "../settings/containers.ts";
import {
  REDIS_CONF_PATH,
  REDIS_MONITOR_PASSWORD_FILE,
  REDIS_UID,
  redisAclUsers,
  redisConfig,
  redisHealthcheck,
  type RedisPasswords,
} from "../settings/redis.ts";

export const REDIS_HOST = "redis";
export const REDIS_PORT = 6379;

export interface RedisArgs {
  /** The validated stack config. */
  config: JarvisConfig;
  /** The stack's name, for labels. */
  stack: string;
  /** The private network the stores and the ops containers share. */
  network: pulumi.Input<string>;
  /** Passwords of the ACL users admin, app, backup and monitor (secrets). */
  passwords: { [K in keyof RedisPasswords]: pulumi.Input<string> };
}

/**
 * Redis 7 with AOF (everysec) plus RDB snapshots, bounded memory (S13) and ACL users. The
 * redis.conf is settings/redis.ts's, the same one the tests boot a real server with; it holds
 * password hashes only, and is uploaded as a file readable by the redis user alone.
 */
export class RedisServer extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly volumeName: pulumi.Output<string>;
  public readonly host: string = REDIS_HOST;
  public readonly port: number = REDIS_PORT;
  public readonly published: { host: string; port: number } | undefined;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:cache:RedisServer", name, {}, opts);
    const cfg = args.config;
    const common = containerCommon(cfg, args.stack, "redis");
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: cfg.redis.image, keepLocally: true },
      { parent: this },
    );
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `${name}-data`, labels: common.labels },
      { parent: this, retainOnDelete: true },
    );
    const p = args.passwords;
    const conf = pulumi.all([p.admin, p.app, p.backup, p.monitor]).apply(
      ([admin, app, backup, monitor]) =>
        redisConfig(cfg, {
          port: REDIS_PORT,
          dir: "/data",
          users: redisAclUsers({ admin, app, backup, monitor }),
        }).join("\n") + "\n",
    );
    const container = new docker.Container(
      name,
      {
        name,
        image: image.imageId,
        command: ["redis-server", REDIS_CONF_PATH],
        uploads: [
          // Hashes only, but derived from secrets: kept secret and readable by redis alone.
          {
            file: REDIS_CONF_PATH,
            content: pulumi.secret(conf),
            owner: REDIS_UID,
            group: REDIS_UID,
            permissions: "0400",
          },
          // For the healthcheck, which runs as root; never in the env or on a command line.
          {
            file: REDIS_MONITOR_PASSWORD_FILE,
            content: pulumi.secret(p.monitor),
            owner: "0",
            group: "0",
            permissions: "0400",
          },
        ],
        volumes: [{ volumeName: volume.name, containerPath: "/data" }],
        networksAdvanced: [{ name: args.network, aliases: [REDIS_HOST] }],
        ports: publishedPorts(cfg, "redis", REDIS_PORT),
        healthcheck: { tests: redisHealthcheck({ port: REDIS_PORT }), ...healthcheckTiming("20s") },
        ...containerLimits(cfg.redis.memoryMb, cfg.redis.cpus),
        stopTimeout: 60,
        // restart policy, json-file log rotation (S12), labels
        ...common,
        wait: true,
        waitTimeout: 180,
      },
      { parent: this },
    );
    this.containerName = container.name;
    this.volumeName = volume.name;
    const hostPort = cfg.ports.publish.redis;
    this.published = hostPort === undefined ? undefined : { host: cfg.ports.bindAddress, port: hostPort };
    this.registerOutputs({ containerName: this.containerName, volumeName: this.volumeName });
  }
}
