/**
 * pg_cron schedules as declared resources: the pure job list (settings/cron.ts) and the reconcile
 * (core/cron) against a real PostgreSQL with pg_cron 1.4. Jobs live in the database "jarvis"
 * (cron.database_name) shared by every test, so each test owns a random name prefix and only
 * ever looks at its own jobs, and at one foreign job it creates to prove it is left alone.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import { cronProblem } from "../config/cron.ts";
import { decodeConfigMap } from "../config/pulumi.ts";
import { parseConfig } from "../config/schema.ts";
import { readStackFile } from "../config/stackfile.ts";
import { applyCron, cronStatus, planCron } from "../core/cron/index.ts";
import { cronJobs, DEFAULT_CRON_PREFIX, minuteAfter, type CronJobSpec } from "../settings/cron.ts";
import { testConfig, useServices } from "./harness/index.ts";
import { jobRun, renderStack } from "./support/render.ts";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const { postgres } = await useServices("postgres");

async function cronClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: postgres.url("jarvis") });
  await c.connect();
  return c;
}

async function withCron<T>(fn: (c: pg.Client, prefix: string) => Promise<T>): Promise<T> {
  const c = await cronClient();
  const prefix = `t${randomBytes(4).toString("hex")}:`;
  try {
    return await fn(c, prefix);
  } finally {
    await c
      .query("select cron.unschedule(jobid) from cron.job where starts_with(jobname, $1)", [prefix])
      .catch(() => {});
    await c.end();
  }
}

async function rows(c: pg.Client, prefix: string) {
  const { rows } = await c.query(
    "select jobid::int, jobname, schedule, command, database, username, active from cron.job where starts_with(jobname, $1) order by jobname",
    [prefix],
  );
  return rows;
}

test("cronJobs declares every job of the stack with the config's schedules, all portable cron syntax", () => {
  const cfg = testConfig();
  const jobs = cronJobs(cfg);
  const names = jobs.map((j) => j.name);
  assert.deepEqual(names, [
    "jarvis:partman-maintenance",
    "jarvis:conversation-retention",
    "jarvis:memory-retention-conversations",
    "jarvis:memory-retention-commands",
    "jarvis:memory-retention-preferences",
    "jarvis:memory-retention-patterns",
    "jarvis:memory-retention-knowledge",
    "jarvis:audit-log-retention",
    "jarvis:cron-history-retention",
    "jarvis:vacuum-size-before",
    "jarvis:vacuum",
    "jarvis:vacuum-size-after",
  ]);
  assert.ok(names.every((n) => n.startsWith(DEFAULT_CRON_PREFIX)));
  for (const j of jobs) assert.equal(cronProblem(j.schedule), null, j.name);
  const by = Object.fromEntries(jobs.map((j) => [j.name.slice(DEFAULT_CRON_PREFIX.length), j]));
  assert.equal(by["conversation-retention"]!.schedule, "0 2 * * 0"); // A14: Sunday 02:00
  assert.equal(by["conversation-retention"]!.command, "SELECT jarvis.purge_expired_conversations(180, 0.5)");
  assert.equal(
    by["memory-retention-commands"]!.command,
    "CALL jarvis.purge_memory_entries('commands', 90, 0.2, 5000)",
  ); // A15
  assert.equal(
    by["memory-retention-preferences"]!.command,
    "CALL jarvis.purge_memory_entries('preferences', 365, 0, 5000)",
  );
  assert.equal(by["vacuum-size-before"]!.schedule, "0 4 1 * *"); // A16: monthly
  assert.equal(by["vacuum"]!.schedule, "1 4 1 * *");
  assert.equal(by["vacuum"]!.command, "VACUUM (ANALYZE)");
  assert.equal(by["vacuum-size-after"]!.schedule, "*/10 * 1 * *");
  assert.equal(by["partman-maintenance"]!.command, "CALL partman.run_maintenance_proc()");
  assert.ok(jobs.every((j) => j.database === "jarvis" && j.active));

  const custom = cronJobs(
    testConfig({
      retention: { conversations: { days: 90, importanceThreshold: 0.7, schedule: "15 3 * * 6" } },
    }),
    { prefix: "x:", database: "other" },
  );
  const conv = custom.find((j) => j.name === "x:conversation-retention")!;
  assert.equal(conv.schedule, "15 3 * * 6");
  assert.equal(conv.command, "SELECT jarvis.purge_expired_conversations(90, 0.7)");
  assert.equal(conv.database, "other");
  // pg_cron's own history is pruned where it lives, whatever database the app jobs use.
  assert.equal(custom.find((j) => j.name === "x:cron-history-retention")!.database, "jarvis");
});

test("the VACUUM job runs one minute after the size snapshot, and a schedule that cannot shift is refused", () => {
  assert.equal(minuteAfter("30 4 1 * *"), "31 4 1 * *");
  assert.throws(() => minuteAfter("59 4 1 * *"), /minute must be a single number 0\.\.58/);
  assert.throws(
    () => cronJobs(testConfig({ retention: { vacuum: { schedule: "*/5 4 1 * *" } } })),
    /retention\.vacuum\.schedule/,
  );
});

test("apply creates the declared jobs in cron.job, and a second apply changes nothing", async () => {
  await withCron(async (c, prefix) => {
    const jobs = cronJobs(testConfig(), { prefix, database: "jarvis" });
    const first = await applyCron(c, { jobs, prefix });
    assert.equal(first.summary.create, jobs.length);
    const live = await rows(c, prefix);
    assert.equal(live.length, jobs.length);
    for (const j of jobs) {
      const r = live.find((x) => x.jobname === j.name);
      assert.ok(r, `${j.name} missing from cron.job`);
      assert.equal(r.schedule, j.schedule);
      assert.ok(r.command.startsWith(j.command + " /* jarvis-data "), r.command);
      assert.equal(r.database, "jarvis");
      assert.equal(r.username, "jarvis_owner");
      assert.equal(r.active, true);
    }
    const second = await applyCron(c, { jobs, prefix });
    assert.deepEqual(second.summary, { create: 0, update: 0, delete: 0, unchanged: jobs.length, drift: 0 });
    assert.deepEqual(await rows(c, prefix), live, "a second apply must not touch cron.job");
  });
});

test("a changed schedule updates the job in place, a removed job is unscheduled, a foreign job is untouched", async () => {
  await withCron(async (c, prefix) => {
    const foreignName = `foreign-${randomBytes(4).toString("hex")}`;
    await c.query("select cron.schedule($1, '7 7 * * *', 'select 42')", [foreignName]);
    // A job of another stack whose name merely contains our prefix further in is foreign too.
    const lookalike = `x${prefix}memory-retention-commands`;
    await c.query("select cron.schedule($1, '8 8 * * *', 'select 43')", [lookalike]);
    const foreignBefore = (
      await c.query("select * from cron.job where jobname = any($1) order by jobid", [
        [foreignName, lookalike],
      ])
    ).rows;
    try {
      const jobs = cronJobs(testConfig(), { prefix, database: "jarvis" });
      await applyCron(c, { jobs, prefix });
      const before = await rows(c, prefix);

      const changed = cronJobs(testConfig({ retention: { conversations: { schedule: "30 1 * * 6" } } }), {
        prefix,
        database: "jarvis",
      })
        .filter((j) => j.name !== `${prefix}memory-retention-commands`)
        .map((j) => (j.name === `${prefix}partman-maintenance` ? { ...j, active: false } : j));
      const plan = await planCron(c, { jobs: changed, prefix });
      const conv = plan.actions.find((a) => a.name === `${prefix}conversation-retention`)!;
      assert.equal(conv.action, "update");
      assert.deepEqual(conv.changes!.schedule, { from: "0 2 * * 0", to: "30 1 * * 6" });
      assert.equal(conv.drift, undefined, "a config change is not drift");
      assert.equal(
        plan.actions.find((a) => a.name === `${prefix}memory-retention-commands`)!.action,
        "delete",
      );
      assert.ok(plan.foreignJobs >= 2);

      const applied = await applyCron(c, { jobs: changed, prefix });
      assert.deepEqual(
        { u: applied.summary.update, d: applied.summary.delete, c: applied.summary.create },
        { u: 2, d: 1, c: 0 },
      );
      const after = await rows(c, prefix);
      const convRow = after.find((r) => r.jobname === `${prefix}conversation-retention`)!;
      assert.equal(convRow.schedule, "30 1 * * 6");
      assert.equal(
        convRow.jobid,
        before.find((r) => r.jobname === convRow.jobname)!.jobid,
        "updated in place, same jobid",
      );
      assert.equal(after.find((r) => r.jobname === `${prefix}partman-maintenance`)!.active, false);
      assert.equal(
        after.find((r) => r.jobname === `${prefix}memory-retention-commands`),
        undefined,
      );
      assert.equal(after.length, before.length - 1);
      const foreignAfter = (
        await c.query("select * from cron.job where jobname = any($1) order by jobid", [
          [foreignName, lookalike],
        ])
      ).rows;
      assert.deepEqual(foreignAfter, foreignBefore);
    } finally {
      await c.query("select cron.unschedule(jobid) from cron.job where jobname = any($1)", [
        [foreignName, lookalike],
      ]);
    }
  });
});

test("a job edited by hand shows as drift in plan, and apply puts the declaration back", async () => {
  await withCron(async (c, prefix) => {
    const jobs: CronJobSpec[] = cronJobs(testConfig(), { prefix, database: "jarvis" });
    await applyCron(c, { jobs, prefix });
    const name = `${prefix}audit-log-retention`;
    const { rows: r } = await c.query("select jobid from cron.job where jobname = $1", [name]);
    await c.query("select cron.alter_job($1, schedule := '0 0 * * *', active := false)", [r[0].jobid]);

    const plan = await planCron(c, { jobs, prefix });
    const a = plan.actions.find((x) => x.name === name)!;
    assert.equal(a.action, "update");
    assert.equal(a.drift, true);
    assert.deepEqual(a.changes!.schedule, { from: "0 0 * * *", to: "45 2 * * *" });
    assert.deepEqual(a.changes!.active, { from: false, to: true });
    assert.equal(plan.summary.drift, 1);
    const status = await cronStatus(c, prefix);
    assert.equal(status.find((s) => s.name === name)!.handEdited, true);

    await applyCron(c, { jobs, prefix });
    const row = (await rows(c, prefix)).find((x) => x.jobname === name)!;
    assert.equal(row.schedule, "45 2 * * *");
    assert.equal(row.active, true);
    const again = await planCron(c, { jobs, prefix });
    assert.equal(again.summary.drift, 0);
    assert.equal(again.summary.update, 0);
  });
});

test("refuses a declaration with a job outside the prefix or a schedule pg_cron 1.4 rejects, before touching cron.job", async () => {
  await withCron(async (c, prefix) => {
    const bad: CronJobSpec[] = [
      { name: `${prefix}a`, schedule: "30 seconds", command: "select 1", database: "jarvis", active: true },
      { name: "elsewhere:b", schedule: "0 * * * *", command: "select 1", database: "jarvis", active: true },
    ];
    await assert.rejects(applyCron(c, { jobs: bad, prefix }), (e: Error & { code?: string }) => {
      assert.equal(e.code, "JARVIS_CRON_SPEC");
      assert.match(e.message, /has 2 fields/);
      assert.match(e.message, /elsewhere:b: does not start with the prefix/);
      return true;
    });
    assert.equal((await rows(c, prefix)).length, 0);
    await assert.rejects(applyCron(c, { jobs: [], prefix: "" }), /prefix is empty/);
  });
});

test("the Pulumi resource runs `cron apply` with the declared jobs as inputs, after the migrations, and a schedule change shows in its inputs", async () => {
  // The job is `docker run --rm` from a local.Command (docs/first-up.md): its command line and the
  // declared jobs (a label, so `docker ps` and a preview show them) are in its script.
  const find = (rs: Awaited<ReturnType<typeof renderStack>>) =>
    rs.find((r) => r.type === "command:local:Command" && r.name === "jarvis-dev-cron-job")!;
  const base = await renderStack("dev");
  const job = find(base);
  assert.ok(job, "no cron job command in the render");
  assert.deepEqual(jobRun(job).command.slice(-6), [
    "apply",
    "--json",
    "--jobs",
    "/run/jarvis/cron-jobs.json",
    "--prefix",
    "jarvis:",
  ]);
  assert.deepEqual(job.options?.dependsOn, ["jarvis-dev-migrations-job"], "after the migrations");
  const spec = JSON.parse(jobRun(job).labels["jarvis.cron.spec"]!);
  const devCfg = parseConfig(
    decodeConfigMap(readStackFile(resolve(import.meta.dirname, "../Pulumi.dev.yaml")).config),
  );
  assert.deepEqual(spec, cronJobs(devCfg));
  assert.ok(
    !job.inputs.create.includes("postgresql://"),
    "the connection URL goes on stdin as a secret file, never on the command line",
  );
  const raw = readStackFile(resolve(import.meta.dirname, "../Pulumi.dev.yaml")).config as Record<string, any>;
  const r0 = raw["jarvis:retention"] ?? {};
  const retention = typeof r0 === "string" ? JSON.parse(r0) : r0;
  const changed = find(
    await renderStack("dev", {
      ...raw,
      "jarvis:retention": {
        ...retention,
        conversations: { ...(retention.conversations ?? {}), schedule: "0 3 * * 6" },
      },
    }),
  );
  const spec2 = JSON.parse(jobRun(changed).labels["jarvis.cron.spec"]!);
  assert.equal(
    spec2.find((j: CronJobSpec) => j.name === "jarvis:conversation-retention").schedule,
    "0 3 * * 6",
  );
  // triggers replace the command, so `pulumi up` runs `cron apply` again (replaceOnChanges).
  assert.notDeepEqual(changed.inputs.triggers, job.inputs.triggers, "a changed declaration re-runs the job");
});

test("the CLI applies a jobs file, prints the plan as JSON, and cron status lists the jobs", async () => {
  await withCron(async (c, prefix) => {
    const dir = mkdtempSync(join(tmpdir(), "jarvis-cron-"));
    const file = join(dir, "jobs.json");
    writeFileSync(file, JSON.stringify(cronJobs(testConfig(), { prefix, database: "jarvis" }).slice(0, 3)));
    const root = resolve(import.meta.dirname, "..");
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: postgres.url("jarvis") },
      });
    const applied = JSON.parse(
      (await cli(["cron", "apply", "--jobs", file, "--prefix", prefix, "--json"])).stdout,
    );
    assert.equal(applied.summary.create, 3);
    assert.equal((await rows(c, prefix)).length, 3);
    const plan = JSON.parse(
      (await cli(["cron", "plan", "--jobs", file, "--prefix", prefix, "--json"])).stdout,
    );
    assert.deepEqual(plan.summary, { create: 0, update: 0, delete: 0, unchanged: 3, drift: 0 });
    const status = JSON.parse((await cli(["cron", "status", "--prefix", prefix, "--json"])).stdout);
    assert.deepEqual(
      status.jobs.map((j: { name: string }) => j.name).sort(),
      cronJobs(testConfig(), { prefix })
        .slice(0, 3)
        .map((j) => j.name)
        .sort(),
    );
  });
});
