/**
 * PostgreSQL retention on demand: runs exactly what the pg_cron jobs run (sql/migrations/0100),
 * so `retention run --store postgres` and the schedule cannot disagree. Dry-run only counts.
 * Runs as jarvis_owner, the jobs' user, and refuses a superuser connection: the functions it
 * calls belong to jarvis_owner, which can replace them, and a superuser must never run code a
 * non-superuser can change (issue 16, item 3). A dry run only counts rows and may use any role
 * that reads the tables.
 */
import type pg from "pg";
import { refuseSuperuser } from "../pg.ts";
import type { RetentionPolicy } from "./policy.ts";

export interface PostgresRetentionRow {
  job: string;
  category: string;
  processed: number;
  deleted: number;
  kept: number;
}

export interface PostgresRetentionReport {
  dryRun: boolean;
  runs: PostgresRetentionRow[];
  totals: { processed: number; deleted: number; kept: number };
}

const n = (x: unknown) => Number(x ?? 0);

export async function postgresRetention(
  client: pg.Client,
  policy: RetentionPolicy,
  opts: { dryRun?: boolean } = {},
): Promise<PostgresRetentionReport> {
  let runs: PostgresRetentionRow[] = [];
  // A dry run only reads, but what it reads (public.conversations, ...) jarvis_owner can turn
  // into a view over a function of its own: refused as a superuser too.
  await refuseSuperuser(
    client,
    "retention run --store postgres",
    "the retention functions and the tables' views",
  );
  if (opts.dryRun) {
    const c = policy.conversations;
    const { rows: conv } = await client.query(
      `select count(*) as processed, count(*) filter (where importance < $2) as deleted from public.conversations where created_at < now() - make_interval(days => $1)`,
      [c.days, c.importanceThreshold],
    );
    runs.push({
      job: "conversations",
      category: "conversations",
      processed: n(conv[0].processed),
      deleted: n(conv[0].deleted),
      kept: n(conv[0].processed) - n(conv[0].deleted),
    });
    for (const [category, r] of Object.entries(policy.categories)) {
      const { rows } = await client.query(
        `select count(*) as processed, count(*) filter (where importance < $3) as deleted from public.memory_entries where category = $1 and created_at < now() - make_interval(days => $2)`,
        [category, r.days, r.importanceThreshold],
      );
      runs.push({
        job: "memory_entries",
        category,
        processed: n(rows[0].processed),
        deleted: n(rows[0].deleted),
        kept: n(rows[0].processed) - n(rows[0].deleted),
      });
    }
    const { rows: audit } = await client.query(
      "select count(*) as n from public.audit_log where changed_at < now() - make_interval(days => $1)",
      [policy.auditLogDays],
    );
    runs.push({
      job: "audit_log",
      category: "audit_log",
      processed: n(audit[0].n),
      deleted: n(audit[0].n),
      kept: 0,
    });
  } else {
    const { rows: start } = await client.query(
      "select coalesce(max(id), 0) as id from jarvis.retention_runs",
    );
    await client.query("select jarvis.purge_expired_conversations($1, $2)", [
      policy.conversations.days,
      policy.conversations.importanceThreshold,
    ]);
    for (const [category, r] of Object.entries(policy.categories)) {
      await client.query("call jarvis.purge_memory_entries($1, $2, $3, $4)", [
        category,
        r.days,
        r.importanceThreshold,
        policy.memoryBatchSize,
      ]);
    }
    await client.query("call jarvis.prune_audit_log($1)", [policy.auditLogDays]);
    const { rows } = await client.query(
      "select job, category, processed, deleted, kept from jarvis.retention_runs where id > $1 order by id",
      [start[0].id],
    );
    runs = rows.map((r) => ({
      job: r.job,
      category: r.category,
      processed: n(r.processed),
      deleted: n(r.deleted),
      kept: n(r.kept),
    }));
  }
  const totals = runs.reduce(
    (t, r) => ({
      processed: t.processed + r.processed,
      deleted: t.deleted + r.deleted,
      kept: t.kept + r.kept,
    }),
    { processed: 0, deleted: 0, kept: 0 },
  );
  return { dryRun: Boolean(opts.dryRun), runs, totals };
}
