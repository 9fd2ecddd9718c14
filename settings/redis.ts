/**
 * Redis server settings (A13), generated once from config. The container's redis.conf and the
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
 * What the application may run: the data types, transactions, pub/sub, scripts by EVAL/FCALL and
 * its own connection; no command that blocks, wipes, reconfigures, stops or spies on the server.
 * Categories first, then the exceptions, left to right as Redis applies them.
 */
export const REDIS_APP_RULES = [
  "-@all",
  ...["read", "write", "keyspace", "string", "hash", "list", "set", "sortedset", "stream"].map(
    (c) => `+@${c}`,
  ),
  ...["bitmap", "hyperloglog", "geo", "pubsub", "transaction", "blocking", "scripting"].map((c) => `+@${c}`),
  // its own connection (AUTH, HELLO, SELECT, CLIENT SETNAME/ID/INFO/TRACKING...), minus the next line
  "+@connection",
  // removes FLUSHALL/FLUSHDB/SWAPDB, KEYS, CONFIG, DEBUG, SHUTDOWN, MONITOR, ACL, SAVE, REPLICAOF,
  // MIGRATE/RESTORE, and CLIENT PAUSE/UNPAUSE/KILL/NO-EVICT/LIST
  "-@admin",
  "-@dangerous",
  // read-only and slow but not harmful: client libraries ask INFO; SORT is a data command
  "+info",
  "+sort",
  "+sort_ro",
  // scripts may run (EVAL, EVALSHA, FCALL, SCRIPT LOAD), but not be wiped, killed or replaced
  "-script|flush",
  "-script|kill",
  ...["flush", "delete", "restore", "load", "kill"].map((s) => `-function|${s}`),
];

/**
 * What redis_exporter (oliver006) runs without check-keys: PING, INFO, CONFIG GET (databases,
 * maxmemory), SELECT and DBSIZE, SLOWLOG and LATENCY, MEMORY STATS, CLIENT SETNAME (it names its
 * connection). Its README's example grants all of CLIENT; CLIENT SETNAME is the only one it needs.
 * `jarvis-data status` and the healthcheck use PING, INFO and DBSIZE.
 */
export const REDIS_MONITOR_RULES = [
  "-@all",
  ...["ping", "info", "dbsize", "select", "config|get", "client|setname", "client|getname"].map(
    (c) => `+${c}`,
  ),
  ...["slowlog|get", "slowlog|len", "latency|latest", "latency|histogram", "memory|stats"].map(
    (c) => `+${c}`,
  ),
];

/** What core/backup/redis.ts runs: INFO keyspace, then REPLCONF rdb-only and SYNC (the RDB stream). */
export const REDIS_BACKUP_RULES = ["-@all", "+ping", "+info", "+replconf", "+sync"];

/**
 * ACL users (A13 and least privilege). `default` is off. `admin` may do anything (restores,
 * operators). `app`, `backup` and `monitor` get exactly the rules above; `backup` and `monitor`
 * touch no key and no channel.
 */
export function redisAclUsers(pw: RedisPasswords): string[] {
  return [
    "user default off resetchannels -@all",
    `user admin on #${sha256(pw.admin)} ~* &* +@all`,
    `user app on #${sha256(pw.app)} ~* &* ${REDIS_APP_RULES.join(" ")}`,
    `user backup on #${sha256(pw.backup)} resetchannels ${REDIS_BACKUP_RULES.join(" ")}`,
    `user monitor on #${sha256(pw.monitor)} resetchannels ${REDIS_MONITOR_RULES.join(" ")}`,
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
