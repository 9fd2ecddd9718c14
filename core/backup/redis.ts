/**
 * Redis backups: an RDB snapshot fetched from the running server over the replication protocol
 * (what `redis-cli --rdb` does: AUTH, REPLCONF rdb-only 1, SYNC, read the bulk payload), so the
 * backup needs only the `backup` ACL user (+sync +psync +replconf) and no access to the volume.
 *
 * Restores (AOF is on in the stack):
 *  - online, `restoreRedis`: a throwaway redis-server loads the RDB and the target replicates
 *    from it (REPLICAOF), then is detached (REPLICAOF NO ONE). A full sync replaces the target's
 *    whole dataset and Redis rewrites its AOF from it, so AOF and data agree afterwards.
 *  - offline, `prepareRedisDataDir`: put dump.rdb in the stopped server's dir and move the AOF
 *    directory aside; start with `--appendonly no`, then `CONFIG SET appendonly yes` rewrites the
 *    AOF from the loaded data (see docs/backup-restore.md).
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, open, rename, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { createClient } from "redis";
import { JarvisError, RefusedError, UnavailableError } from "../errors.ts";
import { redactText, silentLogger, type Logger } from "../log.ts";
import { beginBackup, findBackup, readManifest, completeBackup } from "./manifest.ts";
import {
  downloadBackup,
  RestoreMismatchError,
  type BackupResult,
  type RestoreResult,
} from "./postgres-logical.ts";
import { ToolError } from "./proc.ts";
import { type BackupStore } from "./store.ts";

const RESP = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

/** A minimal reader over a socket: lines and raw bytes, enough for AUTH/INFO/SYNC. */
class Wire {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended: Error | null = null;
  constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.waiter?.();
    });
    const end = (e?: Error) => {
      this.ended = e ?? new Error("connection closed by the server");
      this.waiter?.();
    };
    socket.on("error", end);
    socket.on("close", () => end());
  }
  private async more(): Promise<void> {
    if (this.ended) throw this.ended;
    await new Promise<void>((r) => (this.waiter = r));
    this.waiter = null;
  }
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf("\r\n");
      if (i >= 0) {
        const l = this.buf.subarray(0, i).toString();
        this.buf = this.buf.subarray(i + 2);
        return l;
      }
      // SYNC keepalives are bare "\n" before the payload header.
      if (this.buf.length && this.buf[0] === 0x0a) {
        this.buf = this.buf.subarray(1);
        return "";
      }
      await this.more();
    }
  }
  /** Hands the next `n` bytes to `sink`, as they arrive. */
  async bytes(n: number, sink: (b: Buffer) => void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!this.buf.length) await this.more();
      const take = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(take.length);
      left -= take.length;
      sink(take);
    }
  }
  /** Hands bytes to `sink` until `mark` (diskless transfer's EOF marker) ends the stream. */
  async untilMark(mark: Buffer, sink: (b: Buffer) => void): Promise<void> {
    let tail = Buffer.alloc(0);
    for (;;) {
      if (!this.buf.length) await this.more();
      const data = Buffer.concat([tail, this.buf]);
      this.buf = Buffer.alloc(0);
      if (data.length >= mark.length && data.subarray(data.length - mark.length).equals(mark)) {
        sink(data.subarray(0, data.length - mark.length));
        return;
      }
      const keep = Math.min(mark.length, data.length);
      sink(data.subarray(0, data.length - keep));
      tail = data.subarray(data.length - keep);
    }
  }
  async reply(): Promise<string> {
    const l = await this.line();
    if (l.startsWith("-")) throw new Error(l.slice(1));
    if (l.startsWith("$")) {
      const n = Number(l.slice(1));
      if (n < 0) return "";
      const parts: Buffer[] = [];
      await this.bytes(n + 2, (b) => parts.push(b));
      return Buffer.concat(parts).subarray(0, n).toString();
    }
    return l.slice(1);
  }
}

function parseRedisUrl(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 6379),
    user: decodeURIComponent(u.username) || "default",
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === "rediss:",
  };
}

/** Keys per database, from INFO keyspace ("db0:keys=3,expires=0,..."). */
export function parseKeyspace(info: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^(db\d+):keys=(\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/**
 * Fetches an RDB snapshot from a running server into `dest`, like `redis-cli --rdb`.
 * `url` is redis[s]://backup:<password>@host:port (the backup ACL user).
 */
export async function fetchRdb(
  url: string,
  dest: string,
  opts: { timeoutMs?: number } = {},
): Promise<{ size: number; sha256: string; keys: Record<string, number> }> {
  const r = parseRedisUrl(url);
  const socket: net.Socket = r.tls
    ? tls.connect({ host: r.host, port: r.port, servername: r.host })
    : net.connect({ host: r.host, port: r.port });
  socket.setTimeout(opts.timeoutMs ?? 300_000, () =>
    socket.destroy(new Error("timed out waiting for the snapshot")),
  );
  const wire = new Wire(socket);
  const where = `Redis at ${r.host}:${r.port}`;
  try {
    await new Promise<void>((ok, fail) => {
      socket.once(r.tls ? "secureConnect" : "connect", () => ok());
      socket.once("error", fail);
    }).catch((e) => {
      throw new UnavailableError(where, e, "check REDIS_URL and that the server runs");
    });
    if (r.password !== undefined) {
      socket.write(RESP("AUTH", r.user, r.password));
      await wire.reply().catch((e) => {
        throw new JarvisError(
          "JARVIS_REDIS_AUTH",
          `${where} refused the backup user "${r.user}": ${redactText(e.message)}; check the backup user's password (jarvis:secrets.redisBackup)`,
          3,
        );
      });
    }
    socket.write(RESP("INFO", "keyspace"));
    const keys = parseKeyspace(await wire.reply());
    // rdb-only (Redis 7): the server sends the snapshot and no command stream after it.
    socket.write(RESP("REPLCONF", "rdb-only", "1"));
    await wire.reply().catch(() => "");
    socket.write(RESP("SYNC"));
    let header = "";
    while (!header) header = await wire.line();
    if (header.startsWith("-")) {
      throw new JarvisError(
        "JARVIS_REDIS_SYNC",
        `${where} refused SYNC: ${header.slice(1)}; the backup user needs +sync +replconf (settings/redis.ts)`,
      );
    }
    if (!header.startsWith("$"))
      throw new JarvisError(
        "JARVIS_REDIS_SYNC",
        `${where} answered SYNC with "${header.slice(0, 40)}", not a snapshot`,
      );
    await mkdir(join(dest, ".."), { recursive: true });
    const out = createWriteStream(dest);
    const h = createHash("sha256");
    let size = 0;
    const sink = (b: Buffer) => {
      h.update(b);
      size += b.length;
      out.write(b);
    };
    if (header.startsWith("$EOF:")) await wire.untilMark(Buffer.from(header.slice(5)), sink);
    else await wire.bytes(Number(header.slice(1)), sink);
    await new Promise<void>((ok, fail) => out.end((e?: Error | null) => (e ? fail(e) : ok())));
    const fh = await open(dest, "r");
    const magic = Buffer.alloc(5);
    await fh.read(magic, 0, 5, 0);
    await fh.close();
    if (magic.toString() !== "REDIS")
      throw new JarvisError(
        "JARVIS_REDIS_SYNC",
        `${where} sent ${size} bytes that are not an RDB file (no REDIS header)`,
      );
    return { size, sha256: h.digest("hex"), keys };
  } finally {
    socket.destroy();
  }
}

/** redis-check-rdb, when installed, as a second opinion on the snapshot. */
function checkRdb(path: string): void {
  const which = spawnSync("which", ["redis-check-rdb"], { encoding: "utf8" }).stdout.trim();
  if (!which) return;
  const r = spawnSync(which, [path], { encoding: "utf8" });
  if (r.status !== 0 || !/RDB looks OK/.test(r.stdout + r.stderr)) {
    throw new ToolError("redis-check-rdb", r.stdout + r.stderr, "the snapshot is damaged: take another one");
  }
}

export interface RedisBackupOptions {
  /** redis://backup:<password>@host:port */
  url: string;
  store: BackupStore;
  log?: Logger;
  now?: Date;
  beforeManifest?: (id: string) => Promise<void>;
}

export async function backupRedis(opts: RedisBackupOptions): Promise<BackupResult> {
  const log = opts.log ?? silentLogger;
  const { started, t0, id, tier, dir } = beginBackup("redis", "rdb", opts.now);
  const tmp = await mkdtemp(join(tmpdir(), "jarvis-rdb-"));
  try {
    const file = join(tmp, "dump.rdb");
    const got = await fetchRdb(opts.url, file);
    checkRdb(file);
    await opts.store.putFile(`${dir}dump.rdb`, file);
    await opts.beforeManifest?.(id);
    const r = parseRedisUrl(opts.url);
    const manifest = await completeBackup(opts.store, {
      id,
      store: "redis",
      kind: "rdb",
      tier,
      started,
      t0,
      files: [{ path: "dump.rdb", size: got.size, sha256: got.sha256 }],
      schemaVersion: null,
      keys: got.keys,
      source: { host: r.host, port: r.port },
      tools: { fetch: "jarvis-data (replication protocol)" },
    });
    const { durationSeconds } = manifest;
    log.info("redis backup complete", { id, bytes: got.size, keys: got.keys });
    return { id, store: "redis", kind: "rdb", tier, files: 1, bytes: got.size, durationSeconds, manifest };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function redisClient(url: string) {
  const c = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 10_000 } });
  c.on("error", () => {});
  try {
    await c.connect();
  } catch (e) {
    throw new UnavailableError(
      `Redis at ${redactText(url)}`,
      e,
      "check REDIS_URL (the admin user) and that the server runs",
    );
  }
  return c;
}

async function keyspace(url: string): Promise<Record<string, number>> {
  const c = await redisClient(url);
  try {
    return parseKeyspace(String(await c.sendCommand(["INFO", "keyspace"])));
  } finally {
    await c.quit().catch(() => c.destroy());
  }
}

export interface RedisRestorePlan {
  store: "redis";
  backup: string;
  target: string;
  overwrites: Record<string, number> | null;
}

export interface RedisRestoreOptions {
  store: BackupStore;
  id?: string;
  /** redis://admin:<password>@host:port of the server to restore into. */
  targetUrl: string;
  /** Must equal host:port of the target when it holds keys. */
  confirm?: string;
  /** Address the target reaches this machine at (the throwaway source server). Default 127.0.0.1. */
  sourceHost?: string;
  /** Address the throwaway source server listens on. Default 127.0.0.1. */
  listenHost?: string;
  log?: Logger;
  onPlan?: (plan: RedisRestorePlan) => void;
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A throwaway redis-server serving `rdb` (no AOF, no saves), for the target to replicate from. */
export async function serveRdb(rdb: string, opts: { listenHost?: string; password?: string } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "jarvis-rdbsrc-"));
  await copyFile(rdb, join(dir, "dump.rdb"));
  const port = await new Promise<number>((ok, fail) => {
    const s = net.createServer().listen(0, opts.listenHost ?? "127.0.0.1", () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => ok(a.port));
    });
    s.on("error", fail);
  });
  const password = opts.password ?? randomBytes(16).toString("hex");
  const args = [
    "--port",
    String(port),
    "--bind",
    opts.listenHost ?? "127.0.0.1",
    "--dir",
    dir,
    "--dbfilename",
    "dump.rdb",
    "--appendonly",
    "no",
    "--save",
    "",
    "--requirepass",
    password,
    "--protected-mode",
    "no",
    "--logfile",
    join(dir, "redis.log"),
  ];
  const child = spawn("redis-server", args, { stdio: "ignore" });
  const spawnError = new Promise<never>((_, fail) =>
    child.once("error", (e) =>
      fail(
        new ToolError(
          "redis-server",
          e.message,
          "install redis-server (the restore runs a throwaway one)",
          3,
        ),
      ),
    ),
  );
  const url = `redis://default:${password}@${opts.listenHost ?? "127.0.0.1"}:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      await new Promise<void>((ok) => {
        child.once("exit", () => ok());
        child.kill("SIGKILL");
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const k = await Promise.race([keyspace(url), spawnError]);
      return { port, password, url, keys: k, stop };
    } catch (e) {
      if (e instanceof ToolError || Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw e instanceof ToolError
          ? e
          : new ToolError(
              "redis-server",
              `the throwaway server did not load the snapshot (${(e as Error).message})`,
              "check the RDB (jarvis-data verify redis)",
            );
      }
      await sleep(100);
    }
  }
}

/** Replaces the dataset of a running server with a backup (see the module comment). */
export async function restoreRedis(opts: RedisRestoreOptions): Promise<RestoreResult> {
  const log = opts.log ?? silentLogger;
  const t0 = performance.now();
  const ref = await findBackup(opts.store, "redis", opts.id);
  const manifest = await readManifest(opts.store, ref);
  const t = parseRedisUrl(opts.targetUrl);
  const name = `${t.host}:${t.port}`;
  const current = await keyspace(opts.targetUrl);
  const total = Object.values(current).reduce((a, b) => a + b, 0);
  const plan: RedisRestorePlan = {
    store: "redis",
    backup: ref.id,
    target: name,
    overwrites: total ? current : null,
  };
  opts.onPlan?.(plan);
  if (total && opts.confirm !== name) {
    throw new RefusedError(
      `refusing to restore into Redis ${name}: it holds ${total} keys (${JSON.stringify(current)}), which would all be replaced. To do it anyway, pass --confirm ${name}`,
    );
  }
  const tmp = await mkdtemp(join(tmpdir(), "jarvis-rdbrestore-"));
  let source: Awaited<ReturnType<typeof serveRdb>> | undefined;
  const c = await redisClient(opts.targetUrl);
  try {
    await downloadBackup(opts.store, ref, manifest, tmp);
    source = await serveRdb(join(tmp, "dump.rdb"), { listenHost: opts.listenHost });
    const configGet = async (name: string): Promise<string> => {
      const r = (await c.sendCommand(["CONFIG", "GET", name])) as unknown;
      if (Array.isArray(r)) return String(r[1] ?? "");
      if (r && typeof r === "object") return String((r as Record<string, unknown>)[name] ?? "");
      return "";
    };
    const prevAuth = await configGet("masterauth");
    const prevUser = await configGet("masteruser");
    await c.sendCommand(["CONFIG", "SET", "masterauth", source.password]);
    await c.sendCommand(["CONFIG", "SET", "masteruser", "default"]);
    try {
      await c.sendCommand(["REPLICAOF", opts.sourceHost ?? "127.0.0.1", String(source.port)]);
      const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
      for (;;) {
        const info = String(await c.sendCommand(["INFO", "replication"]));
        if (/master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info)) break;
        if (Date.now() > deadline)
          throw new JarvisError(
            "JARVIS_REDIS_RESTORE",
            `Redis ${name} did not finish syncing from the snapshot in time; it is still a replica: run REPLICAOF NO ONE on it`,
          );
        await sleep(100);
      }
    } finally {
      await c.sendCommand(["REPLICAOF", "NO", "ONE"]);
      await c.sendCommand(["CONFIG", "SET", "masterauth", prevAuth ?? ""]);
      await c.sendCommand(["CONFIG", "SET", "masteruser", prevUser ?? ""]);
    }
    // With AOF on, the full sync is followed by an AOF rewrite; wait so the AOF matches the data.
    for (let i = 0; i < 600; i++) {
      const info = String(await c.sendCommand(["INFO", "persistence"]));
      if (
        !/aof_enabled:1/.test(info) ||
        (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info))
      )
        break;
      await sleep(100);
    }
    const after = parseKeyspace(String(await c.sendCommand(["INFO", "keyspace"])));
    const problems = Object.entries(manifest.keys ?? {})
      .filter(([db, n]) => (after[db] ?? 0) < n * 0.999 - 1) // keys with a TTL may expire meanwhile
      .map(([db, n]) => `${db} has ${after[db] ?? 0} keys, expected ${n}`);
    if (problems.length) throw new RestoreMismatchError(`Redis ${name} restored from ${ref.id}`, problems);
    const durationSeconds = (performance.now() - t0) / 1000;
    log.info("redis restore complete", {
      id: ref.id,
      target: name,
      keys: after,
      seconds: durationSeconds.toFixed(1),
    });
    return { id: ref.id, target: name, durationSeconds };
  } finally {
    await c.quit().catch(() => c.destroy());
    await source?.stop();
    await rm(tmp, { recursive: true, force: true });
  }
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
