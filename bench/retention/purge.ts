/**
 * A14 benchmark, on demand (`npm run bench:retention`), not part of the tests.
 *
 * Two identical databases on one throwaway PostgreSQL 15 (harness server, fsync off as in the
 * tests): 1,000,000 expired messages over 6 monthly partitions (7..12 months old), 5 % of their
 * conversations important, plus recent data that must survive. Then, one after the other:
 *   - baseline: the audit's purge, a plain DELETE of messages and conversations older than
 *     6 months with importance < 0.5 (triggers on, as in production);
 *   - ours: jarvis.purge_expired_conversations(180, 0.5) (sql/migrations/0100).
 * Reported for each: wall time, WAL written (pg_current_wal_lsn before/after), the tables' size
 * afterwards and their dead tuples (bloat left for VACUUM). Both must leave the same rows.
 *
 * Options (env): BENCH_MESSAGES (default 1000000), BENCH_MESSAGES_PER_CONVERSATION (20),
 * BENCH_RECENT_MESSAGES (100000), BENCH_JSON=1 for JSON only, BENCH_SKIP_AUDIT=1 to time ours alone.
 */
import pg from "pg";
import { apply } from "../../core/migrate/index.ts";
import { createDatabase, startPostgres } from "../../test/harness/servers.ts";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const PER_CONV = Number(process.env.BENCH_MESSAGES_PER_CONVERSATION ?? 20);
const RECENT = Number(process.env.BENCH_RECENT_MESSAGES ?? 100_000);
const MONTHS = [7, 8, 9, 10, 11, 12];
const say = (s: string) => (process.env.BENCH_JSON ? undefined : console.error(s));

async function seed(c: pg.Client): Promise<void> {
  await apply(c);
  const months = MONTHS.map((m) => `date_trunc('month', now()) - interval '${m} months'`).join(", ");
  await c.query(`select partman.create_partition_time('public.conversations', array[${months}])`);
  await c.query(`select partman.create_partition_time('public.messages', array[${months}])`);
  await c.query("insert into users (username) values ('bench')");
  const convs = Math.ceil(MESSAGES / PER_CONV);
  const recentConvs = Math.ceil(RECENT / PER_CONV);
  // Seeded in replica mode (no triggers, no FK checks) with message_count set directly: the
  // seeding is not what is measured.
  await c.query("begin; set local session_replication_role = replica");
  await c.query(
    `insert into conversations (user_id, title, importance, message_count, created_at)
     select 1, 'old ' || g, case when g % 20 = 0 then 0.9 else 0.1 end, $2,
            date_trunc('month', now()) - make_interval(months => 7 + (g % 6)) + make_interval(days => 1 + g % 20, secs => g % 3600)
       from generate_series(1, $1) g`,
    [convs, PER_CONV],
  );
  await c.query(
    `insert into conversations (user_id, title, importance, message_count, created_at)
     select 1, 'recent ' || g, 0.1, $2, now() - make_interval(days => 1 + g % 60) from generate_series(1, $1) g`,
    [recentConvs, PER_CONV],
  );
  await c.query(
    `insert into messages (conversation_id, conversation_created_at, role, content, created_at)
     select c.id, c.created_at, case when k % 2 = 0 then 'assistant' else 'user' end,
            'message ' || k || ' of a conversation about something worth about eighty characters.', c.created_at + make_interval(mins => k)
       from conversations c, generate_series(1, $1) k`,
    [PER_CONV],
  );
  await c.query("commit");
  await c.query("vacuum analyze");
}

/** The audit's purge, as its retention function does it. */
const AUDIT_PURGE = `
  create function audit_purge() returns void language plpgsql as $$
  begin
    delete from messages where conversation_id in (select id from conversations where created_at < now() - interval '6 months' and importance < 0.5);
    delete from conversations where created_at < now() - interval '6 months' and importance < 0.5;
  end $$`;

interface Figures {
  seconds: number;
  walBytes: number;
  sizeAfterBytes: number;
  deadTuplesAfter: number;
  conversationsLeft: number;
  messagesLeft: number;
}

async function measure(c: pg.Client, sql: string): Promise<Figures> {
  await c.query("checkpoint");
  const lsn0 = (await c.query("select pg_current_wal_lsn() as l")).rows[0].l;
  const t0 = process.hrtime.bigint();
  await c.query(sql);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const wal = (await c.query("select pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint as b", [lsn0])).rows[0]
    .b;
  await c.query("select pg_stat_force_next_flush()").catch(() => {});
  const size = (
    await c.query(`select sum(pg_total_relation_size(relid))::bigint as b from (
        select relid from pg_partition_tree('public.messages') union all select relid from pg_partition_tree('public.conversations')) t`)
  ).rows[0].b;
  const dead = (
    await c.query(
      "select coalesce(sum(n_dead_tup), 0)::bigint as d from pg_stat_user_tables where relname like 'messages%' or relname like 'conversations%'",
    )
  ).rows[0].d;
  const left = (
    await c.query("select (select count(*) from conversations) as c, (select count(*) from messages) as m")
  ).rows[0];
  return {
    seconds,
    walBytes: Number(wal),
    sizeAfterBytes: Number(size),
    deadTuplesAfter: Number(dead),
    conversationsLeft: Number(left.c),
    messagesLeft: Number(left.m),
  };
}

// No autovacuum: the baseline leaves ~2M dead tuples, and a vacuum of them running during our
// purge would time the machine, not the purge. Dead tuples are reported instead.
const server = await startPostgres({
  settings: { max_wal_size: "4GB", checkpoint_timeout: "30min", autovacuum: "off" },
});
try {
  const [a, b] = [await createDatabase(server, "bench_audit"), await createDatabase(server, "bench_ours")];
  const ca = new pg.Client({ connectionString: a.url });
  const cb = new pg.Client({ connectionString: b.url });
  for (const c of [ca, cb]) {
    c.on("error", () => {});
    await c.connect();
  }
  say(`seeding ${MESSAGES} expired messages (x2 databases)...`);
  await seed(ca);
  await seed(cb);
  const before = (
    await cb.query(
      "select (select count(*) from messages) as m, pg_size_pretty(pg_database_size(current_database())) as s",
    )
  ).rows[0];
  say(`seeded: ${before.m} messages per database, ${before.s}`);
  await ca.query(AUDIT_PURGE);
  say("baseline: the audit's DELETE...");
  // BENCH_SKIP_AUDIT=1 while tuning ours: the baseline takes minutes.
  const audit = process.env.BENCH_SKIP_AUDIT
    ? {
        seconds: NaN,
        walBytes: NaN,
        sizeAfterBytes: NaN,
        deadTuplesAfter: NaN,
        conversationsLeft: NaN,
        messagesLeft: NaN,
      }
    : await measure(ca, "select audit_purge()");
  say("ours: jarvis.purge_expired_conversations(180, 0.5)...");
  const ours = await measure(cb, "select jarvis.purge_expired_conversations(180, 0.5)");
  const result = {
    messagesExpired: MESSAGES,
    importantShare: 0.05,
    audit,
    ours,
    speedup: Number((audit.seconds / ours.seconds).toFixed(1)),
    walRatio: Number((audit.walBytes / Math.max(1, ours.walBytes)).toFixed(1)),
    sameRowsLeft:
      audit.conversationsLeft === ours.conversationsLeft && audit.messagesLeft === ours.messagesLeft,
  };
  console.log(JSON.stringify(result, null, 2));
  await ca.end();
  await cb.end();
} catch (e) {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await server.stop();
}
