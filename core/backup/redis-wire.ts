/**
 * The Redis wire for snapshots: a minimal RESP reader over a socket (lines and raw bytes, enough
 * for AUTH, INFO and SYNC) and `fetchRdb`, which takes an RDB snapshot from a running server over
 * the replication protocol like `redis-cli --rdb`, so a backup needs only the `backup` ACL user.
 */
import { createWriteStream } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import net from "node:net";
import { dirname } from "node:path";
import tls from "node:tls";
import { JarvisError, UnavailableError } from "../errors.ts";
import { redactText } from "../log.ts";
import { HashingStream, type Digest } from "./common.ts";

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

export function parseRedisUrl(url: string) {
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
  opts: { timeoutMs?: number; onBytes?: (n: number) => void } = {},
): Promise<Digest & { keys: Record<string, number> }> {
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
    await mkdir(dirname(dest), { recursive: true });
    const out = createWriteStream(dest);
    const h = new HashingStream(opts.onBytes);
    const sink = (b: Buffer) => {
      h.update(b);
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
        `${where} sent ${h.size} bytes that are not an RDB file (no REDIS header)`,
      );
    return { ...h.digest(), keys };
  } finally {
    socket.destroy();
  }
}
