import * as pulumi from "@pulumi/pulumi";
import { lifecycleRulesHash } from "../core/storage/lifecycle.ts";
import type { LifecycleRule } from "../settings/lifecycle.ts";
import { opsJob, type JobRunner, type OpsJobArgs } from "./ops-job.ts";

/** Where the job finds its rules, the store's CA and its S3 keys (an AWS shared credentials file). */
export const LIFECYCLE_RULES_FILE = "/run/jarvis/lifecycle-rules.json";
export const LIFECYCLE_CA_FILE = "/run/jarvis/s3-ca.pem";
export const LIFECYCLE_CREDENTIALS_FILE = "/run/secrets/aws_credentials";

/** The CLI's arguments for one bucket; test/storage-lifecycle.test.ts runs them against a real server. */
export function lifecycleCommand<T>(bucket: T): (string | T)[] {
  return [
    ...["storage", "lifecycle", "apply", "--json", "--bucket", bucket],
    ...["--rules-file", LIFECYCLE_RULES_FILE, "--ca-file", LIFECYCLE_CA_FILE],
  ];
}

/** The job's environment besides the endpoint: the SDK reads the keys from the credentials file. */
export function lifecycleEnvs(region: string, credentialsFile = LIFECYCLE_CREDENTIALS_FILE): string[] {
  return [`AWS_REGION=${region}`, `AWS_SHARED_CREDENTIALS_FILE=${credentialsFile}`];
}

/** An AWS shared credentials file (the SDK's default chain reads AWS_SHARED_CREDENTIALS_FILE). */
export function awsCredentialsFile(accessKeyId: string, secretAccessKey: string): string {
  return `[default]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n`;
}

export interface BucketLifecycleArgs {
  /** Where and with which image the jobs run (components/ops-job.ts). */
  runner: JobRunner;
  /** Each bucket and its rules (settings/lifecycle.ts, the functions that feed prod's aws resources). */
  buckets: { bucket: pulumi.Input<string>; rules: LifecycleRule[] }[];
  /** The S3-compatible server's endpoint on the private network (DevObjectStore.internalEndpoint). */
  endpoint: pulumi.Input<string>;
  /** PEM of the CA that signed the server's certificate (DevObjectStore.caCertPem). */
  caCertPem: pulumi.Input<string>;
  /** S3 region the client signs for. */
  region: string;
  accessKeyId: pulumi.Input<string>;
  /** Secret: reaches the job only inside its credentials file. */
  secretAccessKey: pulumi.Input<string>;
}

/**
 * Lifecycle rules on an S3-compatible server, applied by `jarvis-data storage lifecycle apply`, one
 * job per bucket, not by the aws provider's BucketLifecycleConfiguration, whose read-back never
 * converges there (docs/backup-storage.md). Each is a job of components/ops-job.ts like the roles,
 * migrations and cron jobs: `docker run --rm` of the ops image on the private network, secrets as
 * files; a job that fails fails the `up`, is not recorded, and runs again on the next `up`.
 *
 * The job is keyed on the rules: it runs on the first `up` and again whenever the rules, the bucket
 * or the endpoint change. It puts the rules, reads them back and fails naming each rule the server
 * kept differently. Its `keys` (first in its triggers: the rules' hash, the bucket, the endpoint,
 * the rules as JSON) are what policy/policies.ts reads. On destroy the rules stay with the bucket
 * (the job has no delete command; the bucket is retained).
 */
export class BucketLifecycle extends pulumi.ComponentResource {
  /** The rules' hash per bucket, in the order given. */
  public readonly hashes: string[];

  constructor(name: string, args: BucketLifecycleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:storage:BucketLifecycle", name, {}, opts);
    this.hashes = args.buckets.map((b) => lifecycleRulesHash(b.rules));
    args.buckets.forEach((b, i) =>
      opsJob(`${name}-${i}`, args.runner, lifecycleJob(`${name}-${i}`, b.bucket, b.rules, args), {
        parent: this,
        dependsOn: opts?.dependsOn,
      }),
    );
    this.registerOutputs({ hashes: this.hashes });
  }
}

function lifecycleJob(
  containerName: string,
  bucket: pulumi.Input<string>,
  rules: LifecycleRule[],
  a: BucketLifecycleArgs,
): OpsJobArgs {
  const hash = lifecycleRulesHash(rules);
  const rulesJson = JSON.stringify(rules);
  return {
    service: "bucket-lifecycle",
    containerName: `${containerName}-${hash.slice(0, 12)}`,
    args: lifecycleCommand(bucket),
    envs: [...lifecycleEnvs(a.region), pulumi.interpolate`JARVIS_S3_ENDPOINT=${a.endpoint}`],
    files: [
      { file: LIFECYCLE_RULES_FILE, content: rulesJson, public: true },
      { file: LIFECYCLE_CA_FILE, content: a.caCertPem, public: true },
      {
        file: LIFECYCLE_CREDENTIALS_FILE,
        content: pulumi
          .all([a.accessKeyId, a.secretAccessKey])
          .apply(([id, key]) => awsCredentialsFile(id, key)),
      },
    ],
    keys: [hash, bucket, a.endpoint, rulesJson],
    what: "the lifecycle job",
  };
}
