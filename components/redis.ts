import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { STORE_IGNORED_CHANGES } from "../settings/containers.ts";
import {
  REDIS_CONF_PATH,
  REDIS_MONITOR_PASSWORD_FILE,
  REDIS_UID,
  redisAclUsers,
  type RedisPasswords,
} from "../settings/redis.ts";
import { REDIS_HOST, REDIS_PORT, type Published, type RedisServerSpec } from "../settings/stores.ts";

export { REDIS_HOST, REDIS_PORT };

export interface RedisArgs {
  /** What the server is: image, redis.conf, limits, ports, kept storage (settings/stores.ts redisServerSpec). */
  spec: RedisServerSpec;
  /** The private network the stores and the ops containers share. */
  network: pulumi.Input<string>;
  /** Passwords of the ACL users admin, app, backup and monitor (secrets). */
  passwords: { [K in keyof RedisPasswords]: pulumi.Input<string> };
}

/**
 * Redis 7 with AOF (everysec) plus RDB snapshots, bounded memory (A13) and ACL users. The
 * redis.conf is settings/redis.ts's, the same one the tests boot a real server with; it holds
 * password hashes only, and is uploaded as a file readable by the redis user alone.
 */
export class RedisServer extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  /** Name of the data volume (kept on `pulumi destroy`, protected in prod). */
  public readonly volumeName: pulumi.Output<string>;
  public readonly host: string = REDIS_HOST;
  public readonly port: number = REDIS_PORT;
  public readonly published: Published;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:cache:RedisServer", name, {}, opts);
    const { spec } = args;
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: spec.image, keepLocally: true },
      { parent: this },
    );
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `${name}-data`, labels: spec.container.labels },
      { parent: this, ...spec.keep },
    );
    const container = new docker.Container(
      name,
      {
        name,
        image: image.imageId,
        command: ["redis-server", REDIS_CONF_PATH],
        uploads: redisUploads(spec, args.passwords),
        volumes: [{ volumeName: volume.name, containerPath: "/data" }],
        networksAdvanced: [{ name: args.network, aliases: [REDIS_HOST] }],
        healthcheck: spec.healthcheck,
        // restart, json-file log rotation (A12), labels, limits, ports, stop and destroy grace
        // (time to write the AOF and the RDB, also on a replacement).
        ...spec.container,
        wait: true,
        waitTimeout: 180,
      },
      { parent: this, ignoreChanges: STORE_IGNORED_CHANGES },
    );
    this.containerName = container.name;
    this.volumeName = volume.name;
    this.published = spec.published;
    this.registerOutputs({
      containerName: this.containerName,
      volumeName: this.volumeName,
      host: this.host,
      port: this.port,
      published: this.published,
    });
  }
}

/** redis.conf (hashes only, but derived from secrets: secret, redis alone) and the monitor's password for the healthcheck (root). */
function redisUploads(spec: RedisServerSpec, p: RedisArgs["passwords"]) {
  const conf = pulumi
    .all([p.admin, p.app, p.backup, p.monitor])
    .apply(([admin, app, backup, monitor]) => spec.conf(redisAclUsers({ admin, app, backup, monitor })));
  return [
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
  ];
}
