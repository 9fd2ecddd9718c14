/**
 * The backup-storage invariants as CrossGuard policies, kept apart from `new PolicyPack(...)`
 * (policy/index.ts) so tests can call them directly. They work on any stack: every S3 bucket must
 * be versioned, encrypted and TLS-only; on AWS also owner-enforced and public-access-blocked;
 * buckets tagged `jarvis:role` get the role's rules (deletes denied, lock, pgBackRest never
 * expired); writers tagged `jarvis:role` get least privilege.
 *
 * Resources are matched by type token, so the pack needs no provider SDK at run time.
 * A bucket served by an S3-compatible endpoint (its aws provider sets `endpoints[].s3`, the dev
 * MinIO) is exempt from what that server cannot do: docs/backup-storage.md lists it.
 */
import type {
  PolicyResource,
  ReportViolation,
  StackValidationArgs,
  StackValidationPolicy,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import {
  FORBIDDEN_WRITER_ACTIONS,
  REPOSITORY_DENIED_DELETES,
  ROLE_TAG,
  VAULT_DENIED_DELETES,
  type PolicyStatement,
} from "../settings/bucket-policy.ts";
import { ABORT_MULTIPART_DAYS } from "../settings/lifecycle.ts";

/** Pulumi type tokens of the resources the policies (and the storage tests) look at. */
export const T = {
  bucket: "aws:s3/bucket:Bucket",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  /** The job that applies lifecycle rules on an S3-compatible server (components/bucket-lifecycle.ts). */
  lifecycleJob: "command:local:Command",
  lock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  replication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
  kmsKey: "aws:kms/key:Key",
  user: "aws:iam/user:User",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
  accessKey: "aws:iam/accessKey:AccessKey",
} as const;

// ---------------------------------------------------------------------------------------------
// Reading a stack

type Props = Record<string, any>;

/** JSON text (policies, provider config) or the value itself. */
function decoded(v: unknown): any {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** True when the resource goes to an S3-compatible server (a custom S3 endpoint), not AWS. */
export function onS3Compatible(r: { provider?: { props: Props } }): boolean {
  const endpoints = decoded(r.provider?.props?.endpoints);
  return (
    Array.isArray(endpoints) &&
    endpoints.some((e) => e && typeof e === "object" && typeof e.s3 === "string" && e.s3.length > 0)
  );
}

const bucketName = (b: PolicyResource): string => b.props.bucket ?? b.props.id ?? b.name;
const roleOf = (r: PolicyResource): string | undefined => r.props.tags?.[ROLE_TAG];

/** The side resources (versioning, policy, ...) of `type` that configure `bucket`. */
export function attached(
  resources: PolicyResource[],
  bucket: PolicyResource,
  type: string,
  key = "bucket",
): PolicyResource[] {
  return resources.filter(
    (r) =>
      r.type === type &&
      ((r.propertyDependencies?.[key] ?? []).some((d) => d.urn === bucket.urn) ||
        (r.props[key] !== undefined &&
          (r.props[key] === bucket.props.bucket || r.props[key] === bucket.props.id))),
  );
}

/**
 * A bucket's lifecycle rules: its aws resource's and, on an S3-compatible server, those of the job
 * that applies them there (components/bucket-lifecycle.ts: the bucket second in its triggers, the
 * rules as JSON fourth), since the aws provider's lifecycle resource never converges on such servers.
 */
export function lifecycleRulesOf(resources: PolicyResource[], bucket: PolicyResource): any[] {
  const own = attached(resources, bucket, T.lifecycle).flatMap((l) => l.props.rules ?? []);
  if (!onS3Compatible(bucket)) return own;
  const jobs = resources.filter(
    (r) =>
      r.type === T.lifecycleJob &&
      ((r.propertyDependencies?.triggers ?? []).some((d) => d.urn === bucket.urn) ||
        (Array.isArray(r.props.triggers) &&
          [bucket.props.bucket, bucket.props.id].includes(r.props.triggers[1]))),
  );
  const fromJobs = jobs.flatMap((j) => {
    const rules = decoded(Array.isArray(j.props.triggers) ? j.props.triggers[3] : undefined);
    return Array.isArray(rules) ? rules : [];
  });
  return [...own, ...fromJobs];
}

const statements = (policy: unknown): PolicyStatement[] => {
  const doc = decoded(policy);
  const s = doc?.Statement;
  return Array.isArray(s) ? s : s ? [s] : [];
};
const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
const toEveryone = (s: PolicyStatement): boolean => {
  const p: any = s.Principal;
  return p === "*" || list(p?.AWS).includes("*");
};
const covers = (actions: string[], wanted: string): boolean =>
  actions.some(
    (a) =>
      a === "*" || a === "s3:*" || a === wanted || (a.endsWith("*") && wanted.startsWith(a.slice(0, -1))),
  );

function bucketCheck(
  name: string,
  description: string,
  check: (
    bucket: PolicyResource,
    all: PolicyResource[],
    report: (msg: string) => void,
    args: StackValidationArgs,
  ) => void,
): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation: ReportViolation) => {
      for (const b of args.resources.filter((r) => r.type === T.bucket)) {
        check(b, args.resources, (msg) => reportViolation(`bucket ${bucketName(b)}: ${msg}`, b.urn), args);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The policies

export const versioned = bucketCheck(
  "s3-bucket-versioned",
  "Every S3 bucket has versioning Enabled, so an overwrite or delete can be undone.",
  (b, all, report) => {
    const v = attached(all, b, T.versioning);
    if (!v.some((x) => x.props.versioningConfiguration?.status === "Enabled"))
      report("versioning is not Enabled; add an aws.s3.BucketVersioning with status Enabled");
  },
);

export const encrypted = bucketCheck(
  "s3-bucket-encrypted",
  "Every S3 bucket has default server-side encryption; on AWS with a KMS key (aws:kms).",
  (b, all, report) => {
    const algs = attached(all, b, T.sse).flatMap((x) =>
      (x.props.rules ?? []).map((r: any) => r.applyServerSideEncryptionByDefault?.sseAlgorithm),
    );
    if (!algs.some(Boolean))
      return report(
        "no default server-side encryption; add an aws.s3.BucketServerSideEncryptionConfiguration",
      );
    if (!onS3Compatible(b) && !algs.some((a) => a === "aws:kms" || a === "aws:kms:dsse"))
      report(`encrypted with ${algs.join(", ")}; on AWS backups use a KMS key (sseAlgorithm aws:kms)`);
  },
);

export const publicAccessBlocked = bucketCheck(
  "s3-bucket-public-access-blocked",
  "Every S3 bucket on AWS has a public access block with all four flags on (not checkable on an S3-compatible server, which rejects the API).",
  (b, all, report) => {
    if (onS3Compatible(b)) return;
    const flags = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
    const pab = attached(all, b, T.publicAccess)[0];
    if (!pab)
      return report("no public access block; add an aws.s3.BucketPublicAccessBlock with all four flags true");
    const off = flags.filter((f) => pab.props[f] !== true);
    if (off.length) report(`public access block leaves ${off.join(", ")} off; set all four to true`);
  },
);

export const ownerEnforced = bucketCheck(
  "s3-bucket-owner-enforced",
  "Every S3 bucket on AWS has object ownership BucketOwnerEnforced (ACLs disabled).",
  (b, all, report) => {
    if (onS3Compatible(b)) return;
    const o = attached(all, b, T.ownership);
    if (!o.some((x) => x.props.rule?.objectOwnership === "BucketOwnerEnforced"))
      report("object ownership is not BucketOwnerEnforced; add an aws.s3.BucketOwnershipControls");
  },
);

export const tlsOnly = bucketCheck(
  "s3-bucket-tls-only",
  "Every S3 bucket's policy denies all requests made without TLS (aws:SecureTransport false) to every principal.",
  (b, all, report) => {
    const ok = attached(all, b, T.policy)
      .flatMap((p) => statements(p.props.policy))
      .some(
        (s) =>
          s.Effect === "Deny" &&
          toEveryone(s) &&
          covers(list(s.Action), "s3:GetObject") &&
          covers(list(s.Action), "s3:PutObject") &&
          String((s.Condition as any)?.Bool?.["aws:SecureTransport"]) === "false",
      );
    if (!ok)
      report(
        'no Deny of s3:* to Principal * when aws:SecureTransport is "false"; add it to the bucket policy',
      );
  },
);

export const deletesDenied = bucketCheck(
  "backup-bucket-deletes-denied",
  "Backup buckets (jarvis:role backups, backups-replica) deny DeleteObject, DeleteObjectVersion and DeleteBucket to every principal: only lifecycle expires backups. The pgBackRest repository denies DeleteObjectVersion and DeleteBucket.",
  (b, all, report) => {
    const role = roleOf(b);
    const needed =
      role === "backups" || role === "backups-replica"
        ? VAULT_DENIED_DELETES
        : role === "pgbackrest"
          ? REPOSITORY_DENIED_DELETES
          : [];
    const denies = attached(all, b, T.policy)
      .flatMap((p) => statements(p.props.policy))
      .filter((s) => s.Effect === "Deny" && toEveryone(s) && !s.Condition);
    const missing = needed.filter((a) => !denies.some((s) => covers(list(s.Action), a)));
    if (missing.length)
      report(
        `role ${role}: the bucket policy does not deny ${missing.join(", ")} to Principal *; add an unconditional Deny`,
      );
  },
);

export const lifecyclePresent = bucketCheck(
  "s3-bucket-lifecycle-housekeeping",
  `Every S3 bucket has lifecycle rules that expire noncurrent versions and, on AWS, abort incomplete multipart uploads after ${ABORT_MULTIPART_DAYS} day.`,
  (b, all, report) => {
    const rules: any[] = lifecycleRulesOf(all, b);
    if (!rules.length)
      return report("no lifecycle configuration; add an aws.s3.BucketLifecycleConfiguration");
    if (!rules.some((r) => r.noncurrentVersionExpiration?.noncurrentDays > 0))
      report("no rule expires noncurrent versions; old versions would be kept forever");
    if (
      !onS3Compatible(b) &&
      !rules.some(
        (r) => (r.abortIncompleteMultipartUpload?.daysAfterInitiation ?? Infinity) <= ABORT_MULTIPART_DAYS,
      )
    ) {
      report(`no rule aborts incomplete multipart uploads within ${ABORT_MULTIPART_DAYS} day`);
    }
  },
);

export const repositoryNeverExpired = bucketCheck(
  "pgbackrest-repository-not-expired",
  "The pgBackRest repository (jarvis:role pgbackrest) has no lifecycle expiration of current objects and no object lock: pgBackRest expires its own files.",
  (b, all, report) => {
    if (roleOf(b) !== "pgbackrest") return;
    const expiring = lifecycleRulesOf(all, b).filter(
      (r: any) =>
        r.status !== "Disabled" &&
        (r.expiration?.days !== undefined ||
          r.expiration?.date !== undefined ||
          (r.transitions ?? []).length > 0),
    );
    for (const r of expiring)
      report(
        `lifecycle rule ${r.id} expires or moves current objects; pgBackRest expires its own files, remove the rule`,
      );
    if (b.props.objectLockEnabled === true || attached(all, b, T.lock).length)
      report("object lock is on; pgBackRest cannot expire locked files, leave the repository unlocked");
  },
);

export const vaultLocked: StackValidationPolicy = {
  ...bucketCheck(
    "backup-vault-object-lock",
    "Backup vault buckets on AWS (jarvis:role backups) are created with object lock and a default retention no longer than their shortest expiration.",
    (b, all, report, args) => {
      const role = roleOf(b);
      if (role !== "backups" && role !== "backups-replica") return;
      const locks = attached(all, b, T.lock);
      const required = args.getConfig<{ requireOnAws?: boolean }>().requireOnAws ?? true;
      if (!locks.length) {
        if (required && !onS3Compatible(b))
          report(
            "no object lock; create the bucket with objectLockEnabled and add an aws.s3.BucketObjectLockConfiguration",
          );
        return;
      }
      if (b.props.objectLockEnabled !== true)
        report("a lock configuration exists but the bucket was not created with objectLockEnabled: true");
      const expirations = lifecycleRulesOf(all, b)
        .map((r: any) => r.expiration?.days)
        .filter((d: unknown): d is number => typeof d === "number");
      const shortest = Math.min(...expirations);
      for (const l of locks) {
        const ret = l.props.rule?.defaultRetention;
        const days = ret?.days ?? (ret?.years !== undefined ? ret.years * 365 : undefined);
        if (days === undefined)
          report("the object lock has no default retention; set rule.defaultRetention.days");
        else if (days > shortest)
          report(
            `default retention ${days} days outlasts the shortest expiration (${shortest} days): lifecycle could not expire those backups`,
          );
      }
    },
  ),
  configSchema: { properties: { requireOnAws: { type: "boolean", default: true } } },
};

export const writersLeastPrivilege: StackValidationPolicy = {
  name: "backup-writer-least-privilege",
  description:
    "IAM users tagged jarvis:role backup-writer may not delete anything; pgbackrest-writer may delete current objects only. Neither may hold wildcards, version deletion, policy, lifecycle, versioning or lock changes.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const user of args.resources.filter((r) => r.type === T.user)) {
      const role = roleOf(user);
      if (role !== "backup-writer" && role !== "pgbackrest-writer") continue;
      const policies = args.resources.filter(
        (r) =>
          r.type === T.userPolicy &&
          ((r.propertyDependencies?.user ?? []).some((d) => d.urn === user.urn) ||
            r.props.user === user.props.name),
      );
      for (const p of policies) {
        for (const s of statements(p.props.policy)) {
          if (s.Effect !== "Allow") continue;
          const actions = list(s.Action);
          const forbidden: string[] = FORBIDDEN_WRITER_ACTIONS.filter((f) => actions.includes(f));
          if (role === "backup-writer" && covers(actions, "s3:DeleteObject"))
            forbidden.push("s3:DeleteObject");
          if (covers(actions, "s3:DeleteObjectVersion") && !forbidden.includes("s3:DeleteObjectVersion"))
            forbidden.push("s3:DeleteObjectVersion");
          if (forbidden.length)
            reportViolation(
              `${role} ${user.props.name ?? user.name}: statement ${s.Sid ?? "(no Sid)"} allows ${[...new Set(forbidden)].join(", ")}; remove them`,
              p.urn,
            );
          if (
            role === "backup-writer" &&
            actions.some((a) => a.startsWith("s3:") && a !== "s3:ListBucket" && a !== "s3:GetBucketLocation")
          ) {
            const wide = list(s.Resource).filter(
              (r) => r === "*" || r.endsWith(":::*") || /:::[^/]+\/\*$/.test(r),
            );
            if (wide.length)
              reportViolation(
                `${role} ${user.props.name ?? user.name}: statement ${s.Sid ?? "(no Sid)"} covers the whole bucket (${wide.join(", ")}); restrict it to the writer's prefixes`,
                p.urn,
              );
          }
        }
      }
    }
  },
};

/** Rejects a lifecycle rule whose transition comes on or after its expiration, wherever it is. */
export const transitionsBeforeExpiration: ResourceValidationPolicy = {
  name: "s3-lifecycle-transition-before-expiration",
  description: "In every lifecycle rule, each storage-class transition comes before the rule's expiration.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== T.lifecycle) return;
    for (const r of args.props.rules ?? []) {
      const exp = r.expiration?.days;
      if (typeof exp !== "number") continue;
      for (const t of r.transitions ?? []) {
        if (typeof t.days === "number" && t.days >= exp)
          reportViolation(
            `rule ${r.id}: transition to ${t.storageClass} at day ${t.days} is not before expiration at day ${exp}`,
          );
      }
    }
  },
};

export const policies = [
  versioned,
  encrypted,
  publicAccessBlocked,
  ownerEnforced,
  tlsOnly,
  deletesDenied,
  lifecyclePresent,
  repositoryNeverExpired,
  vaultLocked,
  writersLeastPrivilege,
  transitionsBeforeExpiration,
];
