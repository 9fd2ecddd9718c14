import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { JarvisConfig } from "../config/schema.ts";

/** The Docker engine the stack deploys to: the local socket in dev, `ssh://` in prod. */
export function dockerProvider(name: string, cfg: JarvisConfig): docker.Provider {
  return new docker.Provider(name, {
    host: cfg.docker.host,
    ...(cfg.docker.sshOpts.length ? { sshOpts: cfg.docker.sshOpts } : {}),
  });
}

export interface S3ProviderTarget {
  /** S3-compatible endpoint (dev); absent for AWS. */
  endpoint?: pulumi.Input<string>;
  accessKey?: pulumi.Input<string>;
  secretKey?: pulumi.Input<string>;
}

/**
 * The aws provider for backup storage. prod: AWS in the configured region, credentials from the
 * usual AWS environment. dev: pointed at the stack's own S3-compatible container.
 */
export function backupStorageProvider(name: string, cfg: JarvisConfig, target: S3ProviderTarget = {}): aws.Provider {
  if (!target.endpoint) return new aws.Provider(name, { region: cfg.backup.storage.region as aws.Region });
  return new aws.Provider(name, {
    region: cfg.backup.storage.region as aws.Region,
    accessKey: target.accessKey,
    secretKey: target.secretKey,
    endpoints: [{ s3: target.endpoint }],
    s3UsePathStyle: true,
    skipCredentialsValidation: true,
    skipMetadataApiCheck: true,
    skipRegionValidation: true,
    skipRequestingAccountId: true,
  });
}
