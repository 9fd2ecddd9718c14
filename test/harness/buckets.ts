/**
 * A bucket of its own on the throwaway S3 server, and a BackupStore or a raw S3 client on it:
 * what the backup, restore, drill, agent and status tests (and bench/backup) each need.
 */
import { randomBytes } from "node:crypto";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { BackupStore, type StoreOptions } from "../../core/backup/store.ts";
import type { S3Server } from "./servers.ts";

/** A raw S3 client on the server (path style, its credentials); the caller destroys it. */
export function s3ClientFor(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}

/** Creates a fresh bucket named PREFIX-<random hex> and returns its name. */
export async function createBucket(server: S3Server, prefix: string): Promise<string> {
  const bucket = `${prefix}-${randomBytes(5).toString("hex")}`;
  const c = s3ClientFor(server);
  try {
    await c.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    c.destroy();
  }
  return bucket;
}

/** A BackupStore on BUCKET of the server; EXTRA overrides any option (endpoint, prefix, attempts...). */
export function storeOn(server: S3Server, bucket: string, extra: Partial<StoreOptions> = {}): BackupStore {
  return new BackupStore({
    endpoint: server.endpoint,
    bucket,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    ...extra,
  });
}
