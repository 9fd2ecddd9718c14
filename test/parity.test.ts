/**
 * Config parity: the local real servers run with exactly the settings the containers get
 * (settings/*.ts), and those settings are in force. Least privilege is checked on the same
 * servers: the app role cannot drop a table, the app Redis user cannot flush, and Chroma refuses
 * a request without the token.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import pg from "pg";
import { createClient } from "redis";
import { chromaClient, precomputedEmbeddings } from "../core/chroma.ts";
import { tokenSha256 } from "../core/chroma-gateway.ts";
import {
  ensureRoles,
  ROLE_NAMES,
  scramVerifier,
  verifierMatches,
  type RoleKey,
} from "../core/postgres/roles.ts";
import { chromaHealthcheck } from "../settings/chroma.ts";
import { postgresHealthcheck, postgresSettings } from "../settings/postgres.ts";
import { redisAclUsers, redisConfig, redisHealthcheck } from "../settings/redis.ts";
import { createDatabase, freePort, PG_BIN, startPostgres, testConfig, useServices } from "./harness/index.ts";

const { postgres, redis, chroma } = await useServices("postgres", "redis", "chroma");
const cfg = testConfig();
const tmp = mkdtempSync(join(tmpdir(), "jarvis-parity-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function pgClient(url: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}
async function pgError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "no error";
}
/** Runs a container healthcheck's ["CMD", ...] here. */
function runHealthcheck(tests: string[]): number {
  assert.equal(tests[0], "CMD");
  const r = spawnSync(tests[1]!, tests.slice(2), { encoding: "utf8", timeout: 10_000 });
  return r.status ?? -1;
}

// ---------------------------------------------------------------- PostgreSQL

/** Units PostgreSQL reports in pg_settings, and what a suffix in our flags means in bytes/ms. */
const MEMORY: Record<string, number> = {
  B: 1,
  kB: 1024,
  "8kB": 8192,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};
const TIME: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
/** Values PostgreSQL reports under another spelling. */
const ALIASES: Record<string, Record<string, string>> = { wal_compression: { on: "pglz" } };
function inUnit(flag: string, unit: string | null, name = ""): string {
  const alias = ALIASES[name]?.[flag];
  if (alias) return alias;
  const m = /^(-?\d+(?:\.\d+)?)\s*([a-zA-Z]+)?$/.exec(flag);
  if (!unit || !m) return flag;
  const n = Number(m[1]);
  const table = unit in MEMORY ? MEMORY : TIME;
  return String(m[2] ? (n * table[m[2]]!) / table[unit]! : n);
}

test("postgres runs with exactly the generated settings (only listen, port, socket dir and archive_command overridden) and each is in force", async () => {
  const generated = postgresSettings(cfg);
  const overridden = new Set(["listen_addresses", "port", "unix_socket_directories", "archive_command"]);
  for (const [k, v] of Object.entries(generated)) {
    if (!overridden.has(k)) assert.equal(postgres.settings[k], v, `the harness passes ${k} as generated`);
  }
  const c = await pgClient(postgres.url());
  try {
    const checked: string[] = [];
    for (const [name, flag] of Object.entries(postgres.settings)) {
      const row = (
        await c.query<{ setting: string; unit: string | null }>(
          "select setting, unit from pg_settings where name = $1",
          [name],
        )
      ).rows[0];
      const actual = row
        ? row.setting
        : (await c.query<{ v: string }>("select current_setting($1) as v", [name])).rows[0]!.v;
      assert.equal(
        actual,
        row ? inUnit(flag, row.unit, name) : flag,
        `${name}: flag ${flag}, server has ${actual}${row?.unit ?? ""}`,
      );
      checked.push(name);
    }
    for (const key of [
      "shared_preload_libraries",
      "cron.database_name",
      "password_encryption",
      "archive_timeout",
      "wal_level",
      "archive_mode",
      "max_connections",
    ]) {
      assert.ok(checked.includes(key), `${key} checked`);
    }
    const show = async (n: string) => Object.values((await c.query(`show ${n}`)).rows[0])[0];
    assert.equal(await show("shared_preload_libraries"), "pg_cron,pg_stat_statements");
    assert.equal(await show("cron.database_name"), cfg.postgres.database);
    assert.equal(await show("password_encryption"), "scram-sha-256");
    assert.equal(await show("wal_level"), "replica");
    assert.equal(await show("archive_timeout"), "1min");
  } finally {
    await c.end();
  }
});

test("the postgres container's healthcheck passes against the server", () => {
  assert.equal(
    runHealthcheck(postgresHealthcheck(cfg, { port: postgres.port, bin: join(PG_BIN, "pg_isready") })),
    0,
  );
  const closed = postgresHealthcheck(cfg, { port: 1, bin: join(PG_BIN, "pg_isready") });
  assert.notEqual(runHealthcheck(closed), 0, "and fails when nothing listens");
});

test("the five roles exist with their passwords (SCRAM), attributes and memberships", async () => {
  const c = await pgClient(postgres.url());
  try {
    const { rows } = await c.query(
      `select r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, a.rolpassword, s.setconfig
         from pg_roles r join pg_authid a on a.oid = r.oid
         left join pg_db_role_setting s on s.setrole = r.oid and s.setdatabase = 0
        where r.rolname like 'jarvis\\_%' order by 1`,
    );
    assert.deepEqual(
      rows.map((r) => r.rolname),
      Object.values(ROLE_NAMES).sort(),
    );
    for (const r of rows) {
      assert.equal(r.rolcanlogin, true, r.rolname);
      assert.equal(
        r.rolsuper || r.rolcreatedb || r.rolcreaterole || r.rolreplication,
        false,
        `${r.rolname} has no elevated attribute`,
      );
      assert.match(r.rolpassword, /^SCRAM-SHA-256\$4096:/);
    }
    const member = async (role: string, of: string) =>
      (await c.query("select pg_has_role($1, $2, 'member') as m", [role, of])).rows[0].m;
    assert.equal(await member("jarvis_monitor", "pg_monitor"), true);
    assert.equal(await member("jarvis_backup", "pg_read_all_data"), true);
    assert.equal(await member("jarvis_app", "pg_read_all_data"), false);
    assert.deepEqual(rows.find((r) => r.rolname === "jarvis_readonly").setconfig, [
      "default_transaction_read_only=on",
    ]);
  } finally {
    await c.end();
  }
  for (const [key, role] of Object.entries(ROLE_NAMES) as [RoleKey, string][]) {
    const c2 = await pgClient(postgres.url("postgres", role, postgres.roles[key]));
    assert.equal((await c2.query("select current_user as u")).rows[0].u, role);
    await c2.end();
  }
  assert.equal(
    await pgError(pgClient(postgres.url("postgres", "jarvis_app", "wrong-password-123456"))),
    "28P01",
  );
});

test("the app role has DML on a table owned by jarvis_owner but cannot drop, alter or truncate it, nor create one", async (t) => {
  const db = await createDatabase(postgres, "parity");
  t.after(() => db.drop());
  const su = await pgClient(db.url);
  try {
    // What the migrations do: jarvis_owner owns the schema and its tables, and grants DML to the app.
    await su.query(
      "create schema app authorization jarvis_owner; revoke create on schema public from public",
    );
    await su.query("set role jarvis_owner");
    await su.query("create table app.notes (id int primary key, body text not null)");
    await su.query("grant usage on schema app to jarvis_app, jarvis_readonly");
    await su.query("grant select, insert, update, delete on app.notes to jarvis_app");
    await su.query("grant select on app.notes to jarvis_readonly");
  } finally {
    await su.end();
  }
  const app = await pgClient(postgres.url(db.name, "jarvis_app", postgres.roles.app));
  try {
    await app.query("insert into app.notes values (1, 'hello')");
    await app.query("update app.notes set body = 'hi' where id = 1");
    assert.equal((await app.query("select body from app.notes")).rows[0].body, "hi");
    assert.equal(await pgError(app.query("drop table app.notes")), "42501");
    assert.equal(await pgError(app.query("alter table app.notes add column x int")), "42501");
    assert.equal(await pgError(app.query("truncate app.notes")), "42501");
    assert.equal(await pgError(app.query("create table app.mine (id int)")), "42501");
    assert.equal(await pgError(app.query("create table public.mine (id int)")), "42501");
  } finally {
    await app.end();
  }
  const ro = await pgClient(postgres.url(db.name, "jarvis_readonly", postgres.roles.readonly));
  try {
    assert.equal((await ro.query("select count(*)::int as n from app.notes")).rows[0].n, 1);
    assert.equal(await pgError(ro.query("delete from app.notes")), "25006", "read-only transaction");
  } finally {
    await ro.end();
  }
  const check = await pgClient(db.url);
  assert.equal(
    (await check.query("select count(*)::int as n from app.notes")).rows[0].n,
    1,
    "the table is still there",
  );
  await check.end();
});

test("ensureRoles is idempotent, survives concurrent runs, and never sends a password in clear", async (t) => {
  const own = await startPostgres({ roles: false });
  t.after(() => own.stop());
  const passwords = {
    owner: "o".repeat(20) + "A1",
    app: "app-Secret-0123456789",
    readonly: "r".repeat(24),
    backup: "b".repeat(24),
    monitor: "m".repeat(24),
  };
  const admin = await pgClient(own.url());
  await admin.query("create extension if not exists pg_stat_statements");
  await admin.query("select pg_stat_statements_reset()");
  const clients = await Promise.all([1, 2, 3, 4].map(() => pgClient(own.url())));
  try {
    const runs = await Promise.all(clients.map((c) => ensureRoles(c, passwords)));
    for (const role of Object.values(ROLE_NAMES)) {
      const created = runs.filter((r) => r.find((x) => x.role === role)?.action === "created").length;
      assert.equal(created, 1, `${role} created exactly once across 4 concurrent runs`);
    }
    const again = await ensureRoles(admin, passwords);
    assert.deepEqual(new Set(again.map((r) => r.action)), new Set(["unchanged"]));
    const changed = await ensureRoles(admin, { ...passwords, app: "a-new-app-password-42" });
    assert.equal(changed.find((r) => r.role === "jarvis_app")?.action, "updated");
    assert.equal(changed.filter((r) => r.action !== "unchanged").length, 1);
    const c = await pgClient(own.url("postgres", "jarvis_app", "a-new-app-password-42"));
    await c.end();
    const leaked = await admin.query(
      "select count(*)::int as n from pg_stat_statements where query like '%' || $1 || '%' or query like '%a-new-app-password-42%'",
      [passwords.app],
    );
    assert.equal(leaked.rows[0].n, 0, "no password in pg_stat_statements");
    const verifiers = await admin.query(
      "select count(*)::int as n from pg_stat_statements where query like '%SCRAM-SHA-256$%'",
    );
    assert.ok(verifiers.rows[0].n > 0, "only verifiers were sent");
  } finally {
    await Promise.all([admin, ...clients].map((c) => c.end()));
  }
  assert.ok(verifierMatches(scramVerifier("x".repeat(20)), "x".repeat(20)));
  assert.ok(!verifierMatches(scramVerifier("x".repeat(20)), "y".repeat(20)));
});

// ---------------------------------------------------------------- Redis

test("redis runs the generated redis.conf and CONFIG GET shows A13's bounds and the persistence settings", async () => {
  assert.deepEqual(
    redis.conf,
    redisConfig(cfg, {
      bind: "127.0.0.1",
      port: redis.port,
      dir: redis.dir,
      users: redisAclUsers(redis.passwords),
    }),
  );
  const c = createClient({ url: redis.url("admin") });
  await c.connect();
  try {
    const get = async (k: string) => (await c.configGet(k))[k];
    assert.equal(await get("maxmemory"), String(cfg.redis.maxmemoryMb * 1024 * 1024));
    assert.equal(await get("maxmemory-policy"), cfg.redis.maxmemoryPolicy);
    assert.equal(await get("appendonly"), "yes");
    assert.equal(await get("appendfsync"), cfg.redis.appendfsync);
    assert.equal(await get("save"), cfg.redis.save.map(([s, n]) => `${s} ${n}`).join(" "));
    const acl = (await c.sendCommand(["ACL", "LIST"])) as string[];
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    for (const [user, pw] of Object.entries(redis.passwords)) {
      const line = acl.find((l) => l.startsWith(`user ${user} `));
      assert.ok(line?.includes(`#${sha(pw)}`), `${user} has its password hash`);
      assert.ok(!acl.join("\n").includes(pw), "no password in clear");
    }
    assert.match(
      acl.find((l) => l.startsWith("user default "))!,
      /^user default off /,
    );
  } finally {
    await c.quit();
  }
});

async function redisAs(user: "app" | "backup" | "monitor") {
  const c = createClient({ url: redis.url(user), socket: { reconnectStrategy: false } });
  c.on("error", () => {});
  await c.connect();
  return c;
}
async function redisError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return String((e as Error).message).split(" ")[0]!;
  }
  return "no error";
}

test("the app Redis user can read and write keys but gets NOPERM on FLUSHALL, FLUSHDB, CONFIG, DEBUG and SHUTDOWN", async () => {
  const app = await redisAs("app");
  try {
    const key = `parity:${process.pid}:${Date.now()}`;
    await app.set(key, "v", { EX: 60 });
    assert.equal(await app.get(key), "v");
    assert.equal(await app.del(key), 1);
    for (const cmd of [
      ["FLUSHALL"],
      ["FLUSHDB"],
      ["CONFIG", "GET", "maxmemory"],
      ["CONFIG", "SET", "maxmemory", "0"],
      ["SHUTDOWN", "NOSAVE"],
      ["ACL", "LIST"],
    ]) {
      assert.equal(await redisError(app.sendCommand(cmd)), "NOPERM", cmd.join(" "));
    }
    // DEBUG is refused even earlier (enable-debug-command no): ERR; ACL DRYRUN below shows the ACL denies it too.
    assert.match(await redisError(app.sendCommand(["DEBUG", "SLEEP", "0"])), /^(NOPERM|ERR)$/);
  } finally {
    await app.quit();
  }
  const admin = createClient({ url: redis.url("admin") });
  await admin.connect();
  try {
    for (const cmd of [
      ["FLUSHALL"],
      ["FLUSHDB"],
      ["CONFIG", "GET", "maxmemory"],
      ["DEBUG", "SLEEP", "0"],
      ["SHUTDOWN"],
    ]) {
      assert.match(
        String(await admin.sendCommand(["ACL", "DRYRUN", "app", ...cmd])),
        /no permissions/,
        `ACL DRYRUN app ${cmd.join(" ")}`,
      );
    }
    assert.equal(String(await admin.sendCommand(["ACL", "DRYRUN", "app", "SET", "k", "v"])), "OK");
    assert.equal(await admin.ping(), "PONG", "the server is still up");
  } finally {
    await admin.quit();
  }
});

test("the backup and monitor Redis users cannot read data; default is off", async () => {
  const backup = await redisAs("backup");
  try {
    assert.equal(await redisError(backup.get("anything")), "NOPERM");
    assert.equal(await redisError(backup.set("x", "y")), "NOPERM");
    assert.equal(await backup.ping(), "PONG");
  } finally {
    await backup.quit();
  }
  const monitor = await redisAs("monitor");
  try {
    assert.equal(await redisError(monitor.get("anything")), "NOPERM");
    assert.equal(typeof (await monitor.dbSize()), "number");
    assert.match(await monitor.info("memory"), /used_memory:/);
  } finally {
    await monitor.quit();
  }
  // Without AUTH, the connection is the `default` user, which is off.
  const reply = await new Promise<string>((ok, fail) => {
    const sock = connect(redis.port, "127.0.0.1", () => sock.write("GET x\r\n"));
    sock.once("data", (d) => {
      ok(d.toString());
      sock.destroy();
    });
    sock.once("error", fail);
  });
  assert.match(reply, /^-NOAUTH/);
});

/** Commands no user but admin may run: they wipe, stop, block, reconfigure, spy on or pause the server. */
const DANGEROUS_REDIS: string[][] = [
  ["FLUSHALL"],
  ["FLUSHDB"],
  ["SWAPDB", "0", "1"],
  ["KEYS", "*"],
  ["CONFIG", "SET", "maxmemory", "0"],
  ["CONFIG", "REWRITE"],
  ["DEBUG", "SLEEP", "0"],
  ["SHUTDOWN", "NOSAVE"],
  ["MONITOR"],
  ["SAVE"],
  ["BGSAVE"],
  ["BGREWRITEAOF"],
  ["REPLICAOF", "127.0.0.1", "1"],
  ["MIGRATE", "127.0.0.1", "1", "k", "0", "1000"],
  ["RESTORE", "k", "0", "x"],
  ["ACL", "SETUSER", "app", "+@all"],
  ["ACL", "LIST"],
  ["MODULE", "LOAD", "/tmp/x.so"],
  ["SCRIPT", "FLUSH"],
  ["SCRIPT", "KILL"],
  ["FUNCTION", "FLUSH"],
  ["FUNCTION", "DELETE", "lib"],
  ["FUNCTION", "RESTORE", "x"],
  ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', function() return 1 end)"],
  ["FUNCTION", "KILL"],
  ["CLIENT", "PAUSE", "3000"],
  ["CLIENT", "UNPAUSE"],
  ["CLIENT", "KILL", "ID", "1"],
  ["CLIENT", "NO-EVICT", "on"],
  ["CLIENT", "LIST"],
  ["FAILOVER"],
];
/** What each user needs, and keeps (ACL DRYRUN says OK). */
const NEEDED_REDIS: Record<"app" | "backup" | "monitor", string[][]> = {
  app: [
    ["SET", "k", "v", "EX", "60"],
    ["GET", "k"],
    ["HSET", "h", "f", "v"],
    ["LPUSH", "l", "x"],
    ["BLPOP", "l", "1"],
    ["ZADD", "z", "1", "m"],
    ["XADD", "s", "*", "f", "v"],
    ["SCAN", "0", "MATCH", "temp:*"],
    ["EXPIRE", "k", "60", "NX"],
    ["MULTI"],
    ["PUBLISH", "c", "m"],
    ["SUBSCRIBE", "c"],
    ["EVAL", "return 1", "0"],
    ["FCALL", "f", "0"],
    ["CLIENT", "SETNAME", "jarvis"],
    ["INFO", "memory"],
    ["DBSIZE"],
  ],
  backup: [["PING"], ["INFO", "keyspace"], ["REPLCONF", "rdb-only", "1"], ["SYNC"]],
  // redis_exporter without check-keys (1.45 checked here: no ACL LOG entry, redis_up 1)
  monitor: [
    ["PING"],
    ["INFO", "all"],
    ["DBSIZE"],
    ["SELECT", "0"],
    ["CONFIG", "GET", "maxmemory"],
    ["CLIENT", "SETNAME", "redis_exporter"],
    ["SLOWLOG", "GET"],
    ["LATENCY", "LATEST"],
    ["MEMORY", "STATS"],
  ],
};

test("no Redis user but admin may run a dangerous command (ACL DRYRUN, every command for every user)", async () => {
  const admin = createClient({ url: redis.url("admin") });
  await admin.connect();
  try {
    const allowed: string[] = [];
    for (const user of ["app", "backup", "monitor"] as const) {
      for (const cmd of DANGEROUS_REDIS) {
        const r = String(await admin.sendCommand(["ACL", "DRYRUN", user, ...cmd]));
        if (!/no permissions/.test(r)) allowed.push(`${user}: ${cmd.join(" ")} -> ${r}`);
      }
      for (const cmd of NEEDED_REDIS[user]) {
        const r = String(await admin.sendCommand(["ACL", "DRYRUN", user, ...cmd]));
        assert.equal(r, "OK", `${user} needs ${cmd.join(" ")}`);
      }
    }
    assert.deepEqual(allowed, []);
    for (const user of ["app", "backup", "monitor"])
      assert.equal(
        String(await admin.sendCommand(["ACL", "DRYRUN", user, "GET", "x"])) === "OK",
        user === "app",
      );
  } finally {
    await admin.quit();
  }
});

test("the monitor Redis user cannot pause the app's writes with CLIENT PAUSE, nor kill its connection", async () => {
  const monitor = await redisAs("monitor");
  const app = await redisAs("app");
  try {
    assert.equal(await redisError(monitor.sendCommand(["CLIENT", "PAUSE", "2000", "WRITE"])), "NOPERM");
    const t0 = Date.now();
    await app.set(`parity:pause:${process.pid}`, "v", { EX: 60 });
    assert.ok(Date.now() - t0 < 1000, `the app's write waited ${Date.now() - t0} ms`);
    const id = String(await app.sendCommand(["CLIENT", "ID"]));
    assert.equal(await redisError(monitor.sendCommand(["CLIENT", "KILL", "ID", id])), "NOPERM");
    assert.equal(await redisError(monitor.sendCommand(["CLIENT", "NO-EVICT", "on"])), "NOPERM");
    assert.equal(await redisError(app.sendCommand(["KEYS", "*"])), "NOPERM");
    assert.equal(await redisError(app.sendCommand(["FUNCTION", "FLUSH"])), "NOPERM");
    assert.equal(await app.ping(), "PONG");
  } finally {
    await app.quit();
    await monitor.quit();
  }
});

test("the redis container's healthcheck passes as the monitor user, reading the password from a file", () => {
  const file = join(tmp, "redis_monitor_password");
  writeFileSync(file, redis.passwords.monitor, { mode: 0o400 });
  assert.equal(runHealthcheck(redisHealthcheck({ port: redis.port, passwordFile: file })), 0);
  const wrong = join(tmp, "wrong");
  writeFileSync(wrong, "not-the-password-at-all");
  assert.notEqual(runHealthcheck(redisHealthcheck({ port: redis.port, passwordFile: wrong })), 0);
});

// ---------------------------------------------------------------- Chroma

test("chroma's gateway refuses a request without the token or with a wrong one, and accepts the token", async () => {
  const collections = `${chroma.url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
  assert.equal((await fetch(collections)).status, 401);
  assert.equal(
    (await fetch(collections, { headers: { "x-chroma-token": "wrong-token-0123456789" } })).status,
    401,
  );
  assert.equal(
    (await fetch(collections, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status,
    401,
  );
  assert.equal(
    (
      await fetch(collections, {
        method: "POST",
        body: JSON.stringify({ name: "nope" }),
        headers: { "content-type": "application/json" },
      })
    ).status,
    401,
  );
  assert.equal((await fetch(collections, { headers: { "x-chroma-token": chroma.token } })).status, 200);
  assert.equal(
    (await fetch(collections, { headers: { authorization: `Bearer ${chroma.token}` } })).status,
    200,
  );
  assert.equal(
    (await fetch(`${chroma.url}/api/v2/heartbeat`)).status,
    200,
    "heartbeat stays open for healthchecks",
  );
  assert.equal(tokenSha256(chroma.token).length, 64);
});

test("a Chroma client with the token stores records under the configured persist_path; without it, it is refused", async () => {
  assert.equal(chroma.config.persist_path, join(chroma.dir, "data"));
  const name = `parity_${process.pid}_${Date.now()}`;
  const client = chromaClient(chroma.url, chroma.token);
  const col = await client.createCollection({ name, embeddingFunction: precomputedEmbeddings });
  await col.add({ ids: ["a"], embeddings: [[1, 0, 0]], documents: ["alpha"] });
  assert.equal(await col.count(), 1);
  assert.ok(existsSync(join(chroma.dir, "data", "chroma.sqlite3")), "data lands in persist_path");
  await assert.rejects(
    chromaClient(chroma.url).getCollection({ name, embeddingFunction: precomputedEmbeddings }),
  );
  await client.deleteCollection({ name });
});

test("the chroma container's healthcheck (bash /dev/tcp, no curl) passes against the server", () => {
  assert.equal(runHealthcheck(chromaHealthcheck({ port: chroma.upstreamPort })), 0);
  assert.notEqual(runHealthcheck(chromaHealthcheck({ port: 1 })), 0);
});

// ---------------------------------------------------------------- the stack's commands

const ROOT = join(import.meta.dirname, "..");

test("`jarvis-data chroma gateway` (what the gateway container runs) refuses without the token and proxies with it", async (t) => {
  const port = await freePort();
  const hashFile = join(tmp, "chroma_token_sha256");
  writeFileSync(hashFile, tokenSha256(chroma.token) + "\n");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "cli/main.ts",
      "chroma",
      "gateway",
      "--upstream",
      chroma.upstreamUrl,
      "--listen",
      `127.0.0.1:${port}`,
      "--token-sha256-file",
      hashFile,
    ],
    { cwd: ROOT, stdio: "ignore" },
  );
  t.after(() => {
    child.kill("SIGTERM");
  });
  const url = `http://127.0.0.1:${port}`;
  // The CLI starts through tsx: allow for a slow, busy machine.
  const deadline = Date.now() + 120_000;
  let exited: number | null = null;
  child.once("exit", (code) => (exited = code ?? -1));
  while (
    Date.now() < deadline &&
    exited === null &&
    !(await fetch(`${url}/api/v2/heartbeat`).then(
      (r) => r.ok,
      () => false,
    ))
  )
    await new Promise((r) => setTimeout(r, 200));
  assert.equal(exited, null, "the gateway is running");
  const path = `${url}/api/v2/tenants/default_tenant/databases/default_database/collections`;
  assert.equal((await fetch(path)).status, 401);
  assert.equal((await fetch(path, { headers: { "x-chroma-token": chroma.token } })).status, 200);
});

test("`jarvis-data roles apply` (what the roles job runs) reads the password files and reports each role", () => {
  const dir = join(tmp, "roles");
  spawnSync("mkdir", ["-p", dir]);
  for (const [key, role] of Object.entries(ROLE_NAMES) as [RoleKey, string][])
    writeFileSync(join(dir, role), postgres.roles[key] + "\n", { mode: 0o400 });
  const pwFile = join(tmp, "superuser");
  writeFileSync(pwFile, postgres.password);
  const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "roles", "apply", "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    env: {
      ...process.env,
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${postgres.port}/postgres`,
      PGPASSWORD_FILE: pwFile,
      JARVIS_ROLE_PASSWORDS_DIR: dir,
    },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(
    out.roles.map((x: { role: string }) => x.role),
    Object.values(ROLE_NAMES),
  );
  assert.ok(
    out.roles.every((x: { action: string }) => x.action === "unchanged"),
    r.stdout,
  );
  assert.ok(!r.stdout.includes(postgres.roles.app) && !r.stderr.includes(postgres.password));
  const missing = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "roles", "apply"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, JARVIS_ROLE_PASSWORDS_DIR: join(tmp, "nowhere") },
  });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /jarvis_owner/);
});
