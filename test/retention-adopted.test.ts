/**
 * Retention on data written the way the application writes it (issue 14, "Retention on adopted
 * data") and the purge's lost-message bug (issue 16, item 5): the A14 purge and the A15 memory
 * retention read importance from metadata when that is where it was written, and no message of
 * a kept conversation is lost, even one older than its conversation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { withMigratedDb } from "./harness/migrated.ts";
import { retentionPolicy } from "../core/retention/policy.ts";
import { postgresRetention } from "../core/retention/postgres.ts";
import { cronJobs } from "../settings/cron.ts";
import { testConfig, useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");
const cfg = testConfig();

/** A migrated database; `owner` runs job commands as the jobs' user, `app` writes as jarvis_app. */
function withDb(fn: (c: { owner: pg.Client; app: pg.Client }) => Promise<void>): Promise<void> {
  return withMigratedDb(postgres, "retad", async (su, app) => {
    await su.query("set session authorization jarvis_owner");
    await fn({ owner: su, app });
  });
}

function command(name: string): string {
  const j = cronJobs(cfg).find((x) => x.name === `jarvis:${name}`);
  assert.ok(j, `no job ${name}`);
  return j.command;
}

const monthStart = (expr: string) => `date_trunc('month', ${expr})`;

test("the purge keeps a 400-day-old message of an important conversation created today, and message_count stays right", async () => {
  await withDb(async ({ owner, app }) => {
    for (const t of ["conversations", "messages"])
      await owner.query(
        `select partman.create_partition_time('public.${t}', array[${monthStart("now() - interval '400 days'")}, ${monthStart("now() - interval '300 days'")}])`,
      );
    await app.query("insert into users (username) values ('alice')");
    const { rows } = await app.query(
      "insert into conversations (user_id, title, metadata, created_at) values (1, 'Réunion importante', '{\"importance\": 0.9}', now()) returning id",
    );
    const id = rows[0].id;
    await app.query(
      "insert into messages (conversation_id, role, content) values ($1, 'user', 'aujourd''hui')",
      [id],
    );
    // The reproduction: a message 400 days older than its conversation, in that month's partition.
    await app.query(
      "insert into messages (conversation_id, role, content, created_at) values ($1, 'user', 'il y a 400 jours', now() - interval '400 days')",
      [id],
    );
    // And an expired unimportant conversation (importance only in metadata) that must go.
    const old = await app.query(
      "insert into conversations (user_id, title, metadata, created_at) values (1, 'Vieux', '{\"importance\": 0.1}', now() - interval '300 days') returning id",
    );
    await app.query(
      "insert into messages (conversation_id, role, content, created_at) values ($1, 'user', 'vieux', now() - interval '299 days')",
      [old.rows[0].id],
    );

    const report = (await owner.query(command("conversation-retention"))).rows[0].purge_expired_conversations;
    assert.deepEqual(report.conversations, { processed: 1, deleted: 1, kept: 0 });
    assert.deepEqual(report.messages, { processed: 2, deleted: 1, kept: 1 });
    const msgs = await app.query(
      "select content from messages where conversation_id = $1 order by created_at",
      [id],
    );
    assert.deepEqual(
      msgs.rows.map((r) => r.content),
      ["il y a 400 jours", "aujourd'hui"],
    );
    const conv = await app.query("select message_count from conversations where id = $1", [id]);
    assert.equal(conv.rows[0].message_count, 2);
    assert.equal(
      Number(
        (await app.query("select count(*) from conversations where id = $1", [old.rows[0].id])).rows[0].count,
      ),
      0,
    );
    // The purged conversation's key is gone with it; the kept one's stays.
    const keys = await app.query("select id from conversation_keys");
    assert.deepEqual(
      keys.rows.map((r) => r.id),
      [id],
    );
  });
});

test("the A14 purge reads importance written only in metadata, as the audit's purge does", async () => {
  await withDb(async ({ owner, app }) => {
    for (const t of ["conversations", "messages"])
      await owner.query(
        `select partman.create_partition_time('public.${t}', array[${monthStart("now() - interval '250 days'")}])`,
      );
    await app.query("insert into users (username) values ('bob')");
    // As the ORM writes them: no importance column, metadata from the application.
    await app.query(`
      insert into conversations (user_id, title, metadata, created_at) values
        (1, 'garder', '{"importance": 0.8}', now() - interval '240 days'),
        (1, 'garder aussi', '{"importance": "0.5"}', now() - interval '240 days'),
        (1, 'purger', '{"importance": 0.2}', now() - interval '240 days'),
        (1, 'sans importance', null, now() - interval '240 days')`);
    const report = (await owner.query(command("conversation-retention"))).rows[0].purge_expired_conversations;
    assert.deepEqual(report.conversations, { processed: 4, deleted: 1, kept: 3 });
    const left = await app.query("select title, importance, metadata from conversations order by title");
    assert.deepEqual(left.rows, [
      { title: "garder", importance: 0.8, metadata: { importance: 0.8 } },
      { title: "garder aussi", importance: 0.5, metadata: { importance: 0.5 } },
      // No importance anywhere: the column's default (0.5, at the threshold) keeps it.
      { title: "sans importance", importance: 0.5, metadata: {} },
    ]);
  });
});

test("the A15 memory retention removes exactly what the audit's rules say, importance from metadata included", async () => {
  await withDb(async ({ owner, app }) => {
    // Written through the application's memory_embeddings, importance and category in metadata.
    const mem = (content: string, days: number, metadata: object) =>
      app.query(
        "insert into memory_embeddings (content, metadata, importance, created_at) values ($1, $2, 0.5, now() - make_interval(days => $3))",
        [content, JSON.stringify(metadata), days],
      );
    await mem("cmd expired low", 100, { category: "commands", importance: 0.1 });
    await mem("cmd expired kept", 100, { category: "commands", importance: 0.3 });
    await mem("cmd recent low", 10, { category: "commands", importance: 0.0 });
    await mem("know expired low", 400, { category: "knowledge", importance: 0.4 });
    await mem("know expired kept", 400, { category: "knowledge", importance: 0.6 });
    await mem("pref expired zero", 400, { category: "preferences", importance: 0 });
    await mem("conv expired low", 200, { importance: 0.25 });
    await mem("pattern expired low", 130, { category: "patterns", importance: 0.39 });
    for (const category of Object.keys(cfg.retention.memory.categories))
      await owner.query(command(`memory-retention-${category}`));
    const left = await app.query("select content from memory_embeddings order by content");
    assert.deepEqual(
      left.rows.map((r) => r.content),
      ["cmd expired kept", "cmd recent low", "know expired kept", "pref expired zero"],
    );
    const runs = await owner.query(
      "select category, processed::int, deleted::int from jarvis.retention_runs where job = 'memory_entries' order by category",
    );
    assert.deepEqual(runs.rows, [
      { category: "commands", processed: 2, deleted: 1 },
      { category: "conversations", processed: 1, deleted: 1 },
      { category: "knowledge", processed: 2, deleted: 1 },
      { category: "patterns", processed: 1, deleted: 1 },
      { category: "preferences", processed: 1, deleted: 0 },
    ]);
  });
});

test("retention run --store postgres refuses a superuser connection, and runs the jobs' SQL as jarvis_owner", async () => {
  await withDb(async ({ owner }) => {
    const db = (await owner.query("select current_database() as d")).rows[0].d;
    const su = new pg.Client({ connectionString: postgres.url(db) });
    const asOwner = new pg.Client({
      connectionString: postgres.url(db, "jarvis_owner", postgres.roles.owner),
    });
    await su.connect();
    await asOwner.connect();
    try {
      const policy = retentionPolicy(cfg);
      await assert.rejects(postgresRetention(su, policy), (e: Error & { code?: string }) => {
        assert.equal(e.code, "JARVIS_REFUSED");
        assert.match(e.message, /jarvis_owner/);
        return true;
      });
      assert.equal(Number((await su.query("select count(*) from jarvis.retention_runs")).rows[0].count), 0);
      const report = await postgresRetention(asOwner, policy);
      assert.equal(report.runs.length, 2 + Object.keys(policy.categories).length + 1);
      // A dry run only reads, but jarvis_owner can make what it reads a view over its own
      // function: planted, it would run as the superuser. Refused too; jarvis_owner may dry-run.
      await asOwner.query(
        `alter table public.audit_log rename to audit_log_real;
         create function public.planted() returns boolean language plpgsql as $$
           begin alter role jarvis_owner superuser; return true; end $$;
         create view public.audit_log as select * from public.audit_log_real where public.planted()`,
      );
      try {
        await assert.rejects(
          postgresRetention(su, policy, { dryRun: true }),
          (e: Error & { code?: string }) => {
            assert.equal(e.code, "JARVIS_REFUSED");
            return true;
          },
        );
        const { rows } = await su.query("select rolsuper from pg_roles where rolname = 'jarvis_owner'");
        assert.equal(rows[0].rolsuper, false, "jarvis_owner became superuser");
      } finally {
        await su.query("alter role jarvis_owner nosuperuser");
        await asOwner.query(
          "drop view public.audit_log; drop function public.planted(); alter table public.audit_log_real rename to audit_log",
        );
      }
      assert.equal((await postgresRetention(asOwner, policy, { dryRun: true })).dryRun, true);
    } finally {
      await su.end();
      await asOwner.end();
    }
  });
});
