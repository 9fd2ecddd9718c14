/** settings/backup-credentials.ts: the per-environment choice of who writes backups with which keys. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  backupWriters,
  storageEndpoint,
  storageProviderTarget,
  type DevStoreAccess,
} from "../../settings/backup-credentials.ts";

const dev: DevStoreAccess<string> = {
  endpoint: "https://127.0.0.1:9000",
  internalEndpoint: "https://s3:9000",
  pgbackrestEndpoint: "s3:9000",
  caCertPem: "CA",
  accessKey: "root",
  secretKey: "root-secret",
};
const vault = {
  repositoryWriter: { accessKeyId: "AKREPO", secretAccessKey: "repo-secret" },
  backupWriter: { accessKeyId: "AKBACKUP", secretAccessKey: "backup-secret" },
};

test("dev: the aws provider, pgBackRest and the agent all use the store's root user, over TLS with its CA", () => {
  assert.deepEqual(storageProviderTarget(dev), {
    endpoint: "https://127.0.0.1:9000",
    accessKey: "root",
    secretKey: "root-secret",
  });
  assert.deepEqual(backupWriters("us-east-1", dev, {}), {
    pgbackrest: {
      accessKeyId: "root",
      secretAccessKey: "root-secret",
      endpoint: "s3:9000",
      uriStyle: "path",
      caCertPem: "CA",
    },
    agent: { accessKeyId: "root", secretAccessKey: "root-secret", endpoint: "https://s3:9000", caCert: "CA" },
  });
});

test("prod: the provider gets nothing (the AWS environment), pgBackRest the repository writer, the agent the backup writer", () => {
  assert.deepEqual(storageProviderTarget(undefined), {});
  const w = backupWriters("eu-west-3", undefined, vault);
  assert.deepEqual(w.pgbackrest, {
    accessKeyId: "AKREPO",
    secretAccessKey: "repo-secret",
    endpoint: "s3.eu-west-3.amazonaws.com",
    uriStyle: "host",
  });
  assert.deepEqual(w.agent, { accessKeyId: "AKBACKUP", secretAccessKey: "backup-secret" });
  assert.notEqual(w.pgbackrest.accessKeyId, w.agent.accessKeyId, "least privilege: two different writers");
});

test("prod without the vault's writers is a bug named clearly, not an undefined key", () => {
  assert.throws(
    () => backupWriters("eu-west-3", undefined, { backupWriter: vault.backupWriter }),
    /backups on AWS need the vault's repository and backup writers/,
  );
});

test("the backup endpoint output: the dev store's URL, or the region's S3 endpoint", () => {
  assert.equal(storageEndpoint("us-east-1", dev), "https://127.0.0.1:9000");
  assert.equal(storageEndpoint("eu-west-3", undefined), "https://s3.eu-west-3.amazonaws.com");
});
