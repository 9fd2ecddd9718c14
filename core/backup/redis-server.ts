/**
 * A throwaway redis-server serving one RDB snapshot (no AOF, no saves): the side target of a
 * Redis restore (the real target replicates from it) and the scratch target of a drill. Its
 * password goes into a config file readable only by this user, never on the command line
 * (where `ps` shows it to every user of the machine).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { UnavailableError } from "../errors.ts";
import { redactText } from "../log.ts";
import { poll } from "./common.ts";
import { ToolError } from "./proc.ts";
import { parseKeyspace } from "./redis-wire.ts";

export async function redisClient(url: string) {
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

export async function keyspace(url: string): Promise<Record<string, number>> {
  const c = await redisClient(url);
  try {
    return parseKeyspace(String(await c.sendCommand(["INFO", "keyspace"])));
  } finally {
    await c.quit().catch(() => c.destroy());
  }
}

async function freePort(host: string): Promise<number> {
  return new Promise<number>((ok, fail) => {
    const s = net.createServer().listen(0, host, () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => ok(a.port));
    });
    s.on("error", fail);
  });
}

/** redis.conf lines for the throwaway server; the password only here (mode 0600). */
export function throwawayConfig(o: { port: number; host: string; dir: string; password: string }): string {
  return [
    `port ${o.port}`,
    `bind ${o.host}`,
    `dir ${o.dir}`,
    "dbfilename dump.rdb",
    "appendonly no",
    'save ""',
    `requirepass ${o.password}`,
    "protected-mode no",
    `logfile ${join(o.dir, "redis.log")}`,
  ].join("\n");
}

export interface ThrowawayRedis {
  port: number;
  password: string;
  url: string;
  /** pid of redis-server (tests read its command line). */
  pid: number | undefined;
  keys: Record<string, number>;
  stop(): Promise<void>;
}

/** Starts redis-server on a copy of `rdb` and waits until it has loaded it. */
export async function serveRdb(
  rdb: string,
  opts: { listenHost?: string; password?: string } = {},
): Promise<ThrowawayRedis> {
  const host = opts.listenHost ?? "127.0.0.1";
  const dir = await mkdtemp(join(tmpdir(), "jarvis-rdbsrc-"));
  await copyFile(rdb, join(dir, "dump.rdb"));
  const port = await freePort(host);
  const password = opts.password ?? randomBytes(16).toString("hex");
  const conf = join(dir, "redis.conf");
  await writeFile(conf, throwawayConfig({ port, host, dir, password }), { mode: 0o600 });
  const child = spawn("redis-server", [conf], { stdio: "ignore" });
  const spawnError = new Promise<never>((_, fail) =>
    child.once("error", (e) =>
      fail(
        new ToolError(
          "redis-server",
          e.message,
          "install redis-server (the restore runs a throwaway one)",
          "JARVIS_TOOL_MISSING",
        ),
      ),
    ),
  );
  spawnError.catch(() => {});
  const url = `redis://default:${password}@${host}:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      await new Promise<void>((ok) => {
        child.once("exit", () => ok());
        child.kill("SIGKILL");
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const keys = await poll(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`);
        return Promise.race([keyspace(url), spawnError]).catch((e) =>
          e instanceof ToolError ? Promise.reject(e) : undefined,
        );
      },
      { timeoutMs: 60_000, onTimeout: () => new Error("it did not answer within 60 s") },
    );
    return { port, password, url, pid: child.pid, keys, stop };
  } catch (e) {
    await stop();
    throw e instanceof ToolError
      ? e
      : new ToolError(
          "redis-server",
          `the throwaway server did not load the snapshot (${(e as Error).message})`,
          "check the RDB (jarvis-data verify redis)",
        );
  }
}
