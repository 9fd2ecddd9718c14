/**
 * The access rules of backup storage as plain IAM/bucket policy documents. Pure: inputs are ARNs
 * (strings), outputs are JSON-able objects. The vault component serializes them; the policy pack
 * reads the same constants to check any stack.
 */

/** The tag on every backup bucket and writer, read by the policy pack (policy/). */
export const ROLE_TAG = "jarvis:role";
export type BucketRole = "backups" | "pgbackrest" | "backups-replica";
export type WriterRole = "backup-writer" | "pgbackrest-writer";

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: { AWS: string[] } | { Service: string[] };
  Action: string[];
  Resource?: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/** Actions that destroy backups. Denied to every principal on the vault: only lifecycle expires. */
export const VAULT_DENIED_DELETES = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"] as const;
/**
 * On the pgBackRest repository, pgBackRest deletes what it expires (a delete marker on a versioned
 * bucket), so only the destruction of versions and of the bucket is denied.
 */
export const REPOSITORY_DENIED_DELETES = ["s3:DeleteObjectVersion", "s3:DeleteBucket"] as const;
/** Actions no writer may ever hold on backup storage. */
export const FORBIDDEN_WRITER_ACTIONS = [
  "*",
  "s3:*",
  "s3:Delete*",
  "s3:DeleteObjectVersion",
  "s3:DeleteBucket",
  "s3:PutBucketPolicy",
  "s3:DeleteBucketPolicy",
  "s3:PutLifecycleConfiguration",
  "s3:PutBucketVersioning",
  "s3:PutBucketObjectLockConfiguration",
  "s3:BypassGovernanceRetention",
  "s3:PutObjectRetention",
  "s3:PutObjectLegalHold",
] as const;

const everyone = { AWS: ["*"] };
const bucketAndObjects = (bucketArn: string) => [bucketArn, `${bucketArn}/*`];

/** Refuses every request made without TLS (`aws:SecureTransport` false), whoever makes it. */
export function denyInsecureTransport(bucketArn: string): PolicyStatement {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: everyone,
    Action: ["s3:*"],
    Resource: bucketAndObjects(bucketArn),
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/**
 * Refuses the given delete actions to every principal, the account's administrators included.
 * Lifecycle expiration is not a request by a principal, so a Deny cannot stop it: the lifecycle
 * stays the only way backups leave the bucket. Break-glass: an administrator edits this policy
 * first (s3:PutBucketPolicy, an audited act), see docs/backup-storage.md.
 */
export function denyDeletes(bucketArn: string, actions: readonly string[]): PolicyStatement {
  return {
    Sid: "DenyDeletesToEveryone",
    Effect: "Deny",
    Principal: everyone,
    Action: [...actions],
    Resource: bucketAndObjects(bucketArn),
  };
}

/** The backup vault's bucket policy: TLS only, and no delete by anyone. */
export function vaultBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [denyInsecureTransport(bucketArn), denyDeletes(bucketArn, VAULT_DENIED_DELETES)],
  };
}

/** The pgBackRest repository's bucket policy: TLS only, no destruction of versions or of the bucket. */
export function repositoryBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [denyInsecureTransport(bucketArn), denyDeletes(bucketArn, REPOSITORY_DENIED_DELETES)],
  };
}

const kmsUse = (kmsKeyArn: string | undefined): PolicyStatement[] =>
  kmsKeyArn
    ? [
        {
          Sid: "UseTheBackupKey",
          Effect: "Allow",
          Action: ["kms:GenerateDataKey", "kms:Decrypt"],
          Resource: [kmsKeyArn],
        },
      ]
    : [];

/**
 * The backup writer (logical dumps, Redis, Chroma): list, put and get under its own prefixes,
 * abort its own failed multipart uploads. No delete of any kind: lifecycle expires its objects.
 */
export function backupWriterPolicy(
  bucketArn: string,
  prefixes: readonly string[],
  kmsKeyArn?: string,
): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ListOwnPrefixes",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [bucketArn],
        Condition: { StringLike: { "s3:prefix": prefixes.map((p) => `${p}*`) } },
      },
      { Sid: "LocateBucket", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [bucketArn] },
      {
        Sid: "ReadWriteOwnPrefixes",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: prefixes.map((p) => `${bucketArn}/${p}*`),
      },
      ...kmsUse(kmsKeyArn),
    ],
  };
}

/**
 * pgBackRest: the whole repository bucket, including s3:DeleteObject because it expires its own
 * backups; no version deletion (the bucket policy denies it anyway).
 */
export function repositoryWriterPolicy(bucketArn: string, kmsKeyArn?: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ListRepository",
        Effect: "Allow",
        Action: ["s3:ListBucket", "s3:GetBucketLocation"],
        Resource: [bucketArn],
      },
      {
        Sid: "ManageRepositoryFiles",
        Effect: "Allow",
        Action: [
          "s3:PutObject",
          "s3:GetObject",
          "s3:DeleteObject",
          "s3:AbortMultipartUpload",
          "s3:ListMultipartUploadParts",
        ],
        Resource: [`${bucketArn}/*`],
      },
      ...kmsUse(kmsKeyArn),
    ],
  };
}

/** Lets S3's replication service assume the replication role. */
export function replicationTrustPolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "S3Replicates",
        Effect: "Allow",
        Principal: { Service: ["s3.amazonaws.com"] },
        Action: ["sts:AssumeRole"],
      },
    ],
  };
}

/** What S3 replication needs: read versions at the source, replicate into the replica, use both keys. */
export function replicationRolePolicy(a: {
  sourceBucketArn: string;
  replicaBucketArn: string;
  sourceKmsKeyArn: string;
  replicaKmsKeyArn: string;
}): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadSourceConfig",
        Effect: "Allow",
        Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
        Resource: [a.sourceBucketArn],
      },
      {
        Sid: "ReadSourceVersions",
        Effect: "Allow",
        Action: [
          "s3:GetObjectVersionForReplication",
          "s3:GetObjectVersionAcl",
          "s3:GetObjectVersionTagging",
          "s3:GetObjectRetention",
          "s3:GetObjectLegalHold",
        ],
        Resource: [`${a.sourceBucketArn}/*`],
      },
      {
        Sid: "WriteReplica",
        Effect: "Allow",
        Action: ["s3:ReplicateObject", "s3:ReplicateTags"],
        Resource: [`${a.replicaBucketArn}/*`],
      },
      { Sid: "DecryptSource", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [a.sourceKmsKeyArn] },
      {
        Sid: "EncryptReplica",
        Effect: "Allow",
        Action: ["kms:Encrypt", "kms:GenerateDataKey"],
        Resource: [a.replicaKmsKeyArn],
      },
    ],
  };
}

/** The provider's generated suffix is 26 characters and S3 names stop at 63. */
export const MAX_BUCKET_PREFIX = 37;

/**
 * Whether `<prefix>-pgbackrest-<suffix>`, the longest bucket name the vault derives from a prefix,
 * is a valid S3 name: lowercase letters, digits and '-', short enough for the provider's suffix.
 */
export function bucketPrefixFits(prefix: string): boolean {
  return /^[a-z0-9][a-z0-9-]*$/.test(prefix) && `${prefix}-pgbackrest-`.length <= MAX_BUCKET_PREFIX;
}

/** Default encryption of a vault bucket: SSE-KMS with an S3 bucket key when a key is given, else SSE-S3. */
export function encryptionRule<K>(kmsKeyArn?: K) {
  return kmsKeyArn
    ? {
        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn },
        bucketKeyEnabled: true,
      }
    : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } };
}
