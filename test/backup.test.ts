/**
 * Backups against real servers: PostgreSQL logical round trip, manifest-last under kill -9,
 * bounded retries on S3 errors, verification naming a corrupt object.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import http from "node:http";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  createBucket,
  createDatabase,
  s3ClientFor,
  storeOn,
  useServices,
  type S3Server,
} from "./harness/index.ts";
import { buildDataset } from "../bench/backup/dataset.ts";
import { BackupStore, StoreError } from "../core/backup/store.ts";
import {
  backupPostgresLogical,
  finishedDumpItems,
  restorePostgresLogical,
} from "../core/backup/postgres-logical.ts";
import { databaseOf, pgBinary, pgEnv, run } from "../core/backup/proc.ts";
import { backupDir, findBackup, listBackups, readManifest, tierFor } from "../core/backup/manifest.ts";
import { tableChecksums } from "../core/backup/pg-inspect.ts";
import { verifyBackup, VerifyError } from "../core/backup/verify.ts";
import { backupLogs, restoreLogs } from "../core/backup/logs.ts";
import { withClient } from "../core/pg.ts";
import { BACKUP_PREFIXES } from "../settings/lifecycle.ts";

const ROOT = resolve(import.meta.dirname, "..");
const { postgres, s3 } = await useServices("postgres", "s3");

const newBucket = (server: S3Server) => createBucket(server, "b");

function storeFor(
  server: S3Server,
  bucket: string,
  endpoint = server.endpoint,
  extra: Partial<ConstructorParameters<typeof BackupStore>[0]> = {},
) {
  return storeOn(server, bucket, { endpoint, prefix: "jarvis/", ...extra });
}

// One seeded source database for the file (migrations + a small reference dataset).
const source = await createDatabase(postgres, "bsrc");
after(() => source.drop());
await buildDataset(source.url, 0.2);

test("a logical backup restores to identical data (ordered checksums of every table)", async () => {
  const bucket = await newBucket(s3);
  const store = storeFor(s3, bucket);
  const r = await backupPostgresLogical({ url: source.url, store, jobs: 2 });
  const m = await readManifest(store, await findBackup(store, "postgres", r.id));
  assert.equal(m.rowCounts!["public.memory_entries"], 100);
  assert.equal(m.rowCounts!["public.users"], 3);
  assert.ok(Number(m.schemaVersion) >= 1, `schema version recorded: ${m.schemaVersion}`);
  assert.ok(m.files.length >= 5 && m.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.size > 0));

  const target = await createDatabase(postgres, "bdst");
  try {
    const restored = await restorePostgresLogical({ store, id: r.id, targetUrl: target.url });
    assert.equal(restored.rowCounts!["public.messages"], m.rowCounts!["public.messages"]);
    const [a, b] = await Promise.all([
      withClient(source.url, tableChecksums),
      withClient(target.url, tableChecksums),
    ]);
    assert.ok(Object.keys(a).length >= 6, `tables compared: ${Object.keys(a).join(", ")}`);
    assert.deepEqual(b, a);
  } finally {
    await target.drop();
    store.destroy();
  }
});

test("objects land under the lifecycle prefix of their retention tier", () => {
  for (const day of [
    new Date("2026-11-01T02:00:00Z"),
    new Date("2026-11-08T02:00:00Z"),
    new Date("2026-11-10T02:00:00Z"),
  ]) {
    const tier = tierFor("postgres", day);
    assert.ok(backupDir("postgres", "logical", tier, "x").startsWith(BACKUP_PREFIXES[tier]));
  }
  assert.deepEqual(
    [
      tierFor("postgres", new Date("2026-11-01T02:00:00Z")),
      tierFor("postgres", new Date("2026-11-08T02:00:00Z")),
      tierFor("postgres", new Date("2026-11-10T02:00:00Z")),
    ],
    ["monthly", "weekly", "daily"],
  );
  assert.ok(backupDir("redis", "rdb", "redis", "x").startsWith(BACKUP_PREFIXES.redis));
  assert.ok(backupDir("chroma", "export", "chroma", "x").startsWith(BACKUP_PREFIXES.chroma));
});

test("corrupting one stored object makes verify fail, naming it", async () => {
  const bucket = await newBucket(s3);
  const store = storeFor(s3, bucket);
  const r = await backupPostgresLogical({ url: source.url, store });
  const ok = await verifyBackup(store, "postgres", r.id);
  assert.equal(ok.ok, true);
  const victim = r.manifest.files.find((f) => f.path !== "dump/toc.dat")!;
  const key = `jarvis/${backupDir("postgres", "logical", r.tier as never, r.id)}${victim.path}`;
  const c = s3ClientFor(s3);
  await c.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from("not the dump you are looking for") }),
  );
  c.destroy();
  await assert.rejects(verifyBackup(store, "postgres", r.id), (e: unknown) => {
    assert.ok(e instanceof VerifyError);
    assert.equal(e.code, "JARVIS_VERIFY_FAILED");
    assert.ok(e.message.includes(`s3://${bucket}/${key}`), e.message);
    assert.equal(e.result.problems.length, 1);
    return true;
  });
  store.destroy();
});

test("kill -9 during a backup leaves no manifest and 'latest' unchanged", async () => {
  const bucket = await newBucket(s3);
  const store = storeFor(s3, bucket);
  const first = await backupPostgresLogical({ url: source.url, store });
  // A second backup in another process, killed with SIGKILL once its data objects are stored.
  const script = `
    import { BackupStore } from "./core/backup/store.ts";
    import { backupPostgresLogical } from "./core/backup/postgres-logical.ts";
    const store = new BackupStore(JSON.parse(process.env.STORE));
    await backupPostgresLogical({ url: process.env.SRC, store, beforeManifest: async (id) => {
      process.stdout.write("READY " + id + "\\n");
      await new Promise(() => {});
    }});`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    env: {
      ...process.env,
      SRC: source.url,
      STORE: JSON.stringify({
        endpoint: s3.endpoint,
        bucket,
        region: s3.region,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        prefix: "jarvis/",
      }),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const killedId = await new Promise<string>((ok, fail) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m) {
        child.kill("SIGKILL");
        ok(m[1]!);
      }
    });
    child.on("exit", (code) => fail(new Error(`backup process exited (${code}) before it was killed`)));
  });
  await new Promise((r) => child.once("exit", r));
  const objects = await store.list(`postgres/`);
  assert.ok(
    objects.some((o) => o.key.includes(killedId)),
    "the killed backup had stored data objects",
  );
  assert.ok(
    !objects.some((o) => o.key.includes(killedId) && o.key.endsWith("manifest.json")),
    "no manifest for the killed backup",
  );
  assert.deepEqual(
    (await listBackups(store, "postgres")).map((b) => b.id),
    [first.id],
  );
  assert.equal((await findBackup(store, "postgres")).id, first.id);
  store.destroy();
});

/** An HTTP proxy in front of the S3 server that answers 503 to the requests `fail` picks. */
async function faultyProxy(upstream: string, fail: (req: http.IncomingMessage, n: number) => boolean) {
  const seen: { method: string; url: string; failed: boolean }[] = [];
  const u = new URL(upstream);
  const server = http.createServer((req, res) => {
    const failed = fail(req, seen.length);
    seen.push({ method: req.method!, url: req.url!, failed });
    if (failed) {
      req.resume();
      res
        .writeHead(503, { "content-type": "application/xml" })
        .end(
          `<?xml version="1.0"?><Error><Code>ServiceUnavailable</Code><Message>injected fault</Message></Error>`,
        );
      return;
    }
    const up = http.request(
      { host: u.hostname, port: u.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { endpoint: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(r)) };
}

test("pg_dump -j reports every table file it closes, which is when the streamed upload of that file completes", async () => {
  const dir = await mkdtemp(join(tmpdir(), "jarvis-pgdump-"));
  try {
    const reported: string[] = [];
    const lines: string[] = [];
    const onStderrLine = (line: string) => {
      lines.push(line);
      reported.push(...finishedDumpItems(line));
    };
    await run(
      pgBinary("pg_dump"),
      ["-Fd", "-j", "2", "-Z", "1", "--verbose", "-f", join(dir, "dump"), databaseOf(source.url)],
      { env: pgEnv(source.url), onStderrLine },
    );
    const dataFiles = (await readdir(join(dir, "dump")))
      .flatMap((n) => /^(\d+)\.dat\.gz$/.exec(n)?.[1] ?? [])
      .sort();
    assert.ok(dataFiles.length >= 6, `data files: ${dataFiles.join(", ")}`);
    // Every data file is reported (otherwise its upload would wait for pg_dump to exit).
    assert.deepEqual(
      dataFiles.filter((id) => !reported.includes(id)),
      [],
      lines.filter((l) => /finished/.test(l)).join("\n"),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Writes `chunks` chunks of 1 MiB to `path`, one every `everyMs`; resolves when the file is closed. */
async function slowWriter(path: string, chunks: number, everyMs: number): Promise<string> {
  const f = await open(path, "w");
  const h = createHash("sha256");
  for (let i = 0; i < chunks; i++) {
    const chunk = randomBytes(1 << 20);
    h.update(chunk);
    await f.write(chunk);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await f.close();
  return h.digest("hex");
}

/** An empty file in a temp dir, and a store that reaches S3 through a recording proxy. */
async function growingFileCase(
  fn: (c: {
    store: BackupStore;
    seen: Awaited<ReturnType<typeof faultyProxy>>["seen"];
    path: string;
  }) => Promise<void>,
) {
  const proxy = await faultyProxy(s3.endpoint, () => false);
  const store = storeFor(s3, await newBucket(s3), proxy.endpoint);
  const dir = await mkdtemp(join(tmpdir(), "jarvis-grow-"));
  try {
    const path = join(dir, "4268.dat.gz");
    await writeFile(path, "");
    await fn({ store, seen: proxy.seen, path });
  } finally {
    store.destroy();
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test("a file still being written is uploaded part by part as it grows, and stored whole once closed", () =>
  growingFileCase(async ({ store, seen, path }) => {
    let closedAt = 0;
    const writing = slowWriter(path, 12, 20).then((sha) => ((closedAt = seen.length), sha));
    const stored = await store.putGrowingFile(
      "grow/4268.dat.gz",
      path,
      writing.then(() => {}),
      { partSize: 5 << 20, pollMs: 10 },
    );
    const sha = await writing;
    assert.deepEqual(stored, { sha256: sha, size: 12 << 20 });
    assert.deepEqual(await store.hashObject("grow/4268.dat.gz"), stored);
    // Streaming, not staging: parts went out before the writer closed the file.
    const partsBeforeClose = seen
      .slice(0, closedAt)
      .filter((r) => r.method === "PUT" && /partNumber=/.test(r.url));
    assert.ok(
      partsBeforeClose.length >= 1,
      `requests before close: ${JSON.stringify(seen.slice(0, closedAt))}`,
    );
  }));

test("when the writer fails, the growing file's upload is aborted and nothing is stored", () =>
  growingFileCase(async ({ store, seen, path }) => {
    const writerFailed = slowWriter(path, 8, 20).then(() => {
      throw new Error("pg_dump failed: injected");
    });
    await assert.rejects(
      store.putGrowingFile("grow/4268.dat.gz", path, writerFailed, { partSize: 5 << 20, pollMs: 10 }),
      /pg_dump failed: injected/,
    );
    assert.ok(
      seen.some((r) => r.method === "PUT" && /partNumber=/.test(r.url)),
      "a part was uploaded before the failure",
    );
    assert.ok(
      seen.some((r) => r.method === "DELETE" && /uploadId=/.test(r.url)),
      `multipart upload aborted: ${JSON.stringify(seen)}`,
    );
    assert.equal(await store.exists("grow/4268.dat.gz"), false);
  }));

test("S3 errors get bounded retries, then a clear failure and no manifest", async () => {
  const bucket = await newBucket(s3);
  const proxy = await faultyProxy(s3.endpoint, (req) => req.method === "PUT");
  const store = storeFor(s3, bucket, proxy.endpoint, { attempts: 3, baseDelayMs: 10 });
  try {
    await assert.rejects(backupPostgresLogical({ url: source.url, store }), (e: unknown) => {
      assert.ok(e instanceof StoreError, String(e));
      assert.equal(e.code, "JARVIS_BACKUP_STORE_FAILED");
      assert.match(e.message, /failed after 3 attempts \(HTTP 503 ServiceUnavailable injected fault\)/);
      assert.match(e.message, new RegExp(`s3://${bucket}/jarvis/postgres/logical/`));
      return true;
    });
    const puts = proxy.seen.filter((s) => s.method === "PUT");
    // Each object gets exactly 3 attempts; the first object to fail ends the backup.
    const perKey = new Map<string, number>();
    for (const p of puts) perKey.set(p.url, (perKey.get(p.url) ?? 0) + 1);
    assert.ok(
      [...perKey.values()].every((n) => n <= 3),
      JSON.stringify([...perKey]),
    );
    assert.ok([...perKey.values()].includes(3));
    assert.equal(proxy.seen.filter((s) => s.url.includes("manifest.json")).length, 0);
  } finally {
    store.destroy();
    await proxy.close();
  }
  assert.deepEqual(await listBackups(storeFor(s3, bucket), "postgres"), []);
});

test("transient S3 errors are retried and the backup completes", async () => {
  const bucket = await newBucket(s3);
  let failures = 0;
  const proxy = await faultyProxy(s3.endpoint, (req) => req.method === "PUT" && failures++ < 2);
  const store = storeFor(s3, bucket, proxy.endpoint, { attempts: 4, baseDelayMs: 10 });
  try {
    const r = await backupPostgresLogical({ url: source.url, store });
    assert.equal(proxy.seen.filter((s) => s.failed).length, 2);
    assert.equal((await verifyBackup(store, "postgres", r.id)).ok, true);
  } finally {
    store.destroy();
    await proxy.close();
  }
});

test("the stack's logs of the last 7 days are backed up with a manifest, verified, and restored beside their directory", async () => {
  const store = storeFor(s3, await newBucket(s3));
  const dir = await mkdtemp(join(tmpdir(), "jarvis-logs-"));
  try {
    await mkdir(join(dir, "jarvis_brain"));
    await mkdir(join(dir, "jarvis_memory_db"));
    await writeFile(join(dir, "jarvis_brain", "2026-11-28.log"), "error: something\n");
    await writeFile(join(dir, "jarvis_memory_db", "postgres.log"), "LOG: checkpoint\n".repeat(100));
    await writeFile(join(dir, "jarvis_brain", "old.log"), "last month\n");
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    await utimes(join(dir, "jarvis_brain", "old.log"), tenDaysAgo, tenDaysAgo);
    const r = await backupLogs({ dir, store });
    // Its own tier: the logs/ prefix, which the vault's lifecycle rules expire (settings/lifecycle.ts).
    assert.equal(r.tier, "logs");
    assert.ok(backupDir("logs", "files", r.tier, r.id).startsWith(BACKUP_PREFIXES.logs));
    assert.deepEqual(
      r.manifest.files.map((f) => f.path),
      ["files/jarvis_brain/2026-11-28.log", "files/jarvis_memory_db/postgres.log"],
    );
    assert.equal((await verifyBackup(store, "logs", r.id)).ok, true);
    const target = join(dir, "restored");
    await restoreLogs({ store, targetDir: target });
    assert.equal(
      await readFile(join(target, "jarvis_brain", "2026-11-28.log"), "utf8"),
      "error: something\n",
    );
    assert.ok(!existsSync(join(target, "jarvis_brain", "old.log")));
    // Not empty now: refused without --confirm, replaced with it.
    await assert.rejects(restoreLogs({ store, targetDir: target }), (e: any) => e.code === "JARVIS_REFUSED");
    await restoreLogs({ store, targetDir: target, confirm: target });
    assert.equal((await readdir(target)).sort().join(","), "jarvis_brain,jarvis_memory_db");
  } finally {
    store.destroy();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a logs backup with nothing in the window fails, naming the directory, and stores nothing", async () => {
  const store = storeFor(s3, await newBucket(s3));
  const dir = await mkdtemp(join(tmpdir(), "jarvis-logs-"));
  try {
    await assert.rejects(
      backupLogs({ dir, store }),
      (e: any) => e.code === "JARVIS_LOGS_EMPTY" && e.message.includes(dir),
    );
    assert.deepEqual(await store.list("logs/"), []);
  } finally {
    store.destroy();
    await rm(dir, { recursive: true, force: true });
  }
});
