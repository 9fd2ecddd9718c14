/**
 * Reconciles declared pg_cron jobs (settings/cron.ts) into cron.job, by name, within a prefix:
 * creates what is missing, updates schedule/command/database/username/active where they differ,
 * unschedules jobs with the prefix that are no longer declared, and never touches another job.
 *
 * Drift: each managed command ends with a marker, `/* jarvis-data <hash> *\/`, the hash of the job
 * as jarvis-data last wrote it. A live job whose fields no longer hash to its marker was edited
 * by hand (cron.alter_job, an UPDATE): plan says so, and apply puts the declaration back.
 *
 * Only the API pg_cron 1.4 and 1.6 share: cron.schedule_in_database, cron.alter_job(job_id, ...),
 * cron.unschedule(job_id). The client must be connected to pg_cron's database (cron.database_name).
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { cronProblem } from "../../config/cron.ts";
import { JarvisError, EXIT } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { ident } from "../pg.ts";
import type { CronJobSpec } from "../../settings/cron.ts";

export class CronSpecError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_CRON_SPEC", message, EXIT.usage);
  }
}

export class CronUnavailableError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_CRON_UNAVAILABLE", message, EXIT.unavailable);
  }
}

export interface LiveJob {
  jobid: number;
  name: string;
  schedule: string;
  command: string;
  database: string;
  username: string;
  active: boolean;
}

type Field = "schedule" | "command" | "database" | "username" | "active";
const FIELDS: Field[] = ["schedule", "command", "database", "username", "active"];

export interface CronAction {
  name: string;
  action: "create" | "update" | "delete" | "unchanged";
  jobid?: number;
  /** Fields that differ, live value -> declared value. */
  changes?: Partial<Record<Field, { from: string | boolean | null; to: string | boolean | null }>>;
  /** The live job was changed outside jarvis-data since it last wrote it. */
  drift?: boolean;
}

export interface CronPlan {
  prefix: string;
  /** pg_cron's database, as the server reports it. */
  cronDatabase: string | null;
  extensionInstalled: boolean;
  actions: CronAction[];
  /** Jobs in cron.job outside the prefix: counted, never touched. */
  foreignJobs: number;
  summary: { create: number; update: number; delete: number; unchanged: number; drift: number };
}

export interface CronOptions {
  /** Declared jobs; every name must start with `prefix`. */
  jobs: CronJobSpec[];
  /** Jobs whose name starts with it are this stack's (e.g. `jarvis:`). */
  prefix: string;
  /**
   * Who the jobs run as when a job does not say (its `username`, settings/cron.ts); default the
   * connected user. Another user than the connected one needs a superuser.
   */
  username?: string;
  log?: Logger;
}

const MARKER = /\s*\/\* jarvis-data ([0-9a-f]{12}) \*\/\s*$/;

function fingerprint(j: Pick<LiveJob, Field>): string {
  return createHash("sha256")
    .update(JSON.stringify([j.schedule, j.command, j.database, j.username, j.active]))
    .digest("hex")
    .slice(0, 12);
}

/** The command as stored in cron.job: the declared SQL and its marker. */
export function managedCommand(j: Pick<LiveJob, Field>): string {
  return `${j.command.trim()} /* jarvis-data ${fingerprint(j)} */`;
}

/** Whether a live job still is what jarvis-data last wrote (its marker matches its fields). */
export function isHandEdited(live: LiveJob): boolean {
  const m = MARKER.exec(live.command);
  if (!m) return true;
  const base = live.command.slice(0, m.index);
  return fingerprint({ ...live, command: base }) !== m[1];
}

function validate(opts: CronOptions): void {
  const problems: string[] = [];
  if (!opts.prefix) problems.push("the prefix is empty: it would claim every job in cron.job");
  const seen = new Set<string>();
  for (const j of opts.jobs) {
    if (!j.name.startsWith(opts.prefix))
      problems.push(`job ${j.name}: does not start with the prefix "${opts.prefix}"`);
    if (seen.has(j.name)) problems.push(`job ${j.name}: declared twice`);
    seen.add(j.name);
    if (j.name.length > 63)
      problems.push(`job ${j.name}: longer than 63 characters (cron.job.jobname is a name)`);
    const p = cronProblem(j.schedule);
    if (p) problems.push(`job ${j.name}: ${p}`);
    if (!j.command.trim()) problems.push(`job ${j.name}: empty command`);
    if (MARKER.test(j.command))
      problems.push(`job ${j.name}: the command already carries a jarvis-data marker`);
  }
  if (problems.length) throw new CronSpecError(`invalid cron jobs:\n  ${problems.join("\n  ")}`);
}

async function extensionInstalled(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query(
    "select exists (select 1 from pg_extension where extname = 'pg_cron') as present",
  );
  return rows[0].present;
}

/** Creates pg_cron in this database if missing; tolerates a concurrent creator. */
export async function ensureCronExtension(client: pg.Client): Promise<void> {
  if (await extensionInstalled(client)) return;
  const { rows } = await client.query(
    "select current_setting('cron.database_name', true) as db, current_database() as here",
  );
  if (rows[0].db && rows[0].db !== rows[0].here) {
    throw new CronUnavailableError(
      `pg_cron lives in database "${rows[0].db}" (cron.database_name), not "${rows[0].here}"; connect to "${rows[0].db}"`,
    );
  }
  try {
    await client.query("create extension if not exists pg_cron");
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== "23505" && code !== "42710") {
      throw new CronUnavailableError(
        `cannot create extension pg_cron (${(e as Error).message}); the server needs shared_preload_libraries=pg_cron and a superuser to create it`,
      );
    }
  }
}

export async function liveJobs(client: pg.Client, prefix?: string): Promise<LiveJob[]> {
  if (!(await extensionInstalled(client))) return [];
  const { rows } = await client.query(
    `select jobid, jobname, schedule, command, database, username, active from cron.job
      where $1::text is null or starts_with(coalesce(jobname, ''), $1) order by jobid`,
    [prefix ?? null],
  );
  return rows.map((r) => ({
    jobid: Number(r.jobid),
    name: r.jobname,
    schedule: r.schedule,
    command: r.command,
    database: r.database,
    username: r.username,
    active: r.active,
  }));
}

/**
 * What the jobs' users need of pg_cron itself: its history job prunes cron.job_run_details, whose
 * row-level security shows each user the runs of its own jobs only. Granted to every job user
 * that is not a superuser; nothing else of pg_cron (scheduling as another user stays superuser-only).
 */
async function grantJobUsers(client: pg.Client, users: string[]): Promise<void> {
  const { rows: me } = await client.query("select rolsuper from pg_roles where rolname = current_user");
  if (!me[0]?.rolsuper) return; // only a superuser schedules jobs for others, and may grant this
  for (const user of [...new Set(users)]) {
    const { rows } = await client.query("select rolsuper from pg_roles where rolname = $1", [user]);
    if (!rows[0] || rows[0].rolsuper) continue;
    await client.query(`grant usage on schema cron to ${ident(user)}`);
    await client.query(`grant select, delete on cron.job_run_details to ${ident(user)}`);
  }
}

/** What apply would do. Reads only. */
export async function planCron(client: pg.Client, opts: CronOptions): Promise<CronPlan> {
  validate(opts);
  const installed = await extensionInstalled(client);
  const { rows: meta } = await client.query(
    "select current_user as me, current_setting('cron.database_name', true) as cron_db",
  );
  const username = opts.username ?? meta[0].me;
  const live = installed ? await liveJobs(client, opts.prefix) : [];
  const { rows: all } = installed
    ? await client.query("select count(*)::int as n from cron.job")
    : { rows: [{ n: 0 }] };
  const byName = new Map<string, LiveJob[]>();
  for (const j of live) byName.set(j.name, [...(byName.get(j.name) ?? []), j]);
  const actions: CronAction[] = [];
  for (const spec of opts.jobs) {
    const target = {
      schedule: spec.schedule,
      command: "",
      database: spec.database,
      username: spec.username ?? username,
      active: spec.active,
    };
    target.command = managedCommand({ ...target, command: spec.command });
    const [current, ...dupes] = byName.get(spec.name) ?? [];
    byName.delete(spec.name);
    for (const d of dupes) actions.push({ name: d.name, action: "delete", jobid: d.jobid });
    if (!current) {
      actions.push({ name: spec.name, action: "create" });
      continue;
    }
    const changes: CronAction["changes"] = {};
    for (const f of FIELDS) if (current[f] !== target[f]) changes[f] = { from: current[f], to: target[f] };
    const changed = Object.keys(changes).length > 0;
    actions.push({
      name: spec.name,
      action: changed ? "update" : "unchanged",
      jobid: current.jobid,
      ...(changed ? { changes } : {}),
      ...(isHandEdited(current) ? { drift: true } : {}),
    });
  }
  for (const rest of byName.values())
    for (const j of rest)
      actions.push({
        name: j.name,
        action: "delete",
        jobid: j.jobid,
        ...(isHandEdited(j) ? { drift: true } : {}),
      });
  const count = (a: CronAction["action"]) => actions.filter((x) => x.action === a).length;
  return {
    prefix: opts.prefix,
    cronDatabase: meta[0].cron_db ?? null,
    extensionInstalled: installed,
    actions,
    foreignJobs: all[0].n - live.length,
    summary: {
      create: count("create"),
      update: count("update"),
      delete: count("delete"),
      unchanged: count("unchanged"),
      drift: actions.filter((a) => a.drift).length,
    },
  };
}

/**
 * Makes cron.job match the declaration, in one transaction, serialized per prefix with an
 * advisory lock (two appliers of the same stack never interleave). Returns the plan it carried out.
 */
export async function applyCron(client: pg.Client, opts: CronOptions): Promise<CronPlan> {
  validate(opts);
  const log = opts.log ?? silentLogger;
  await ensureCronExtension(client);
  await client.query("begin");
  try {
    await client.query("select pg_advisory_xact_lock(hashtextextended('jarvis-data:cron:' || $1, 0))", [
      opts.prefix,
    ]);
    const plan = await planCron(client, opts);
    const { rows } = await client.query("select current_user as me");
    const username = opts.username ?? rows[0].me;
    await grantJobUsers(
      client,
      opts.jobs.map((j) => j.username ?? username),
    );
    const specs = new Map(opts.jobs.map((j) => [j.name, j]));
    for (const a of plan.actions) {
      const spec = specs.get(a.name);
      if (a.action === "delete") {
        await client.query("select cron.unschedule($1::bigint)", [a.jobid]);
        log.info(`unscheduled ${a.name}`, { jobid: a.jobid });
      } else if (a.action === "create" && spec) {
        const user = spec.username ?? username;
        const command = managedCommand({ ...spec, username: user });
        const { rows: r } = await client.query(
          "select cron.schedule_in_database($1, $2, $3, $4, $5, $6) as jobid",
          [spec.name, spec.schedule, command, spec.database, user, spec.active],
        );
        a.jobid = Number(r[0].jobid);
        log.info(`scheduled ${a.name}`, { schedule: spec.schedule, jobid: a.jobid });
      } else if (a.action === "update" && spec) {
        const user = spec.username ?? username;
        const command = managedCommand({ ...spec, username: user });
        await client.query("select cron.alter_job($1::bigint, $2, $3, $4, $5, $6)", [
          a.jobid,
          spec.schedule,
          command,
          spec.database,
          user,
          spec.active,
        ]);
        log.info(`updated ${a.name}${a.drift ? " (it had been edited by hand)" : ""}`, {
          fields: Object.keys(a.changes ?? {}).join(","),
        });
      }
    }
    await client.query("commit");
    return plan;
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  }
}

export interface CronJobStatus extends LiveJob {
  handEdited: boolean;
  lastRun?: { status: string; start: string | null; end: string | null; message: string | null };
}

/** The prefix's jobs as they are, with the last run of each (cron.job_run_details). */
export async function cronStatus(client: pg.Client, prefix: string): Promise<CronJobStatus[]> {
  const jobs = await liveJobs(client, prefix);
  if (jobs.length === 0) return [];
  const { rows } = await client.query(
    `select distinct on (jobid) jobid, status, start_time, end_time, return_message from cron.job_run_details
      where jobid = any($1::bigint[]) order by jobid, runid desc`,
    [jobs.map((j) => j.jobid)],
  );
  const last = new Map(rows.map((r) => [Number(r.jobid), r]));
  return jobs.map((j) => {
    const r = last.get(j.jobid);
    return {
      ...j,
      handEdited: isHandEdited(j),
      ...(r
        ? {
            lastRun: {
              status: r.status,
              start: r.start_time?.toISOString?.() ?? null,
              end: r.end_time?.toISOString?.() ?? null,
              message: r.return_message,
            },
          }
        : {}),
    };
  });
}
