/**
 * The stack's scheduled jobs (pg_cron), decided from config once: names, schedules and the SQL
 * each runs. Pure: core/cron reconciles this list into cron.job (from the CLI, the Pulumi
 * resource and the tests), and components/cron-schedules.ts passes it as the resource's inputs,
 * so a preview shows a schedule change. The SQL they call lives in sql/migrations/0100_*.sql.
 */
import { createHash } from "node:crypto";
import type { JarvisConfig } from "../config/schema.ts";
import { cronProblem } from "../config/cron.ts";

/** Who every job runs as: the schema's owner (core/postgres/roles.ts, ROLE_NAMES.owner). */
export const CRON_JOB_USER = "jarvis_owner";

/** Jobs whose name starts with this belong to the stack; nothing else in cron.job is touched. */
export const DEFAULT_CRON_PREFIX = "jarvis:";

export interface CronJobSpec {
  /** `<prefix><job>`, unique: the key jobs are reconciled by. */
  name: string;
  /** Five-field cron syntax accepted by pg_cron 1.4 and 1.6 (config/cron.ts). */
  schedule: string;
  /** The SQL the job runs, one statement. */
  command: string;
  /** The database the command runs in. */
  database: string;
  /**
   * The role the job runs as. Never a superuser: the jobs call functions jarvis_owner owns and
   * can change, so a superuser running them would run whatever jarvis_owner wrote (issue 16,
   * item 3). jarvis_owner gets what the jobs need in sql/migrations/0107. A job without one (a
   * jobs file) runs as `cron apply --username`, or the connected user.
   */
  username?: string;
  active: boolean;
}

export interface CronJobsOptions {
  /** Name prefix of the stack's jobs (default `jarvis:`); tests sharing a server use their own. */
  prefix?: string;
  /** Database the application jobs run in (default: config's postgres.database). */
  database?: string;
}

/** pg_cron's database (cron.database_name, settings/postgres.ts): its own history lives there. */
export function cronDatabase(cfg: JarvisConfig): string {
  return cfg.postgres.database;
}

/**
 * The schedule one minute after `expr`. Only a plain minute 0..58 can be shifted without touching
 * the other fields; anything else is refused with the reason.
 */
export function minuteAfter(expr: string, key = "schedule"): string {
  const f = expr.trim().split(/\s+/);
  if (!/^\d+$/.test(f[0] ?? "") || Number(f[0]) > 58) {
    throw new Error(
      `${key} "${expr}": the minute must be a single number 0..58, because the size snapshot runs at that minute and VACUUM one minute later`,
    );
  }
  return [String(Number(f[0]) + 1), ...f.slice(1)].join(" ");
}

/** Every 10 minutes on the days `expr` fires (its day-of-month, month and day-of-week fields). */
export function everyTenMinutesOnSameDays(expr: string): string {
  const f = expr.trim().split(/\s+/);
  return ["*/10", "*", ...f.slice(2)].join(" ");
}

/** SQL literal of a number as pg will read it back (0.3, not 0.30000000000000004). */
function num(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/** The stack's jobs, in a stable order. */
export function cronJobs(cfg: JarvisConfig, opts: CronJobsOptions = {}): CronJobSpec[] {
  const prefix = opts.prefix ?? DEFAULT_CRON_PREFIX;
  const db = opts.database ?? cfg.postgres.database;
  const r = cfg.retention;
  const job = (name: string, schedule: string, command: string, database = db): CronJobSpec => ({
    name: `${prefix}${name}`,
    schedule,
    command,
    database,
    username: CRON_JOB_USER,
    active: true,
  });
  const jobs: CronJobSpec[] = [
    // pg_partman: premakes next months' partitions (retention stays ours: see 0100).
    job("partman-maintenance", r.partmanMaintenance.schedule, "CALL partman.run_maintenance_proc()"),
    // A14: drop expired monthly partitions after rescuing the important rows.
    job(
      "conversation-retention",
      r.conversations.schedule,
      `SELECT jarvis.purge_expired_conversations(${r.conversations.days}, ${num(r.conversations.importanceThreshold)})`,
    ),
    // A15: one job per memory category, so each reports (retention_runs) and fails alone.
    ...Object.entries(r.memory.categories).map(([category, c]) =>
      job(
        `memory-retention-${category}`,
        r.memory.schedule,
        `CALL jarvis.purge_memory_entries('${category}', ${c.days}, ${num(c.importanceThreshold)}, ${r.memory.batchSize})`,
      ),
    ),
    job("audit-log-retention", r.auditLog.schedule, `CALL jarvis.prune_audit_log(${r.auditLog.days})`),
    // pg_cron's own history grows forever otherwise; it lives in the cron database.
    job(
      "cron-history-retention",
      r.cronHistory.schedule,
      `DELETE FROM cron.job_run_details WHERE end_time < now() - interval '${r.cronHistory.days} days'`,
      cronDatabase(cfg),
    ),
    // A16 + A22: VACUUM cannot share a command with anything (pg_cron runs a multi-statement
    // command as one unit, and VACUUM refuses that), so sizes are taken by jobs around it.
    job("vacuum-size-before", r.vacuum.schedule, "SELECT jarvis.vacuum_size_before()"),
    job("vacuum", minuteAfter(r.vacuum.schedule, "jarvis:retention.vacuum.schedule"), "VACUUM (ANALYZE)"),
    job(
      "vacuum-size-after",
      everyTenMinutesOnSameDays(r.vacuum.schedule),
      "SELECT jarvis.vacuum_size_after()",
    ),
  ];
  for (const j of jobs) {
    const p = cronProblem(j.schedule);
    if (p) throw new Error(`job ${j.name}: ${p}`);
  }
  return jobs;
}

/** One hash of the declared jobs: the Pulumi resource is replaced (and so re-run) when it changes. */
export function cronJobsHash(jobs: CronJobSpec[]): string {
  return createHash("sha256").update(JSON.stringify(jobs)).digest("hex");
}
