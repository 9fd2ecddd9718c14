/** A20 Redis figures, read from a live server: up, memory used and peak, key count. */
import { createClient } from "redis";
import { redactText } from "../log.ts";

export type RedisStatus =
  | {
      up: true;
      version: string;
      usedMemoryBytes: number;
      usedMemoryPeakBytes: number;
      /** maxmemory (0: unbounded). */
      maxMemoryBytes: number;
      keys: number;
      /** Keys per database (db0, db1, ...). */
      keysPerDb: Record<string, number>;
    }
  | { up: false; error: string };

/** INFO's `key:value` lines. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** Reads INFO with `url` (the `monitor` ACL user is enough). Never throws: a dead server is `{ up: false }`. */
export async function redisStatus(url: string, opts: { timeoutMs?: number } = {}): Promise<RedisStatus> {
  const timeout = opts.timeoutMs ?? 5000;
  const client = createClient({ url, socket: { connectTimeout: timeout, reconnectStrategy: false } });
  client.on("error", () => {});
  try {
    await client.connect();
    const info = parseInfo(await client.info());
    const keysPerDb: Record<string, number> = {};
    for (const [k, v] of Object.entries(info)) {
      const m = /^db(\d+)$/.exec(k);
      const keys = /(?:^|,)keys=(\d+)/.exec(v);
      if (m && keys) keysPerDb[k] = Number(keys[1]);
    }
    return {
      up: true,
      version: info.redis_version ?? "unknown",
      usedMemoryBytes: Number(info.used_memory ?? 0),
      usedMemoryPeakBytes: Number(info.used_memory_peak ?? 0),
      maxMemoryBytes: Number(info.maxmemory ?? 0),
      keys: Object.values(keysPerDb).reduce((a, b) => a + b, 0),
      keysPerDb,
    };
  } catch (e) {
    return { up: false, error: redactText((e as Error).message || String(e)) };
  } finally {
    if (client.isOpen) await client.quit().catch(() => client.destroy());
  }
}
