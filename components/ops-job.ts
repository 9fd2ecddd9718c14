import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { JarvisConfig } from "../config/schema.ts";
import { containerCommon, containerLimits } from "../settings/containers.ts";

/** A file the job receives; secret ones are readable by the job's user only. */
export interface JobFile {
  file: string;
  content: pulumi.Input<string>;
  /** Not a credential: readable by everyone in the container (0444). */
  public?: boolean;
}

export interface OpsJobArgs {
  config: JarvisConfig;
  stack: string;
  /** Service label of the job (jarvis.service). */
  service: string;
  /** Docker name of the container; jobs keyed on their inputs put a hash in it. */
  containerName: string;
  network: pulumi.Input<string>;
  /** The ops image (components/ops-image.ts). */
  opsImage: pulumi.Input<string>;
  /** CLI entry point inside the ops image. */
  cli?: string[];
  /** UID the ops image runs as. */
  opsUid?: string;
  /** The CLI's arguments, e.g. ["migrate", "apply", "--json"]. */
  args: string[];
  envs?: string[];
  files?: JobFile[];
  /** Extra labels (what the job applies, readable in a preview's diff). */
  labels?: { label: string; value: string }[];
  /** What the error says when the job fails. */
  what: string;
}

/** What a job that talks to PostgreSQL from the ops image needs (migrations, cron schedules). */
export interface DatabaseJobArgs {
  /** The validated stack config. */
  config: JarvisConfig;
  /** The stack's name, for labels. */
  stack: string;
  /** The private network the database is on. */
  network: pulumi.Input<string>;
  /** The ops image (components/ops-image.ts), which ships the CLI and sql/. */
  opsImage: pulumi.Input<string>;
  /** CLI entry point inside the ops image. */
  cli?: string[];
  /** UID the ops image runs as; the uploaded files are readable by it only. */
  opsUid?: string;
  /** Database host on the private network (the postgres container's alias). */
  dbHost: pulumi.Input<string>;
  dbPort?: pulumi.Input<number>;
  database: pulumi.Input<string>;
  /** The role the job connects as (default postgres: a superuser, see each job's docs). */
  user?: string;
  /** Its password (secret): reaches the job only inside an uploaded file. */
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
    pulumi.interpolate`postgresql://${encodeURIComponent(user)}:${pulumi.output(password).apply(encodeURIComponent)}@${host}:${port}/${database}`,
  );
}

/**
 * A one-shot container of the ops image on the private network (prod publishes no database port,
 * so the workstation running `pulumi up` could not reach the stores itself). `pulumi up` waits for
 * its exit code and fails, naming the container and the fix, when it is not 0. Secrets arrive as
 * files, never in the environment. Returns the job's status output ("applied").
 */
export function opsJob(
  name: string,
  a: OpsJobArgs,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  const common = containerCommon(a.config, a.stack, a.service);
  const uid = a.opsUid ?? "1000";
  const job = new docker.Container(
    name,
    {
      name: a.containerName,
      image: a.opsImage,
      command: [...(a.cli ?? ["jarvis-data"]), ...a.args],
      envs: [`JARVIS_ENVIRONMENT=${a.config.environment}`, ...(a.envs ?? [])],
      uploads: (a.files ?? []).map((f) => ({
        file: f.file,
        content: f.public ? f.content : pulumi.secret(f.content),
        owner: uid,
        group: uid,
        permissions: f.public ? "0444" : "0400",
      })),
      networksAdvanced: [{ name: a.network }],
      // Run once, wait for the exit code, keep the logs in the state.
      mustRun: false,
      attach: true,
      logs: true,
      restart: "no",
      ...containerLimits(256, 0.5),
      logDriver: common.logDriver,
      logOpts: common.logOpts,
      labels: [...common.labels, ...(a.labels ?? [])],
    },
    opts,
  );
  return job.exitCode.apply((code) => {
    if (code !== undefined && code !== null && code !== 0) {
      throw new Error(
        `${a.what} (container ${a.containerName}) exited with ${code}: see \`docker logs ${a.containerName}\` (JSON: the problem and the fix), then run \`pulumi up\` again`,
      );
    }
    return "applied";
  });
}
