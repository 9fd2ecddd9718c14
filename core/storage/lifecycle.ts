/**
 * Lifecycle rules on an S3-compatible server without the aws provider's read-back (which waits for
 * an AWS-only header and never converges there: docs/backup-storage.md). Put the rules, read them
 * back, and fail naming the rule and the field when the server kept something else.
 *
 * The rules are settings/lifecycle.ts's, the same functions that feed the prod aws resources.
 */
import { createHash } from "node:crypto";
import {
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule as S3Rule,
  type S3Client,
} from "@aws-sdk/client-s3";
import { EXIT, JarvisError } from "../errors.ts";
import type { LifecycleRule } from "../../settings/lifecycle.ts";

/** One rule as both sides can say it: what the comparison looks at, nothing more. */
export interface CanonicalRule {
  id: string;
  status: string;
  prefix: string;
  expirationDays: number | null;
  expiredObjectDeleteMarker: boolean;
  noncurrentDays: number | null;
  abortMultipartDays: number | null;
  transitions: string[];
}

export interface LifecycleDifference {
  rule: string;
  field: keyof CanonicalRule | "rule";
  wanted: unknown;
  got: unknown;
}

export class LifecycleMismatchError extends JarvisError {
  constructor(
    readonly bucket: string,
    readonly differences: LifecycleDifference[],
  ) {
    const list = differences
      .map(
        (d) =>
          `${d.rule}.${d.field}: wanted ${JSON.stringify(d.wanted)}, server has ${JSON.stringify(d.got)}`,
      )
      .join("; ");
    super(
      "JARVIS_LIFECYCLE_MISMATCH",
      `bucket ${bucket}: the lifecycle rules the server keeps differ from the ones sent (${list}); ` +
        "the server does not support these rules as written: change jarvis:backup.retention or the dev store (docs/backup-storage.md)",
      EXIT.failed,
    );
  }
}

/** The SDK's shape (PascalCase) of the settings' rules (the aws provider's camelCase shape). */
export function toS3Rules(rules: LifecycleRule[]): S3Rule[] {
  return rules.map((r) => ({
    ID: r.id,
    Status: r.status,
    Filter: { Prefix: r.filter.prefix },
    ...(r.expiration
      ? {
          Expiration: {
            ...(r.expiration.days !== undefined ? { Days: r.expiration.days } : {}),
            ...(r.expiration.expiredObjectDeleteMarker ? { ExpiredObjectDeleteMarker: true } : {}),
          },
        }
      : {}),
    ...(r.transitions?.length
      ? { Transitions: r.transitions.map((t) => ({ Days: t.days, StorageClass: t.storageClass })) }
      : {}),
    NoncurrentVersionExpiration: { NoncurrentDays: r.noncurrentVersionExpiration.noncurrentDays },
    ...(r.abortIncompleteMultipartUpload
      ? {
          AbortIncompleteMultipartUpload: {
            DaysAfterInitiation: r.abortIncompleteMultipartUpload.daysAfterInitiation,
          },
        }
      : {}),
  }));
}

/** A rule as the server returned it, reduced to the compared fields (absent and empty are one). */
export function canonicalRule(r: S3Rule): CanonicalRule {
  return {
    id: r.ID ?? "",
    status: r.Status ?? "",
    prefix: r.Filter?.Prefix ?? r.Filter?.And?.Prefix ?? r.Prefix ?? "",
    expirationDays: r.Expiration?.Days ?? null,
    expiredObjectDeleteMarker: r.Expiration?.ExpiredObjectDeleteMarker === true,
    noncurrentDays: r.NoncurrentVersionExpiration?.NoncurrentDays ?? null,
    abortMultipartDays: r.AbortIncompleteMultipartUpload?.DaysAfterInitiation ?? null,
    transitions: (r.Transitions ?? []).map((t) => `${t.Days}:${t.StorageClass}`).sort(),
  };
}

/** sha256 of the rules in canonical form: what the stack's job is keyed on. */
export function lifecycleRulesHash(rules: LifecycleRule[]): string {
  const canonical = toS3Rules(rules)
    .map(canonicalRule)
    .sort((a, b) => a.id.localeCompare(b.id));
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

/** Every difference between the wanted rules and the server's, by rule id and field. */
export function diffLifecycle(wanted: LifecycleRule[], got: S3Rule[]): LifecycleDifference[] {
  const have = new Map(got.map((r) => [r.ID ?? "", canonicalRule(r)]));
  const out: LifecycleDifference[] = [];
  for (const w of toS3Rules(wanted).map(canonicalRule)) {
    const g = have.get(w.id);
    have.delete(w.id);
    if (!g) {
      out.push({ rule: w.id, field: "rule", wanted: "present", got: "absent" });
      continue;
    }
    for (const field of Object.keys(w) as (keyof CanonicalRule)[]) {
      if (JSON.stringify(w[field]) !== JSON.stringify(g[field]))
        out.push({ rule: w.id, field, wanted: w[field], got: g[field] });
    }
  }
  for (const id of have.keys()) out.push({ rule: id, field: "rule", wanted: "absent", got: "present" });
  return out;
}

/** The bucket's rules as the server keeps them; none when it has no lifecycle configuration. */
export async function readLifecycle(s3: S3Client, bucket: string): Promise<S3Rule[]> {
  try {
    const res = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    return res.Rules ?? [];
  } catch (e) {
    if ((e as { name?: string }).name === "NoSuchLifecycleConfiguration") return [];
    throw e;
  }
}

/** Reads the bucket's rules back and throws LifecycleMismatchError when they differ from `wanted`. */
export async function checkLifecycle(s3: S3Client, bucket: string, wanted: LifecycleRule[]): Promise<void> {
  const differences = diffLifecycle(wanted, await readLifecycle(s3, bucket));
  if (differences.length) throw new LifecycleMismatchError(bucket, differences);
}

export interface LifecycleApplied {
  bucket: string;
  rules: number;
  hash: string;
}

/** Puts the rules (replacing the bucket's whole configuration), then reads them back and compares. */
export async function applyLifecycle(
  s3: S3Client,
  bucket: string,
  rules: LifecycleRule[],
): Promise<LifecycleApplied> {
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: { Rules: toS3Rules(rules) },
    }),
  );
  await checkLifecycle(s3, bucket, rules);
  return { bucket, rules: rules.length, hash: lifecycleRulesHash(rules) };
}
