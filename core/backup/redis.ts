/**
 * Redis backups and restores, as drivers of run.ts. A backup is an RDB snapshot fetched over the
 * replication protocol (redis-wire.ts). Restores (AOF is on in the stack):
 *  - online, `restoreRedis`: the side target is a throwaway redis-server loading the snapshot
 *    (redis-server.ts); once its key counts match the manifest, the target replicates from it
 *    (REPLICAOF), then is detached (REPLICAOF NO ONE). A full sync replaces the target's whole
 *    dataset and Redis rewrites its AOF from it, so AOF and data agree afterwards.
 *  - offline, `prepareRedisDataDir`: put dump.rdb in the stopped server's dir and move the AOF
 *    directory aside; start with `--appendonly no`, then `CONFIG SET appendonly yes` rewrites the
 *    AOF from the loaded data (see docs/backup-restore.md).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JarvisError } from "../errors.ts";
import { poll, RestoreMismatchError, type BackupResult, type RestoreResult } from "./common.ts";
import type { BackupDriver, RestoreDriver } from "./driver.ts";
import { ToolError } from "./proc.ts";
import { keyspace, redisClient, serveRdb, type ThrowawayRedis } from "./redis-server.ts";
import { fetchRdb, parseRedisUrl } from "./redis-wire.ts";
import {
  runBackup,
  runRestore,
  type RestorePlan,
  type RunBackupOptions,
  type StoreRestoreOptions,
} from "./run.ts";

export { fetchRdb, parseKeyspace } from "./redis-wire.ts";
export { serveRdb } from "./redis-server.ts";

/** redis-check-rdb, when installed, as a second opinion on the snapshot. */
function checkRdb(path: string): void {
  const which = spawnSync("which", ["redis-check-rdb"], { encoding: "utf8" }).stdout.trim();
  if (!which) return;
  const r = spawnSync(which, [path], { encoding: "utf8" });
  if (r.status !== 0 || !/RDB looks OK/.test(r.stdout + r.stderr)) {
    throw new ToolError("redis-check-rdb", r.stdout + r.stderr, "the snapshot is damaged: take another one");
  }
}

export interface RedisBackupOptions extends RunBackupOptions {
  /** redis://backup:<password>@host:port */
  url: string;
}

export function redisBackupDriver(url: string): BackupDriver {
  return {
    store: "redis",
    kind: "rdb",
    async capture(ctx) {
      const tmp = await mkdtemp(join(tmpdir(), "jarvis-rdb-"));
      try {
        const file = join(tmp, "dump.rdb");
        let done = 0;
        const got = await fetchRdb(url, file, { onBytes: (n) => ctx.progress.update((done += n)) });
        checkRdb(file);
        await ctx.store.putFile(`${ctx.dir}dump.rdb`, file);
        const r = parseRedisUrl(url);
        return {
          files: [{ path: "dump.rdb", size: got.size, sha256: got.sha256 }],
          keys: got.keys,
          source: { host: r.host, port: r.port },
          tools: { fetch: "jarvis-data (replication protocol)" },
        };
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
  };
}

export async function backupRedis(opts: RedisBackupOptions): Promise<BackupResult> {
  return runBackup(redisBackupDriver(opts.url), opts);
}

export interface RedisRestorePlan extends RestorePlan {
  store: "redis";
  overwrites: Record<string, number> | null;
}

/** --confirm is host:port of the target when it holds keys. */
export interface RedisRestoreOptions extends StoreRestoreOptions<RedisRestorePlan> {
  /** redis://admin:<password>@host:port of the server to restore into. */
  targetUrl: string;
  /** Address the target reaches this machine at (the throwaway source server). Default 127.0.0.1. */
  sourceHost?: string;
  /** Address the throwaway source server listens on. Default 127.0.0.1. */
  listenHost?: string;
  timeoutMs?: number;
}

/** Keys per database that fall short of the manifest's (keys with a TTL may expire meanwhile). */
export function missingKeys(want: Record<string, number>, got: Record<string, number>): string[] {
  return Object.entries(want)
    .filter(([db, n]) => (got[db] ?? 0) < n * 0.999 - 1)
    .map(([db, n]) => `${db} has ${got[db] ?? 0} keys, expected ${n}`);
}

export function redisRestoreDriver(o: RedisRestoreOptions): RestoreDriver {
  const t = parseRedisUrl(o.targetUrl);
  const name = `${t.host}:${t.port}`;
  let side: ThrowawayRedis | undefined;
  return {
    store: "redis",
    download: true,
    async inspectTarget() {
      const current = await keyspace(o.targetUrl);
      const total = Object.values(current).reduce((a, b) => a + b, 0);
      return {
        name,
        overwrites: total ? current : null,
        summary: `${total} keys: ${JSON.stringify(current)}`,
      };
    },
    async load(ctx) {
      side = await serveRdb(join(ctx.localDir!, "dump.rdb"), { listenHost: o.listenHost });
    },
    async check(ctx) {
      return missingKeys(ctx.manifest.keys ?? {}, side!.keys);
    },
    async swap(ctx) {
      await replicateFrom(o, side!, name);
      const after = await keyspace(o.targetUrl);
      const problems = missingKeys(ctx.manifest.keys ?? {}, after);
      if (problems.length)
        throw new RestoreMismatchError(`Redis ${name} restored from ${ctx.ref.id}`, problems);
      await side!.stop();
    },
    async discard() {
      await side?.stop();
    },
  };
}

/** The target replicates the side server's whole dataset, then is a primary again; waits for its AOF rewrite. */
async function replicateFrom(o: RedisRestoreOptions, source: ThrowawayRedis, name: string): Promise<void> {
  const c = await redisClient(o.targetUrl);
  const info = async (section: string) => String(await c.sendCommand(["INFO", section]));
  try {
    const configGet = async (key: string): Promise<string> => {
      const r = (await c.sendCommand(["CONFIG", "GET", key])) as unknown;
      if (Array.isArray(r)) return String(r[1] ?? "");
      if (r && typeof r === "object") return String((r as Record<string, unknown>)[key] ?? "");
      return "";
    };
    const prevAuth = await configGet("masterauth");
    const prevUser = await configGet("masteruser");
    await c.sendCommand(["CONFIG", "SET", "masterauth", source.password]);
    await c.sendCommand(["CONFIG", "SET", "masteruser", "default"]);
    try {
      await c.sendCommand(["REPLICAOF", o.sourceHost ?? "127.0.0.1", String(source.port)]);
      await poll(
        async () => {
          const r = await info("replication");
          return /master_link_status:up/.test(r) && /master_sync_in_progress:0/.test(r) ? true : undefined;
        },
        {
          timeoutMs: o.timeoutMs ?? 600_000,
          onTimeout: () =>
            new JarvisError(
              "JARVIS_REDIS_RESTORE",
              `Redis ${name} did not finish syncing from the snapshot in time; it is still a replica: run REPLICAOF NO ONE on it`,
            ),
        },
      );
    } finally {
      await c.sendCommand(["REPLICAOF", "NO", "ONE"]);
      await c.sendCommand(["CONFIG", "SET", "masterauth", prevAuth ?? ""]);
      await c.sendCommand(["CONFIG", "SET", "masteruser", prevUser ?? ""]);
    }
    // With AOF on, the full sync is followed by an AOF rewrite; wait so the AOF matches the data.
    await poll(
      async () => {
        const p = await info("persistence");
        const idle = /aof_rewrite_in_progress:0/.test(p) && /aof_rewrite_scheduled:0/.test(p);
        return !/aof_enabled:1/.test(p) || idle ? true : undefined;
      },
      {
        timeoutMs: 60_000,
        onTimeout: () =>
          new JarvisError(
            "JARVIS_REDIS_RESTORE",
            `Redis ${name} did not finish its AOF rewrite within 60 s; check its log`,
          ),
      },
    );
  } finally {
    await c.quit().catch(() => c.destroy());
  }
}

/** Replaces the dataset of a running server with a backup (see the module comment). */
export async function restoreRedis(opts: RedisRestoreOptions): Promise<RestoreResult> {
  return runRestore(redisRestoreDriver(opts), {
    ...opts,
    onPlan: opts.onPlan as ((p: RestorePlan) => void) | undefined,
  });
}

/**
 * Offline restore into a stopped server's data directory: dump.rdb replaced, the AOF directory
 * moved aside (Redis would otherwise load the AOF and ignore the RDB). Start the server with
 * `--appendonly no`, then `CONFIG SET appendonly yes` to write a fresh AOF from the data.
 */
export async function prepareRedisDataDir(
  rdbFile: string,
  dataDir: string,
  opts: { aofDirName?: string; now?: Date } = {},
): Promise<{ movedAside: string | null }> {
  const aof = join(dataDir, opts.aofDirName ?? "appendonlydir");
  let movedAside: string | null = null;
  if (existsSync(aof)) {
    movedAside = `${aof}.replaced-${(opts.now ?? new Date()).toISOString().replace(/[:.]/g, "")}`;
    await rename(aof, movedAside);
  }
  await copyFile(rdbFile, join(dataDir, "dump.rdb.restoring"));
  await rename(join(dataDir, "dump.rdb.restoring"), join(dataDir, "dump.rdb"));
  return { movedAside };
}
