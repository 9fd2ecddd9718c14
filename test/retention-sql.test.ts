/**
 * The retention and maintenance jobs' commands (settings/cron.ts -> sql/migrations/0100) run on
 * seeded data in a freshly migrated database: expired unimportant rows gone, important ones
 * kept, counts reported in jarvis.retention_runs / maintenance_runs. One test lets pg_cron itself
 * run jobs, to prove they reach the target database and that procedures commit under pg_cron.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import { apply } from "../core/migrate/index.ts";
import { applyCron } from "../core/cron/index.ts";
import { cronJobs } from "../settings/cron.ts";
import { createDatabase, testConfig, useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");
const cfg = testConfig();

async function migratedDb(): Promise<{ name: string; client: pg.Client; done(): Promise<void> }> {
  const db = await createDatabase(postgres, "ret");
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await apply(client);
  return {
    name: db.name,
    client,
    async done() {
      await client.end();
      await db.drop();
    },
  };
}

function command(name: string, database?: string): string {
  const j = cronJobs(cfg, { database }).find((x) => x.name === `jarvis:${name}`);
  assert.ok(j, `no job ${name}`);
  return j.command;
}

const monthsAgo = (n: number) => `date_trunc('month', now()) - interval '${n} months'`;

test("conversation retention drops expired partitions, keeps important conversations with all their messages, and reports counts", async () => {
  const { client: c, done } = await migratedDb();
  try {
    // Partitions for 9..11 months ago (pg_partman only premakes around now).
    await c.query(
      `select partman.create_partition_time('public.conversations', array[${monthsAgo(11)}, ${monthsAgo(10)}, ${monthsAgo(9)}])`,
    );
    await c.query(
      `select partman.create_partition_time('public.messages', array[${monthsAgo(11)}, ${monthsAgo(10)}, ${monthsAgo(9)}])`,
    );
    await c.query("insert into users (username) values ('alice')");
    // 10 conversations per old month, 2 of them important (>= 0.5); 3 messages each. Plus fresh ones.
    await c.query(`
      insert into conversations (user_id, title, importance, created_at)
      select 1, 'c' || m || '-' || i, case when i <= 2 then 0.5 + i * 0.1 else 0.1 end, ${monthsAgo(0)} - make_interval(months => m) + interval '3 days'
        from generate_series(9, 11) m, generate_series(1, 10) i
      union all
      select 1, 'fresh' || i, 0.1, now() - interval '2 days' from generate_series(1, 4) i`);
    await c.query(`
      insert into messages (conversation_id, conversation_created_at, role, content, created_at)
      select id, created_at, 'user', 'message ' || k, created_at + make_interval(hours => k) from conversations, generate_series(1, 3) k`);
    // One important conversation goes on into a recent month, one doomed one too.
    await c.query(`
      insert into messages (conversation_id, conversation_created_at, role, content, created_at)
      select id, created_at, 'assistant', 'much later', now() - interval '1 day' from conversations where title in ('c11-1', 'c11-5')`);
    await c.query(`insert into memory_entries (user_id, conversation_id, conversation_created_at, content, category)
                   select 1, id, created_at, 'about ' || title, 'knowledge' from conversations where title in ('c10-1', 'c10-7')`);
    const auditBefore = Number((await c.query("select count(*) from audit_log")).rows[0].count);
    const countsBefore = (
      await c.query("select id, message_count from conversations where importance >= 0.5 order by id")
    ).rows;

    const { rows } = await c.query(command("conversation-retention"));
    const report = Object.values(rows[0])[0] as any;

    assert.deepEqual(report.conversations, { processed: 30, deleted: 24, kept: 6 });
    // 90 messages in expired partitions, 18 of them rescued; plus c11-5's recent message deleted.
    assert.deepEqual(report.messages, { processed: 91, deleted: 73, kept: 18 });
    // Never analyzed, so counted (count(*)): the counts are exact and say so.
    assert.equal(report.countsEstimated, false);
    const left = (await c.query("select title from conversations order by title")).rows.map((r) => r.title);
    assert.deepEqual(left, [
      "c10-1",
      "c10-2",
      "c11-1",
      "c11-2",
      "c9-1",
      "c9-2",
      "fresh1",
      "fresh2",
      "fresh3",
      "fresh4",
    ]);
    const msgs = (
      await c.query(
        "select c.title, count(*)::int as n from messages m join conversations c on c.id = m.conversation_id and c.created_at = m.conversation_created_at group by 1 order by 1",
      )
    ).rows;
    assert.deepEqual(Object.fromEntries(msgs.map((r) => [r.title, r.n])), {
      "c10-1": 3,
      "c10-2": 3,
      "c11-1": 4,
      "c11-2": 3,
      "c9-1": 3,
      "c9-2": 3,
      fresh1: 3,
      fresh2: 3,
      fresh3: 3,
      fresh4: 3,
    });
    assert.equal(
      Number((await c.query("select count(*) from messages")).rows[0].count),
      31,
      "no orphan messages",
    );
    // Counters and the audit trail are untouched by the rescue.
    assert.deepEqual(
      (await c.query("select id, message_count from conversations where importance >= 0.5 order by id")).rows,
      countsBefore,
    );
    assert.equal(Number((await c.query("select count(*) from audit_log")).rows[0].count), auditBefore);
    // A memory of a kept conversation stays linked; one of a purged conversation is unlinked, not deleted.
    const mem = (
      await c.query(
        "select content, conversation_id is not null as linked from memory_entries order by content",
      )
    ).rows;
    assert.deepEqual(mem, [
      { content: "about c10-1", linked: true },
      { content: "about c10-7", linked: false },
    ]);
    // Expired partitions without survivors are gone; those with survivors are back, with their grants.
    const parts = (
      await c.query(
        "select partition::text as p from jarvis.time_partitions('public.conversations') where upper_bound <= now() - interval '180 days' order by 1",
      )
    ).rows.map((r) => r.p);
    assert.equal(parts.length, 3);
    const acl = (await c.query("select relacl::text from pg_class where oid = $1::regclass", [parts[0]]))
      .rows[0].relacl;
    assert.match(acl, /jarvis_readonly=r/);
    const runs = (
      await c.query(
        "select category, processed::int, deleted::int, kept::int, status from jarvis.retention_runs where job = 'conversations' order by category",
      )
    ).rows;
    assert.deepEqual(runs, [
      { category: "conversations", processed: 30, deleted: 24, kept: 6, status: "succeeded" },
      { category: "messages", processed: 91, deleted: 73, kept: 18, status: "succeeded" },
    ]);
    // A second run finds nothing more to purge.
    const again = Object.values((await c.query(command("conversation-retention"))).rows[0])[0] as any;
    assert.deepEqual(again.conversations, { processed: 6, deleted: 0, kept: 6 });
  } finally {
    await done();
  }
});

test("conversation retention counts analyzed partitions from the catalogue and says so", async () => {
  const { client: c, done } = await migratedDb();
  try {
    await c.query(`select partman.create_partition_time('public.conversations', array[${monthsAgo(10)}])`);
    await c.query(`select partman.create_partition_time('public.messages', array[${monthsAgo(10)}])`);
    await c.query("insert into users (username) values ('bob')");
    await c.query(`insert into conversations (user_id, title, importance, created_at)
                   select 1, 'c' || i, case when i = 1 then 0.9 else 0.1 end, ${monthsAgo(10)} + interval '2 days' from generate_series(1, 40) i`);
    await c.query(`insert into messages (conversation_id, conversation_created_at, role, content, created_at)
                   select id, created_at, 'user', 'm' || k, created_at + make_interval(mins => k) from conversations, generate_series(1, 5) k`);
    await c.query("analyze conversations, messages");
    const report = Object.values((await c.query(command("conversation-retention"))).rows[0])[0] as any;
    // ANALYZE sampled every page of these small partitions, so the catalogue's counts are exact.
    assert.deepEqual(report.conversations, { processed: 40, deleted: 39, kept: 1 });
    assert.deepEqual(report.messages, { processed: 200, deleted: 195, kept: 5 });
    assert.equal(report.countsEstimated, true);
  } finally {
    await done();
  }
});

test("conversation retention refuses to run beside pg_partman's own retention", async () => {
  const { client: c, done } = await migratedDb();
  try {
    await c.query(
      "update partman.part_config set retention = '6 months' where parent_table = 'public.conversations'",
    );
    await assert.rejects(c.query(command("conversation-retention")), (e: Error & { code?: string }) => {
      assert.equal(e.code, "55000");
      assert.match(e.message, /pg_partman retention is set/);
      return true;
    });
  } finally {
    await done();
  }
});

test("memory retention deletes each category's expired entries below its threshold, in batches, and reports processed and deleted", async () => {
  const { client: c, done } = await migratedDb();
  try {
    // Per category: 250 expired below the threshold, 5 expired at/above it, 7 fresh below it.
    for (const [category, p] of Object.entries(cfg.retention.memory.categories)) {
      const low = Math.max(0, p.importanceThreshold - 0.1);
      await c.query(
        `insert into memory_entries (content, category, importance, created_at)
         select 'old low', $1, $2::float8, now() - make_interval(days => $4::int + 1) - make_interval(secs => g) from generate_series(1, 250) g
         union all select 'old high', $1, $3::float8, now() - make_interval(days => $4::int + 10) from generate_series(1, 5)
         union all select 'fresh low', $1, $2::float8, now() - make_interval(days => $4::int - 1) from generate_series(1, 7)`,
        [category, low, p.importanceThreshold, p.days],
      );
    }
    const small = testConfig({ retention: { memory: { batchSize: 100 } } });
    for (const j of cronJobs(small).filter((x) => x.name.startsWith("jarvis:memory-retention-")))
      await c.query(j.command);

    const left = (
      await c.query(
        "select category, content, count(*)::int as n from memory_entries group by 1, 2 order by 1, 2",
      )
    ).rows;
    for (const category of Object.keys(cfg.retention.memory.categories)) {
      const mine = Object.fromEntries(
        left.filter((r) => r.category === category).map((r) => [r.content, r.n]),
      );
      if (cfg.retention.memory.categories[category as "commands"].importanceThreshold === 0) {
        // preferences: threshold 0, nothing is below it, nothing is deleted.
        assert.deepEqual(mine, { "fresh low": 7, "old high": 5, "old low": 250 }, category);
      } else {
        assert.deepEqual(mine, { "fresh low": 7, "old high": 5 }, category);
      }
    }
    const runs = (
      await c.query(
        "select category, processed::int, deleted::int, kept::int, status, details->>'batchSize' as batch from jarvis.retention_runs where job = 'memory_entries' order by category",
      )
    ).rows;
    assert.deepEqual(
      runs.map((r) => [r.category, r.processed, r.deleted, r.kept, r.status, r.batch]),
      [
        ["commands", 255, 250, 5, "succeeded", "100"],
        ["conversations", 255, 250, 5, "succeeded", "100"],
        ["knowledge", 255, 250, 5, "succeeded", "100"],
        ["patterns", 255, 250, 5, "succeeded", "100"],
        ["preferences", 255, 0, 255, "succeeded", "100"],
      ],
    );
  } finally {
    await done();
  }
});

test("audit log pruning removes entries older than the retention and keeps the rest", async () => {
  const { client: c, done } = await migratedDb();
  try {
    await c.query(`insert into audit_log (table_name, operation, changed_at)
                   select 'users', 'UPDATE', now() - make_interval(days => 366 + g) from generate_series(1, 30) g
                   union all select 'users', 'UPDATE', now() - interval '10 days' from generate_series(1, 4)`);
    await c.query(command("audit-log-retention"));
    assert.equal(Number((await c.query("select count(*) from audit_log")).rows[0].count), 4);
    const run = (
      await c.query("select deleted::int, status from jarvis.retention_runs where job = 'audit_log'")
    ).rows;
    assert.deepEqual(run, [{ deleted: 30, status: "succeeded" }]);
  } finally {
    await done();
  }
});

test("cron history pruning deletes pg_cron run details older than the retention", async () => {
  const c = new pg.Client({ connectionString: postgres.url("jarvis") });
  await c.connect();
  try {
    await c.query("create extension if not exists pg_cron").catch(() => {});
    const jobid = 900_000_000 + Math.floor(Math.random() * 1_000_000);
    await c.query(
      `insert into cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
       values ($1, 1, 'jarvis', 'postgres', 'select 1', 'succeeded', 'SELECT 1', now() - interval '20 days', now() - interval '20 days'),
              ($1, 2, 'jarvis', 'postgres', 'select 1', 'succeeded', 'SELECT 1', now() - interval '1 day', now() - interval '1 day')`,
      [jobid],
    );
    await c.query(command("cron-history-retention"));
    const left = (await c.query("select job_pid from cron.job_run_details where jobid = $1", [jobid])).rows;
    assert.deepEqual(left, [{ job_pid: 2 }]);
    await c.query("delete from cron.job_run_details where jobid = $1", [jobid]);
  } finally {
    await c.end();
  }
});

test("the VACUUM jobs record the database size before and after (A22)", async () => {
  const { client: c, done } = await migratedDb();
  try {
    await c.query(
      "create table public.churn as select g, repeat('x', 200) as pad from generate_series(1, 20000) g",
    );
    await c.query("delete from public.churn where g % 2 = 0");
    await c.query(command("vacuum-size-before"));
    assert.equal(
      Number((await c.query(command("vacuum-size-after"))).rows[0].vacuum_size_after),
      0,
      "not closed before VACUUM ran",
    );
    await c.query(command("vacuum"));
    assert.equal(Number((await c.query(command("vacuum-size-after"))).rows[0].vacuum_size_after), 1);
    const runs = (
      await c.query(
        "select job, size_before_bytes::bigint as b, size_after_bytes::bigint as a, finished_at is not null as done from jarvis.maintenance_runs",
      )
    ).rows;
    assert.equal(runs.length, 1);
    assert.equal(runs[0].job, "vacuum");
    assert.ok(Number(runs[0].b) > 0 && Number(runs[0].a) > 0 && runs[0].done);
    const analyzed = (
      await c.query(
        "select last_vacuum is not null and last_analyze is not null as ok from pg_stat_user_tables where relname = 'churn'",
      )
    ).rows[0].ok;
    assert.equal(analyzed, true);
  } finally {
    await done();
  }
});

test("pg_cron runs the declared jobs in the target database: a memory purge commits its batches and VACUUM runs alone", async () => {
  const { client: c, name, done } = await migratedDb();
  const cron = new pg.Client({ connectionString: postgres.url("jarvis") });
  await cron.connect();
  const prefix = `r${randomBytes(4).toString("hex")}:`;
  try {
    await c.query(`insert into memory_entries (content, category, importance, created_at)
                   select 'old', 'commands', 0.1, now() - interval '100 days' from generate_series(1, 300)
                   union all select 'kept', 'commands', 0.9, now() - interval '100 days'`);
    const jobs = cronJobs(testConfig({ retention: { memory: { batchSize: 100 } } }), {
      prefix,
      database: name,
    })
      .filter((j) => j.name === `${prefix}memory-retention-commands` || j.name === `${prefix}vacuum`)
      .map((j) => ({ ...j, schedule: "* * * * *" }));
    await applyCron(cron, { jobs, prefix });
    const deadline = Date.now() + 130_000;
    let runs: { jobname: string; status: string; return_message: string }[] = [];
    while (Date.now() < deadline) {
      runs = (
        await cron.query(
          `select j.jobname, d.status, d.return_message from cron.job_run_details d join cron.job j using (jobid)
            where starts_with(j.jobname, $1) and d.status in ('succeeded', 'failed')`,
          [prefix],
        )
      ).rows;
      if (new Set(runs.map((r) => r.jobname)).size === 2) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.deepEqual(
      runs
        .map((r) => [r.jobname.slice(prefix.length), r.status, r.return_message])
        .sort()
        .slice(0, 2),
      [
        ["memory-retention-commands", "succeeded", "CALL"],
        ["vacuum", "succeeded", "VACUUM"],
      ],
    );
    assert.deepEqual(
      (await c.query("select content, count(*)::int as n from memory_entries group by 1")).rows,
      [{ content: "kept", n: 1 }],
    );
    const run = (
      await c.query(
        "select processed::int, deleted::int, status from jarvis.retention_runs where category = 'commands'",
      )
    ).rows[0];
    assert.deepEqual(run, { processed: 301, deleted: 300, status: "succeeded" });
  } finally {
    await cron
      .query("select cron.unschedule(jobid) from cron.job where starts_with(jobname, $1)", [prefix])
      .catch(() => {});
    await cron.end();
    await done();
  }
});
