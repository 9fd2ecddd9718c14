/**
 * Backup storage (issue 9) on the offline render: every bucket's guards in prod and dev, the
 * lifecycle rules against the retention config, the pgBackRest repository left to pgBackRest,
 * object lock in prod, and bad retention configs refused with the key named. Plus the pure
 * lifecycle functions the vault and the backup jobs share.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import YAML from "yaml";
import { parseConfig } from "../../config/schema.ts";
import {
  ABORT_MULTIPART_DAYS,
  BACKUP_PREFIXES,
  S3_COMPATIBLE_LIFECYCLE,
  TIER_NAMES,
  lifecycleRules,
  pgbackrestRetention,
  transitionPlan,
} from "../../settings/lifecycle.ts";
import { ofType, renderRaw, stackFile, type Rendered } from "../support/render.ts";
import { T } from "../../policy/policies.ts";

const stackConfig = (stack: "dev" | "prod"): Record<string, any> =>
  YAML.parse(readFileSync(`Pulumi.${stack}.yaml`, "utf8")).config;
const with_ = (stack: "dev" | "prod", backup: Record<string, any>) => {
  const c = stackConfig(stack);
  return { ...c, "jarvis:backup": { ...c["jarvis:backup"], ...backup } };
};
/** The parsed `jarvis:backup` of a stack file's config map, defaults applied. */
const backupOf = (config: Record<string, any>) =>
  parseConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^jarvis:/, ""), v])))
    .backup;

async function render(args: string[]) {
  const r = await renderRaw(args);
  return { ...r, resources: r.code === 0 ? (JSON.parse(r.stdout) as Rendered[]) : [] };
}

// Every render runs in its own process (Pulumi's runtime is global); start them all at once.
const variantConfig = with_("prod", {
  storage: {
    provider: "aws",
    region: "eu-west-3",
    kmsKeyArn: "arn:aws:kms:eu-west-3:111122223333:key/given",
  },
  objectLock: { enabled: true, mode: "COMPLIANCE", days: 3 },
  retention: {
    daily: { days: 10 },
    weekly: { days: 60, infrequentAccessAfterDays: 30 },
    monthly: { days: 400, infrequentAccessAfterDays: 30, glacierAfterDays: 45 },
    redis: { days: 5 },
    chroma: { days: 20 },
    noncurrentDays: 2,
  },
});
const [dev, prod, variant, devOutputs, prodOutputs, otherStack, badTransition, badLock] = await Promise.all([
  render(["dev"]),
  render(["prod"]),
  render(["prod", "--config", stackFile(variantConfig)]),
  renderRaw(["dev", "--outputs"]),
  renderRaw(["prod", "--outputs"]),
  render(["qa", "--config", stackFile(stackConfig("dev"))]),
  renderRaw([
    "prod",
    "--config",
    stackFile(with_("prod", { retention: { monthly: { days: 60, glacierAfterDays: 90 } } })),
  ]),
  renderRaw([
    "prod",
    "--config",
    stackFile(
      with_("prod", {
        retention: { redis: { days: 5 } },
        objectLock: { enabled: true, mode: "GOVERNANCE", days: 6 },
      }),
    ),
  ]),
]);
for (const [n, r] of Object.entries({ dev, prod, variant, otherStack }))
  assert.equal(r.code, 0, `render ${n}: ${r.stderr}`);

/** The side resources of `type` that configure bucket `b` (the mock's bucket id is `<name>-id`). */
const of = (rs: Rendered[], b: Rendered, type: string) =>
  ofType(rs, type).filter((x) => x.inputs.bucket === `${b.name}-id`);
const one = (rs: Rendered[], b: Rendered, type: string) => {
  const found = of(rs, b, type);
  assert.equal(found.length, 1, `${b.name}: expected one ${type}, found ${found.length}`);
  return found[0]!;
};
const byRole = (rs: Rendered[], role: string) =>
  ofType(rs, T.bucket).filter((b) => b.inputs.tags?.["jarvis:role"] === role);
const statements = (p: Rendered): any[] => JSON.parse(p.inputs.policy).Statement;

function assertTlsOnly(rs: Rendered[], b: Rendered) {
  const s = statements(one(rs, b, T.policy)).find(
    (x) => x.Condition?.Bool?.["aws:SecureTransport"] === "false",
  );
  assert.ok(s, `${b.name}: no aws:SecureTransport=false statement`);
  assert.equal(s.Effect, "Deny");
  assert.deepEqual(s.Principal, { AWS: ["*"] });
  assert.deepEqual(s.Action, ["s3:*"]);
  assert.deepEqual(s.Resource, [`arn:aws:mock:::${b.name}`, `arn:aws:mock:::${b.name}/*`]);
}

function deniedToEveryone(rs: Rendered[], b: Rendered): string[] {
  return statements(one(rs, b, T.policy))
    .filter((s) => s.Effect === "Deny" && !s.Condition && s.Principal?.AWS?.includes("*"))
    .flatMap((s) => s.Action);
}

// ---------------------------------------------------------------------------------------------

test("prod: every bucket is versioned, KMS-encrypted, owner-enforced, public-access-blocked and TLS-only", () => {
  const buckets = ofType(prod.resources, T.bucket);
  assert.deepEqual(buckets.map((b) => b.inputs.tags["jarvis:role"]).sort(), [
    "backups",
    "backups-replica",
    "pgbackrest",
  ]);
  for (const b of buckets) {
    assert.equal(one(prod.resources, b, T.versioning).inputs.versioningConfiguration.status, "Enabled");
    const sse = one(prod.resources, b, T.sse).inputs.rules[0];
    assert.equal(sse.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
    assert.match(
      sse.applyServerSideEncryptionByDefault.kmsMasterKeyId,
      /^arn:aws:mock:::jarvis-prod-vault-(replica-)?key$/,
    );
    assert.equal(sse.bucketKeyEnabled, true);
    const pab = one(prod.resources, b, T.publicAccess).inputs;
    for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])
      assert.equal(pab[flag], true, `${b.name} ${flag}`);
    assert.equal(one(prod.resources, b, T.ownership).inputs.rule.objectOwnership, "BucketOwnerEnforced");
    assertTlsOnly(prod.resources, b);
  }
  const keys = ofType(prod.resources, T.kmsKey);
  assert.equal(keys.length, 2, "a stack key and a replica-region key");
  for (const k of keys) assert.equal(k.inputs.enableKeyRotation, true);
});

test("dev: every bucket is versioned, AES256-encrypted and TLS-only; only what the docs list as impossible on the dev store is left out", () => {
  const buckets = ofType(dev.resources, T.bucket);
  assert.deepEqual(buckets.map((b) => b.inputs.tags["jarvis:role"]).sort(), ["backups", "pgbackrest"]);
  for (const b of buckets) {
    assert.equal(one(dev.resources, b, T.versioning).inputs.versioningConfiguration.status, "Enabled");
    assert.equal(
      one(dev.resources, b, T.sse).inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm,
      "AES256",
    );
    assertTlsOnly(dev.resources, b);
    assert.equal(b.inputs.objectLockEnabled, undefined);
  }
  // Exactly these are absent in dev, and each is named in the docs' list of what the dev store cannot enforce.
  const docs = readFileSync("docs/backup-storage.md", "utf8");
  const limits = docs.slice(docs.indexOf("## What the dev store cannot enforce"));
  assert.ok(limits.length > 100, "docs/backup-storage.md has the section");
  for (const [type, named] of [
    [T.publicAccess, /public access block/i],
    [T.ownership, /BucketOwnerEnforced/],
    [T.kmsKey, /KMS key/],
    [T.user, /IAM/],
    [T.lock, /object lock/i],
    [T.replication, /replication/i],
  ] as const) {
    assert.equal(ofType(dev.resources, type).length, 0, `${type} is not created in dev`);
    assert.ok(
      prod.resources.some((r) => r.type === type),
      `${type} is created in prod`,
    );
    assert.match(limits, named, `docs list ${type} among dev's limits`);
  }
  for (const named of [/storage.class transitions/i, /AbortIncompleteMultipartUpload/])
    assert.match(limits, named);
});

test("vault buckets deny every delete to every principal; the pgBackRest repository denies only version and bucket deletion", () => {
  for (const rs of [dev.resources, prod.resources]) {
    for (const b of [...byRole(rs, "backups"), ...byRole(rs, "backups-replica")]) {
      assert.deepEqual(deniedToEveryone(rs, b).sort(), [
        "s3:DeleteBucket",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
      ]);
    }
    const [repo] = byRole(rs, "pgbackrest");
    assert.deepEqual(deniedToEveryone(rs, repo!).sort(), ["s3:DeleteBucket", "s3:DeleteObjectVersion"]);
  }
});

/** A bucket's lifecycle rules: its aws resource's, or in dev those of the job that applies them (components/bucket-lifecycle.ts). */
function rulesOf(rs: Rendered[], b: Rendered): any[] {
  if (of(rs, b, T.lifecycle).length) return one(rs, b, T.lifecycle).inputs.rules;
  const job = rs.find((r) => r.type === "command:local:Command" && r.inputs.triggers?.[1] === b.name);
  assert.ok(job, `${b.name}: a lifecycle resource or a lifecycle job`);
  return JSON.parse(job.inputs.triggers[3]);
}

function assertLifecycleMatches(rs: Rendered[], backup: ReturnType<typeof backupOf>, aws: boolean) {
  for (const b of [...byRole(rs, "backups"), ...byRole(rs, "backups-replica")]) {
    const rules: any[] = rulesOf(rs, b);
    for (const tier of TIER_NAMES) {
      const prefix = BACKUP_PREFIXES[tier];
      const promised = backup.retention[tier].days;
      const own = rules.filter((r) => r.filter.prefix === prefix);
      assert.equal(own.length, 1, `${b.name}: one rule for ${prefix}`);
      assert.equal(
        own[0].expiration.days,
        promised,
        `${b.name} ${prefix}: expires at the configured ${promised} days`,
      );
      // No rule reaching this prefix expires objects before the promised retention.
      for (const r of rules.filter(
        (x) => prefix.startsWith(x.filter.prefix) && x.expiration?.days !== undefined,
      )) {
        assert.ok(
          r.expiration.days >= promised,
          `${b.name}: rule ${r.id} expires ${prefix} at day ${r.expiration.days} < ${promised}`,
        );
      }
      for (const t of own[0].transitions ?? [])
        assert.ok(
          t.days < own[0].expiration.days,
          `${b.name} ${prefix}: transition at ${t.days} before expiration`,
        );
      assert.equal(own[0].noncurrentVersionExpiration.noncurrentDays, backup.retention.noncurrentDays);
      if (aws) assert.equal(own[0].abortIncompleteMultipartUpload.daysAfterInitiation, ABORT_MULTIPART_DAYS);
      else
        assert.equal(
          own[0].abortIncompleteMultipartUpload,
          undefined,
          "left to the S3-compatible server's own cleanup",
        );
      if (!aws) assert.equal(own[0].transitions, undefined, "the dev store has no storage classes");
    }
  }
}

test("lifecycle rules per backup prefix match the retention config (dev, prod and a variant)", () => {
  assertLifecycleMatches(dev.resources, backupOf(stackConfig("dev")), false);
  assertLifecycleMatches(prod.resources, backupOf(stackConfig("prod")), true);
  const backup = backupOf(variantConfig);
  assertLifecycleMatches(variant.resources, backup, true);
  // The variant's transitions: weekly's IA kept (30 days left >= 30); monthly's IA dropped (GLACIER_IR 15 days later).
  const rules: any[] = one(variant.resources, byRole(variant.resources, "backups")[0]!, T.lifecycle).inputs
    .rules;
  assert.deepEqual(rules.find((r) => r.filter.prefix === BACKUP_PREFIXES.weekly).transitions, [
    { days: 30, storageClass: "STANDARD_IA" },
  ]);
  assert.deepEqual(rules.find((r) => r.filter.prefix === BACKUP_PREFIXES.monthly).transitions, [
    { days: 45, storageClass: "GLACIER_IR" },
  ]);
  const prodMonthly = one(
    prod.resources,
    byRole(prod.resources, "backups")[0]!,
    T.lifecycle,
  ).inputs.rules.find((r: any) => r.filter.prefix === BACKUP_PREFIXES.monthly);
  assert.deepEqual(prodMonthly.transitions, [
    { days: 30, storageClass: "STANDARD_IA" },
    { days: 90, storageClass: "GLACIER_IR" },
  ]);
});

test("no expiration rule touches the pgBackRest repository, and it is never locked", () => {
  for (const rs of [dev.resources, prod.resources, variant.resources]) {
    const [repo] = byRole(rs, "pgbackrest");
    assert.ok(repo);
    assert.equal(repo.inputs.objectLockEnabled, undefined);
    assert.equal(of(rs, repo, T.lock).length, 0);
    const rules: any[] = rulesOf(rs, repo);
    for (const r of rules) {
      assert.equal(r.expiration, undefined, `rule ${r.id} expires current objects`);
      assert.equal(r.transitions, undefined, `rule ${r.id} moves current objects`);
    }
    assert.equal(of(rs, repo, T.versioning)[0]?.inputs.versioningConfiguration.status, "Enabled");
    assert.equal(ofType(rs, T.replication).filter((x) => x.inputs.bucket === `${repo.name}-id`).length, 0);
  }
});

test("prod: the vault and its replica have object lock with the configured default retention", () => {
  for (const [rs, mode, days] of [
    [prod.resources, "GOVERNANCE", 7],
    [variant.resources, "COMPLIANCE", 3],
  ] as const) {
    for (const b of [...byRole(rs, "backups"), ...byRole(rs, "backups-replica")]) {
      assert.equal(b.inputs.objectLockEnabled, true, `${b.name} created with object lock`);
      const lock = one(rs, b, T.lock).inputs;
      assert.equal(lock.objectLockEnabled, "Enabled");
      assert.deepEqual(lock.rule.defaultRetention, { mode, days });
    }
  }
});

test("prod replicates the vault to the replica region with its own key; without replicaRegion there is no replica", () => {
  const [rep] = ofType(prod.resources, T.replication);
  assert.ok(rep);
  const [vault] = byRole(prod.resources, "backups");
  const [replica] = byRole(prod.resources, "backups-replica");
  assert.equal(rep.inputs.bucket, `${vault!.name}-id`);
  const rule = rep.inputs.rules[0];
  assert.equal(rule.destination.bucket, `arn:aws:mock:::${replica!.name}`);
  assert.equal(
    rule.destination.encryptionConfiguration.replicaKmsKeyId,
    "arn:aws:mock:::jarvis-prod-vault-replica-key",
  );
  assert.equal(rule.sourceSelectionCriteria.sseKmsEncryptedObjects.status, "Enabled");
  const provider = prod.resources.find(
    (r) => r.type === "pulumi:providers:aws" && r.name === "jarvis-prod-vault-replica-region",
  );
  assert.equal(provider?.inputs.region, "eu-central-1");
  // The variant has no replicaRegion and names its own KMS key: no replica, no key created.
  assert.equal(byRole(variant.resources, "backups-replica").length, 0);
  assert.equal(ofType(variant.resources, T.replication).length, 0);
  assert.equal(ofType(variant.resources, T.kmsKey).length, 0);
  for (const b of ofType(variant.resources, T.bucket)) {
    assert.equal(
      one(variant.resources, b, T.sse).inputs.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId,
      variantConfig["jarvis:backup"].storage.kmsKeyArn,
    );
  }
});

test("the backup writer may put, get and list its own prefixes only, and delete nothing", () => {
  const users = ofType(prod.resources, T.user);
  const writer = users.find((u) => u.inputs.tags["jarvis:role"] === "backup-writer")!;
  const policy = ofType(prod.resources, T.userPolicy).find((p) => p.inputs.user === writer.inputs.name)!;
  const st = statements(policy);
  const actions = st.flatMap((s) => s.Action);
  assert.ok(!actions.some((a: string) => /Delete|\*/.test(a)), `no delete or wildcard: ${actions}`);
  assert.ok(st.every((s) => s.Effect === "Allow"));
  const objects = st.find((s) => s.Action.includes("s3:PutObject"));
  assert.deepEqual(
    objects.Resource,
    TIER_NAMES.map((t) => `arn:aws:mock:::jarvis-prod-vault-backups/${BACKUP_PREFIXES[t]}*`),
  );
  const listing = st.find((s) => s.Action.includes("s3:ListBucket"));
  assert.deepEqual(
    listing.Condition.StringLike["s3:prefix"],
    TIER_NAMES.map((t) => `${BACKUP_PREFIXES[t]}*`),
  );
  // pgBackRest's user may delete current files (it expires its own backups) but never versions.
  const pgbr = users.find((u) => u.inputs.tags["jarvis:role"] === "pgbackrest-writer")!;
  const pgActions = statements(
    ofType(prod.resources, T.userPolicy).find((p) => p.inputs.user === pgbr.inputs.name)!,
  ).flatMap((s) => s.Action);
  assert.ok(pgActions.includes("s3:DeleteObject"));
  assert.ok(!pgActions.includes("s3:DeleteObjectVersion"));
  assert.equal(ofType(prod.resources, T.accessKey).length, 2);
});

test("bucket names are unique per stack: a prefix with the stack's name and a provider-generated suffix", () => {
  const prefixes = (rs: Rendered[]) =>
    ofType(rs, T.bucket)
      .map((b) => b.inputs.bucketPrefix)
      .sort();
  assert.deepEqual(prefixes(dev.resources), ["jarvis-dev-backups-", "jarvis-dev-pgbackrest-"]);
  assert.deepEqual(prefixes(otherStack.resources), ["jarvis-qa-backups-", "jarvis-qa-pgbackrest-"]);
  assert.deepEqual(prefixes(prod.resources), [
    "jarvis-prod-backups-",
    "jarvis-prod-pgbackrest-",
    "jarvis-prod-replica-",
  ]);
  for (const b of ofType(prod.resources, T.bucket))
    assert.ok(b.inputs.bucketPrefix.length <= 37, "room for the 26-character suffix");
});

test("bucket names and writer credentials are stack outputs, secret keys redacted", () => {
  assert.equal(devOutputs.code, 0, devOutputs.stderr);
  assert.equal(prodOutputs.code, 0, prodOutputs.stderr);
  const d = JSON.parse(devOutputs.stdout);
  const p = JSON.parse(prodOutputs.stdout);
  assert.equal(d.backupBucket, "jarvis-dev-vault-backups");
  assert.equal(d.pgbackrestBucket, "jarvis-dev-vault-pgbackrest");
  assert.match(d.devS3CaCert, /cert/);
  assert.equal(p.backupReplicaBucket, "jarvis-prod-vault-replica");
  assert.equal(p.backupWriterSecretAccessKey, "[secret]");
  assert.equal(p.pgbackrestSecretAccessKey, "[secret]");
  assert.ok(!prodOutputs.stdout.includes("mock-secret-"), "access key secrets never in the clear");
});

test("a transition on or after its expiration is refused with the key named (exit 2)", () => {
  assert.equal(badTransition.code, 2, badTransition.stderr);
  assert.match(
    badTransition.stderr,
    /jarvis:backup\.retention\.monthly\.glacierAfterDays: transition at day 90 is not before expiration at day 60/,
  );
  assert.equal(badTransition.stdout, "");
});

test("an object lock longer than the shortest expiration is refused with the key named (exit 2)", () => {
  assert.equal(badLock.code, 2, badLock.stderr);
  assert.match(
    badLock.stderr,
    /jarvis:backup\.objectLock\.days: a lock of 6 days outlasts the shortest expiration in the bucket \(5 days\)/,
  );
});

// --- the pure functions -------------------------------------------------------------------------

test("transitionPlan keeps a transition only where the tier lives long enough after it", () => {
  const backup = backupOf({ "jarvis:environment": "dev" });
  const r = {
    ...backup.retention,
    weekly: { days: 50, infrequentAccessAfterDays: 30, glacierAfterDays: null },
    chroma: { days: 100, infrequentAccessAfterDays: null, glacierAfterDays: 20 },
  };
  const plan = transitionPlan(r);
  const weekly = plan.find((d) => d.tier === "weekly")!;
  assert.equal(weekly.kept, false);
  assert.match(weekly.reason!, /20 days in STANDARD_IA, less than its 30-day minimum/);
  assert.equal(plan.find((d) => d.tier === "chroma")!.kept, false, "GLACIER_IR needs 90 days");
  assert.ok(plan.filter((d) => d.tier === "monthly").every((d) => d.kept));
  assert.ok(transitionPlan(r, S3_COMPATIBLE_LIFECYCLE).every((d) => !d.kept));
  const rules = lifecycleRules(r);
  assert.equal(rules.find((x) => x.filter.prefix === BACKUP_PREFIXES.weekly)!.transitions, undefined);
});

test("pgBackRest retention derives from the same policy: fulls by time for weekly.days, one diff a day for daily.days", () => {
  const backup = backupOf(stackConfig("prod"));
  assert.deepEqual(pgbackrestRetention(backup), {
    "repo1-retention-full-type": "time",
    "repo1-retention-full": "35",
    "repo1-retention-diff": "14",
    "repo1-retention-archive-type": "full",
  });
  assert.equal(pgbackrestRetention(backupOf(stackConfig("dev")), 2)["repo2-retention-full"], "14");
});

test("existing buckets get object lock in place, without being replaced (objectLockAtCreation: false)", async () => {
  const inPlace = await render([
    "prod",
    "--config",
    stackFile(with_("prod", { objectLockAtCreation: false, objectLock: { enabled: true, days: 7 } })),
  ]);
  assert.equal(inPlace.code, 0, inPlace.stderr);
  const buckets = ofType(inPlace.resources, "aws:s3/bucket:Bucket");
  assert.ok(buckets.length >= 3);
  for (const b of buckets)
    assert.equal(b.inputs.objectLockEnabled, undefined, `${b.name}: created as it was`);
  const locks = ofType(
    inPlace.resources,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  );
  assert.equal(locks.length, 2, "the vault and its replica get their lock configuration");
  for (const l of locks) assert.equal(l.inputs.objectLockEnabled, "Enabled");
  // The committed prod file (lock on, no objectLockAtCreation): the buckets are created locked.
  for (const b of ofType(prod.resources, "aws:s3/bucket:Bucket").filter(
    (x) => !x.name.includes("pgbackrest"),
  ))
    assert.equal(b.inputs.objectLockEnabled, true, b.name);
});

test("the vault keeps its buckets, their policy, lifecycle and versioning, and its KMS keys; prod protects them", () => {
  for (const [stack, rs] of [
    ["dev", dev.resources],
    ["prod", prod.resources],
  ] as const) {
    const storage = rs.filter((r) => r.type.startsWith("aws:s3/bucket") || r.type === "aws:kms/key:Key");
    for (const r of storage) {
      assert.equal(r.options.retainOnDelete, true, `${stack} ${r.name}`);
      assert.equal(Boolean(r.options.protect), stack === "prod", `${stack} ${r.name}`);
    }
    const writers = rs.filter((r) => r.type.startsWith("aws:iam/"));
    for (const w of writers)
      assert.equal(w.options.retainOnDelete, undefined, `${w.name}: credentials are not kept`);
  }
});
