/**
 * A2: the one retention policy (`jarvis:backup.retention`) turned into what enforces it:
 * S3 lifecycle rules for the backup vault, the pgBackRest repository's own retention options,
 * and the bucket's object-lock default. Pure: no Pulumi, no I/O. The vault component, the policy
 * pack and the backup jobs all read these functions, so they cannot drift apart.
 */
import type { JarvisConfig } from "../config/schema.ts";

export type BackupConfig = JarvisConfig["backup"];
export type RetentionPolicy = BackupConfig["retention"];
export type TierName = "daily" | "weekly" | "monthly" | "redis" | "chroma" | "logs";
export type StorageClass = "STANDARD_IA" | "GLACIER_IR";

export const TIER_NAMES: readonly TierName[] = ["daily", "weekly", "monthly", "redis", "chroma", "logs"];

/** Where each tier's objects live in the backup vault. Writers put objects only under these. */
export const BACKUP_PREFIXES: Readonly<Record<TierName, string>> = {
  daily: "postgres/logical/daily/",
  weekly: "postgres/logical/weekly/",
  monthly: "postgres/logical/monthly/",
  redis: "redis/",
  chroma: "chroma/",
  // A6: the stack's logs, backed up with each weekly full backup.
  logs: "logs/",
};

/** Incomplete multipart uploads (a crashed backup) are aborted after this many days. */
export const ABORT_MULTIPART_DAYS = 1;

/**
 * The minimum storage duration AWS bills for each class. A transition whose object expires
 * sooner than this after moving costs more than staying in STANDARD, so it is left out.
 */
export const MIN_STORAGE_DAYS: Readonly<Record<StorageClass, number>> = { STANDARD_IA: 30, GLACIER_IR: 90 };

/** An S3 lifecycle rule, in @pulumi/aws 7's `BucketLifecycleConfiguration` input shape. */
export interface LifecycleRule {
  id: string;
  status: "Enabled";
  filter: { prefix: string };
  expiration?: { days?: number; expiredObjectDeleteMarker?: boolean };
  transitions?: { days: number; storageClass: StorageClass }[];
  noncurrentVersionExpiration: { noncurrentDays: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

/** What the S3 server can express. AWS: everything. The dev S3-compatible server: see docs/backup-storage.md. */
export interface LifecycleCapabilities {
  /** Storage-class transitions (RustFS and MinIO need remote tiers configured for them). */
  storageClasses: boolean;
  /** AbortIncompleteMultipartUpload (left to the dev server, which cleans stale uploads itself). */
  abortMultipart: boolean;
}

/**
 * Whether the aws provider's BucketLifecycleConfiguration converges on an S3-compatible server,
 * for the @pulumi/aws version checked. It does not: it waits for the AWS-only
 * `x-amz-transition-default-minimum-object-size` header (terraform-provider-aws #49019, #46021),
 * and no released upstream carries a fix (docs/backup-storage.md). So on such servers a job applies
 * the rules (components/bucket-lifecycle.ts). test/unit/dev-store-render.test.ts fails when
 * @pulumi/aws moves, so the finding is checked again for the new bundled provider.
 */
export const AWS_LIFECYCLE_ON_S3_COMPATIBLE = {
  pulumiAws: "7.48.0",
  converges: false,
} as const;

export const AWS_LIFECYCLE: LifecycleCapabilities = { storageClasses: true, abortMultipart: true };
export const S3_COMPATIBLE_LIFECYCLE: LifecycleCapabilities = {
  storageClasses: false,
  abortMultipart: false,
};

export interface TransitionDecision {
  tier: TierName;
  storageClass: StorageClass;
  days: number;
  kept: boolean;
  /** Why a configured transition is left out; absent when kept. */
  reason?: string;
}

/**
 * Which configured transitions each tier gets. A transition is kept only when the tier lives
 * long enough after it to pay off (MIN_STORAGE_DAYS), and, when both are set, only when
 * GLACIER_IR comes at least 30 days after STANDARD_IA (an AWS rule); otherwise STANDARD_IA goes.
 */
export function transitionPlan(
  policy: RetentionPolicy,
  caps: LifecycleCapabilities = AWS_LIFECYCLE,
): TransitionDecision[] {
  const out: TransitionDecision[] = [];
  for (const tier of TIER_NAMES) {
    const t = policy[tier];
    const gl = t.glacierAfterDays;
    const ia = t.infrequentAccessAfterDays;
    const decide = (storageClass: StorageClass, days: number): TransitionDecision => {
      if (!caps.storageClasses)
        return { tier, storageClass, days, kept: false, reason: "the S3 server has no storage classes" };
      if (days >= t.days)
        return { tier, storageClass, days, kept: false, reason: `not before expiration at day ${t.days}` };
      const left = t.days - days;
      if (left < MIN_STORAGE_DAYS[storageClass]) {
        return {
          tier,
          storageClass,
          days,
          kept: false,
          reason: `objects would stay ${left} days in ${storageClass}, less than its ${MIN_STORAGE_DAYS[storageClass]}-day minimum charge`,
        };
      }
      if (storageClass === "STANDARD_IA" && gl !== null && gl - days < 30) {
        return {
          tier,
          storageClass,
          days,
          kept: false,
          reason: `GLACIER_IR at day ${gl} is less than 30 days after STANDARD_IA; only GLACIER_IR is kept`,
        };
      }
      return { tier, storageClass, days, kept: true };
    };
    if (ia !== null) out.push(decide("STANDARD_IA", ia));
    if (gl !== null) out.push(decide("GLACIER_IR", gl));
  }
  return out;
}

/**
 * The backup vault's lifecycle rules: one per tier prefix (expire after the promised days,
 * transitions from `transitionPlan`, noncurrent versions expire, multipart uploads aborted),
 * and one bucket-wide housekeeping rule (noncurrent versions, orphan delete markers, multipart).
 */
export function lifecycleRules(
  policy: RetentionPolicy,
  caps: LifecycleCapabilities = AWS_LIFECYCLE,
): LifecycleRule[] {
  const plan = transitionPlan(policy, caps);
  const noncurrentVersionExpiration = { noncurrentDays: policy.noncurrentDays };
  const abort = caps.abortMultipart
    ? { abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_DAYS } }
    : {};
  const rules: LifecycleRule[] = TIER_NAMES.map((tier) => {
    const transitions = plan
      .filter((d) => d.tier === tier && d.kept)
      .map((d) => ({ days: d.days, storageClass: d.storageClass }));
    return {
      id: `${tier}-expire-after-${policy[tier].days}d`,
      status: "Enabled",
      filter: { prefix: BACKUP_PREFIXES[tier] },
      expiration: { days: policy[tier].days },
      ...(transitions.length ? { transitions } : {}),
      noncurrentVersionExpiration,
      ...abort,
    };
  });
  rules.push({
    id: "housekeeping",
    status: "Enabled",
    filter: { prefix: "" },
    // Removes a delete marker once no version is left behind it; never touches a live object.
    expiration: { expiredObjectDeleteMarker: true },
    noncurrentVersionExpiration,
    ...abort,
  });
  return rules;
}

/**
 * The pgBackRest repository's rules. pgBackRest expires its own files (pgbackrestRetention), so
 * nothing here expires a current object: only versions pgBackRest already deleted or overwrote
 * (after `noncurrentDays`, the window to undo a wrong expire) and abandoned multipart uploads.
 */
export function repositoryLifecycleRules(
  policy: RetentionPolicy,
  caps: LifecycleCapabilities = AWS_LIFECYCLE,
): LifecycleRule[] {
  return [
    {
      id: "noncurrent-versions-only",
      status: "Enabled",
      filter: { prefix: "" },
      noncurrentVersionExpiration: { noncurrentDays: policy.noncurrentDays },
      ...(caps.abortMultipart
        ? { abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_DAYS } }
        : {}),
    },
  ];
}

/** The shortest time any object of the vault lives: the longest lock that lifecycle can still expire. */
export function shortestExpirationDays(policy: RetentionPolicy): number {
  return Math.min(...TIER_NAMES.map((t) => policy[t].days));
}

/** The vault's object-lock default retention, or null when the config leaves it off. */
export function objectLockRetention(
  backup: BackupConfig,
): { mode: "GOVERNANCE" | "COMPLIANCE"; days: number } | null {
  if (!backup.objectLock.enabled) return null;
  const shortest = shortestExpirationDays(backup.retention);
  if (backup.objectLock.days > shortest) {
    // The schema refuses this config already; this guards callers that built a config by hand.
    throw new Error(
      `jarvis:backup.objectLock.days: a lock of ${backup.objectLock.days} days outlasts the shortest expiration (${shortest} days); allowed: <= ${shortest}`,
    );
  }
  return { mode: backup.objectLock.mode, days: backup.objectLock.days };
}

/**
 * pgBackRest's retention options for repo `repo` (1 by default), from the same policy:
 * full backups (weekly, A1) are kept by time for `weekly.days`, differentials (daily) by count,
 * one a day, for `daily.days`; WAL follows the full backups it belongs to.
 */
export function pgbackrestRetention(backup: BackupConfig, repo = 1): Record<string, string> {
  const r = backup.retention;
  return {
    [`repo${repo}-retention-full-type`]: "time",
    [`repo${repo}-retention-full`]: String(r.weekly.days),
    [`repo${repo}-retention-diff`]: String(r.daily.days),
    [`repo${repo}-retention-archive-type`]: "full",
  };
}
