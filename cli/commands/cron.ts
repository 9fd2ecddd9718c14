/**
 * `jarvis-data cron plan|apply|status`: the stack's pg_cron jobs (settings/cron.ts) reconciled by
 * name into cron.job (core/cron). The Pulumi resource (components/cron-schedules.ts) runs
 * `cron apply --jobs FILE` with the jobs it was given; people run it with a stack's config.
 */
import { existsSync, readFileSync } from "node:fs";
import { applyCron, cronStatus, planCron, type CronPlan } from "../../core/cron/index.ts";
import { EXIT, UsageError } from "../../core/errors.ts";
import { withClient } from "../../core/pg.ts";
import { cronJobs, DEFAULT_CRON_PREFIX, type CronJobSpec } from "../../settings/cron.ts";
import { defineCommand, type CommandContext } from "../command.ts";
import { need } from "../env.ts";
import { CONFIG_OPTION, stackConfig } from "../stack.ts";

const OPTIONS = {
  config: CONFIG_OPTION,
  jobs: { type: "string", description: "a JSON array of jobs instead of the stack's config" },
  prefix: { type: "string", default: DEFAULT_CRON_PREFIX, description: "the jobs this stack owns" },
  database: { type: "string", description: "the database the jobs run in" },
  username: { type: "string", description: "the role the jobs run as, when a job names none" },
} as const;

function declaredJobs(ctx: CommandContext<typeof OPTIONS>, prefix: string): CronJobSpec[] {
  const file = ctx.options.jobs;
  if (file) {
    if (!existsSync(file)) throw new UsageError(`no jobs file ${file}`);
    const jobs = JSON.parse(readFileSync(file, "utf8")) as CronJobSpec[];
    if (!Array.isArray(jobs))
      throw new UsageError(
        `${file}: expected a JSON array of jobs ({name, schedule, command, database, active})`,
      );
    return jobs;
  }
  return cronJobs(stackConfig(ctx.args[0], ctx.options.config), { prefix, database: ctx.options.database });
}

function planText(p: CronPlan, applied: boolean): string {
  const verb = (a: string) =>
    applied
      ? { create: "created", update: "updated", delete: "unscheduled", unchanged: "unchanged" }[a]
      : { create: "+ create", update: "~ update", delete: "- delete", unchanged: "  unchanged" }[a];
  const lines = p.actions.map((a) => {
    const changes = Object.entries(a.changes ?? {}).map(
      ([f, c]) => `${f}: ${JSON.stringify(c!.from)} -> ${JSON.stringify(c!.to)}`,
    );
    return `${verb(a.action)} ${a.name}${a.drift ? " (edited by hand: drift)" : ""}${changes.length ? `\n      ${changes.join("\n      ")}` : ""}`;
  });
  const s = p.summary;
  return [
    ...lines,
    `${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.unchanged} unchanged, ${s.drift} drifted; ${p.foreignJobs} other job(s) in cron.job left alone`,
  ].join("\n");
}

function run(mode: "plan" | "apply") {
  return async (ctx: CommandContext<typeof OPTIONS>) => {
    const prefix = ctx.options.prefix;
    const jobs = declaredJobs(ctx, prefix);
    const url = need(
      ctx.env.databaseUrl,
      "DATABASE_URL",
      "postgresql://postgres@host:5432/jarvis (pg_cron's database, as a superuser)",
    );
    const opts = { jobs, prefix, username: ctx.options.username, log: ctx.log };
    const plan = await withClient(url, (c) => (mode === "plan" ? planCron(c, opts) : applyCron(c, opts)), {
      applicationName: `jarvis-data cron ${mode}`,
    });
    ctx.print(plan, planText(plan, mode === "apply"));
    return EXIT.ok;
  };
}

export const cronPlan = defineCommand({
  name: "cron plan",
  summary: "show what cron apply would change in cron.job (drift included)",
  usage:
    "jarvis-data cron plan <stack> [--config FILE | --jobs FILE] [--prefix jarvis:] [--database DB] [--json]",
  description:
    "Jobs come from the stack's config (settings/cron.ts) or a JSON file. Reads DATABASE_URL (pg_cron's database). Jobs outside the prefix are never touched.",
  options: OPTIONS,
  run: run("plan"),
});

export const cronApply = defineCommand({
  name: "cron apply",
  summary: "create, update and unschedule the stack's pg_cron jobs to match the declaration",
  usage:
    "jarvis-data cron apply <stack> [--config FILE | --jobs FILE] [--prefix jarvis:] [--database DB] [--json]",
  description:
    "Idempotent: a second apply changes nothing. Creates the pg_cron extension if missing (superuser).",
  options: OPTIONS,
  run: run("apply"),
});

export const cronStatusCommand = defineCommand({
  name: "cron status",
  summary: "list the stack's pg_cron jobs with their last run",
  usage: "jarvis-data cron status [--prefix jarvis:] [--json]",
  options: {
    prefix: { type: "string", default: DEFAULT_CRON_PREFIX, description: "the jobs this stack owns" },
  },
  async run(ctx) {
    const prefix = ctx.options.prefix;
    const url = need(ctx.env.databaseUrl, "DATABASE_URL", "postgresql://postgres@host:5432/jarvis");
    const jobs = await withClient(url, (c) => cronStatus(c, prefix), {
      applicationName: "jarvis-data cron status",
    });
    const text = jobs.length
      ? jobs
          .map(
            (j) =>
              `${j.active ? "active  " : "inactive"} ${j.schedule.padEnd(14)} ${j.name}${j.handEdited ? " (edited by hand)" : ""}  last: ${j.lastRun ? `${j.lastRun.status} ${j.lastRun.end ?? j.lastRun.start ?? ""}` : "never"}`,
          )
          .join("\n")
      : `no jobs named ${prefix}* in cron.job`;
    ctx.print({ prefix, jobs }, text);
    return jobs.some((j) => j.lastRun?.status === "failed") ? EXIT.failed : EXIT.ok;
  },
});
