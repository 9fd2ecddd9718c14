/**
 * `adopt redis --from <redis URL | dump.rdb>`: every key of the old Redis lands in the stack's,
 * with its expiry. An RDB file is served by a throwaway redis-server on a copy of it (serveRdb,
 * shared with the restores). Keys move with DUMP / RESTORE ... ABSTTL, so a key keeps its
 * absolute expiry, not one reset by the copy's duration. A key already there with the same
 * payload and expiry is left alone, so a second run writes nothing. The counts are verified: per
 * database, every source key is in the target (or expired since), with the same expiry.
 */
import { existsSync } from "node:fs";
import { createClient, RESP_TYPES } from "redis";
import { serveRdb } from "../backup/redis.ts";
import { EXIT } from "../errors.ts";
import { redactText, silentLogger, type Logger } from "../log.ts";
import { AdoptError } from "./errors.ts";

export interface AdoptRedisOptions {
  /** redis[s]://user:pass@host:port of the old server, or the path of its dump.rdb. */
  from: string;
  /** The stack's Redis, as its admin user (REDIS_URL). */
  target: string;
  /** Add to a target that holds keys the source does not have. */
  force?: boolean;
  /** Keys per SCAN / pipeline. */
  batch?: number;
  log?: Logger;
}

export interface AdoptRedisDb {
  source: number;
  imported: number;
  /** Already in the target with the same payload and expiry (a re-run). */
  unchanged: number;
  /** Gone from the source (expired) between the scan and the copy, or expired since. */
  expired: number;
  /** Keys with an expiry, all of which must arrive with the same one. */
  withTtl: number;
  countsMatch: boolean;
}

export interface AdoptRedisResult {
  from: string;
  databases: Record<string, AdoptRedisDb>;
  mismatches: string[];
  seconds: number;
}

const BUF = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;
function newClient(url: string, database: number) {
  return createClient({ url, database, socket: { reconnectStrategy: false, connectTimeout: 10_000 } });
}
type Client = ReturnType<typeof newClient>;

async function open(url: string, database: number, role: "source" | "target"): Promise<Client> {
  const c = newClient(url, database);
  c.on("error", () => {});
  try {
    await c.connect();
  } catch (e) {
    throw new AdoptError(
      role === "source" ? "JARVIS_ADOPT_SOURCE_UNREACHABLE" : "JARVIS_ADOPT_TARGET_UNREACHABLE",
      `the ${role} Redis at ${redactText(url)} is unreachable (${(e as Error).message}); ${role === "source" ? "check --from (host, port, user, password) or give the path of a dump.rdb" : "check REDIS_URL (the stack's admin user) and that its Redis runs"}`,
      EXIT.unavailable,
    );
  }
  return c;
}

/** Databases holding keys, from INFO keyspace. */
async function databases(c: Client): Promise<number[]> {
  const info = String(await c.sendCommand(["INFO", "keyspace"]));
  return [...info.matchAll(/^db(\d+):keys=(\d+)/gm)].filter((m) => Number(m[2]) > 0).map((m) => Number(m[1]));
}

async function allKeys(c: Client, count: number): Promise<Buffer[]> {
  const seen = new Map<string, Buffer>();
  const b = c.withTypeMapping(BUF);
  let cursor = "0";
  do {
    const [next, keys] = (await b.sendCommand(["SCAN", cursor, "COUNT", String(count)])) as [
      Buffer,
      Buffer[],
    ];
    cursor = next.toString();
    for (const k of keys) seen.set(k.toString("hex"), k);
  } while (cursor !== "0");
  return [...seen.values()];
}

interface Entry {
  key: Buffer;
  payload: Buffer | null;
  /** Absolute expiry in ms, -1 for none. */
  expireAt: number;
}

async function dumpAll(c: Client, keys: Buffer[]): Promise<Entry[]> {
  const b = c.withTypeMapping(BUF);
  return Promise.all(
    keys.map(async (key) => {
      const [payload, at] = await Promise.all([
        b.sendCommand(["DUMP", key]) as Promise<Buffer | null>,
        c.sendCommand(["PEXPIRETIME", key]) as Promise<number>,
      ]);
      return { key, payload, expireAt: Number(at) };
    }),
  );
}

/** Keys of the target that the source lacks, per database: refused unless --force. */
async function foreignKeys(source: Client, target: Client, batch: number): Promise<number> {
  const keys = await allKeys(target, batch);
  const exists = await Promise.all(keys.map((k) => source.sendCommand(["EXISTS", k]) as Promise<number>));
  return exists.filter((x) => Number(x) === 0).length;
}

async function copyDb(source: Client, target: Client, batch: number): Promise<AdoptRedisDb> {
  const keys = await allKeys(source, batch);
  const r: AdoptRedisDb = {
    source: keys.length,
    imported: 0,
    unchanged: 0,
    expired: 0,
    withTtl: 0,
    countsMatch: false,
  };
  const copied: Entry[] = [];
  for (let i = 0; i < keys.length; i += batch) {
    const entries = await dumpAll(source, keys.slice(i, i + batch));
    const there = await dumpAll(
      target,
      entries.map((e) => e.key),
    );
    await Promise.all(
      entries.map(async (e, j) => {
        if (!e.payload) return void r.expired++;
        if (e.expireAt > 0) r.withTtl++;
        copied.push(e);
        const t = there[j]!;
        if (t.payload?.equals(e.payload) && t.expireAt === e.expireAt) return void r.unchanged++;
        await target.sendCommand(
          e.expireAt > 0
            ? ["RESTORE", e.key, String(e.expireAt), e.payload, "REPLACE", "ABSTTL"]
            : ["RESTORE", e.key, "0", e.payload, "REPLACE"],
        );
        r.imported++;
      }),
    );
  }
  // Verification: every copied key is there with its expiry, unless that expiry has passed.
  const now = Date.now();
  const check = await dumpAll(
    target,
    copied.map((e) => e.key),
  );
  let present = 0;
  check.forEach((t, i) => {
    const e = copied[i]!;
    if (t.payload && t.expireAt === e.expireAt) present++;
    else if (!t.payload && e.expireAt > 0 && e.expireAt <= now) r.expired++;
  });
  r.countsMatch = present + r.expired === r.source;
  return r;
}

/** The source as a URL: a dump.rdb is served by a throwaway redis-server on a copy. */
async function sourceUrl(from: string): Promise<{ url: string; stop(): Promise<void> }> {
  if (/^rediss?:\/\//.test(from)) return { url: from, stop: async () => {} };
  if (!existsSync(from))
    throw new AdoptError(
      "JARVIS_ADOPT_BAD_SOURCE",
      `--from ${from} is neither a redis:// URL nor an existing file; give the old server's URL (redis://user:pass@host:6379) or the path of its dump.rdb`,
      EXIT.usage,
    );
  const served = await serveRdb(from);
  return { url: served.url, stop: served.stop };
}

export async function adoptRedis(o: AdoptRedisOptions): Promise<AdoptRedisResult> {
  const t0 = performance.now();
  const log = o.log ?? silentLogger;
  const batch = o.batch ?? 1000;
  const src = await sourceUrl(o.from);
  const result: AdoptRedisResult = { from: redactText(o.from), databases: {}, mismatches: [], seconds: 0 };
  try {
    const probe = await open(src.url, 0, "source");
    const dbs = await databases(probe).finally(() => probe.quit());
    const pairs: [number, Client, Client][] = [];
    try {
      for (const db of dbs)
        pairs.push([db, await open(src.url, db, "source"), await open(o.target, db, "target")]);
      if (!o.force) {
        const foreign: string[] = [];
        for (const [db, s, t] of pairs) {
          const n = await foreignKeys(s, t, batch);
          if (n) foreign.push(`db${db} (${n} keys)`);
        }
        if (foreign.length)
          throw new AdoptError(
            "JARVIS_ADOPT_TARGET_NOT_EMPTY",
            `the target Redis holds keys the source does not have: ${foreign.join(", ")}; adopt into the stack's fresh Redis, or pass --force to add to them`,
            EXIT.refused,
          );
      }
      for (const [db, s, t] of pairs) {
        const r = await copyDb(s, t, batch);
        result.databases[`db${db}`] = r;
        log.info(`redis db${db}: copied`, { ...r });
        if (!r.countsMatch)
          result.mismatches.push(
            `db${db}: ${r.source} source keys, but not all arrived with their expiry (evicted? check maxmemory)`,
          );
      }
    } finally {
      for (const [, s, t] of pairs) await Promise.all([s.quit().catch(() => {}), t.quit().catch(() => {})]);
    }
  } finally {
    await src.stop();
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}
