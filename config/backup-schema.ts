/**
 * `jarvis:backup`: where backups go (S3 or the dev store), the one retention policy per tier (A2)
 * that lifecycle rules and pgBackRest derive from, object lock, schedules (A1, A3, A4, A9) and the
 * RTO/RPO targets (A23). Part of config/schema.ts.
 */
import { z } from "zod";
import { cron, days } from "./fields.ts";

const tier = (d: number, ia?: number, glacier?: number) =>
  z
    .strictObject({
      /** Objects of this tier are kept this many days, then expire. */
      days: days(d),
      /** Move to STANDARD_IA after this many days (AWS requires >= 30); null: never. */
      infrequentAccessAfterDays: z
        .number()
        .int()
        .min(30)
        .nullable()
        .default(ia ?? null),
      /** Move to GLACIER_IR after this many days; null: never. */
      glacierAfterDays: z
        .number()
        .int()
        .min(1)
        .nullable()
        .default(glacier ?? null),
    })
    .prefault({});

export const backup = z.strictObject({
  storage: z
    .strictObject({
      /** rustfs (default) or minio: an S3-compatible container of the stack (dev). aws: real S3 (prod). */
      provider: z.enum(["rustfs", "minio", "aws"]).default("rustfs"),
      region: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: "must be an AWS region such as eu-west-3" })
        .default("us-east-1"),
      /** The dev store's image with provider rustfs (docs/backup-storage.md: why RustFS, and this pin). */
      rustfsImage: z.string().default("rustfs/rustfs:1.0.1"),
      /** Opt-in, provider minio: MinIO publishes no images since 2025-10 and minio/minio is gone; bring your own. */
      minioImage: z.string().default("minio/minio:RELEASE.2025-04-22T22-12-26Z"),
      /** A KMS key for server-side encryption (prod). Absent: the stack creates one. */
      kmsKeyArn: z.string().optional(),
      /** Cross-region replication of the backup bucket (prod). */
      replicaRegion: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: "must be an AWS region such as eu-central-1" })
        .optional(),
    })
    .prefault({}),
  /** A1: weekly full on Sunday 02:00, daily differential. */
  schedules: z
    .strictObject({
      postgresFull: cron("0 2 * * 0"),
      postgresDiff: cron("0 2 * * 1-6"),
      postgresLogical: cron("30 2 * * *"),
      redis: cron("0 3 * * *"),
      chroma: cron("15 3 * * *"),
      /** A9: monthly recovery drill. */
      drill: cron("0 5 1 * *"),
    })
    .prefault({}),
  /** A2: the one retention policy; lifecycle rules and pgBackRest retention derive from it. */
  retention: z
    .strictObject({
      daily: tier(14),
      weekly: tier(35),
      monthly: tier(365, 30, 90),
      redis: tier(14),
      chroma: tier(30),
      /** A6: the logs exported with each weekly full backup, kept as long as the weeklies. */
      logs: tier(35),
      /** Old versions of overwritten objects. */
      noncurrentDays: days(7),
    })
    .prefault({}),
  /**
   * Whether the buckets are created with object lock (S3 allows it only at creation; changing it
   * replaces the buckets). Absent: objectLock.enabled. Once buckets exist, `config check --previous`
   * refuses a change (config/immutable.ts); docs/first-up.md explains the migration.
   */
  objectLockAtCreation: z.boolean().optional(),
  objectLock: z
    .strictObject({
      enabled: z.boolean().default(false),
      mode: z.enum(["GOVERNANCE", "COMPLIANCE"]).default("GOVERNANCE"),
      days: days(7),
    })
    .prefault({}),
  /** A23 targets. */
  rpoTargetSeconds: z.number().int().min(60).default(86400),
  rtoTargetSeconds: z.number().int().min(60).default(1800),
});
