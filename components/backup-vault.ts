import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  type BackupConfig,
  type LifecycleRule,
  AWS_LIFECYCLE,
  AWS_LIFECYCLE_ON_S3_COMPATIBLE,
  BACKUP_PREFIXES,
  S3_COMPATIBLE_LIFECYCLE,
  TIER_NAMES,
  lifecycleRules,
  objectLockRetention,
  repositoryLifecycleRules,
  transitionPlan,
} from "../settings/lifecycle.ts";
import {
  MAX_BUCKET_PREFIX,
  bucketPrefixFits,
  encryptionRule,
  backupWriterPolicy,
  replicationRolePolicy,
  replicationTrustPolicy,
  repositoryBucketPolicy,
  repositoryWriterPolicy,
  vaultBucketPolicy,
  ROLE_TAG,
  type BucketRole,
  type PolicyDocument,
  type WriterRole,
} from "../settings/bucket-policy.ts";
import { objectLockAtCreation } from "../settings/keep.ts";

/** S3 bucket names: lowercase letters, digits and '-', short enough for the provider's suffix. */
function checkNamePrefix(name: string, namePrefix: string): void {
  if (!bucketPrefixFits(namePrefix)) {
    throw new Error(
      `BackupVault ${name}: namePrefix "${namePrefix}" must be lowercase letters, digits and '-' and at most ${MAX_BUCKET_PREFIX - "-pgbackrest-".length} characters (S3 bucket names); use a shorter, lowercase stack name`,
    );
  }
}

export interface BackupVaultArgs {
  /** Start of every bucket name, e.g. `jarvis-prod`: lowercase letters, digits and `-`. The aws provider appends a unique suffix. */
  namePrefix: string;
  /** The validated `jarvis:backup` config: storage target, the one retention policy, object lock. */
  backup: BackupConfig;
  /**
   * Protect the buckets, their sub-resources and the KMS keys (prod): the engine then refuses to
   * delete or replace them. They are kept on destroy (`retainOnDelete`) either way. Default false.
   */
  protect?: boolean;
}

export interface WriterCredentials {
  accessKeyId: pulumi.Output<string>;
  /** Secret. */
  secretAccessKey: pulumi.Output<string>;
}

/** A bucket of the vault and its versioning (what replication waits for). */
type VaultBucket = { bucket: aws.s3.Bucket; versioning: aws.s3.BucketVersioning };

interface BucketSpec {
  role: BucketRole;
  rules: LifecycleRule[];
  policy: (bucketArn: string) => PolicyDocument;
  lock: { mode: string; days: number } | null;
  /** Create the bucket with object lock (settings/keep.ts objectLockAtCreation). */
  lockAtCreation: boolean;
  /** AWS: a KMS key ARN; undefined: SSE-S3 (AES256). */
  kmsKeyArn?: pulumi.Input<string>;
  provider?: aws.Provider;
}

/**
 * Backup storage of one stack: a vault bucket for logical dumps, Redis and Chroma (lifecycle
 * rules from the retention policy, object lock in prod, deletes denied to every principal), a
 * separate pgBackRest repository bucket (versioned, no expiration, no lock: pgBackRest expires
 * its own files), optional cross-region replication of the vault, and least-privilege writers.
 *
 * Resources the dev S3-compatible server cannot serve are created only on AWS (provider `aws`):
 * public access block, ownership controls, KMS keys, IAM users, object lock, replication.
 * docs/backup-storage.md lists them with what dev does instead.
 */
export class BackupVault extends pulumi.ComponentResource {
  /** Name of the vault bucket (logical dumps, Redis, Chroma). */
  public readonly backupBucket: pulumi.Output<string>;
  /** Name of the pgBackRest repository bucket. */
  public readonly repositoryBucket: pulumi.Output<string>;
  /** Name of the replica of the vault in `replicaRegion` (prod with replicaRegion only). */
  public readonly replicaBucket?: pulumi.Output<string>;
  /** The KMS key that encrypts the vault and the repository (AWS only). */
  public readonly kmsKeyArn?: pulumi.Output<string>;
  /** Credentials of the backup writer: put/get/list on the vault's prefixes, no delete (AWS only). */
  public readonly backupWriter?: WriterCredentials;
  /** Credentials of pgBackRest on its repository bucket (AWS only). */
  public readonly repositoryWriter?: WriterCredentials;
  /** Key prefix per retention tier in the vault. */
  public readonly prefixes = BACKUP_PREFIXES;
  /** Resource options of everything that holds or guards backups. */
  private readonly keep: { retainOnDelete: boolean; protect: boolean };

  constructor(name: string, args: BackupVaultArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:storage:BackupVault", name, {}, opts);
    const { backup, namePrefix } = args;
    checkNamePrefix(name, namePrefix);
    const onAws = backup.storage.provider === "aws";
    const caps = onAws ? AWS_LIFECYCLE : S3_COMPATIBLE_LIFECYCLE;
    // Backups outlive the stack: `pulumi destroy` forgets these and leaves them, and the data, in place.
    this.keep = { retainOnDelete: true, protect: args.protect ?? false };
    this.warnDroppedTransitions(backup, caps);
    // Encryption key (AWS): the configured one, or a stack key with yearly rotation.
    const kmsKeyArn = onAws ? this.stackKey(name, namePrefix, backup) : undefined;
    const lock = objectLockRetention(backup);
    const lockAtCreation = objectLockAtCreation(backup);
    const vault = this.bucket(`${name}-backups`, `${namePrefix}-backups-`, onAws, {
      role: "backups",
      rules: lifecycleRules(backup.retention, caps),
      policy: vaultBucketPolicy,
      lock,
      lockAtCreation,
      kmsKeyArn,
    });
    const repository = this.bucket(`${name}-pgbackrest`, `${namePrefix}-pgbackrest-`, onAws, {
      role: "pgbackrest",
      rules: repositoryLifecycleRules(backup.retention, caps),
      policy: repositoryBucketPolicy,
      lock: null,
      lockAtCreation: false,
      kmsKeyArn,
    });
    // Least-privilege writers (AWS only: the dev server has no IAM API).
    const writers = kmsKeyArn ? this.writers(name, namePrefix, vault, repository, kmsKeyArn) : undefined;
    // Cross-region replica of the vault (AWS, with replicaRegion).
    const replica =
      kmsKeyArn && backup.storage.replicaRegion
        ? this.replicate(name, namePrefix, backup, vault, { lock, lockAtCreation, kmsKeyArn })
        : undefined;

    this.backupBucket = vault.bucket.bucket;
    this.repositoryBucket = repository.bucket.bucket;
    this.replicaBucket = replica;
    this.kmsKeyArn = kmsKeyArn;
    this.backupWriter = writers?.backupWriter;
    this.repositoryWriter = writers?.repositoryWriter;
    this.registerOutputs({
      backupBucket: this.backupBucket,
      repositoryBucket: this.repositoryBucket,
      replicaBucket: this.replicaBucket,
      kmsKeyArn: this.kmsKeyArn,
      backupWriterAccessKeyId: this.backupWriter?.accessKeyId,
      repositoryWriterAccessKeyId: this.repositoryWriter?.accessKeyId,
    });
  }

  /** Warns about each storage-class transition the target cannot honour (settings/lifecycle.ts transitionPlan). */
  private warnDroppedTransitions(backup: BackupConfig, caps: typeof AWS_LIFECYCLE) {
    for (const d of transitionPlan(backup.retention, caps)) {
      if (!d.kept)
        pulumi.log.warn(
          `backup.retention.${d.tier}: ${d.storageClass} transition at day ${d.days} left out: ${d.reason}`,
          this,
        );
    }
  }

  /** The configured KMS key, or the stack's own, kept: a deleted key makes its backups unreadable 30 days later. */
  private stackKey(name: string, namePrefix: string, backup: BackupConfig): pulumi.Output<string> {
    if (backup.storage.kmsKeyArn) return pulumi.output(backup.storage.kmsKeyArn);
    return new aws.kms.Key(
      `${name}-key`,
      {
        description: `${namePrefix} backups`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags: { [ROLE_TAG]: "backups" },
      },
      { parent: this, ...this.keep },
    ).arn;
  }

  /** The backup writer (the vault's prefixes, no delete) and pgBackRest's (its repository). */
  private writers(
    name: string,
    namePrefix: string,
    vault: VaultBucket,
    repository: VaultBucket,
    kmsKeyArn: pulumi.Output<string>,
  ) {
    const prefixes = TIER_NAMES.map((t) => BACKUP_PREFIXES[t]);
    return {
      backupWriter: this.writer(
        `${name}-writer`,
        `${namePrefix}-backup-writer`,
        "backup-writer",
        pulumi
          .all([vault.bucket.arn, kmsKeyArn])
          .apply(([arn, key]) => backupWriterPolicy(arn, prefixes, key)),
      ),
      repositoryWriter: this.writer(
        `${name}-pgbackrest-writer`,
        `${namePrefix}-pgbackrest`,
        "pgbackrest-writer",
        pulumi
          .all([repository.bucket.arn, kmsKeyArn])
          .apply(([arn, key]) => repositoryWriterPolicy(arn, key)),
      ),
    };
  }

  /** The vault's replica in replicaRegion: its own key and bucket, a replication role and rule. Returns its name. */
  private replicate(
    name: string,
    namePrefix: string,
    backup: BackupConfig,
    vault: VaultBucket,
    source: { lock: BucketSpec["lock"]; lockAtCreation: boolean; kmsKeyArn: pulumi.Output<string> },
  ): pulumi.Output<string> {
    const region = backup.storage.replicaRegion!;
    const provider = new aws.Provider(
      `${name}-replica-region`,
      { region: region as aws.Region },
      { parent: this },
    );
    const replicaKey = new aws.kms.Key(
      `${name}-replica-key`,
      {
        description: `${namePrefix} backups (replica in ${region})`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags: { [ROLE_TAG]: "backups-replica" },
      },
      { parent: this, provider, ...this.keep },
    );
    const replica = this.bucket(`${name}-replica`, `${namePrefix}-replica-`, true, {
      role: "backups-replica",
      // Lifecycle actions are not replicated: the replica expires its copies by the same rules.
      rules: lifecycleRules(backup.retention, AWS_LIFECYCLE),
      policy: vaultBucketPolicy,
      // S3 replicates locked objects only into a bucket with object lock.
      lock: source.lock,
      lockAtCreation: source.lockAtCreation,
      kmsKeyArn: replicaKey.arn,
      provider,
    });
    const role = new aws.iam.Role(
      `${name}-replication`,
      {
        name: `${namePrefix}-backup-replication`,
        path: "/jarvis/",
        assumeRolePolicy: JSON.stringify(replicationTrustPolicy()),
        tags: { [ROLE_TAG]: "backups-replication" },
      },
      { parent: this },
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-replication`,
      {
        role: role.id,
        policy: pulumi
          .all([vault.bucket.arn, replica.bucket.arn, source.kmsKeyArn, replicaKey.arn])
          .apply(([sourceBucketArn, replicaBucketArn, sourceKmsKeyArn, replicaKmsKeyArn]) =>
            JSON.stringify(
              replicationRolePolicy({ sourceBucketArn, replicaBucketArn, sourceKmsKeyArn, replicaKmsKeyArn }),
            ),
          ),
      },
      { parent: this },
    );
    new aws.s3.BucketReplicationConfig(
      `${name}-replication`,
      {
        bucket: vault.bucket.id,
        role: role.arn,
        rules: [
          {
            id: "everything",
            status: "Enabled",
            filter: { prefix: "" },
            // A delete marker stays in the source: the replica keeps its copy until its own lifecycle expires it.
            deleteMarkerReplication: { status: "Disabled" },
            sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
            destination: {
              bucket: replica.bucket.arn,
              encryptionConfiguration: { replicaKmsKeyId: replicaKey.arn },
            },
          },
        ],
      },
      { parent: this, ...this.keep, dependsOn: [vault.versioning, replica.versioning, rolePolicy] },
    );
    return replica.bucket.bucket;
  }

  /** One bucket with every guard: versioning, SSE, ownership, public access block, policy, lifecycle, lock. */
  private bucket(id: string, bucketPrefix: string, onAws: boolean, spec: BucketSpec): VaultBucket {
    // The bucket and every sub-resource are kept on destroy (a deleted policy or lifecycle would
    // leave the kept data unguarded or growing), and protected in prod.
    const opts = { parent: this, ...this.keep, ...(spec.provider ? { provider: spec.provider } : {}) };
    const bucket = new aws.s3.Bucket(
      id,
      {
        bucketPrefix,
        // Object lock can only be switched on when the bucket is created: a change replaces it.
        ...(spec.lockAtCreation ? { objectLockEnabled: true } : {}),
        forceDestroy: false,
        tags: { [ROLE_TAG]: spec.role },
      },
      opts,
    );
    const versioning = new aws.s3.BucketVersioning(
      `${id}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      opts,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${id}-sse`,
      { bucket: bucket.id, rules: [encryptionRule(spec.kmsKeyArn)] },
      opts,
    );
    const guards: pulumi.Resource[] = [];
    if (onAws) {
      // Not on the dev S3-compatible server: it rejects both APIs (docs/backup-storage.md).
      const ownership = new aws.s3.BucketOwnershipControls(
        `${id}-ownership`,
        { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
        opts,
      );
      const pab = new aws.s3.BucketPublicAccessBlock(
        `${id}-public-access`,
        {
          bucket: bucket.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        { ...opts, dependsOn: [ownership] },
      );
      guards.push(ownership, pab);
    }
    new aws.s3.BucketPolicy(
      `${id}-policy`,
      { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(spec.policy(arn))) },
      { ...opts, dependsOn: guards },
    );
    // On an S3-compatible server the aws provider's read-back never converges: a job applies the
    // rules there instead (components/bucket-lifecycle.ts, docs/backup-storage.md).
    if (onAws || AWS_LIFECYCLE_ON_S3_COMPATIBLE.converges) {
      new aws.s3.BucketLifecycleConfiguration(
        `${id}-lifecycle`,
        { bucket: bucket.id, rules: spec.rules },
        { ...opts, dependsOn: [versioning] },
      );
    }
    if (spec.lock) {
      new aws.s3.BucketObjectLockConfiguration(
        `${id}-lock`,
        {
          bucket: bucket.id,
          objectLockEnabled: "Enabled",
          rule: { defaultRetention: { mode: spec.lock.mode, days: spec.lock.days } },
        },
        { ...opts, dependsOn: [versioning] },
      );
    }
    return { bucket, versioning };
  }

  /** An IAM user with one inline policy and an access key (AWS only: the dev server has no IAM API). */
  private writer(
    id: string,
    userName: string,
    role: WriterRole,
    policy: pulumi.Output<PolicyDocument>,
  ): WriterCredentials {
    const user = new aws.iam.User(
      id,
      { name: userName, path: "/jarvis/", tags: { [ROLE_TAG]: role } },
      { parent: this },
    );
    new aws.iam.UserPolicy(
      id,
      { user: user.name, policy: policy.apply((p) => JSON.stringify(p)) },
      { parent: this },
    );
    const key = new aws.iam.AccessKey(id, { user: user.name }, { parent: this });
    return { accessKeyId: key.id, secretAccessKey: pulumi.secret(key.secret) };
  }
}
