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
 *
 * dev and TLS: the container serves HTTPS with a certificate from a CA the same deployment
 * generates. The provider's `customCaBundle` (or AWS_CA_BUNDLE) is a file path that must exist
 * when the provider is configured, before that CA exists, and components write no files. So the
 * dev provider sets `insecure: true`: traffic is encrypted, the peer is not verified. The peer is
 * the stack's own container on a loopback port; clients that can verify (pgBackRest, the backup
 * jobs) get the CA as the `devS3CaCert` stack output. Prod verifies against the system trust store.
 */
export function backupStorageProvider(
  name: string,
  cfg: JarvisConfig,
  target: S3ProviderTarget = {},
): aws.Provider {
  if (!target.endpoint) return new aws.Provider(name, { region: cfg.backup.storage.region as aws.Region });
  return new aws.Provider(name, {
    region: cfg.backup.storage.region as aws.Region,
    accessKey: target.accessKey,
    secretKey: target.secretKey,
    endpoints: [{ s3: target.endpoint }],
    s3UsePathStyle: true,
    insecure: true,
    skipCredentialsValidation: true,
    skipMetadataApiCheck: true,
    skipRegionValidation: true,
    skipRequestingAccountId: true,
  });
}
