/**
 * Issue 14, section 1: what filling the partition key costs on the write path, on demand
 * (`npm run bench:writepath`), not part of the tests.
 *
 * One throwaway PostgreSQL 15 (harness server, fsync off as in the tests), one migrated database
 * with two years of monthly partitions (as an adopted database has) and 2,000 conversations
 * spread over them. Messages are inserted as jarvis_app, two ways, in the same run:
 *   - explicit (baseline): INSERT (conversation_id, conversation_created_at, role, content), the
 *     whole key sent by the writer; the 0101 trigger's WHEN clause skips it;
 *   - filled: INSERT (conversation_id, role, content), as the application writes; the trigger
 *     looks the key up in conversation_keys.
 * Two shapes: one statement and one transaction per message (the application's), and one
 * INSERT ... SELECT of many rows (a bulk load, where the per-row trigger weighs most). Rounds
 * alternate the two ways and the median is kept. Target: filled at most 10 % slower (app shape).
 *
 * Options (env): BENCH_ROWS (single-row inserts per round, default 5000), BENCH_BULK_ROWS
 * (default 200000), BENCH_ROUNDS (default 5), BENCH_JSON=1 for JSON only.
 */
import pg from "pg";
import { apply } from "../../core/migrate/index.ts";
import { createDatabase, startPostgres } from "../../test/harness/servers.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 5000);
const BULK = Number(process.env.BENCH_BULK_ROWS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const say = (s: string) => (process.env.BENCH_JSON ? undefined : console.error(s));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function seed(c: pg.Client): Promise<void> {
  await apply(c);
  const months = Array.from(
    { length: 24 },
    (_, i) => `date_trunc('month', now()) - interval '${i + 1} months'`,
  );
  for (const t of ["conversations", "messages"])
    await c.query(`select partman.create_partition_time('public.${t}', array[${months.join(", ")}])`);
  await c.query("insert into users (username) values ('bench')");
  await c.query(`insert into conversations (user_id, title, created_at)
                 select 1, 'c' || g, now() - make_interval(days => g % 720) from generate_series(1, 2000) g`);
  await c.query("vacuum analyze");
}

type Conv = { id: string; created_at: Date };

/** Seconds for ROWS single-row inserts, one transaction each, cycling over the conversations. */
async function singleRows(c: pg.Client, convs: Conv[], explicit: boolean): Promise<number> {
  const sql = explicit
    ? "insert into messages (conversation_id, conversation_created_at, role, content) values ($1, $2, 'user', $3)"
    : "insert into messages (conversation_id, role, content) values ($1, 'user', $2)";
  const name = explicit ? "explicit" : "filled";
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ROWS; i++) {
    const conv = convs[i % convs.length]!;
    const values = explicit
      ? [conv.id, conv.created_at, `message ${i} of about sixty characters, as people write them`]
      : [conv.id, `message ${i} of about sixty characters, as people write them`];
    await c.query({ name, text: sql, values });
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Seconds for one INSERT ... SELECT of BULK rows. */
async function bulk(c: pg.Client, explicit: boolean): Promise<number> {
  const t0 = process.hrtime.bigint();
  await c.query(
    explicit
      ? `insert into messages (conversation_id, conversation_created_at, role, content)
         select k.id, k.created_at, 'user', 'bulk ' || g from generate_series(1, $1) g
           join (select id, created_at, row_number() over () - 1 as n from conversations) k on k.n = g % 2000`
      : `insert into messages (conversation_id, role, content)
         select k.id, 'user', 'bulk ' || g from generate_series(1, $1) g
           join (select id, created_at, row_number() over () - 1 as n from conversations) k on k.n = g % 2000`,
    [BULK],
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const server = await startPostgres({ settings: { autovacuum: "off", max_wal_size: "4GB" } });
try {
  const db = await createDatabase(server, "bench_writepath");
  const owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
  say("seeding 24 monthly partitions and 2,000 conversations...");
  await seed(owner);
  const app = new pg.Client({ connectionString: server.url(db.name, "jarvis_app", server.roles.app) });
  await app.connect();
  const convs: Conv[] = (await app.query("select id, created_at from conversations order by random()")).rows;
  const single = { explicit: [] as number[], filled: [] as number[] };
  const many = { explicit: [] as number[], filled: [] as number[] };
  await singleRows(app, convs, true); // warm-up: caches, plans
  await singleRows(app, convs, false);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [true, false] : [false, true];
    for (const explicit of order)
      single[explicit ? "explicit" : "filled"].push(await singleRows(app, convs, explicit));
    for (const explicit of order) many[explicit ? "explicit" : "filled"].push(await bulk(app, explicit));
    await owner.query("truncate messages");
    await owner.query("update conversations set message_count = 0");
    say(`round ${r + 1}/${ROUNDS} done`);
  }
  const ratio = (x: { explicit: number[]; filled: number[] }) =>
    Number((median(x.filled) / median(x.explicit)).toFixed(3));
  const result = {
    partitions: Number(
      (await owner.query("select count(*) from pg_inherits where inhparent = 'messages'::regclass")).rows[0]
        .count,
    ),
    singleRow: {
      rows: ROWS,
      explicitSeconds: median(single.explicit),
      filledSeconds: median(single.filled),
      explicitUsPerRow: Math.round((median(single.explicit) / ROWS) * 1e6),
      filledUsPerRow: Math.round((median(single.filled) / ROWS) * 1e6),
      ratio: ratio(single),
    },
    bulk: {
      rows: BULK,
      explicitSeconds: median(many.explicit),
      filledSeconds: median(many.filled),
      ratio: ratio(many),
    },
    target: "singleRow.ratio <= 1.10",
    met: ratio(single) <= 1.1,
  };
  console.log(JSON.stringify(result, null, 2));
  await app.end();
  await owner.end();
} catch (e) {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await server.stop();
}
