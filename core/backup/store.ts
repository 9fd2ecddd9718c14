/**
 * The backup store: one S3 bucket (AWS S3 in prod, the stack's S3 container in dev), laid out as
 *
 *   <prefix><store>/<kind>/<tier>/<id>/<files...>
 *   <prefix><store>/<kind>/<tier>/<id>/manifest.json      written LAST
 *
 * Every call gets bounded retries with exponential backoff on transient failures (network
 * errors, 5xx, throttling) and then one clear error naming the operation, the object and the fix.
 * Client errors (403, 404) are not retried.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { JarvisError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { HashingStream, sha256, sleep, type Digest } from "./common.ts";
import { isRetryable, StoreError } from "./store-error.ts";

export { mapLimit } from "./common.ts";
export { StoreError };

export interface StoreOptions {
  /** S3 endpoint (dev, tests); absent means AWS S3 in `region`. */
  endpoint?: string;
  bucket: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Key prefix inside the bucket, e.g. "jarvis/". */
  prefix?: string;
  /** Attempts per operation (first try included). Default 4. */
  attempts?: number;
  /** First backoff delay; doubles each retry. Default 200 ms. */
  baseDelayMs?: number;
  /** Per-request timeout. Default 120 s. */
  requestTimeoutMs?: number;
  /** HMAC key manifests are signed with, and checked against on read (JARVIS_MANIFEST_KEY). */
  manifestKey?: string;
  log?: Logger;
}

export interface StoredObject {
  key: string;
  size: number;
  lastModified?: Date;
}

/** sha256 and size of a local file. */
export async function hashFile(path: string): Promise<Digest> {
  const h = new HashingStream();
  await pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    h,
    new Writable({ write: (_c, _e, cb) => cb() }),
  );
  return h.digest();
}

export { sha256 };

export class BackupStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly attempts: number;
  readonly manifestKey: string | undefined;
  private readonly baseDelayMs: number;
  private readonly client: S3Client;
  private readonly log: Logger;

  constructor(opts: StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? "";
    this.attempts = Math.max(1, opts.attempts ?? 4);
    this.manifestKey = opts.manifestKey || undefined;
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.log = opts.log ?? silentLogger;
    this.client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      ...(opts.accessKeyId && opts.secretAccessKey
        ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } }
        : {}),
      // Retries are ours (bounded, logged, one clear error), not the SDK's.
      maxAttempts: 1,
      requestHandler: { requestTimeout: opts.requestTimeoutMs ?? 120_000, connectionTimeout: 10_000 },
    });
  }

  /** `s3://bucket/key` for messages. */
  url(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  private async retry<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        return await fn();
      } catch (e) {
        last = e;
        if (!isRetryable(e)) throw new StoreError(operation, this.url(key), attempt, e, false);
        if (attempt < this.attempts) {
          const delay = this.baseDelayMs * 2 ** (attempt - 1);
          this.log.warn(`S3 ${operation} failed, retrying`, {
            key: this.url(key),
            attempt,
            of: this.attempts,
            delayMs: delay,
            error: (e as Error).message,
          });
          await sleep(delay);
        }
      }
    }
    throw new StoreError(operation, this.url(key), this.attempts, last, true);
  }

  async putBuffer(
    key: string,
    body: Buffer | string,
    contentType = "application/octet-stream",
  ): Promise<void> {
    await this.retry("PutObject", key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentType: contentType,
        }),
      ),
    );
  }

  /** Uploads a local file (multipart above 16 MB), re-reading it on each attempt. */
  async putFile(key: string, path: string): Promise<void> {
    const { size } = await stat(path);
    if (size < 16 << 20) {
      const { readFile } = await import("node:fs/promises");
      const body = await readFile(path);
      return this.putBuffer(key, body);
    }
    await this.retry("Upload", key, async () => {
      const up = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: createReadStream(path, { highWaterMark: 1 << 20 }),
        },
        partSize: 16 << 20,
        queueSize: 4,
        leavePartsOnError: false,
      });
      await up.done();
    });
  }

  /**
   * Uploads a file that another process is still writing, part by part as it grows, so the upload
   * runs beside the writer instead of after it. `closed` resolves once the writer has closed the
   * file (the rest is read and the upload completed) and rejects when the writer failed (the
   * multipart upload is aborted, nothing is stored, and the writer's error is thrown). Returns the
   * sha256 and size of exactly what was stored. A file that ends under one part is a single PUT.
   */
  async putGrowingFile(
    key: string,
    path: string,
    closed: Promise<void>,
    opts: { partSize?: number; pollMs?: number; onBytes?: (n: number) => void } = {},
  ): Promise<Digest> {
    const partSize = opts.partSize ?? 16 << 20;
    const writer: { state: "writing" | "closed" | "failed"; error?: unknown } = { state: "writing" };
    closed.then(
      () => (writer.state = "closed"),
      (e) => Object.assign(writer, { state: "failed", error: e }),
    );
    const h = new HashingStream(opts.onBytes);
    const parts: CompletedPart[] = [];
    let uploadId: string | undefined;
    let offset = 0;
    const file = await open(path, "r");
    const read = async (length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await file.read(buf, 0, length, offset);
      if (bytesRead !== length)
        throw new JarvisError(
          "JARVIS_BACKUP_FILE",
          `${path} shrank while it was being uploaded (read ${bytesRead} of ${length} bytes at ${offset}); another process is writing it: run one backup at a time`,
        );
      offset += length;
      h.update(buf);
      return buf;
    };
    const uploadPart = async (body: Buffer): Promise<void> => {
      uploadId ??= (
        await this.retry("CreateMultipartUpload", key, () =>
          this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.prefix + key })),
        )
      ).UploadId!;
      const PartNumber = parts.length + 1;
      const r = await this.retry("UploadPart", key, () =>
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            UploadId: uploadId,
            PartNumber,
            Body: body,
          }),
        ),
      );
      // Part checksums the SDK added must be repeated when completing.
      parts.push({
        PartNumber,
        ETag: r.ETag,
        ChecksumCRC32: r.ChecksumCRC32,
        ChecksumCRC32C: r.ChecksumCRC32C,
        ChecksumSHA1: r.ChecksumSHA1,
        ChecksumSHA256: r.ChecksumSHA256,
      });
    };
    try {
      for (;;) {
        // Observed before the size: once the writer has closed the file, this size is its last.
        const final = writer.state;
        if (final === "failed") throw writer.error;
        const { size } = await file.stat();
        while (size - offset >= partSize) await uploadPart(await read(partSize));
        if (final === "closed") {
          const rest = await read(size - offset);
          if (uploadId === undefined) await this.putBuffer(key, rest);
          else {
            if (rest.length > 0) await uploadPart(rest);
            await this.retry("CompleteMultipartUpload", key, () =>
              this.client.send(
                new CompleteMultipartUploadCommand({
                  Bucket: this.bucket,
                  Key: this.prefix + key,
                  UploadId: uploadId,
                  MultipartUpload: { Parts: parts },
                }),
              ),
            );
          }
          return h.digest();
        }
        await sleep(opts.pollMs ?? 50);
      }
    } catch (e) {
      if (uploadId !== undefined) {
        await this.client
          .send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: this.prefix + key,
              UploadId: uploadId,
            }),
          )
          .catch(() => {});
      }
      throw e;
    } finally {
      await file.close();
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    return this.retry("GetObject", key, async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    });
  }

  /** Downloads to `path`, returning the sha256 and size of what arrived. */
  async getFile(key: string, path: string, onBytes?: (n: number) => void): Promise<Digest> {
    await mkdir(dirname(path), { recursive: true });
    return this.retry("GetObject", key, async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const tap = new HashingStream(onBytes);
      await pipeline(r.Body as Readable, tap, createWriteStream(path));
      return tap.digest();
    });
  }

  /** sha256 and size of a stored object, streamed (nothing kept in memory or on disk). */
  async hashObject(key: string, onBytes?: (n: number) => void): Promise<Digest> {
    return this.retry("GetObject", key, async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const tap = new HashingStream(onBytes);
      await pipeline(r.Body as Readable, tap, new Writable({ write: (_c, _e, cb) => cb() }));
      return tap.digest();
    });
  }

  /** True when the object exists. */
  async exists(key: string): Promise<boolean> {
    try {
      await this.retry("HeadObject", key, () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key })),
      );
      return true;
    } catch (e) {
      if (e instanceof StoreError && e.notFound) return false;
      throw e;
    }
  }

  /** Every object under `keyPrefix` (relative to the store prefix). */
  async list(keyPrefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.retry("ListObjectsV2", keyPrefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + keyPrefix,
            ContinuationToken: token,
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        out.push({ key: o.Key!.slice(this.prefix.length), size: o.Size ?? 0, lastModified: o.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** Deletes every object under `keyPrefix` (used to clean up a failed, manifest-less backup). */
  async deletePrefix(keyPrefix: string): Promise<number> {
    const objects = await this.list(keyPrefix);
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      await this.retry("DeleteObjects", keyPrefix, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((o) => ({ Key: this.prefix + o.key })) },
          }),
        ),
      );
    }
    return objects.length;
  }

  destroy(): void {
    this.client.destroy();
  }
}
