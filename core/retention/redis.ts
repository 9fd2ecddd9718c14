/**
 * Redis retention (A13). maxmemory and allkeys-lru are server settings (settings/redis.ts,
 * redis.conf); what a setting cannot do is give `temp:*` keys a TTL when the application forgot
 * one. This walks the keyspace with SCAN (never KEYS: it does not block the server) and sets
 * `EXPIRE key ttl NX` on matching keys, so a key that has a TTL keeps its own.
 */
/** The few commands used, so any node-redis client (or cluster client) fits. */
export interface RedisClient {
  info(section?: string): Promise<unknown>;
  dbSize(): Promise<number>;
  scanIterator(opts: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  ttl(key: string): Promise<number>;
  expire(key: string, seconds: number, mode?: "NX" | "XX" | "GT" | "LT"): Promise<number>;
}

export interface RedisRetentionReport {
  dryRun: boolean;
  pattern: string;
  ttlSeconds: number;
  /** Keys matching the pattern. */
  scanned: number;
  /** Of those, keys that had no TTL (and got one unless dry-run). */
  withoutTtl: number;
  expireSet: number;
  keysBefore: number;
  keysAfter: number;
  usedMemoryBefore: number;
  usedMemoryAfter: number;
  maxmemory: number;
  maxmemoryPolicy: string;
}

export interface RedisRetentionOptions {
  client: RedisClient;
  pattern: string;
  ttlSeconds: number;
  dryRun?: boolean;
  /** SCAN COUNT hint. */
  scanCount?: number;
}

async function memory(client: RedisClient): Promise<{ used: number; max: number; policy: string }> {
  const info = String(await client.info("memory"));
  const field = (k: string) => new RegExp(`^${k}:(.*)$`, "m").exec(info)?.[1]?.trim() ?? "";
  return {
    used: Number(field("used_memory")),
    max: Number(field("maxmemory")),
    policy: field("maxmemory_policy"),
  };
}

export async function redisRetention(opts: RedisRetentionOptions): Promise<RedisRetentionReport> {
  const { client } = opts;
  const before = await memory(client);
  const keysBefore = Number(await client.dbSize());
  let scanned = 0;
  let withoutTtl = 0;
  let expireSet = 0;
  for await (const keys of client.scanIterator({ MATCH: opts.pattern, COUNT: opts.scanCount ?? 1000 })) {
    scanned += keys.length;
    if (opts.dryRun) {
      const ttls = await Promise.all(keys.map((k) => client.ttl(k)));
      withoutTtl += ttls.filter((t) => Number(t) === -1).length;
    } else {
      const set = await Promise.all(keys.map((k) => client.expire(k, opts.ttlSeconds, "NX")));
      const n = set.filter((r) => Number(r) === 1).length;
      withoutTtl += n;
      expireSet += n;
    }
  }
  const after = await memory(client);
  return {
    dryRun: Boolean(opts.dryRun),
    pattern: opts.pattern,
    ttlSeconds: opts.ttlSeconds,
    scanned,
    withoutTtl,
    expireSet,
    keysBefore,
    keysAfter: Number(await client.dbSize()),
    usedMemoryBefore: before.used,
    usedMemoryAfter: after.used,
    maxmemory: after.max,
    maxmemoryPolicy: after.policy,
  };
}
