import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { JarvisConfig } from "../config/schema.ts";

/** Where the Docker engine is: a host URL (absent: the environment and CLI context) and ssh options. */
export type DockerEngine = Pick<JarvisConfig["docker"], "host" | "sshOpts">;

/**
 * The Docker engine the stack deploys to: `ssh://` in prod; in dev no host at all, so the provider
 * falls back to DOCKER_HOST, then the CLI's current context (Docker Desktop, Colima, OrbStack,
 * rootless), as the `docker` CLI the jobs run does.
 */
export function dockerProvider(name: string, engine: DockerEngine): docker.Provider {
  return new docker.Provider(name, {
    ...(engine.host ? { host: engine.host } : {}),
    ...(engine.sshOpts.length ? { sshOpts: engine.sshOpts } : {}),
    // No ping when the provider is configured: a preview diffs against the state and builds
    // nothing, so a PR preview of prod runs without the host's ssh key (docs/first-up.md). An `up`
    // reaches the daemon at its first image or container, and fails there if it does not answer.
    // Constant, so the provider's config never differs between a preview and an update.
    disableDockerDaemonCheck: true,
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
  region: string,
  target: S3ProviderTarget = {},
): aws.Provider {
  if (!target.endpoint) return new aws.Provider(name, { region: region as aws.Region });
  return new aws.Provider(name, {
    region: region as aws.Region,
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
