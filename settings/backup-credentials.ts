/**
 * Who writes backups with which credentials, per environment: the one place that chooses between
 * the dev S3-compatible container (its root user, its CA, path-style URLs) and AWS (the vault's
 * least-privilege writers, host-style URLs). index.ts composes with it; test/unit/config.test.ts
 * covers both branches. Generic over the value type, so it holds Pulumi outputs in the program
 * and plain strings in the tests.
 */

/** The dev store as the stack reaches it. */
export interface DevStoreAccess<T> {
  /** URL from the machine running Pulumi (the aws provider). */
  endpoint: T;
  /** URL on the private network (the ops agent). */
  internalEndpoint: T;
  /** host:port on the private network, without scheme (pgBackRest). */
  pgbackrestEndpoint: string;
  /** The CA that signed the store's certificate. */
  caCertPem: T;
  accessKey: T;
  /** Secret. */
  secretKey: T;
}

/** An access key pair. */
export interface KeyPair<T> {
  accessKeyId: T;
  /** Secret. */
  secretAccessKey: T;
}

/** What the aws provider of the backup storage gets: an endpoint and keys in dev, nothing in prod (the AWS environment). */
export function storageProviderTarget<T>(dev: DevStoreAccess<T> | undefined): {
  endpoint?: T;
  accessKey?: T;
  secretKey?: T;
} {
  return dev ? { endpoint: dev.endpoint, accessKey: dev.accessKey, secretKey: dev.secretKey } : {};
}

/** The S3 endpoint the backups are written to, as the machine running Pulumi reaches it (a stack output). */
export function storageEndpoint<T>(region: string, dev: DevStoreAccess<T> | undefined): T | string {
  return dev ? dev.endpoint : `https://s3.${region}.amazonaws.com`;
}

export interface BackupWriters<T> {
  /** pgBackRest in the server's container and in the agent: the repository bucket. */
  pgbackrest: KeyPair<T> & { endpoint: string; uriStyle: "path" | "host"; caCertPem?: T };
  /** The ops agent's logical, Redis and Chroma backups: the vault bucket. */
  agent: KeyPair<T> & { endpoint?: T; caCert?: T };
}

/**
 * dev: everything writes with the store's root user, over TLS with the store's CA. prod: pgBackRest
 * with the repository writer's key, the agent with the backup writer's key, against the region's
 * endpoint; the vault creates both writers on AWS, and their absence is a bug named here.
 */
export function backupWriters<T>(
  region: string,
  dev: DevStoreAccess<T> | undefined,
  vault: { repositoryWriter?: KeyPair<T>; backupWriter?: KeyPair<T> },
): BackupWriters<T> {
  if (dev) {
    const root = { accessKeyId: dev.accessKey, secretAccessKey: dev.secretKey };
    return {
      pgbackrest: { ...root, endpoint: dev.pgbackrestEndpoint, uriStyle: "path", caCertPem: dev.caCertPem },
      agent: { ...root, endpoint: dev.internalEndpoint, caCert: dev.caCertPem },
    };
  }
  const { repositoryWriter, backupWriter } = vault;
  if (!repositoryWriter || !backupWriter)
    throw new Error(
      "backupWriters: backups on AWS need the vault's repository and backup writers; BackupVault creates them when jarvis:backup.storage.provider is aws",
    );
  return {
    pgbackrest: { ...repositoryWriter, endpoint: `s3.${region}.amazonaws.com`, uriStyle: "host" },
    agent: { ...backupWriter },
  };
}
