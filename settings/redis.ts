/**
 * Redis server settings (S13), generated once from config. The container's redis.conf and the
 * test harness's local server both come from `redisConfig`, so the tests prove the settings boot.
 */
import type { JarvisConfig } from "../config/schema.ts";

export interface RedisSettingsOptions {
  bind?: string;
  port?: number;
  dir?: string;
  /** ACL lines (`user ...`), from `redisAclUsers`. */
  users?: string[];
}

/** redis.conf lines. Passwords only ever appear as SHA-256 hashes (`#<hex>`). */
export function redisConfig(cfg: JarvisConfig, opts: RedisSettingsOptions = {}): string[] {
  const r = cfg.redis;
  return [
    `bind ${opts.bind ?? "0.0.0.0"}`,
    `port ${opts.port ?? 6379}`,
    "protected-mode yes",
    `dir ${opts.dir ?? "/data"}`,
    "appendonly yes",
    `appendfsync ${r.appendfsync}`,
    'appendfilename "appendonly.aof"',
    `save "${r.save.map(([s, n]) => `${s} ${n}`).join(" ")}"`,
    "dbfilename dump.rdb",
    `maxmemory ${r.maxmemoryMb}mb`,
    `maxmemory-policy ${r.maxmemoryPolicy}`,
    ...(opts.users ?? []),
  ];
}

import { createHash } from "node:crypto";

/** Passwords of the Redis ACL users. */
export interface RedisPasswords {
  admin: string;
  app: string;
  backup: string;
  monitor: string;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * ACL users (S13 and least privilege). `default` is off. `app` may use every data command but
 * none that wipes, reconfigures or stops the server. `backup` may only take a snapshot over the
 * replication protocol. `monitor` reads INFO and key counts for the exporter.
 */
export function redisAclUsers(pw: RedisPasswords): string[] {
  return [
    "user default off resetchannels -@all",
    `user admin on #${sha256(pw.admin)} ~* &* +@all`,
    `user app on #${sha256(pw.app)} ~* &* +@all -@admin -@dangerous +info +keys +sort +sort_ro +type +scan +ttl +pttl +expire +persist`,
    `user backup on #${sha256(pw.backup)} resetchannels -@all +ping +info +sync +psync +replconf +lastsave`,
    `user monitor on #${sha256(pw.monitor)} resetchannels -@all +@connection +ping +info +dbsize +config|get +client|list +slowlog|get +slowlog|len +latency|latest +memory|stats +scan +type +strlen +llen +scard +zcard +hlen +xlen +pfcount +select`,
  ];
}

/** Where the container reads its generated config. */
export const REDIS_CONF_PATH = "/usr/local/etc/redis/redis.conf";
/** The monitor user's password file, read by the healthcheck only. */
export const REDIS_MONITOR_PASSWORD_FILE = "/run/secrets/redis_monitor_password";
/** UID/GID of `redis` in the Debian-based official image. */
export const REDIS_UID = "999";

/**
 * The container's healthcheck: PING as the `monitor` user (`default` is off). The password is
 * read from a file into REDISCLI_AUTH of that one shell, so it is in no container env and no argv.
 */
export function redisHealthcheck(
  opts: { port?: number; passwordFile?: string; cli?: string } = {},
): string[] {
  const file = opts.passwordFile ?? REDIS_MONITOR_PASSWORD_FILE;
  return [
    "CMD",
    "sh",
    "-c",
    `REDISCLI_AUTH="$(cat '${file}')" ${opts.cli ?? "redis-cli"} --no-auth-warning --user monitor -h 127.0.0.1 -p ${opts.port ?? 6379} ping | grep -qx PONG`,
  ];
}
