import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { lifecycleRulesHash } from "../core/storage/lifecycle.ts";
import type { LifecycleRule } from "../settings/lifecycle.ts";

/**
 * What the job runs (sh, from the project directory): the rules on stdin, the bucket, endpoint, CA
 * and keys in its environment. The CA reaches the CLI as a file that lives as long as the command.
 * test/storage-lifecycle.test.ts runs this very script against a real server.
 */
export const LIFECYCLE_JOB_SCRIPT = [
  'ca="$(mktemp)"',
  'printf "%s\\n" "$JARVIS_S3_CA_PEM" > "$ca"',
  'node bin/jarvis-data.js storage lifecycle apply --bucket "$JARVIS_BUCKET" --rules-file - --ca-file "$ca" --json',
  "rc=$?",
  'rm -f "$ca"',
  "exit $rc",
].join("; ");

export interface BucketLifecycleArgs {
  /** Each bucket and its rules (settings/lifecycle.ts, the functions that feed prod's aws resources). */
  buckets: { bucket: pulumi.Input<string>; rules: LifecycleRule[] }[];
  /** The S3-compatible server's endpoint as the workstation reaches it (DevObjectStore.endpoint). */
  endpoint: pulumi.Input<string>;
  /** PEM of the CA that signed the server's certificate (DevObjectStore.caCertPem). */
  caCertPem: pulumi.Input<string>;
  /** S3 region the client signs for. */
  region: string;
  accessKeyId: pulumi.Input<string>;
  /** Secret. */
  secretAccessKey: pulumi.Input<string>;
}

/**
 * Lifecycle rules on an S3-compatible server, applied by `jarvis-data storage lifecycle apply` from
 * the workstation running `pulumi up` (a @pulumi/command job per bucket), not by the aws provider's
 * BucketLifecycleConfiguration, whose read-back never converges there (docs/backup-storage.md).
 *
 * The job is keyed on the rules' hash: it runs on the first `up` and again whenever the rules, the
 * bucket or the endpoint change. It puts the rules, reads them back and fails the `up` naming each
 * rule the server kept differently. A failed job is not recorded, so the next `up` runs it again.
 * On destroy the rules stay with the bucket (retained, like the bucket itself).
 */
export class BucketLifecycle extends pulumi.ComponentResource {
  /** The rules' hash per bucket, in the order given. */
  public readonly hashes: string[];

  constructor(name: string, args: BucketLifecycleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:storage:BucketLifecycle", name, {}, opts);
    this.hashes = args.buckets.map((b) => lifecycleRulesHash(b.rules));
    args.buckets.forEach((b, i) => this.job(`${name}-${i}`, b.bucket, b.rules, this.hashes[i]!, args));
    this.registerOutputs({ hashes: this.hashes });
  }

  private job(
    id: string,
    bucket: pulumi.Input<string>,
    rules: LifecycleRule[],
    hash: string,
    args: BucketLifecycleArgs,
  ): command.local.Command {
    return new command.local.Command(
      id,
      {
        create: LIFECYCLE_JOB_SCRIPT,
        stdin: JSON.stringify(rules),
        environment: {
          JARVIS_BUCKET: bucket,
          JARVIS_S3_ENDPOINT: args.endpoint,
          JARVIS_S3_CA_PEM: args.caCertPem,
          AWS_REGION: args.region,
          AWS_ACCESS_KEY_ID: args.accessKeyId,
          AWS_SECRET_ACCESS_KEY: pulumi.secret(args.secretAccessKey),
        },
        triggers: [hash, bucket, args.endpoint],
        logging: "stderr",
      },
      { parent: this },
    );
  }
}
