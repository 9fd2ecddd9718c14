/**
 * Issue 16, item 3: no superuser ever runs code that a non-superuser can change. The stack's
 * pg_cron jobs call functions jarvis_owner owns (it can CREATE OR REPLACE them); run by the
 * postgres superuser, a replaced body ran as superuser. The jobs now run as jarvis_owner.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import { applyCron, liveJobs, type LiveJob } from "../core/cron/index.ts";
import { apply } from "../core/migrate/index.ts";
import { ROLE_NAMES, type RoleKey } from "../core/postgres/roles.ts";
import { cronJobs } from "../settings/cron.ts";
import { createDatabase, testConfig, useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");
const cfg = testConfig();

/** A migrated database with the stack's jobs scheduled for it under a prefix of its own. */
async function scheduled(
  fn: (ctx: { db: string; app: pg.Client; cron: pg.Client; jobs: LiveJob[] }) => Promise<void>,
): Promise<void> {
  const db = await createDatabase(postgres, "cronsec");
  const prefix = `s${randomBytes(4).toString("hex")}:`;
  const app = new pg.Client({ connectionString: db.url });
  const cron = new pg.Client({ connectionString: postgres.url(cfg.postgres.database) });
  await app.connect();
  await cron.connect();
  try {
    await apply(app);
    // Inactive: the test runs them itself, and pg_cron must not run a planted body meanwhile.
    const jobs = cronJobs(cfg, { prefix, database: db.name }).map((j) => ({ ...j, active: false }));
    await applyCron(cron, { jobs, prefix });
    await fn({ db: db.name, app, cron, jobs: await liveJobs(cron, prefix) });
  } finally {
    await cron.query("select cron.unschedule(jobid) from cron.job where starts_with(jobname, $1)", [prefix]);
    await app.end();
    await cron.end();
    await db.drop();
  }
}

/**
 * Runs a job's command as pg_cron's background worker does: a session authenticated as the
 * job's user in the job's database (not a superuser session that switched role, which a planted
 * body could switch back with RESET SESSION AUTHORIZATION).
 */
async function runAsPgCron(job: LiveJob): Promise<void> {
  const key = (Object.keys(ROLE_NAMES) as RoleKey[]).find((k) => ROLE_NAMES[k] === job.username);
  // The server's superuser is the one other user a job may name (as it did before the fix).
  assert.ok(key || job.username === postgres.user, `${job.name} runs as ${job.username}, unknown here`);
  const url = key
    ? postgres.url(job.database, job.username, postgres.roles[key])
    : postgres.url(job.database);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(job.command);
  } finally {
    await c.end();
  }
}

async function isSuperuser(c: pg.Client, role: string): Promise<boolean> {
  const { rows } = await c.query("select rolsuper from pg_roles where rolname = $1", [role]);
  return rows[0].rolsuper;
}

/** The attack: an owner-role session plants a body in the function the A14 job calls. */
const PLANTED_PURGE = `
  create or replace function jarvis.purge_expired_conversations(p_days integer, p_threshold double precision)
  returns jsonb language plpgsql as $$
  begin
    alter role jarvis_owner superuser;
    return '{}';
  end $$`;

test("jarvis_owner replacing a job's function with ALTER ROLE ... SUPERUSER does not become superuser when the job runs", async () => {
  await scheduled(async ({ db, app, jobs }) => {
    const owner = new pg.Client({ connectionString: postgres.url(db, "jarvis_owner", postgres.roles.owner) });
    await owner.connect();
    try {
      await owner.query(PLANTED_PURGE);
      const job = jobs.find((j) => j.name.endsWith(":conversation-retention"));
      assert.ok(job, "the conversation retention job is scheduled");
      const err = await runAsPgCron(job).then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      assert.equal(await isSuperuser(app, "jarvis_owner"), false, "jarvis_owner became superuser");
      assert.equal(err?.code, "42501", String(err)); // insufficient_privilege
    } finally {
      await owner.end();
      // Roles are cluster-wide: never leave a superuser behind for the other tests.
      await app.query("alter role jarvis_owner nosuperuser");
    }
  });
});

test("every scheduled job runs as a non-superuser, and every function and trigger it can reach is owned by a role at least as privileged", async () => {
  await scheduled(async ({ jobs, cron }) => {
    assert.ok(jobs.length >= 5);
    for (const job of jobs) {
      const c = new pg.Client({ connectionString: postgres.url(job.database) });
      await c.connect();
      try {
        assert.equal(await isSuperuser(c, job.username), false, `${job.name} runs as a superuser`);
        // What a job's SQL can reach, over-approximated: every function and procedure of the
        // database outside pg_catalog (what it calls, trigger functions of the tables it
        // writes, functions in CHECKs and indexes). Each must be owned by a superuser, by the
        // job's user, or by a role the job's user is a member of... conversely: a role that is
        // a member of the job's user can change code the job runs, so it must not be weaker.
        const { rows } = await c.query(
          `select p.oid::regprocedure::text as fn, o.rolname as owner
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_roles o on o.oid = p.proowner
            where n.nspname not in ('pg_catalog', 'information_schema')
              and not o.rolsuper
              and not pg_has_role(o.oid, $1::regrole, 'USAGE')
           union all
           select t.tgname || ' on ' || t.tgrelid::regclass::text, o.rolname
             from pg_trigger t join pg_proc p on p.oid = t.tgfoid join pg_roles o on o.oid = p.proowner
            where not o.rolsuper and not pg_has_role(o.oid, $1::regrole, 'USAGE')`,
          [job.username],
        );
        assert.deepEqual(rows, [], `${job.name} (as ${job.username}) reaches code of a less privileged role`);
        // And the job's user cannot change code a superuser runs: no superuser job at all (read
        // where pg_cron keeps its jobs: cron.database_name, not the job's database).
        const { rows: supers } = await cron.query(
          "select jobname from cron.job j join pg_roles r on r.rolname = j.username where r.rolsuper and starts_with(jobname, $1)",
          [job.name.slice(0, job.name.indexOf(":") + 1)],
        );
        assert.deepEqual(supers, []);
      } finally {
        await c.end();
      }
    }
  });
});

test("the jobs do their work as jarvis_owner: partitions premade, conversations purged, memories pruned, history pruned, VACUUM sized", async () => {
  await scheduled(async ({ app, jobs }) => {
    await app.query("insert into users (username) values ('alice')");
    await app.query(
      "insert into conversations (user_id, importance, created_at) values (1, 0.1, now() - interval '3 years')",
    );
    await app.query(
      "insert into memory_entries (content, category, importance, created_at) values ('old', 'commands', 0.1, now() - interval '2 years')",
    );
    for (const job of jobs) {
      if (job.name.endsWith(":vacuum-size-after")) continue;
      await runAsPgCron(job);
    }
    await runAsPgCron(jobs.find((j) => j.name.endsWith(":vacuum-size-after"))!);
    const { rows } = await app.query(
      `select (select count(*)::int from conversations) as conv, (select count(*)::int from memory_entries) as mem,
              (select count(*)::int from jarvis.retention_runs where status = 'succeeded') as runs,
              (select count(*)::int from jarvis.maintenance_runs where size_after_bytes is not null) as vacuums,
              (select count(*)::int from conversation_keys) as keys`,
    );
    assert.deepEqual(rows[0], { conv: 0, mem: 0, runs: 8, vacuums: 1, keys: 0 });
  });
});

test("pg_cron itself runs the planted job as jarvis_owner: the run fails on permission, and no role became superuser", async () => {
  await scheduled(async ({ db, app, cron, jobs }) => {
    const owner = new pg.Client({ connectionString: postgres.url(db, "jarvis_owner", postgres.roles.owner) });
    await owner.connect();
    const job = jobs.find((j) => j.name.endsWith(":conversation-retention"))!;
    try {
      await owner.query(PLANTED_PURGE);
      // Every minute (pg_cron 1.4 has no seconds), active: the next minute's tick runs it.
      await cron.query("select cron.alter_job($1::bigint, schedule => '* * * * *', active => true)", [
        job.jobid,
      ]);
      let run: { status: string; return_message: string } | undefined;
      for (let i = 0; i < 75 && !run; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const { rows } = await cron.query(
          "select status, return_message from cron.job_run_details where jobid = $1 and status in ('failed', 'succeeded')",
          [job.jobid],
        );
        run = rows[0];
      }
      assert.ok(run, "pg_cron did not run the job within 75 s");
      assert.equal(run.status, "failed");
      assert.match(run.return_message, /must be superuser|permission denied/);
      assert.equal(await isSuperuser(app, "jarvis_owner"), false, "jarvis_owner became superuser");
    } finally {
      await cron.query("select cron.alter_job($1::bigint, active => false)", [job.jobid]);
      await owner.end();
      await app.query("alter role jarvis_owner nosuperuser");
    }
  });
});
