/**
 * Throwaway real servers on 127.0.0.1 for the tests and benchmarks: PostgreSQL 15 (pgvector,
 * pg_cron, pg_partman, pgBackRest), Redis 7, Chroma 1.0 and an S3 API (s3rver). Each runs in
 * its own temp dir on a free port, with the settings the stack's containers get
 * (settings/*.ts), and `stop()` removes everything.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync, chownSync, readFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { createClient } from "redis";
import YAML from "yaml";
import { parseConfig, SECRET_NAMES, type JarvisConfig, type SecretName } from "../../config/schema.ts";
import { postgresArgs, postgresInitdbOptions, postgresSettings } from "../../settings/postgres.ts";
import { redisAclUsers, redisConfig } from "../../settings/redis.ts";
import { CHROMA_ENV, CHROMA_HEARTBEAT_PATH, chromaConfig } from "../../settings/chroma.ts";
import { startChromaGateway, tokenSha256 } from "../../core/chroma-gateway.ts";
import { ensureRoles, rolePasswordsFromSecrets, type RolePasswords } from "../../core/postgres/roles.ts";

export const PG_BIN = process.env.JARVIS_PG_BIN ?? "/usr/lib/postgresql/15/bin";
const ROOT = resolve(import.meta.dirname, "../..");
const INSTALL_HINT = "run scripts/install-test-deps.sh (Debian/Ubuntu, as root) to install the test servers";

export class MissingDependencyError extends Error {
  readonly code = "JARVIS_TEST_DEPENDENCY_MISSING";
  constructor(what: string) {
    super(`${what} is not installed: ${INSTALL_HINT}`);
  }
}

/** The config the tests boot servers with: the dev defaults, as a user would get them. */
export function testConfig(overrides: Record<string, unknown> = {}): JarvisConfig {
  return parseConfig({ environment: "dev", ...overrides });
}

/** Random credentials for every secret the stack knows, standing in for Pulumi's generated ones. */
export function testSecrets(): Record<SecretName, string> {
  return Object.fromEntries(SECRET_NAMES.map((n) => [n, `t${randomBytes(18).toString("hex")}`])) as Record<
    SecretName,
    string
  >;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
    });
  });
}

async function waitFor(
  what: string,
  child: ChildProcess,
  logFile: string | null,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 100,
) {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = child.exitCode;
  child.once("exit", (code) => (exited = code ?? -1));
  while (Date.now() < deadline) {
    if (exited !== null) break;
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const log =
    logFile && existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n") : "";
  child.kill("SIGKILL");
  throw new Error(
    `${what} did not become ready (${exited !== null ? `exited with ${exited}` : "timed out"})${log ? `:\n${log}` : ""}`,
  );
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill(signal);
  });
}

function requireBinary(path: string, what: string) {
  if (!existsSync(path)) throw new MissingDependencyError(`${what} (${path})`);
}

/** When root, PostgreSQL must run as the `postgres` user (it refuses root). */
function postgresIds(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (uid.status !== 0) throw new MissingDependencyError("the postgres system user");
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface PostgresServer {
  host: string;
  port: number;
  /** Superuser `postgres` and its password (scram-sha-256 over TCP). */
  user: string;
  password: string;
  dir: string;
  dataDir: string;
  socketDir: string;
  /** The settings the server runs with (from settings/postgres.ts). */
  settings: Record<string, string>;
  /**
   * The stack's roles (jarvis_owner, jarvis_app, ...) exist, made by core/postgres/roles.ts as in
   * the stack; these are their passwords. Roles are cluster-wide: tests that need them log in with
   * these, rather than re-running ensureRoles with other passwords.
   */
  roles: RolePasswords;
  url(database?: string, user?: string, password?: string): string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  config?: JarvisConfig;
  /** Passwords of the stack's roles (default: from testSecrets()). */
  secrets?: Record<SecretName, string>;
  /** Create the stack's roles at start (default true); false leaves a bare cluster. */
  roles?: boolean;
  /** Overrides of settings (e.g. archive_command for a backup test). */
  settings?: Record<string, string>;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresServer> {
  requireBinary(join(PG_BIN, "postgres"), "PostgreSQL 15");
  const cfg = opts.config ?? testConfig();
  const ids = postgresIds();
  const dir = mkdtempSync(join(tmpdir(), "jarvis-pg-"));
  const dataDir = join(dir, "data");
  const password = randomBytes(16).toString("hex");
  writeFileSync(join(dir, "pwfile"), password);
  if (ids.uid !== undefined) chownSync(dir, ids.uid, ids.gid!);
  if (ids.uid !== undefined) chownSync(join(dir, "pwfile"), ids.uid, ids.gid!);
  const init = spawnSync(
    join(PG_BIN, "initdb"),
    [
      // The container's options (data checksums, SCRAM over TCP, peer on the socket), so what the
      // tests prove holds for it. Peer needs the server's OS user to be "postgres" (root runs the
      // harness as that user); otherwise the socket trusts its local user, as the role postgres.
      ...postgresInitdbOptions().map((o) =>
        o === "--auth-local=peer" && ids.uid === undefined ? "--auth-local=trust" : o,
      ),
      "-D",
      dataDir,
      "-U",
      "postgres",
      `--pwfile=${join(dir, "pwfile")}`,
      "--no-sync",
    ],
    { ...ids, encoding: "utf8", cwd: dir },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const settings = {
    ...postgresSettings(cfg, {
      listenAddresses: "127.0.0.1",
      port,
      socketDir: dir,
      archiveCommand: "/bin/true",
    }),
    fsync: "off", // throwaway data: faster tests, same semantics otherwise
    ...opts.settings,
  };
  const logFile = join(dir, "postgres.log");
  const { openSync } = await import("node:fs");
  const fd = openSync(logFile, "a");
  if (ids.uid !== undefined) chownSync(logFile, ids.uid, ids.gid!);
  const child = spawn(join(PG_BIN, "postgres"), ["-D", dataDir, ...postgresArgs(settings)], {
    ...ids,
    stdio: ["ignore", fd, fd],
    cwd: dir,
  });
  const url = (database = "postgres", user = "postgres", pass = password) =>
    `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}/${database}`;
  await waitFor("PostgreSQL", child, logFile, async () => {
    const c = new pg.Client({ connectionString: url() });
    try {
      await c.connect();
      await c.query("select 1");
      return true;
    } finally {
      await c.end().catch(() => {});
    }
  });
  // The database pg_cron lives in (cron.database_name), as the container's entrypoint creates it.
  const admin = new pg.Client({ connectionString: url() });
  await admin.connect();
  const roles = rolePasswordsFromSecrets(opts.secrets ?? testSecrets());
  try {
    await admin.query(`create database ${cfg.postgres.database}`);
    // The roles, as the stack's `jarvis-data roles apply` job creates them.
    if (opts.roles !== false) await ensureRoles(admin, roles);
  } finally {
    await admin.end();
  }
  return {
    host: "127.0.0.1",
    port,
    user: "postgres",
    password,
    dir,
    dataDir,
    socketDir: dir,
    settings,
    roles,
    url,
    async stop() {
      await stopChild(child, "SIGINT");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RestoredPostgres {
  url(database?: string): string;
  /** Waits until `probe` holds on a connection to `database` (default postgres), polled every `intervalMs`; fails with the server's log if it exits. */
  ready(
    probe: (c: pg.Client) => Promise<boolean>,
    opts?: { database?: string; timeoutMs?: number; intervalMs?: number },
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL on a data directory restored from `server`'s backups, with the same settings
 * (archiving off: a copy must not push WAL into the source's archive), on a free port. It replays
 * WAL on its own; `ready` waits for what the caller needs (queryable, promoted, ...).
 */
export async function startRestoredPostgres(
  server: PostgresServer,
  dataDir: string,
): Promise<RestoredPostgres> {
  const ids = postgresIds();
  const port = await freePort();
  const logFile = `${dataDir}.log`;
  const { openSync } = await import("node:fs");
  const fd = openSync(logFile, "a");
  if (ids.uid !== undefined) chownSync(logFile, ids.uid, ids.gid!);
  const args = postgresArgs({
    ...server.settings,
    port: String(port),
    unix_socket_directories: server.socketDir,
    archive_mode: "off",
  });
  const child = spawn(join(PG_BIN, "postgres"), ["-D", dataDir, ...args], {
    ...ids,
    stdio: ["ignore", fd, fd],
  });
  const url = (database = "postgres") => server.url(database).replace(`:${server.port}/`, `:${port}/`);
  return {
    url,
    ready: (probe, o = {}) =>
      waitFor(
        `restored server on ${dataDir}`,
        child,
        logFile,
        async () => {
          const c = new pg.Client({ connectionString: url(o.database) });
          c.on("error", () => {});
          try {
            await c.connect();
            return await probe(c);
          } finally {
            await c.end().catch(() => {});
          }
        },
        o.timeoutMs,
        o.intervalMs,
      ),
    stop: () => stopChild(child, "SIGINT"),
  };
}

/** A fresh database on a running server, for one test; dropped by the returned function. */
export async function createDatabase(
  server: PostgresServer,
  prefix = "t",
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  return {
    name,
    url: server.url(name),
    async drop() {
      const c = new pg.Client({ connectionString: server.url() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface RedisServer {
  host: string;
  port: number;
  dir: string;
  passwords: { admin: string; app: string; backup: string; monitor: string };
  /** redis.conf the server runs with (from settings/redis.ts). */
  conf: string[];
  url(user?: "admin" | "app" | "backup" | "monitor"): string;
  stop(): Promise<void>;
}

/** True when the Redis at `url` answers PING (one connection, no retries). */
async function redisAnswers(url: string): Promise<boolean> {
  const c = createClient({ url, socket: { reconnectStrategy: false } });
  c.on("error", () => {});
  try {
    await c.connect();
    return (await c.ping()) === "PONG";
  } finally {
    if (c.isOpen) await c.quit().catch(() => c.destroy());
  }
}

export async function startRedis(
  opts: { config?: JarvisConfig; secrets?: Record<SecretName, string> } = {},
): Promise<RedisServer> {
  const bin = spawnSync("which", ["redis-server"], { encoding: "utf8" }).stdout.trim();
  if (!bin) throw new MissingDependencyError("redis-server (Redis 7)");
  const cfg = opts.config ?? testConfig();
  const s = opts.secrets ?? testSecrets();
  const passwords = { admin: s.redisAdmin, app: s.redisApp, backup: s.redisBackup, monitor: s.redisMonitor };
  const dir = mkdtempSync(join(tmpdir(), "jarvis-redis-"));
  const port = await freePort();
  const conf = redisConfig(cfg, { bind: "127.0.0.1", port, dir, users: redisAclUsers(passwords) });
  writeFileSync(join(dir, "redis.conf"), conf.join("\n") + "\n");
  const logFile = join(dir, "redis.log");
  const child = spawn(bin, [join(dir, "redis.conf"), "--logfile", logFile], { stdio: "ignore", cwd: dir });
  const url = (user: keyof typeof passwords = "admin") =>
    `redis://${user}:${encodeURIComponent(passwords[user])}@127.0.0.1:${port}`;
  await waitFor("Redis", child, logFile, () => redisAnswers(url()));
  return {
    host: "127.0.0.1",
    port,
    dir,
    passwords,
    conf,
    url,
    async stop() {
      await stopChild(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * redis-server on an existing data directory (a restore's), with the given arguments and no ACL
 * file (the default user), on a free port of 127.0.0.1; resolves once it answers PING and fails
 * with its log if it exits or does not answer.
 */
export async function startRedisOnDir(
  dir: string,
  args: string[] = [],
): Promise<{ port: number; url: string; stop(): Promise<void> }> {
  const bin = spawnSync("which", ["redis-server"], { encoding: "utf8" }).stdout.trim();
  if (!bin) throw new MissingDependencyError("redis-server (Redis 7)");
  const port = await freePort();
  const logFile = join(dir, "redis.log");
  const child = spawn(
    bin,
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--logfile", logFile, ...args],
    { stdio: "ignore", cwd: dir },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(`Redis on ${dir}`, child, logFile, () => redisAnswers(url));
  return { port, url, stop: () => stopChild(child, "SIGTERM") };
}

export interface ChromaServer {
  /** The token gateway (core/chroma-gateway.ts) in front of Chroma, as clients reach it in the stack. */
  url: string;
  /** Same as url. */
  gatewayUrl: string;
  /** Chroma itself, without the gateway (the stack never publishes this one). */
  upstreamUrl: string;
  /** The token the gateway wants (`x-chroma-token` or `Authorization: Bearer`). */
  token: string;
  /** The gateway's port. */
  port: number;
  upstreamPort: number;
  dir: string;
  config: Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startChroma(
  opts: { secrets?: Record<SecretName, string> } = {},
): Promise<ChromaServer> {
  const bin = join(ROOT, "node_modules/.bin/chroma");
  if (!existsSync(bin)) throw new MissingDependencyError("the chroma CLI (npm ci installs it)");
  const dir = mkdtempSync(join(tmpdir(), "jarvis-chroma-"));
  const port = await freePort();
  const config = chromaConfig({ listenAddress: "127.0.0.1", port, persistPath: join(dir, "data") });
  writeFileSync(join(dir, "config.yaml"), YAML.stringify(config));
  const logFile = join(dir, "chroma.log");
  const { openSync } = await import("node:fs");
  const fd = openSync(logFile, "a");
  const child = spawn(process.execPath, [bin, "run", join(dir, "config.yaml")], {
    stdio: ["ignore", fd, fd],
    cwd: dir,
    env: { ...process.env, ...CHROMA_ENV },
  });
  const upstreamUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    "Chroma",
    child,
    logFile,
    async () => (await fetch(`${upstreamUrl}${CHROMA_HEARTBEAT_PATH}`)).ok,
  );
  const token = (opts.secrets ?? testSecrets()).chromaToken;
  let gateway;
  try {
    gateway = await startChromaGateway({
      upstream: upstreamUrl,
      tokenSha256: tokenSha256(token),
      host: "127.0.0.1",
      port: 0,
    });
  } catch (e) {
    await stopChild(child, "SIGTERM");
    throw e;
  }
  const gw = gateway;
  return {
    url: gw.url,
    gatewayUrl: gw.url,
    upstreamUrl,
    token,
    port: Number(new URL(gw.url).port),
    upstreamPort: port,
    dir,
    config,
    async stop() {
      await gw.close();
      await stopChild(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface S3Server {
  endpoint: string;
  port: number;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  stop(): Promise<void>;
}

/** s3rver: objects, listing and multipart uploads. No lifecycle, versioning or object lock. */
export async function startS3(
  opts: { buckets?: string[]; tls?: { key: string; cert: string } } = {},
): Promise<S3Server> {
  let S3rver: typeof import("s3rver").default;
  try {
    S3rver = (await import("s3rver")).default;
  } catch {
    throw new MissingDependencyError("s3rver (npm ci installs it)");
  }
  const dir = mkdtempSync(join(tmpdir(), "jarvis-s3-"));
  mkdirSync(join(dir, "objects"));
  const port = await freePort();
  const server = new S3rver({
    port,
    address: "127.0.0.1",
    directory: join(dir, "objects"),
    silent: true,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
  });
  await server.run();
  return {
    endpoint: `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    region: "us-east-1",
    // s3rver's fixed development credentials
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    dir,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
