import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import pg from "pg";
import {
  versionLabel,
  apply,
  baseline,
  BaselineMismatchError,
  DEFAULT_MIGRATIONS_DIR,
  down,
  LOCK_KEYS,
  loadMigrations,
  manifestHash,
  MigrationDriftError,
  MigrationFailedError,
  MigrationFileError,
  MigrationLockTimeoutError,
  MigrationRequestError,
  plan,
  sha256,
  splitStatements,
  status,
} from "../core/migrate/index.ts";
import { withClient } from "../core/pg.ts";
import { createDatabase, PG_BIN, useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");
const ROOT = resolve(import.meta.dirname, "..");
const run = promisify(execFile);
const ALL = loadMigrations();
/** Number of migrations in sql/migrations and the newest version. */
const COUNT = ALL.length;
const HEAD = ALL[ALL.length - 1]!.version;

async function freshDb(t: { after(fn: () => Promise<void>): void }) {
  const db = await createDatabase(postgres, "mig");
  t.after(() => db.drop());
  return db;
}

/** A temp migrations dir, with the repository's files copied in when `copy` is set. */
function tempDir(
  t: { after(fn: () => void): void },
  files: Record<string, string> = {},
  copy = false,
): string {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-mig-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  if (copy)
    for (const f of readdirSync(DEFAULT_MIGRATIONS_DIR))
      copyFileSync(join(DEFAULT_MIGRATIONS_DIR, f), join(dir, f));
  for (const [f, sql] of Object.entries(files)) writeFileSync(join(dir, f), sql);
  return dir;
}

async function query<T = any>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(sql, params)).rows);
}

function schemaDump(url: string): string {
  const r = spawnSync(join(PG_BIN, "pg_dump"), ["--schema-only", "--no-comments", "-d", url], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  // pg_dump writes its own version and restrict keys; keep only the schema.
  return r.stdout.replace(/^\\(un)?restrict .*$/gm, "").replace(/^-- Dumped .*$/gm, "");
}

test("applies every migration to an empty database, and a re-run applies nothing in under 200 ms", async (t) => {
  const db = await freshDb(t);
  const first = await withClient(db.url, (c) => apply(c));
  assert.equal(first.from, 0);
  assert.equal(first.current, HEAD);
  assert.deepEqual(
    first.applied.map((m) => m.version),
    loadMigrations().map((m) => m.version),
  );
  const history = await query(
    db.url,
    "select version, name, sha256, duration_ms, applied_by, kind from jarvis_schema_migrations order by version",
  );
  assert.equal(history.length, COUNT);
  assert.deepEqual(
    history.map((h) => h.sha256),
    loadMigrations().map((m) => m.up.sha256),
  );
  assert.ok(history.every((h) => h.applied_by === "postgres" && h.kind === "applied" && h.duration_ms >= 0));
  const tables = (
    await query(
      db.url,
      "select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r','p')",
    )
  ).map((r) => r.relname);
  for (const t of [
    "audit_log",
    "conversations",
    "conversations_default",
    "jarvis_schema_migrations",
    "memory_entries",
    "messages",
    "messages_default",
    "users",
  ])
    assert.ok(tables.includes(t), `table ${t} exists`);

  // The re-run on an open connection (what `migrate apply` costs once connected): read the
  // files, hash them, read the history, compare. No lock is taken when nothing is pending.
  const { again, elapsed, total } = await (async () => {
    const t0 = performance.now();
    return withClient(db.url, async (c) => {
      const t1 = performance.now();
      const again = await apply(c);
      return { again, elapsed: performance.now() - t1, total: performance.now() - t0 };
    });
  })();
  t.diagnostic(
    `no-op re-run: ${elapsed.toFixed(1)} ms on an open connection, ${total.toFixed(1)} ms with the connection`,
  );
  assert.deepEqual(again.applied, []);
  assert.equal(again.current, HEAD);
  assert.ok(elapsed < 200, `a re-run took ${elapsed.toFixed(1)} ms, expected < 200 ms`);
  assert.equal((await query(db.url, "select count(*)::int as n from jarvis_schema_migrations"))[0].n, COUNT);
});

test("two concurrent runners apply the set exactly once; the other waits and finds nothing to do", async (t) => {
  const db = await freshDb(t);
  const messages: string[] = [];
  const log = { info: (m: string) => messages.push(m), warn() {}, error() {} };
  const [a, b] = await Promise.all([
    withClient(db.url, (c) => apply(c, { log, lockPollMs: 50 })),
    withClient(db.url, (c) => apply(c, { log, lockPollMs: 50 })),
  ]);
  assert.equal(a.applied.length + b.applied.length, COUNT, "each migration applied by exactly one runner");
  assert.ok(a.applied.length === 0 || b.applied.length === 0, "one runner did all the work");
  const loser = a.applied.length === 0 ? a : b;
  assert.ok(loser.waitedMs > 0, "the other runner waited for the lock");
  assert.equal(loser.current, HEAD);
  assert.ok(
    messages.some((m) => /another migration runner holds the lock \(pid \d+/.test(m)),
    messages.join("\n"),
  );
  const rows = await query(
    db.url,
    "select version, count(*)::int as n from jarvis_schema_migrations group by version",
  );
  assert.equal(rows.length, COUNT);
  assert.ok(rows.every((r) => r.n === 1));
});

test("a runner gives up after its bounded wait and names the session holding the lock", async (t) => {
  const db = await freshDb(t);
  const holder = new pg.Client({ connectionString: db.url, application_name: "stuck-holder" });
  holder.on("error", () => {}); // the database is dropped WITH (FORCE) after the test
  await holder.connect();
  t.after(() => holder.end().catch(() => {}));
  await holder.query("select pg_advisory_lock($1, $2)", [...LOCK_KEYS]);
  const { rows } = await holder.query("select pg_backend_pid() as pid");
  const started = Date.now();
  await assert.rejects(
    withClient(db.url, (c) => apply(c, { lockWaitMs: 600, lockPollMs: 100 })),
    (e: unknown) =>
      e instanceof MigrationLockTimeoutError &&
      e.code === "JARVIS_MIGRATION_LOCKED" &&
      e.message.includes(`pid ${rows[0].pid}`) &&
      e.message.includes("stuck-holder"),
  );
  assert.ok(Date.now() - started >= 600);
  assert.equal(
    (await query(db.url, "select to_regclass('public.users') as t"))[0].t,
    null,
    "nothing was applied",
  );
});

test("a failing migration leaves no partial change and names the file, the line and the cause", async (t) => {
  const db = await freshDb(t);
  const dir = tempDir(
    t,
    {
      "0099_breaks.sql":
        "create table partial_change (id bigint);\ninsert into users (username) values ('partial');\nselect * from no_such_table;\n",
    },
    true,
  );
  await assert.rejects(
    withClient(db.url, (c) => apply(c, { dir })),
    (e: unknown) =>
      e instanceof MigrationFailedError &&
      e.file === "0099_breaks.sql" &&
      e.sqlState === "42P01" &&
      /0099_breaks\.sql failed at line 3: relation "no_such_table" does not exist/.test(e.message) &&
      /rolled back: nothing of 0099_breaks\.sql remains/.test(e.message) &&
      /already applied in this run, and kept: 0001_roles_and_extensions\.sql/.test(e.message),
  );
  assert.equal((await query(db.url, "select to_regclass('public.partial_change') as t"))[0].t, null);
  assert.equal((await query(db.url, "select count(*)::int as n from users"))[0].n, 0);
  // Everything before the failing file stays applied; the failing file and those after it never ran.
  assert.equal(
    (await query(db.url, "select max(version) as v from jarvis_schema_migrations"))[0].v,
    Math.max(...ALL.filter((m) => m.version < 99).map((m) => m.version)),
  );
});

test("drift: an applied file that was edited is a hard error naming the file and both checksums", async (t) => {
  const db = await freshDb(t);
  const dir = tempDir(t, {
    "0001_a.sql": "create table a (id bigint);\n",
    "0002_b.sql": "create table b (id bigint);\n",
  });
  await withClient(db.url, (c) => apply(c, { dir }));
  const before = sha256("create table b (id bigint);\n");
  appendFileSync(join(dir, "0002_b.sql"), "-- a harmless-looking edit\n");
  writeFileSync(join(dir, "0003_c.sql"), "create table c (id bigint);\n");
  const after = sha256("create table b (id bigint);\n-- a harmless-looking edit\n");
  await assert.rejects(
    withClient(db.url, (c) => apply(c, { dir })),
    (e: unknown) => {
      assert.ok(e instanceof MigrationDriftError);
      assert.equal(e.code, "JARVIS_MIGRATION_DRIFT");
      assert.deepEqual(
        e.problems.map((p) => [p.kind, p.file, p.appliedSha256, p.fileSha256]),
        [["checksum", "0002_b.sql", before, after]],
      );
      assert.match(
        e.message,
        new RegExp(
          `0002_b\\.sql was edited after it was applied: checksum at apply ${before} ≠ file now ${after}`,
        ),
      );
      return true;
    },
  );
  assert.equal((await query(db.url, "select to_regclass('public.c') as t"))[0].t, null, "nothing ran");
});

test("drift: a missing applied file and an out-of-order new file are detected", async (t) => {
  const db = await freshDb(t);
  const dir = tempDir(t, {
    "0001_a.sql": "create table a (id bigint);\n",
    "0003_c.sql": "create table c (id bigint);\n",
  });
  await withClient(db.url, (c) => apply(c, { dir }));
  writeFileSync(join(dir, "0002_b.sql"), "create table b (id bigint);\n");
  unlinkSync(join(dir, "0001_a.sql"));
  const s = await withClient(db.url, (c) => status(c, { dir }));
  assert.deepEqual(
    s.problems.map((p) => [p.kind, p.file]),
    [
      ["missing", "0001_a.sql"],
      ["out-of-order", "0002_b.sql"],
    ],
  );
  assert.match(s.problems[1]!.message, /renumber it after 0003/);
  await assert.rejects(
    withClient(db.url, (c) => plan(c, { dir })),
    MigrationDriftError,
  );
  await assert.rejects(
    withClient(db.url, (c) => apply(c, { dir })),
    MigrationDriftError,
  );
  assert.equal((await query(db.url, "select to_regclass('public.b') as t"))[0].t, null);
});

test("a CREATE INDEX CONCURRENTLY file runs outside a transaction and leaves a valid index", async (t) => {
  const db = await freshDb(t);
  const r = await withClient(db.url, (c) => apply(c));
  const hnsw = r.applied.find((m) => m.file === "0004_memory_entries_embedding_hnsw.sql");
  assert.ok(hnsw?.noTransaction);
  const idx = await query(
    db.url,
    "select i.indisvalid, am.amname from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam where c.relname = 'memory_entries_embedding_hnsw_idx'",
  );
  assert.deepEqual(idx, [{ indisvalid: true, amname: "hnsw" }]);
  // The index serves a cosine nearest-neighbour query.
  await withClient(db.url, async (c) => {
    const v = (x: number) =>
      `[${Array.from({ length: 384 }, (_, i) => (i === 0 ? x : i === 1 ? 1 - x : 0)).join(",")}]`;
    await c.query("insert into memory_entries (content, embedding) values ('near', $1), ('far', $2)", [
      v(0.9),
      v(0.1),
    ]);
    await c.query("set enable_seqscan = off");
    const plan = await c.query(
      "explain select content from memory_entries order by embedding <=> $1 limit 1",
      [v(1)],
    );
    assert.match(plan.rows.map((x) => x["QUERY PLAN"]).join("\n"), /memory_entries_embedding_hnsw_idx/);
    const near = await c.query("select content from memory_entries order by embedding <=> $1 limit 1", [
      v(1),
    ]);
    assert.equal(near.rows[0].content, "near");
  });
});

test("a no-transaction file holding more than one statement is refused before anything runs", (t) => {
  const dir = tempDir(t, {
    "0001_two.sql":
      "-- jarvis:no-transaction\ncreate index concurrently a_i on a (id);\ncreate index concurrently b_i on b (id);\n",
  });
  assert.throws(
    () => loadMigrations(dir),
    (e: unknown) => e instanceof MigrationFileError && /holds 2 statements/.test(e.message),
  );
  assert.deepEqual(splitStatements("select ';'; select $x$ a; b $x$; -- c;\n/* d; */ select \"e;\""), [
    "select ';'",
    "select $x$ a; b $x$",
    '-- c;\n/* d; */ select "e;"',
  ]);
});

test("down then up gives an identical schema (pg_dump --schema-only)", async (t) => {
  const db = await freshDb(t);
  await withClient(db.url, (c) => apply(c));
  const head = schemaDump(db.url);
  assert.match(head, /CREATE TABLE public\.conversations/);

  const partial = await withClient(db.url, (c) => down(c, { to: 2 }));
  assert.deepEqual(
    partial.reverted.map((m) => m.version),
    ALL.filter((m) => m.version > 2)
      .map((m) => m.version)
      .reverse(),
  );
  assert.equal(partial.current, 2);
  await withClient(db.url, (c) => apply(c));
  assert.equal(schemaDump(db.url), head, "down to 0002 and up again");

  const all = await withClient(db.url, (c) => down(c, { to: 0 }));
  assert.equal(all.current, 0);
  const left = await query(
    db.url,
    "select relname from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r','p')",
  );
  assert.deepEqual(
    left.map((r) => r.relname),
    ["jarvis_schema_migrations"],
  );
  assert.deepEqual(
    await query(db.url, "select extname from pg_extension where extname in ('vector', 'pg_partman')"),
    [],
  );
  await withClient(db.url, (c) => apply(c));
  assert.equal(schemaDump(db.url), head, "down to 0 and up again");
});

test("down refuses when a migration to revert has no down file, and changes nothing", async (t) => {
  const db = await freshDb(t);
  const dir = tempDir(t, {
    "0001_a.sql": "create table a (id bigint);\n",
    "0001_a.down.sql": "drop table a;\n",
    "0002_b.sql": "create table b (id bigint);\n",
  });
  await withClient(db.url, (c) => apply(c, { dir }));
  await assert.rejects(
    withClient(db.url, (c) => down(c, { dir, to: 0 })),
    (e: unknown) => e instanceof MigrationRequestError && /no down file for 0002_b/.test(e.message),
  );
  assert.equal((await query(db.url, "select count(*)::int as n from jarvis_schema_migrations"))[0].n, 2);
});

test("apply --restore-point records a named restore point in the WAL before migrating", async (t) => {
  const db = await freshDb(t);
  const start = (await query(db.url, "select pg_current_wal_insert_lsn()::text as l"))[0].l;
  const r = await withClient(db.url, (c) => apply(c, { restorePoint: true }));
  assert.equal(r.restorePoint?.name, `jarvis-pre-migrate-${versionLabel(HEAD)}`);
  assert.match(r.restorePoint!.lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
  await query(db.url, "select pg_switch_wal()");
  const dump = spawnSync(
    join(PG_BIN, "pg_waldump"),
    ["-p", join(postgres.dataDir, "pg_wal"), "-s", start, "-e", r.restorePoint!.lsn, "-r", "XLOG"],
    { encoding: "utf8" },
  );
  assert.match(
    dump.stdout,
    new RegExp(`RESTORE_POINT .*jarvis-pre-migrate-${versionLabel(HEAD)}`),
    dump.stderr,
  );
  // Nothing pending: no restore point is made for a no-op run.
  const again = await withClient(db.url, (c) => apply(c, { restorePoint: true }));
  assert.equal(again.restorePoint, undefined);
});

test("baseline records an existing schema as applied without running it, once", async (t) => {
  const db = await freshDb(t);
  await withClient(db.url, (c) => apply(c));
  await query(db.url, "drop table jarvis_schema_migrations"); // a database made before the engine existed
  const b = await withClient(db.url, (c) => baseline(c, { version: HEAD }));
  assert.equal(b.recorded.length, COUNT);
  const rows = await query(db.url, "select kind, sha256 from jarvis_schema_migrations order by version");
  assert.deepEqual(
    rows.map((r) => r.kind),
    Array(COUNT).fill("baseline"),
  );
  assert.deepEqual(
    rows.map((r) => r.sha256),
    ALL.map((m) => m.up.sha256),
  );
  assert.deepEqual((await withClient(db.url, (c) => plan(c))).toApply, []);
  await assert.rejects(
    withClient(db.url, (c) => baseline(c, { version: HEAD })),
    (e: unknown) => e instanceof MigrationRequestError && /already has migration history/.test(e.message),
  );
});

test("baseline refuses a database whose schema differs from migrations 1..N, naming each difference, and records nothing", async (t) => {
  const db = await freshDb(t);
  await withClient(db.url, (c) => apply(c));
  await query(db.url, "drop table jarvis_schema_migrations");
  // Hand-made drift: a constraint gone, a column added, a trigger gone, a column of another type.
  await query(db.url, "alter table users drop constraint users_email_format");
  await query(db.url, "alter table users add column nickname text");
  await query(db.url, "drop trigger conversations_audit on conversations");
  await query(db.url, "alter table memory_entries alter column memory_type type varchar(20)");
  await assert.rejects(
    withClient(db.url, (c) => baseline(c, { version: HEAD })),
    (e: unknown) => {
      assert.ok(e instanceof BaselineMismatchError, String(e));
      assert.equal(e.code, "JARVIS_BASELINE_MISMATCH");
      assert.deepEqual(
        e.differences.map((d) => `${d.problem} ${d.kind} ${d.name}`),
        [
          "differs column public.memory_entries.memory_type",
          "unexpected column public.users.nickname",
          // The CHECK on the column now compares varchar: its definition changed with the type.
          "differs constraint public.memory_entries.memory_entries_memory_type_valid",
          "missing constraint public.users.users_email_format",
          "missing trigger public.conversations.conversations_audit",
        ],
      );
      assert.match(e.message, /missing constraint public\.users\.users_email_format/);
      assert.match(e.message, /jarvis-data adopt postgres --from/);
      return true;
    },
  );
  assert.deepEqual(await query(db.url, "select * from jarvis_schema_migrations"), [], "nothing recorded");
});

test("baseline refuses a database in the audit's legacy shape (Alembic 001) and points at adopt", async (t) => {
  const db = await freshDb(t);
  await query(
    db.url,
    `create table users (id serial primary key, username varchar(50) not null unique, email varchar(255), created_at timestamp not null, updated_at timestamp not null);
     create table conversations (id varchar(36) primary key, user_id integer references users(id), title varchar(255), summary text, created_at timestamp not null, ended_at timestamp);
     create table memory_embeddings (id varchar(36) primary key, content text not null, embedding double precision[], metadata jsonb, created_at timestamp not null);`,
  );
  await assert.rejects(
    withClient(db.url, (c) => baseline(c, { version: HEAD })),
    (e: unknown) => {
      assert.ok(e instanceof BaselineMismatchError, String(e));
      const lines = e.differences.map((d) => `${d.problem} ${d.kind} ${d.name}`);
      assert.ok(lines.includes("missing table public.messages"), lines.join("\n"));
      assert.ok(lines.includes("differs column public.users.id"), lines.join("\n"));
      assert.ok(
        lines.includes("unexpected table public.memory_embeddings") ||
          lines.includes("differs table public.memory_embeddings"),
      );
      assert.match(e.message, /adopt/);
      return true;
    },
  );
});

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/jarvis-data.js", ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test("the CLI applies from a URL file, reports JSON, and refuses down in prod without --force", async (t) => {
  const db = await freshDb(t);
  const dir = mkdtempSync(join(tmpdir(), "jarvis-url-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "database_url"), db.url + "\n", { mode: 0o400 });
  const ownerUrl = postgres.url(db.name, "jarvis_owner", postgres.roles.owner);
  writeFileSync(join(dir, "owner_url"), ownerUrl + "\n", { mode: 0o400 });
  const superuserOnly = { JARVIS_DATABASE_URL_FILE: join(dir, "database_url"), JARVIS_ENVIRONMENT: "prod" };
  const env = { ...superuserOnly, JARVIS_MIGRATE_OWNER_URL_FILE: join(dir, "owner_url") };

  // In prod, a superuser run without the owner's connection is refused before anything runs.
  const alone = await cli(["migrate", "apply", "--json"], superuserOnly);
  assert.equal(alone.code, 2, alone.stderr);
  assert.equal(JSON.parse(alone.stdout).error.code, "JARVIS_MIGRATION_REQUEST");
  assert.match(JSON.parse(alone.stdout).error.message, /JARVIS_MIGRATE_OWNER_URL/);

  const wrong = await cli(["migrate", "apply", "--json", "--expect", "0".repeat(64)], env);
  assert.equal(wrong.code, 2);
  assert.equal(JSON.parse(wrong.stdout).error.code, "JARVIS_MIGRATION_MANIFEST");

  const applied = await cli(["migrate", "apply", "--json", "--expect", manifestHash(loadMigrations())], env);
  assert.equal(applied.code, 0, applied.stderr);
  const out = JSON.parse(applied.stdout);
  assert.equal(out.current, HEAD);
  assert.equal(out.applied.length, COUNT);
  assert.ok(
    [postgres.password, postgres.roles.owner].every(
      (p) => !applied.stdout.includes(p) && !applied.stderr.includes(p),
    ),
    "no password in the output",
  );
  const history = await query(db.url, "select applied_by from jarvis_schema_migrations where version = 2");
  assert.equal(history[0].applied_by, "jarvis_owner", "the owner's files ran logged in as jarvis_owner");

  const refused = await cli(["migrate", "down", "--to", "0", "--json"], env);
  assert.equal(refused.code, 4);
  assert.equal(JSON.parse(refused.stdout).error.code, "JARVIS_REFUSED");
  assert.match(JSON.parse(refused.stdout).error.message, /--force/);
  assert.equal(
    (await query(db.url, "select count(*)::int as n from jarvis_schema_migrations"))[0].n,
    COUNT,
    "nothing reverted",
  );

  const st = await cli(["migrate", "status", "--json"], env);
  assert.equal(st.code, 0);
  assert.deepEqual(JSON.parse(st.stdout).pending, []);

  const forced = await cli(["migrate", "down", "--to", "3", "--force", "--json"], env);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(
    JSON.parse(forced.stdout).reverted.map((m: { version: number }) => m.version),
    ALL.filter((m) => m.version > 3)
      .map((m) => m.version)
      .reverse(),
  );
});
