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
