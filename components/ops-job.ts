import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { serviceLabels } from "../settings/containers.ts";
import { credentialUrl } from "../settings/urls.ts";
import {
  jobFileDirs,
  jobRunScript,
  jobStdin,
  jobTrigger,
  type JobFileContent,
  type JobRunSpec,
} from "../settings/jobs.ts";

/** A file the job receives; secret ones are readable by the job's user only. */
export interface JobFile {
  file: string;
  content: pulumi.Input<string>;
  /** Not a credential: readable by everyone in the container (0444). */
  public?: boolean;
}

/** What every one-shot job of the stack shares: where it runs and with which image. */
export interface JobRunner {
  /** dev or prod: the jobs' JARVIS_ENVIRONMENT and label. */
  environment: string;
  /** The stack's name, for labels. */
  stack: string;
  /** The private network the stores are on. */
  network: pulumi.Input<string>;
  /** The ops image (components/ops-image.ts), which ships the CLI and sql/. */
  image: pulumi.Input<string>;
  /** CLI entry point inside the ops image. */
  cli: string[];
  /** The Docker host the `docker` CLI talks to (DOCKER_HOST); absent: the environment and the CLI context. */
  dockerHost?: string;
}

export interface OpsJobArgs {
  /** Service label of the job (jarvis.service). */
  service: string;
  /** Docker name of the container; jobs keyed on their inputs put a hash in it. */
  containerName: string;
  /** The CLI's arguments, e.g. ["migrate", "apply", "--json"]. */
  args: pulumi.Input<string>[];
  envs?: pulumi.Input<string>[];
  files?: JobFile[];
  /** Extra labels (what the job applies, readable in a preview's diff). */
  labels?: { label: string; value: string }[];
  /** What the error says when the job fails. */
  what: string;
  /** What the job is keyed on, readable in the state: first in its triggers, before the run's hash. */
  keys?: pulumi.Input<string>[];
}

/** What a job that talks to PostgreSQL needs (migrations, cron schedules). */
export interface DatabaseJobArgs {
  /** Where and with which image the job runs. */
  runner: JobRunner;
  /** Database host on the private network (the postgres container's alias). */
  dbHost: pulumi.Input<string>;
  dbPort?: pulumi.Input<number>;
  database: pulumi.Input<string>;
  /** The role the job connects as (default postgres: a superuser, see each job's docs). */
  user?: string;
  /** Its password (secret): reaches the job only inside a file. */
  password: pulumi.Input<string>;
}

/** The connection URL a job gets as a file (secret as a whole). */
export function databaseUrl(
  user: string,
  password: pulumi.Input<string>,
  host: pulumi.Input<string>,
  port: pulumi.Input<number>,
  database: pulumi.Input<string>,
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([password, host, port, database])
      .apply(([p, h, po, d]) => credentialUrl("postgresql", user, p, h, po, d)),
  );
}

/** A Redis URL with a user's password (secret as a whole). */
export function redisUrl(
  user: string,
  password: pulumi.Input<string>,
  host: pulumi.Input<string>,
  port: pulumi.Input<number>,
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi.all([password, host, port]).apply(([p, h, po]) => credentialUrl("redis", user, p, h, po)),
  );
}

/** A started job: the command resource (for dependsOn) and its status. */
export interface OpsJobResult {
  resource: command.local.Command;
  /** "applied" once the job exited 0; the `up` fails otherwise. */
  status: pulumi.Output<string>;
}

/**
 * A one-shot container of the ops image on the private network (prod publishes no database port,
 * so the workstation running `pulumi up` could not reach the stores itself), run by `docker run
 * --rm` from a `local.Command` (settings/jobs.ts says why). A job that exits non-zero fails the
 * `up`, is not recorded, and runs again on the next `up`; dependents wait for its success. Secrets
 * arrive as files written from stdin, never in the environment or on a command line.
 */
export function opsJob(
  name: string,
  runner: JobRunner,
  a: OpsJobArgs,
  opts: pulumi.CustomResourceOptions,
): OpsJobResult {
  const files = a.files ?? [];
  const spec = pulumi
    .all([runner.network, runner.image, pulumi.all(a.args), pulumi.all(a.envs ?? [])])
    .apply(([network, image, args, envs]): JobRunSpec => ({
      containerName: a.containerName,
      network,
      image,
      command: [...runner.cli, ...args],
      envs: [`JARVIS_ENVIRONMENT=${runner.environment}`, ...envs],
      labels: [...serviceLabels(runner.environment, runner.stack, a.service), ...(a.labels ?? [])],
      fileDirs: jobFileDirs(files),
      memoryMb: 256,
      cpus: 0.5,
      what: a.what,
    }));
  const publicFiles = pulumi
    .all(
      files
        .filter((f) => f.public)
        .map((f) => pulumi.output(f.content).apply((content) => ({ ...f, content }))),
    )
    .apply((fs) => fs as JobFileContent[]);
  const stdin = pulumi.secret(
    pulumi
      .all(files.map((f) => pulumi.output(f.content).apply((content) => ({ ...f, content }))))
      .apply((fs) => jobStdin(fs as JobFileContent[])),
  );
  const job = new command.local.Command(
    name,
    {
      create: spec.apply(jobRunScript),
      stdin,
      triggers: [...(a.keys ?? []), pulumi.all([spec, publicFiles]).apply(([s, p]) => jobTrigger(s, p))],
      environment: runner.dockerHost ? { DOCKER_HOST: runner.dockerHost } : {},
      interpreter: ["/bin/sh", "-c"],
      logging: "stdoutAndStderr",
      addPreviousOutputInEnv: false,
    },
    opts,
  );
  return { resource: job, status: job.stdout.apply(() => "applied") };
}
