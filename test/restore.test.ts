/**
 * Restores against real servers: Redis (replication-protocol snapshot, AOF on) and Chroma (export
 * and import) round trips, refusal of a non-empty target without --confirm, pg_cron left out of
 * a restore into another database.
 */
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import {
  createBucket,
  createDatabase,
  startPostgres,
  startRedis,
  startRedisOnDir,
  storeOn,
  useServices,
  type S3Server,
} from "./harness/index.ts";
import { BackupStore } from "../core/backup/store.ts";
import { backupRedis, prepareRedisDataDir, restoreRedis } from "../core/backup/redis.ts";
import { backupChroma, ChromaApi, chromaContents, restoreChroma } from "../core/backup/chroma.ts";
import {
  backupPostgresLogical,
  restorePostgresLogical,
  type PgRestorePlan,
} from "../core/backup/postgres-logical.ts";
import { findBackup, listCheckedBackups, readManifest } from "../core/backup/manifest.ts";
import { serveRdb } from "../core/backup/redis-server.ts";
import { verifyBackup } from "../core/backup/verify.ts";
import { asRole, drill, withDrillRole } from "../core/backup/drill.ts";
import { tableChecksums } from "../core/backup/pg-inspect.ts";
import { RefusedError } from "../core/errors.ts";
import { withClient } from "../core/pg.ts";
import { buildDataset } from "../bench/backup/dataset.ts";

const { postgres, chroma, s3 } = await useServices("postgres", "chroma", "s3");

async function newStore(server: S3Server): Promise<BackupStore> {
  const store = storeOn(server, await createBucket(server, "r"));
  after(() => store.destroy());
  return store;
}

type RedisClient = any;
async function redis(url: string): Promise<RedisClient> {
  const c = createClient({ url, socket: { reconnectStrategy: false } });
  c.on("error", () => {});
  await c.connect();
  return c;
}

/** Every key with its type, value and whether it expires, so equal maps mean identical datasets. */
async function snapshot(c: RedisClient): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const keys of c.scanIterator({ COUNT: 500 })) {
    for (const k of ([] as string[]).concat(keys)) {
      const type = await c.type(k);
      const value =
        type === "string"
          ? await c.get(k)
          : type === "hash"
            ? Object.entries(await c.hGetAll(k)).sort()
            : type === "list"
              ? await c.lRange(k, 0, -1)
              : type === "set"
                ? (await c.sMembers(k)).sort()
                : type === "zset"
                  ? await c.zRangeWithScores(k, 0, -1)
                  : "?";
      out[k] = `${type}:${JSON.stringify(value)}:${(await c.ttl(k)) > 0 ? "expires" : "persistent"}`;
    }
  }
  return out;
}

async function seedRedis(c: RedisClient) {
  for (let i = 0; i < 300; i++) await c.set(`cache:${i}`, `value-${i}-${"x".repeat(i % 50)}`);
  await c.hSet("user:1", { name: "Tony", city: "Malibu" });
  await c.rPush("queue:jobs", ["a", "b", "c"]);
  await c.sAdd("tags", ["x", "y", "z"]);
  await c.zAdd("scores", [
    { score: 1, value: "one" },
    { score: 2, value: "two" },
  ]);
  await c.set("temp:session", "s", { EX: 3600 });
}

test("a Redis snapshot fetched over the replication protocol restores identically into a server with AOF on", async () => {
  const store = await newStore(s3);
  const [src, dst] = await Promise.all([startRedis(), startRedis()]);
  after(() => Promise.all([src.stop(), dst.stop()]));
  const a = await redis(src.url("admin"));
  await seedRedis(a);
  const r = await backupRedis({ url: src.url("backup"), store });
  assert.deepEqual(r.manifest.keys, { db0: 305 });
  const m = await readManifest(store, await findBackup(store, "redis"));
  assert.equal(m.files[0]!.path, "dump.rdb");

  const b = await redis(dst.url("admin"));
  await b.set("stale", "will be replaced");
  // Not empty: refused without --confirm, untouched.
  await assert.rejects(
    restoreRedis({ store, targetUrl: dst.url("admin") }),
    (e: unknown) => e instanceof RefusedError && e.message.includes(`--confirm 127.0.0.1:${dst.port}`),
  );
  assert.equal(await b.get("stale"), "will be replaced");

  let plan: unknown;
  await restoreRedis({
    store,
    targetUrl: dst.url("admin"),
    confirm: `127.0.0.1:${dst.port}`,
    onPlan: (p) => (plan = p),
  });
  assert.deepEqual((plan as { overwrites: unknown }).overwrites, { db0: 1 });
  assert.deepEqual(await snapshot(b), await snapshot(a));
  assert.equal(await b.get("stale"), null);
  // The target is a primary again, AOF still on and rewritten from the restored data.
  const info = String(await b.sendCommand(["INFO"]));
  assert.match(info, /role:master/);
  assert.match(info, /aof_enabled:1/);
  assert.match(info, /aof_last_bgrewrite_status:ok/);
  await a.quit();
  await b.quit();
});

test("the offline Redis procedure (dump.rdb in place, AOF set aside, then re-enabled) restores the data", async () => {
  const store = await newStore(s3);
  const src = await startRedis();
  after(() => src.stop());
  const a = await redis(src.url("admin"));
  await seedRedis(a);
  const expected = await snapshot(a);
  await a.quit();
  const r = await backupRedis({ url: src.url("backup"), store });
  const dir = await mkdtemp(join(tmpdir(), "jarvis-redis-offline-"));
  after(() => rm(dir, { recursive: true, force: true }));
  // A stopped server's data dir with an old AOF in it.
  const { mkdirSync, writeFileSync } = await import("node:fs");
  mkdirSync(join(dir, "appendonlydir"));
  writeFileSync(join(dir, "appendonlydir", "appendonly.aof.1.base.rdb"), "old");
  await store.getFile(`redis/rdb/redis/${r.id}/dump.rdb`, join(dir, "restore.rdb"));
  const { movedAside } = await prepareRedisDataDir(join(dir, "restore.rdb"), dir);
  assert.ok(movedAside && existsSync(movedAside));
  const restored = await startRedisOnDir(dir, ["--appendonly", "no", "--save", ""]);
  after(() => restored.stop());
  const c = await redis(restored.url);
  assert.deepEqual(await snapshot(c), expected);
  await c.sendCommand(["CONFIG", "SET", "appendonly", "yes"]);
  for (let i = 0; i < 100; i++) {
    if (
      /aof_rewrite_in_progress:0/.test(String(await c.sendCommand(["INFO", "persistence"]))) &&
      existsSync(join(dir, "appendonlydir"))
    )
      break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.ok(
    readdirSync(join(dir, "appendonlydir")).some((f) => f.endsWith(".base.rdb")),
    "a fresh AOF base was written",
  );
  await c.quit();
});

async function seedChroma(api: ChromaApi, name: string, n: number) {
  const col = await api.create(name, { owner: "jarvis", n }, { hnsw: { space: "cosine" } });
  for (let i = 0; i < n; i += 500) {
    const ids = Array.from({ length: Math.min(500, n - i) }, (_, j) => `${name}-${i + j}`);
    await api.add(col, {
      ids,
      embeddings: ids.map((_, j) => Array.from({ length: 384 }, (_, d) => Math.sin((i + j + 1) * (d + 1)))),
      documents: ids.map((id) => `memory ${id}`),
      metadatas: ids.map((id, j) => ({
        category: ["knowledge", "patterns"][j % 2]!,
        importance: (j % 10) / 10,
        id,
      })),
    });
  }
}

/** Same collections, same ids, documents and metadatas byte for byte, embeddings equal to float32 precision. */
async function assertSameChroma(a: ChromaApi, b: ChromaApi) {
  const [fa, fb] = await Promise.all([chromaContents(a), chromaContents(b)]);
  assert.deepEqual(
    fb.map((f) => [f.name, f.count, f.checksum]),
    fa.map((f) => [f.name, f.count, f.checksum]),
  );
  for (const ca of await a.collections()) {
    const cb = (await b.collections()).find((c) => c.name === ca.name)!;
    const [ra, rb] = await Promise.all([a.get(ca, 0, 100000), b.get(cb, 0, 100000)]);
    const byId = new Map(rb.ids.map((id, i) => [id, rb.embeddings[i]!]));
    ra.ids.forEach((id, i) => {
      const ea = ra.embeddings[i]!;
      const eb = byId.get(id)!;
      assert.equal(eb.length, ea.length);
      ea.forEach((v, d) =>
        assert.ok(
          Math.abs(v - eb[d]!) <= Math.abs(v) * 3e-7 + 1e-12,
          `${ca.name}/${id}[${d}]: ${v} vs ${eb[d]}`,
        ),
      );
    });
  }
}

test("a Chroma export imports into an empty database identically, and a non-empty one is refused without --confirm", async () => {
  const store = await newStore(s3);
  const src = new ChromaApi({
    url: chroma.url,
    token: chroma.token,
    database: `src_${randomBytes(4).toString("hex")}`,
  });
  await src.createDatabase();
  after(() => src.deleteDatabase().catch(() => {}));
  await seedChroma(src, "memories", 2300);
  await seedChroma(src, "preferences", 40);
  const r = await backupChroma({ source: src.target, store, batchSize: 1000 });
  assert.deepEqual(
    r.manifest.collections!.map((c) => [c.name, c.count]),
    [
      ["memories", 2300],
      ["preferences", 40],
    ],
  );
  assert.equal(r.manifest.files.filter((f) => f.path.startsWith("collections/memories/batch-")).length, 3);

  const dst = new ChromaApi({
    url: chroma.url,
    token: chroma.token,
    database: `dst_${randomBytes(4).toString("hex")}`,
  });
  after(() => dst.deleteDatabase().catch(() => {}));
  await restoreChroma({ store, target: dst.target, createDatabase: true });
  await assertSameChroma(src, dst);
  const [cfg] = (await dst.collections()).filter((c) => c.name === "memories");
  assert.deepEqual(cfg!.metadata, { owner: "jarvis", n: 2300 });

  // Now it is not empty: refused, named, untouched.
  await assert.rejects(
    restoreChroma({ store, target: dst.target }),
    (e: unknown) =>
      e instanceof RefusedError &&
      e.message.includes(`--confirm ${dst.database}`) &&
      e.message.includes("memories: 2300"),
  );
  assert.equal((await dst.collections()).length, 2);
  await restoreChroma({ store, target: dst.target, confirm: dst.database });
  await assertSameChroma(src, dst);
});

test("refuses a restore into a non-empty database without --confirm, printing what would be overwritten", async () => {
  const store = await newStore(s3);
  const src = await createDatabase(postgres, "rsrc");
  const dst = await createDatabase(postgres, "rdst");
  after(() => Promise.all([src.drop(), dst.drop()]));
  await buildDataset(src.url, 0.05);
  await withClient(dst.url, (c) =>
    c.query("create table precious (id int); insert into precious values (1), (2)"),
  );
  const r = await backupPostgresLogical({ url: src.url, store });
  let plan: PgRestorePlan | undefined;
  await assert.rejects(
    restorePostgresLogical({ store, id: r.id, targetUrl: dst.url, onPlan: (p) => (plan = p) }),
    (e: unknown) => {
      assert.ok(e instanceof RefusedError);
      assert.equal(e.exitCode, 4);
      assert.match(e.message, new RegExp(`pass --confirm ${dst.name}`));
      return true;
    },
  );
  // Never analysed, so the planner's estimate is -1: the plan counts them instead of saying 0.
  assert.deepEqual(plan!.overwrites!.tables, [{ table: "public.precious", rows: 2 }]);
  assert.equal(
    await withClient(dst.url, async (c) => (await c.query("select count(*)::int n from precious")).rows[0].n),
    2,
  );
  // A wrong name is refused too; the right one replaces the database.
  await assert.rejects(
    restorePostgresLogical({ store, id: r.id, targetUrl: dst.url, confirm: "jarvis" }),
    RefusedError,
  );
  await restorePostgresLogical({ store, id: r.id, targetUrl: dst.url, confirm: dst.name });
  const [a, b] = await Promise.all([
    withClient(src.url, tableChecksums),
    withClient(dst.url, tableChecksums),
  ]);
  assert.deepEqual(b, a);
  assert.equal(b["public.precious"], undefined);
});

test("a backup of the pg_cron database restores into another database without pg_cron", async () => {
  const own = await startPostgres();
  after(() => own.stop());
  const store = await newStore(s3);
  const cronDb = own.url("jarvis");
  await withClient(cronDb, async (c) => {
    await c.query("create extension if not exists pg_cron");
    await c.query("select cron.schedule('jarvis-test', '0 3 * * *', 'select 1')");
    await c.query(
      "create table notes (id int primary key, body text); insert into notes select g, 'n' || g from generate_series(1, 50) g",
    );
  });
  const r = await backupPostgresLogical({ url: cronDb, store });
  let plan: PgRestorePlan | undefined;
  await restorePostgresLogical({
    store,
    id: r.id,
    targetUrl: own.url("elsewhere"),
    onPlan: (p) => (plan = p),
  });
  assert.equal(plan!.pgCron, "left out");
  await withClient(own.url("elsewhere"), async (c) => {
    assert.equal((await c.query("select count(*)::int n from notes")).rows[0].n, 50);
    assert.equal(
      (await c.query("select count(*)::int n from pg_extension where extname = 'pg_cron'")).rows[0].n,
      0,
    );
  });
  // Back into the cron database itself (after confirming), pg_cron and its job come back.
  await restorePostgresLogical({
    store,
    id: r.id,
    targetUrl: cronDb,
    confirm: "jarvis",
    onPlan: (p) => (plan = p),
  });
  assert.equal(plan!.pgCron, "kept");
  await withClient(cronDb, async (c) => {
    assert.equal(
      (await c.query("select count(*)::int n from cron.job where jobname = 'jarvis-test'")).rows[0].n,
      1,
    );
  });
});

/** Rewrites a stored backup's manifest with `edit` (what a writer to the bucket can do). */
async function tamper(store: BackupStore, which: "postgres" | "redis", id: string, edit: (m: any) => any) {
  const ref = await findBackup(store, which, id);
  const m = JSON.parse((await store.getBuffer(ref.dir + "manifest.json")).toString("utf8"));
  await store.putBuffer(ref.dir + "manifest.json", JSON.stringify(edit(m)));
  return ref;
}

test("a manifest path that climbs out (../../../../tmp/x/pwned.txt) with a matching sha256: restore and verify refuse, nothing is written outside", async () => {
  const store = await newStore(s3);
  const src = await startRedis();
  after(() => src.stop());
  const r = await backupRedis({ url: src.url("backup"), store });
  const pwnDir = `/tmp/jarvis-pwn-${randomBytes(4).toString("hex")}`;
  const evil = `../../../../${pwnDir.slice(1)}/pwned.txt`;
  const body = Buffer.from("owned\n");
  const ref = await tamper(store, "redis", r.id, (m) => {
    m.files.push({ path: evil, size: body.length, sha256: createHash("sha256").update(body).digest("hex") });
    m.totalBytes += body.length;
    return m;
  });
  await store.putBuffer(ref.dir + evil, body);
  const dst = await startRedis();
  after(() => dst.stop());
  await assert.rejects(
    restoreRedis({ store, id: r.id, targetUrl: dst.url("admin") }),
    (e: any) => e.code === "JARVIS_MANIFEST_INVALID",
  );
  await assert.rejects(verifyBackup(store, "redis", r.id), (e: any) => e.code === "JARVIS_MANIFEST_INVALID");
  assert.equal(existsSync(`${pwnDir}/pwned.txt`), false, "nothing written outside the restore directory");
});

test("with JARVIS_MANIFEST_KEY set, a forged (unsigned) manifest is refused, and listed as invalid", async () => {
  const plain = await newStore(s3);
  const store = storeOn(s3, plain.bucket, { manifestKey: "stack-secret" });
  after(() => store.destroy());
  const src = await startRedis();
  after(() => src.stop());
  const r = await backupRedis({ url: src.url("backup"), store });
  assert.match(r.manifest.signature ?? "", /^hmac-sha256:[0-9a-f]{64}$/);
  // A writer to the bucket rewrites it (its own keys count), without the stack's key.
  await tamper(store, "redis", r.id, (m) => ({ ...m, keys: { db0: 0 }, signature: undefined }));
  const dst = await startRedis();
  after(() => dst.stop());
  await assert.rejects(
    restoreRedis({ store, id: r.id, targetUrl: dst.url("admin") }),
    (e: any) => e.code === "JARVIS_MANIFEST_SIGNATURE",
  );
  const listed = await listCheckedBackups(store, "redis");
  assert.equal(listed.length, 1);
  assert.match(listed[0]!.problem ?? "", /unsigned/);
});

test("a corrupt manifest is listed flagged and skipped: 'latest' is the newest valid backup", async () => {
  const store = await newStore(s3);
  const src = await startRedis();
  after(() => src.stop());
  const good = await backupRedis({ url: src.url("backup"), store });
  const bad = await backupRedis({ url: src.url("backup"), store });
  const ref = await findBackup(store, "redis", bad.id);
  await store.putBuffer(ref.dir + "manifest.json", "{ this is not json");
  const listed = await listCheckedBackups(store, "redis");
  assert.deepEqual(
    listed.map((l) => [l.id, Boolean(l.problem)]),
    [
      [good.id, false],
      [bad.id, true],
    ],
  );
  assert.equal((await findBackup(store, "redis")).id, good.id);
});

test("a manifest with no files is refused, and the target keeps every table", async () => {
  const store = await newStore(s3);
  const src = await createDatabase(postgres, "esrc");
  const dst = await createDatabase(postgres, "edst");
  after(() => Promise.all([src.drop(), dst.drop()]));
  await buildDataset(src.url, 0.05);
  await buildDataset(dst.url, 0.05);
  const before = await withClient(dst.url, tableChecksums);
  const r = await backupPostgresLogical({ url: src.url, store });
  await tamper(store, "postgres", r.id, (m) => ({ ...m, files: [], totalBytes: 0 }));
  await assert.rejects(
    restorePostgresLogical({ store, id: r.id, targetUrl: dst.url, confirm: dst.name }),
    (e: any) => e.code === "JARVIS_MANIFEST_INVALID" && /lists no files/.test(e.message),
  );
  assert.ok(Object.keys(before).length >= 6);
  assert.deepEqual(await withClient(dst.url, tableChecksums), before);
});

test("a restore whose load fails mid-way leaves the target intact and no side database behind", async () => {
  const store = await newStore(s3);
  const src = await createDatabase(postgres, "fsrc");
  const dst = await createDatabase(postgres, "fdst");
  after(() => Promise.all([src.drop(), dst.drop()]));
  await buildDataset(src.url, 0.05);
  await withClient(dst.url, (c) =>
    c.query("create table precious (id int); insert into precious values (1), (2)"),
  );
  const r = await backupPostgresLogical({ url: src.url, store });
  // A data file replaced by garbage whose checksum the manifest carries: downloads check out, pg_restore fails.
  const garbage = Buffer.from("not gzip at all");
  const victim = r.manifest.files.find((f) => /\.dat\.gz$/.test(f.path))!;
  const ref = await tamper(store, "postgres", r.id, (m) => {
    const f = m.files.find((x: any) => x.path === victim.path);
    m.totalBytes += garbage.length - f.size;
    Object.assign(f, { size: garbage.length, sha256: createHash("sha256").update(garbage).digest("hex") });
    return m;
  });
  await store.putBuffer(ref.dir + victim.path, garbage);
  await assert.rejects(
    restorePostgresLogical({ store, id: r.id, targetUrl: dst.url, confirm: dst.name }),
    (e: any) => e.code === "JARVIS_TOOL_FAILED",
  );
  assert.equal(
    await withClient(dst.url, async (c) => (await c.query("select count(*)::int n from precious")).rows[0].n),
    2,
  );
  const leftovers = await withClient(
    postgres.url("postgres"),
    async (c) =>
      (await c.query("select datname from pg_database where datname like $1", [`${dst.name}_%`])).rows,
  );
  assert.deepEqual(leftovers, []);
});

test("the restore's throwaway Redis does not show its password on its command line", async () => {
  const store = await newStore(s3);
  const src = await startRedis();
  after(() => src.stop());
  const r = await backupRedis({ url: src.url("backup"), store });
  const dir = await mkdtemp(join(tmpdir(), "jarvis-ps-"));
  after(() => rm(dir, { recursive: true, force: true }));
  await store.getFile(`redis/rdb/redis/${r.id}/dump.rdb`, join(dir, "dump.rdb"));
  // What `ps` shows while the server starts (Redis rewrites its title afterwards): a shim on PATH
  // records the arguments, then runs the real redis-server.
  const real = execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  writeFileSync(join(dir, "redis-server"), `#!/bin/sh\necho "$@" >> ${dir}/argv.log\nexec ${real} "$@"\n`, {
    mode: 0o755,
  });
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path}`;
  let server: Awaited<ReturnType<typeof serveRdb>> | undefined;
  try {
    server = await serveRdb(join(dir, "dump.rdb"));
  } finally {
    process.env.PATH = path;
  }
  try {
    const argv = readFileSync(join(dir, "argv.log"), "utf8");
    assert.ok(argv.trim().length > 0, "the shim ran");
    assert.ok(!argv.includes(server.password), `password visible in ps: ${argv}`);
    assert.deepEqual(server.keys, r.manifest.keys);
  } finally {
    await server.stop();
  }
});

test("a hostile dump in the bucket (a CHECK whose function runs ALTER ROLE ... SUPERUSER): the drill loads it as a non-superuser, so the attempt is refused and no role gains superuser", async () => {
  // A bucket writer plants a dump whose CHECK function acts only in the drill's scratch database
  // (jarvis_drill_*): the source loads and backs up cleanly, the drill's load runs the function.
  const store = await newStore(s3);
  const src = await createDatabase(postgres, "hsrc");
  after(() => src.drop());
  const victim = `jarvis_victim_${randomBytes(3).toString("hex")}`;
  const admin = postgres.url("postgres");
  await withClient(admin, (c) => c.query(`create role ${victim} nologin`));
  after(() => withClient(admin, (c) => c.query(`drop role if exists ${victim}`)));
  await withClient(src.url, (c) =>
    c.query(
      `create function public.hostile(x int) returns boolean language plpgsql as $$
       begin
         if current_database() like 'jarvis_drill_%' then execute 'alter role ${victim} superuser'; end if;
         return true;
       end $$;
       create table public.notes (x int check (public.hostile(x)));
       insert into public.notes select generate_series(1, 3);`,
    ),
  );
  const r = await backupPostgresLogical({ url: src.url, store });
  const [result] = await drill({ store, stores: ["postgres"], postgresUrl: admin });
  const { rows } = await withClient(admin, (c) =>
    c.query("select rolsuper from pg_roles where rolname = $1", [victim]),
  );
  assert.equal(rows[0].rolsuper, false, "the planted ALTER ROLE ran as a superuser");
  // The function did run, as the drill's role, and was refused: the drill fails loudly.
  assert.equal(result?.ok, false, `the drill of ${r.id} passed: the planted function never ran`);
  assert.match(result?.error ?? "", /permission denied|must be superuser|must have/i, result?.error);
});

test("a drill's restore loads the bucket's dump as a throwaway non-superuser role that owns only its scratch database", async () => {
  const store = await newStore(s3);
  const src = await createDatabase(postgres, "dsrc");
  after(() => src.drop());
  await buildDataset(src.url, 0.05);
  const r = await backupPostgresLogical({ url: src.url, store });
  const admin = postgres.url("postgres");
  const scratch = `drill_scratch_${randomBytes(3).toString("hex")}`;
  let seen: { owners: string[]; superuser: boolean; createdb: boolean } | undefined;
  await withDrillRole(admin, async (role) => {
    const url = asRole(admin, role, scratch);
    try {
      await restorePostgresLogical({ store, id: r.id, targetUrl: url, adminUrl: admin, noOwner: true });
      seen = await withClient(admin, async (c) => ({
        owners: (
          await c.query("select distinct pg_get_userbyid(datdba) o from pg_database where datname = $1", [
            scratch,
          ])
        ).rows.map((x) => x.o),
        ...(
          await c.query("select rolsuper superuser, rolcreatedb createdb from pg_roles where rolname = $1", [
            role.name,
          ])
        ).rows[0],
      }));
      const tableOwners = await withClient(url, async (c) =>
        (await c.query("select distinct tableowner from pg_tables where schemaname = 'public'")).rows.map(
          (x) => x.tableowner,
        ),
      );
      assert.deepEqual(tableOwners, [role.name]);
      assert.deepEqual(await withClient(url, tableChecksums), await withClient(src.url, tableChecksums));
    } finally {
      await withClient(admin, (c) => c.query(`drop database if exists "${scratch}" with (force)`));
    }
  });
  assert.equal(seen!.superuser, false);
  assert.equal(seen!.createdb, false);
  assert.equal(seen!.owners.length, 1);
  assert.match(seen!.owners[0]!, /^jarvis_drill_[0-9a-f]{8}$/);
});
