import * as pulumi from "@pulumi/pulumi";
import { databaseUrl, opsJob, type DatabaseJobArgs, type OpsJobArgs } from "./ops-job.ts";
import { cronJobsHash, DEFAULT_CRON_PREFIX, type CronJobSpec } from "../settings/cron.ts";

/** The job connects to pg_cron's database (cron.database_name) as a superuser, which the jobs run as (docs/retention.md). */
export interface CronSchedulesArgs extends DatabaseJobArgs {
  /** The declared jobs (settings/cron.ts cronJobs): the resource's inputs, so a preview shows a schedule change. */
  jobs: CronJobSpec[];
  /** Name prefix of the stack's jobs; jobs outside it are never touched. */
  prefix?: string;
}

/** Where the job finds its connection URL and the jobs. */
export const CRON_URL_FILE = "/run/secrets/database_url";
export const CRON_JOBS_FILE = "/run/jarvis/cron-jobs.json";

/**
 * The stack's pg_cron schedules as a resource: a one-shot container of the ops image on the
 * private network running `jarvis-data cron apply --jobs FILE`, which reconciles cron.job by name
 * (core/cron). The declared jobs are its inputs (the uploaded file and a label), and its name
 * carries their hash: a schedule change shows in a preview as a replacement with the new jobs,
 * and `up` applies it. Drift made by hand is reported by `jarvis-data cron plan` and undone by
 * the next apply (`pulumi up --replace` on this resource, or the CLI).
 */
export class CronSchedules extends pulumi.ComponentResource {
  /** The jobs as declared (name, schedule, command, database, active). */
  public readonly jobs: CronJobSpec[];
  public readonly jobsHash: string;
  /** "applied" once the job exited 0; the update fails otherwise. */
  public readonly status: pulumi.Output<string>;

  constructor(name: string, args: CronSchedulesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:database:CronSchedules", name, {}, opts);
    const prefix = args.prefix ?? DEFAULT_CRON_PREFIX;
    const bad = args.jobs.filter((j) => !j.name.startsWith(prefix)).map((j) => j.name);
    if (bad.length)
      throw new Error(`CronSchedules: job(s) ${bad.join(", ")} do not start with the prefix "${prefix}"`);
    const hash = cronJobsHash(args.jobs);
    this.jobs = args.jobs;
    this.jobsHash = hash;
    this.status = opsJob(`${name}-job`, args.runner, cronJob(name, args, prefix, hash), {
      parent: this,
      // The component's dependsOn, on the job itself: it runs only after the migrations succeeded.
      dependsOn: opts?.dependsOn,
    }).status;
    this.registerOutputs({ jobs: this.jobs, jobsHash: this.jobsHash, status: this.status });
  }
}

/** The job's command line, files and labels. */
function cronJob(name: string, args: CronSchedulesArgs, prefix: string, hash: string): OpsJobArgs {
  return {
    service: "cron-schedules",
    containerName: `${name}-${hash.slice(0, 12)}`,
    args: ["cron", "apply", "--json", "--jobs", CRON_JOBS_FILE, "--prefix", prefix],
    envs: [`JARVIS_DATABASE_URL_FILE=${CRON_URL_FILE}`],
    files: [
      {
        file: CRON_URL_FILE,
        content: databaseUrl(
          args.user ?? "postgres",
          args.password,
          args.dbHost,
          args.dbPort ?? 5432,
          args.database,
        ),
      },
      { file: CRON_JOBS_FILE, content: JSON.stringify(args.jobs, null, 2), public: true },
    ],
    labels: [
      {
        label: "jarvis.cron.jobs",
        value: args.jobs.map((j) => `${j.name}=${j.schedule}${j.active ? "" : " (inactive)"}`).join(";"),
      },
      // The whole declaration, readable in a preview's diff (the uploads are secret as a whole).
      { label: "jarvis.cron.spec", value: JSON.stringify(args.jobs) },
      { label: "jarvis.cron.sha256", value: hash },
    ],
    what: "the cron job",
  };
}
