/**
 * `adopt postgres` on the legacy fixture (test/fixtures/legacy, built from the seed's schema):
 * counts and checksums match, refused rows are in quarantine with their rule, the source is
 * unchanged, a kill -9 mid-copy resumes cleanly, a second run changes nothing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { test } from "node:test";
import pg from "pg";
import { adoptPostgres } from "../core/adopt/postgres.ts";
import { defaultPartitionRows } from "../core/adopt/target.ts";
import { apply } from "../core/migrate/index.ts";
import { buildLegacy } from "./fixtures/legacy/build.ts";
import { createDatabase, freePort, useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");
const ROOT = resolve(import.meta.dirname, "..");
const TZ = "Europe/Paris";

async function q<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("set TimeZone = 'UTC'");
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A migrated stack database: `url` is jarvis_owner's (adopt refuses a superuser), `adminUrl` the superuser's. */
async function migratedTarget() {
  const db = await createDatabase(postgres, "adopt");
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await apply(c);
  await c.end();
  return { ...db, adminUrl: db.url, url: postgres.url(db.name, "jarvis_owner", postgres.roles.owner) };
}

/** Every table's rows (md5 of their sorted text) and the write counters: equal means untouched. */
async function fingerprint(url: string, schemas = ["public"]): Promise<Record<string, string>> {
  const tables = await q<{ t: string }>(
    url,
    "select format('%I.%I', schemaname, tablename) as t from pg_tables where schemaname = any($1) order by 1",
    [schemas],
  );
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [r] = await q<{ h: string }>(
      url,
      `select md5(coalesce(string_agg(x::text, E'\\n' order by x::text), '')) as h from ${t} x`,
    );
    out[t] = r!.h;
  }
  return out;
}

async function writeCounters(url: string): Promise<string> {
  const [r] = await q<{ s: string }>(
    url,
    "select sum(n_tup_ins)::text || '/' || sum(n_tup_upd)::text || '/' || sum(n_tup_del)::text as s from pg_stat_user_tables",
  );
  return r!.s;
}

test("adopts the legacy fixture: every row imported or quarantined with its rule, checksums equal, conversions right, the source unchanged", async () => {
  const legacy = await buildLegacy(postgres, { timezone: TZ });
  const target = await migratedTarget();
  try {
    const before = { rows: await fingerprint(legacy.url), counters: await writeCounters(legacy.url) };
    // No --source-timezone: the source server's TimeZone (the database's setting here) is used.
    const r = await adoptPostgres({ from: legacy.url, target: target.url, batchSize: 7 });
    assert.equal(r.timeZone, TZ);
    assert.deepEqual(r.mismatches, []);
    for (const [name, t] of Object.entries(r.tables)) {
      assert.equal(t.source, t.imported + t.quarantined, name);
      assert.equal(t.checksumMatch, true, name);
    }
    assert.deepEqual(Object.fromEntries(Object.entries(r.tables).map(([k, v]) => [k, v.source])), {
      users: 3,
      conversations: 7,
      messages: 406,
      memory_entries: 7,
    });

    // Quarantine: the orphan, the 3-dimension embedding and the NULL inside a vector.
    const quarantined = await q<{
      table_name: string;
      source_key: string;
      constraint_name: string;
      reason: string;
      source_row: { content?: string };
    }>(
      target.url,
      "select table_name, source_key, constraint_name, reason, source_row from jarvis.adopt_quarantine order by table_name, source_key",
    );
    const byKey = new Map(quarantined.map((x) => [x.source_key, x]));
    const orphan = byKey.get("30000000-0000-4000-8000-000000000006");
    assert.equal(orphan?.constraint_name, "memory_entries_conversation_fkey");
    assert.equal(orphan?.source_row.content, "Mémoire orpheline");
    assert.match(
      byKey.get("30000000-0000-4000-8000-000000000004")?.reason ?? "",
      /^embedding vector\(384\): expected 384 dimensions, not 3/,
    );
    // No rule foresees a NULL inside a vector: the cast refuses it, and only that row is set aside.
    assert.match(byKey.get("30000000-0000-4000-8000-000000000007")?.reason ?? "", /^SQLSTATE 22\w+: .*NULL/i);
    // Only those three: the French titles and the user messages with "<" or "=" go in (0104
    // dropped the CHECKs that refused them).
    assert.deepEqual([...byKey.keys()].sort(), [
      "30000000-0000-4000-8000-000000000004",
      "30000000-0000-4000-8000-000000000006",
      "30000000-0000-4000-8000-000000000007",
    ]);

    // Naive timestamps read in Europe/Paris, on both sides of the 2025 DST changes.
    const users = await q<{ id: string; created_at: Date }>(
      target.url,
      "select id, created_at from users order by id",
    );
    assert.deepEqual(
      users.map((u) => u.id),
      ["1", "2", "7"],
    );
    assert.equal(users[2]!.created_at.toISOString(), "2025-03-30T00:59:59.000Z"); // CET, before the change
    const [c4] = await q<{ created_at: Date }>(
      target.url,
      "select created_at from conversations where id = '00000000-0000-4000-8000-000000000004'",
    );
    assert.equal(c4!.created_at.toISOString(), "2025-03-30T01:30:00.000Z"); // CEST, after it
    // Every bulk message, across the October change: the instant the source's own zone rules give.
    const want = await q<{ id: string; t: string }>(
      legacy.url,
      `select id::text, (created_at at time zone '${TZ}')::text as t from messages where content like 'message %' order by id`,
    );
    const got = await q<{ id: string; t: string }>(
      target.url,
      "select id::text, created_at::text as t from messages where content like 'message %' order by id",
    );
    assert.equal(got.length, 400);
    assert.deepEqual(got, want);

    // NULL / JSON-null metadata -> {}; importance and category from metadata; ids kept.
    const mem = await q<{
      id: string;
      metadata: object;
      importance: number;
      category: string;
      user_id: string | null;
      dims: number;
    }>(
      target.url,
      "select id::text, metadata, importance, category, user_id::text, vector_dims(embedding) as dims from memory_entries order by id",
    );
    const m3 = mem.find((m) => m.id.endsWith("003"))!;
    assert.deepEqual([m3.metadata, m3.importance, m3.category, m3.dims], [{}, 0.5, "conversations", 384]);
    const m5 = mem.find((m) => m.id.endsWith("005"))!;
    assert.deepEqual([m5.importance, m5.category, m5.user_id], [0.1, "commands", "1"]);

    // Partitions back to the oldest row: nothing in the default partitions.
    const c = new pg.Client({ connectionString: target.url });
    await c.connect();
    assert.equal(await defaultPartitionRows(c, "conversations"), 0);
    assert.equal(await defaultPartitionRows(c, "messages"), 0);
    await c.end();
    // message_count recounted; the identity sequence moved past the highest id kept.
    const [bulk] = await q<{ message_count: number }>(
      target.url,
      "select message_count from conversations where title = 'Bulk'",
    );
    assert.equal(bulk!.message_count, 400);
    const [zoe] = await q<{ id: string }>(
      target.url,
      "insert into users (username) values ('zoe') returning id",
    );
    assert.equal(zoe!.id, "8");

    assert.deepEqual(await fingerprint(legacy.url), before.rows);
    assert.equal(await writeCounters(legacy.url), before.counters);
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

test("plans with --dry-run: rows, conversions and the rule each refused row breaks, and writes nothing", async () => {
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  try {
    // Small variations of the shape: a column the stack has no place for, an optional one missing.
    await q(
      legacy.url,
      "alter table users add column avatar_url text; alter table users drop column full_name",
    );
    const before = await fingerprint(target.adminUrl, ["public", "jarvis"]);
    const r = await adoptPostgres({ from: legacy.url, target: target.url, dryRun: true, sourceTimeZone: TZ });
    const plan = r.plan!;
    assert.deepEqual(plan.users!.extraColumns, ["avatar_url"]);
    assert.deepEqual(plan.users!.defaultedColumns, ["full_name"]);
    assert.equal(plan.messages!.source, 406);
    assert.ok(plan.memory_entries!.conversions.includes("embedding: float8[] -> vector(384)"));
    assert.ok(plan.users!.conversions.includes(`created_at: naive timestamp read in ${TZ}`));
    const refusals = Object.fromEntries(plan.memory_entries!.refusals.map((x) => [x.rule, x.rows]));
    assert.equal(refusals["memory_entries_conversation_fkey"], 1);
    assert.equal(refusals["embedding vector(384)"], 2);
    assert.deepEqual(plan.memory_entries!.unchecked, []);
    assert.deepEqual(await fingerprint(target.adminUrl, ["public", "jarvis"]), before);
    // The same variations copy: full_name takes the target's default (NULL).
    const copied = await adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ });
    assert.deepEqual(copied.tables.users, { source: 3, imported: 3, quarantined: 0, checksumMatch: true });
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

function cli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.on("exit", (code, signal) => ok({ code, signal })),
  );
  return { child, done, out: () => stdout, err: () => stderr };
}

test("a run killed with kill -9 mid-copy resumes without duplicates, and a run after success changes nothing", async () => {
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  try {
    const args = ["adopt", "postgres", "--from", legacy.url, "--source-timezone", TZ, "--json"];
    const first = cli([...args, "--batch-size", "2"], { DATABASE_URL: target.url });
    // Kill it once messages are partly copied.
    for (let i = 0; ; i++) {
      const [p] = await q<{ imported: string }>(
        target.url,
        "select imported from jarvis.adopt_progress where table_name = 'messages'",
      ).catch(() => []);
      if (p && Number(p.imported) >= 20) break;
      assert.ok(i < 3000, `the copy never reached messages: ${first.err()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    first.child.kill("SIGKILL");
    assert.equal((await first.done).signal, "SIGKILL");
    const [mid] = await q<{ n: string }>(target.url, "select count(*) as n from messages");
    assert.ok(Number(mid!.n) > 0 && Number(mid!.n) < 402, `killed mid-copy (${mid!.n} messages)`);

    const second = cli(args, { DATABASE_URL: target.url });
    const s = await second.done;
    assert.equal(s.code, 0, second.err());
    const report = JSON.parse(second.out());
    assert.deepEqual(Object.keys(report.tables), ["users", "conversations", "messages", "memory_entries"]);
    for (const t of Object.values(report.tables) as {
      source: number;
      imported: number;
      quarantined: number;
      checksumMatch: boolean;
    }[]) {
      assert.equal(t.source, t.imported + t.quarantined);
      assert.equal(t.checksumMatch, true);
    }
    assert.equal(typeof report.seconds, "number");
    const [dups] = await q<{ n: string; d: string }>(
      target.url,
      "select count(*) as n, count(distinct id) as d from messages",
    );
    assert.equal(dups!.n, dups!.d);

    const before = await fingerprint(target.adminUrl, ["public"]);
    const quarantine = await q(target.url, "select * from jarvis.adopt_quarantine order by id");
    const third = cli(args, { DATABASE_URL: target.url });
    assert.equal((await third.done).code, 0, third.err());
    assert.deepEqual(JSON.parse(third.out()).tables, report.tables);
    assert.deepEqual(await fingerprint(target.adminUrl, ["public"]), before);
    assert.deepEqual(await q(target.url, "select * from jarvis.adopt_quarantine order by id"), quarantine);
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

test("a conversation the target refuses takes its messages and memories to quarantine, named by their foreign key", async () => {
  // Batches go straight in by COPY with the foreign keys' triggers off (replica role): a
  // set-wise check then takes the dangling rows out, as the careful path would have refused them.
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  const conv = "00000000-0000-4000-8000-000000000001";
  try {
    await q(
      legacy.url,
      `alter table conversations drop constraint valid_end_time;
       update conversations set ended_at = created_at - interval '1 day' where id = '${conv}'`,
    );
    const r = await adoptPostgres({
      from: legacy.url,
      target: target.url,
      sourceTimeZone: TZ,
      batchSize: 50,
    });
    assert.deepEqual(r.mismatches, []);
    for (const [name, t] of Object.entries(r.tables))
      assert.equal(t.source, t.imported + t.quarantined, name);
    const held = await q<{ table_name: string; source_key: string; constraint_name: string }>(
      target.url,
      "select table_name, source_key, constraint_name from jarvis.adopt_quarantine order by table_name, source_key",
    );
    const conversations = held.filter((x) => x.table_name === "conversations");
    assert.deepEqual(conversations, [
      {
        table_name: "conversations",
        source_key: conv,
        constraint_name: "conversations_ended_after_created",
      },
    ]);
    const [fk] = await q<{ conname: string }>(
      target.url,
      "select conname from pg_constraint where conrelid = 'public.messages'::regclass and contype = 'f' and confrelid = 'public.conversations'::regclass",
    );
    const theirs = await q<{ id: string }>(
      legacy.url,
      `select id::text from messages where conversation_id = '${conv}' order by id`,
    );
    assert.ok(theirs.length > 0);
    assert.deepEqual(
      held.filter((x) => x.table_name === "messages").map((x) => [x.source_key, x.constraint_name]),
      theirs.map((m) => [m.id, fk!.conname]),
    );
    assert.ok(
      held.some(
        (x) =>
          x.source_key === "30000000-0000-4000-8000-000000000001" &&
          x.constraint_name === "memory_entries_conversation_fkey",
      ),
      "the conversation's memory is quarantined with its foreign key",
    );
    assert.deepEqual(
      await q(target.url, `select count(*)::int as n from messages where conversation_id = '${conv}'`),
      [{ n: 0 }],
    );
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

test("jarvis_owner planting ALTER ROLE ... SUPERUSER in a CHECK's function does not become superuser: adopt refuses a superuser target", async () => {
  // The rows adopt writes run the tables' CHECK functions, which jarvis_owner owns and can
  // replace; as a superuser session, a planted body would run as the superuser.
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  try {
    await q(
      target.url,
      `create or replace function public.memory_tag_list_valid(tags text[]) returns boolean language plpgsql as $$
       begin alter role jarvis_owner superuser; return true; end $$`,
    );
    await assert.rejects(
      adoptPostgres({ from: legacy.url, target: target.adminUrl, sourceTimeZone: TZ }),
      (e: Error & { code?: string; exitCode?: number }) => {
        assert.equal(e.code, "JARVIS_REFUSED");
        assert.equal(e.exitCode, 4);
        assert.match(
          e.message,
          /^adopt postgres is connected as the superuser "postgres".*set DATABASE_URL to jarvis_owner's connection/,
        );
        return true;
      },
    );
    const [owner] = await q<{ rolsuper: boolean }>(
      target.adminUrl,
      "select rolsuper from pg_roles where rolname = 'jarvis_owner'",
    );
    assert.equal(owner?.rolsuper, false, "jarvis_owner became superuser");
    assert.deepEqual(await q(target.adminUrl, "select count(*)::int as n from memory_entries"), [{ n: 0 }]);
  } finally {
    // Roles are cluster-wide: never leave a superuser behind for the other tests.
    await q(target.adminUrl, "alter role jarvis_owner nosuperuser");
    await target.drop();
    await legacy.drop();
  }
});

test("a row the table refuses early in a large batch: the COPY stops, the rest of the batch still comes in, nothing is lost", async () => {
  // 3,000 memories of 384 doubles (about 12 MB of COPY text, many chunks) in one batch: the
  // target refuses the fixture's 3-d one (the 4th row) while the source is still sending; the
  // source's COPY is read to its end, and the batch goes through the careful path on the same
  // connections, which also finds the new 3-d one.
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  try {
    await q(
      legacy.url,
      `insert into memory_entries (id, content, embedding, metadata, importance, memory_type, created_at)
         select ('40000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'souvenir ' || i,
                case when i = 2 then '{0.5,0.25,0.125}'::float8[] else array(select (j * i % 97) / 97.0 from generate_series(1, 384) j) end,
                '{"importance": 0.4}', 0.5, 'episodic', '2025-01-01 12:00:00'
           from generate_series(1, 3000) i`,
    );
    const r = await adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ });
    assert.deepEqual(r.mismatches, []);
    assert.deepEqual(r.tables.memory_entries, {
      source: 3007,
      imported: 3003,
      quarantined: 4,
      checksumMatch: true,
    });
    const [bad] = await q<{ reason: string }>(
      target.url,
      "select reason from jarvis.adopt_quarantine where source_key = '40000000-0000-4000-8000-000000000002'",
    );
    assert.match(bad?.reason ?? "", /^embedding vector\(384\): expected 384 dimensions, not 3/);
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

test("a value the source cannot convert stops adopt naming the table and the key range, writes nothing of that batch, and the run after the fix resumes", async () => {
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  const id = "30000000-0000-4000-8000-000000000002";
  try {
    // 1e300 has no real (float4): the source's own cast fails while it streams the batch.
    await q(legacy.url, `update memory_entries set embedding[2] = 1e300 where id = '${id}'`);
    await assert.rejects(
      adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ }),
      (e: Error & { code?: string; exitCode?: number }) => {
        assert.equal(e.code, "JARVIS_ADOPT_SOURCE_READ");
        assert.equal(e.exitCode, 1);
        assert.match(
          e.message,
          /^reading memory_entries from the source failed in the batch of keys from the first up to 30000000-/,
        );
        assert.match(e.message, /out of range/);
        assert.match(e.message, /correct the row in the legacy database, then run adopt again/);
        return true;
      },
    );
    assert.deepEqual(await q(target.url, "select count(*)::int as n from memory_entries"), [{ n: 0 }]);
    await q(legacy.url, `update memory_entries set embedding[2] = 0.5 where id = '${id}'`);
    const r = await adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ });
    assert.deepEqual(r.mismatches, []);
    assert.equal(r.tables.memory_entries?.imported, 4);
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

test("refuses a target holding rows that did not come from this source, naming the tables, unless --force", async () => {
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  try {
    await q(target.url, "insert into users (id, username) values (100, 'zoe')");
    await assert.rejects(
      adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ }),
      (e: Error & { code?: string; exitCode?: number }) => {
        assert.equal(e.code, "JARVIS_ADOPT_TARGET_NOT_EMPTY");
        assert.equal(e.exitCode, 4);
        assert.match(e.message, /users \(1 rows\)/);
        return true;
      },
    );
    assert.deepEqual(await q(target.url, "select count(*)::int as n from messages"), [{ n: 0 }]);
    const r = await adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ, force: true });
    assert.deepEqual(r.mismatches, []);
    assert.deepEqual(r.tables.users, { source: 3, imported: 3, quarantined: 0, checksumMatch: true });
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

test("says what is wrong and how to fix it: a bad URL, a missing server, a source not in the legacy shape, an unknown zone, an unmigrated target", async () => {
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  const empty = await createDatabase(postgres, "notlegacy");
  const expectCode = async (p: Promise<unknown>, code: string, exitCode: number, text: RegExp) =>
    assert.rejects(p, (e: Error & { code?: string; exitCode?: number }) => {
      assert.equal(e.code, code);
      assert.equal(e.exitCode, exitCode);
      assert.match(e.message, text);
      return true;
    });
  try {
    await expectCode(
      adoptPostgres({ from: "not a url", target: target.url }),
      "JARVIS_ADOPT_BAD_URL",
      2,
      /postgresql:\/\/user:pass@host/,
    );
    const port = await freePort();
    await expectCode(
      adoptPostgres({ from: `postgresql://u:secret@127.0.0.1:${port}/jarvis_memory`, target: target.url }),
      "JARVIS_ADOPT_SOURCE_UNREACHABLE",
      3,
      /check --from/,
    );
    await expectCode(
      adoptPostgres({ from: empty.url, target: target.url }),
      "JARVIS_ADOPT_SOURCE_SHAPE",
      2,
      /table users is missing/,
    );
    await expectCode(
      adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: "Mars/Olympus" }),
      "JARVIS_ADOPT_TIMEZONE",
      2,
      /Europe\/Paris/,
    );
    await expectCode(
      adoptPostgres({
        from: legacy.url,
        target: postgres.url(empty.name, "jarvis_owner", postgres.roles.owner),
      }),
      "JARVIS_ADOPT_TARGET_SHAPE",
      2,
      /migrate apply/,
    );
  } finally {
    await empty.drop();
    await target.drop();
    await legacy.drop();
  }
});

test("a run after the source changed catches up the new rows (the pass during the cut-over's write freeze)", async () => {
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  try {
    const first = await adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ });
    assert.deepEqual(first.mismatches, []);
    // The application keeps writing to the old database until the freeze.
    await q(
      legacy.url,
      `
      insert into conversations (id, user_id, title, message_count, created_at) values ('00000000-0000-4000-8000-0000000000aa', 2, 'Nouvelle', 0, '2026-11-27 23:00:00');
      insert into messages (conversation_id, role, content, created_at)
        select '00000000-0000-4000-8000-0000000000aa', 'user', 'nouveau ' || i, '2026-11-27 23:01:00' from generate_series(1, 5) i;
      insert into messages (conversation_id, role, content) values ('00000000-0000-4000-8000-000000000007', 'assistant', 'encore');
      -- and updates and deletes rows that were already adopted
      update conversations set ended_at = '2025-10-26 03:10:00', summary = 'close' where id = '00000000-0000-4000-8000-000000000005';
      delete from messages where id = '20000000-0000-4000-8000-000000000010';
      update users set email = 'chloe@exemple.fr' where id = 7;`,
    );
    const second = await adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ });
    assert.deepEqual(second.mismatches, []);
    assert.equal(second.tables.conversations!.imported, first.tables.conversations!.imported + 1);
    assert.equal(second.tables.messages!.imported, first.tables.messages!.imported + 6 - 1);
    assert.equal(second.tables.messages!.quarantined, first.tables.messages!.quarantined);
    const [n] = await q<{ message_count: number }>(
      target.url,
      "select message_count from conversations where id = '00000000-0000-4000-8000-0000000000aa'",
    );
    assert.equal(n!.message_count, 5);
    const [c5] = await q<{ summary: string; ended_at: Date }>(
      target.url,
      "select summary, ended_at from conversations where id = '00000000-0000-4000-8000-000000000005'",
    );
    assert.deepEqual([c5!.summary, c5!.ended_at.toISOString()], ["close", "2025-10-26T02:10:00.000Z"]);
    assert.deepEqual(
      await q(target.url, "select 1 from messages where id = '20000000-0000-4000-8000-000000000010'"),
      [],
    );
    assert.deepEqual(await q(target.url, "select email from users where id = 7"), [
      { email: "chloe@exemple.fr" },
    ]);
    // Caught up: a further run finds nothing to do.
    const third = await adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ });
    assert.deepEqual(third.tables, second.tables);
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

test("retention on adopted data: the A14 purge and A15 memory retention remove what the audit's rules say, importance from metadata included, and kept conversations keep every message", async () => {
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  try {
    // A small variation of the legacy shape: conversations with the audit's metadata column
    // (section 3.1 reads importance from it).
    await q(
      legacy.url,
      `
      alter table conversations add column metadata jsonb;
      update conversations set metadata = '{"importance": 0.2}' where title = 'Bulk';
      update conversations set metadata = '{"importance": 0.9}' where title = 'Plain title';`,
    );
    const r = await adoptPostgres({ from: legacy.url, target: target.url, sourceTimeZone: TZ });
    assert.deepEqual(r.mismatches, []);
    const imp = await q<{ title: string; importance: number }>(
      target.url,
      "select title, importance from conversations where title in ('Bulk', 'Plain title') order by title",
    );
    assert.deepEqual(
      imp.map((x) => x.importance),
      [0.2, 0.9],
    );
    const perConversation = `select c.id::text, count(m.id)::int as n from conversations c left join messages m
                               on m.conversation_id = c.id and m.conversation_created_at = c.created_at group by 1 order by 1`;
    const before = await q<{ id: string; n: number }>(target.url, perConversation);
    const memBefore = await q<{ id: string }>(target.url, "select id::text from memory_entries order by 1");

    const { cronJobs } = await import("../settings/cron.ts");
    const { testConfig } = await import("./harness/index.ts");
    const jobs = cronJobs(testConfig());
    const c = new pg.Client({ connectionString: target.url });
    await c.connect();
    try {
      await c.query(jobs.find((j) => j.name === "jarvis:conversation-retention")!.command);
      for (const j of jobs.filter((x) => x.name.startsWith("jarvis:memory-retention-")))
        await c.query(j.command);
    } finally {
      await c.end();
    }

    const after = await q<{ id: string; n: number }>(target.url, perConversation);
    // A14: only 'Bulk' (2025, importance 0.2 from metadata) is purged; 0.5 and 0.9 stay.
    assert.deepEqual(
      after.map((x) => x.id),
      before.map((x) => x.id).filter((id) => id !== "00000000-0000-4000-8000-000000000007"),
    );
    // No message of a kept conversation is lost.
    for (const kept of after) assert.equal(kept.n, before.find((b) => b.id === kept.id)!.n, kept.id);
    // A15: the 'commands' memory (importance 0.1 from metadata, over 90 days old) is deleted;
    // the others are above their category's threshold.
    const memAfter = await q<{ id: string }>(target.url, "select id::text from memory_entries order by 1");
    assert.deepEqual(
      memAfter.map((x) => x.id),
      memBefore.map((x) => x.id).filter((id) => id !== "30000000-0000-4000-8000-000000000005"),
    );
    assert.ok(memBefore.some((x) => x.id === "30000000-0000-4000-8000-000000000005"));
  } finally {
    await target.drop();
    await legacy.drop();
  }
});

test("a row changed on its way into the target fails the verification: the checksum differs (a message, one float of an embedding), and the command exits 1", async () => {
  const legacy = await buildLegacy(postgres);
  const target = await migratedTarget();
  try {
    // A target that alters what it is given (a trigger that fires even for adopt's session):
    // same count, different content, so only the checksum can tell.
    await q(
      target.url,
      `create function public.corrupt() returns trigger language plpgsql as $$
       begin if new.content = 'message 1 : x = 2' then new.content := new.content || '!'; end if; return new; end $$;
       create trigger corrupt before insert on messages for each row execute function public.corrupt();
       alter table messages enable always trigger corrupt;
       create function public.corrupt_vector() returns trigger language plpgsql as $$
       begin if new.id = '30000000-0000-4000-8000-000000000001' then
         new.embedding := (new.embedding::real[] || array[]::real[])[1:383] || array[0.5::real]; end if; return new; end $$;
       create trigger corrupt_vector before insert on memory_entries for each row execute function public.corrupt_vector();
       alter table memory_entries enable always trigger corrupt_vector;`,
    );
    const again = cli(["adopt", "postgres", "--from", legacy.url, "--source-timezone", TZ, "--json"], {
      DATABASE_URL: target.url,
    });
    assert.equal((await again.done).code, 1, again.err());
    const report = JSON.parse(again.out());
    assert.equal(report.tables.messages.checksumMatch, false);
    assert.equal(
      report.tables.messages.source,
      report.tables.messages.imported + report.tables.messages.quarantined,
    );
    assert.match(report.mismatches.join(), /messages: the imported rows' checksum differs/);
    // One float of one embedding (compared in binary) is enough.
    assert.equal(report.tables.memory_entries.checksumMatch, false);
    assert.equal(report.tables.users.checksumMatch, true);
  } finally {
    await target.drop();
    await legacy.drop();
  }
});
