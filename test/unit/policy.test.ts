/**
 * The CrossGuard pack (policy/policies.ts), called directly: the real dev and prod renders pass
 * every policy, and broken copies of them fail the policy that guards what was broken, with the
 * bucket or writer named.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { T, policies } from "../../policy/policies.ts";
import { renderStack, type Rendered } from "../support/render.ts";

const [devRender, prodRender] = await Promise.all([renderStack("dev"), renderStack("prod")]);

/** The render as the engine would hand it to a stack policy: props, provider, dependencies by urn. */
function asStack(rendered: Rendered[]): PolicyResource[] {
  const urn = (r: Rendered) => `urn:pulumi:test::jarvis-data::${r.type}::${r.name}`;
  const providers = new Map(
    rendered.filter((r) => r.type === "pulumi:providers:aws").map((p) => [p.name, p]),
  );
  const defaultAws = [...providers.values()].find((p) => !p.parent)!;
  const replicaAws = [...providers.values()].find((p) => p.parent);
  const buckets = new Map<string, PolicyResource>();
  const out: PolicyResource[] = [];
  for (const r of rendered.filter((x) => x.type.startsWith("aws:") || x.type === T.lifecycleJob)) {
    const inputs = structuredClone(r.inputs);
    const provider =
      replicaAws && r.name.includes("-replica") && !r.name.endsWith("-replication") ? replicaAws : defaultAws;
    const res = {
      type: r.type,
      name: r.name,
      urn: urn(r),
      // A bucket's outputs: its name and id (the mock's), and the rest of its inputs.
      props: r.type === T.bucket ? { ...inputs, id: `${r.name}-id`, bucket: `${r.name}-id` } : inputs,
      provider: { type: provider.type, name: provider.name, urn: urn(provider), props: provider.inputs },
      opts: {},
      dependencies: [],
      propertyDependencies: {},
    } as unknown as PolicyResource;
    if (r.type === T.bucket) buckets.set(`${r.name}-id`, res);
    out.push(res);
  }
  for (const r of out) {
    const b = buckets.get(r.props.bucket);
    if (b && r !== b) r.propertyDependencies.bucket = [b];
    // A lifecycle job names its bucket second in its triggers (components/bucket-lifecycle.ts).
    const jobBucket = r.type === T.lifecycleJob ? buckets.get(`${r.props.triggers?.[1]}-id`) : undefined;
    if (jobBucket) r.propertyDependencies.triggers = [jobBucket];
  }
  return out;
}

interface Violation {
  policy: string;
  message: string;
  urn?: string;
}

async function check(
  resources: PolicyResource[],
  config: Record<string, Record<string, unknown>> = {},
): Promise<Violation[]> {
  const found: Violation[] = [];
  for (const p of policies) {
    const getConfig = <C extends object>() => (config[p.name] ?? {}) as C;
    const notApplicable = (): never => {
      throw new Error("not applicable");
    };
    if ("validateStack" in p) {
      await (p as StackValidationPolicy).validateStack(
        { resources, stackTags: new Map(), getConfig, notApplicable },
        (message, urn) => found.push({ policy: p.name, message, urn }),
      );
    } else {
      const v = (p as ResourceValidationPolicy).validateResource;
      for (const r of resources) {
        for (const fn of Array.isArray(v) ? v : v ? [v] : []) {
          await fn({ ...r, stackTags: new Map(), getConfig, notApplicable } as any, (message) =>
            found.push({ policy: p.name, message, urn: r.urn }),
          );
        }
      }
    }
  }
  return found;
}

const find = (rs: PolicyResource[], type: string, nameEnds: string) => {
  const r = rs.find((x) => x.type === type && x.name.endsWith(nameEnds));
  assert.ok(r, `${type} *${nameEnds}`);
  return r;
};
const policyOf = (r: PolicyResource) => JSON.parse(r.props.policy);
const setPolicy = (r: PolicyResource, doc: unknown) => (r.props.policy = JSON.stringify(doc));
const only = (vs: Violation[], name: string) => vs.filter((v) => v.policy === name);

test("the dev and prod stacks as rendered pass every policy", async () => {
  for (const [name, rendered] of [
    ["dev", devRender],
    ["prod", prodRender],
  ] as const) {
    const stack = asStack(rendered);
    assert.ok(stack.filter((r) => r.type === T.bucket).length >= 2, `${name} has buckets`);
    assert.deepEqual(await check(stack), [], `${name} is clean`);
  }
});

test("a bucket without versioning, with AES256 on AWS, or without TLS-only policy is reported by name", async () => {
  const stack = asStack(prodRender);
  stack.splice(stack.indexOf(find(stack, T.versioning, "vault-pgbackrest-versioning")), 1);
  find(stack, T.sse, "vault-backups-sse").props.rules = [
    { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
  ];
  const pol = find(stack, T.policy, "vault-replica-policy");
  const doc = policyOf(pol);
  setPolicy(pol, { ...doc, Statement: doc.Statement.filter((s: any) => s.Sid !== "DenyInsecureTransport") });
  const v = await check(stack);
  assert.deepEqual(
    only(v, "s3-bucket-versioned").map((x) => x.message),
    [
      "bucket jarvis-prod-vault-pgbackrest-id: versioning is not Enabled; add an aws.s3.BucketVersioning with status Enabled",
    ],
  );
  assert.match(
    only(v, "s3-bucket-encrypted")[0]!.message,
    /jarvis-prod-vault-backups-id: encrypted with AES256; on AWS backups use a KMS key/,
  );
  assert.equal(only(v, "s3-bucket-tls-only").length, 1);
  assert.match(only(v, "s3-bucket-tls-only")[0]!.message, /jarvis-prod-vault-replica-id/);
  assert.equal(only(v, "s3-bucket-tls-only")[0]!.urn, find(stack, T.bucket, "vault-replica").urn);
  assert.equal(v.length, 3, JSON.stringify(v, null, 1));
});

test("on AWS a missing public-access flag or ownership control is reported; on the S3-compatible dev server they are not required", async () => {
  const stack = asStack(prodRender);
  find(stack, T.publicAccess, "vault-backups-public-access").props.restrictPublicBuckets = false;
  stack.splice(stack.indexOf(find(stack, T.ownership, "vault-pgbackrest-ownership")), 1);
  const v = await check(stack);
  assert.match(only(v, "s3-bucket-public-access-blocked")[0]!.message, /leaves restrictPublicBuckets off/);
  assert.match(
    only(v, "s3-bucket-owner-enforced")[0]!.message,
    /jarvis-prod-vault-pgbackrest-id: object ownership is not BucketOwnerEnforced/,
  );
  assert.equal(v.length, 2);
  // dev has neither, and its buckets sit behind a custom S3 endpoint: no violation.
  const dev = asStack(devRender);
  assert.equal(dev.filter((r) => r.type === T.publicAccess || r.type === T.ownership).length, 0);
  assert.deepEqual(await check(dev), []);
  // The same dev buckets on a plain AWS provider are reported.
  for (const r of dev) r.provider = { ...r.provider!, props: { region: "us-east-1" } };
  const onAws = await check(dev);
  assert.equal(only(onAws, "s3-bucket-public-access-blocked").length, 2);
  assert.equal(only(onAws, "s3-bucket-owner-enforced").length, 2);
  assert.equal(only(onAws, "s3-bucket-encrypted").length, 2, "AES256 is not enough on AWS");
});

test("a vault policy that stops denying DeleteObject to everyone is reported; the repository must still deny version deletes", async () => {
  const stack = asStack(prodRender);
  const vault = find(stack, T.policy, "vault-backups-policy");
  const doc = policyOf(vault);
  doc.Statement[1].Action = ["s3:DeleteBucket"];
  setPolicy(vault, doc);
  const repo = find(stack, T.policy, "vault-pgbackrest-policy");
  const rdoc = policyOf(repo);
  rdoc.Statement[1].Principal = { AWS: ["arn:aws:iam::111122223333:user/someone"] };
  setPolicy(repo, rdoc);
  const v = only(await check(stack), "backup-bucket-deletes-denied");
  assert.deepEqual(v.map((x) => x.message).sort(), [
    "bucket jarvis-prod-vault-backups-id: role backups: the bucket policy does not deny s3:DeleteObject, s3:DeleteObjectVersion to Principal *; add an unconditional Deny",
    "bucket jarvis-prod-vault-pgbackrest-id: role pgbackrest: the bucket policy does not deny s3:DeleteObjectVersion, s3:DeleteBucket to Principal *; add an unconditional Deny",
  ]);
});

test("an expiration rule or a lock on the pgBackRest repository is reported", async () => {
  const stack = asStack(prodRender);
  const lc = find(stack, T.lifecycle, "vault-pgbackrest-lifecycle");
  lc.props.rules = [
    ...lc.props.rules,
    { id: "expire-old", status: "Enabled", filter: { prefix: "" }, expiration: { days: 30 } },
  ];
  find(stack, T.bucket, "vault-pgbackrest").props.objectLockEnabled = true;
  const v = only(await check(stack), "pgbackrest-repository-not-expired");
  assert.deepEqual(
    v.map((x) => x.message),
    [
      "bucket jarvis-prod-vault-pgbackrest-id: lifecycle rule expire-old expires or moves current objects; pgBackRest expires its own files, remove the rule",
      "bucket jarvis-prod-vault-pgbackrest-id: object lock is on; pgBackRest cannot expire locked files, leave the repository unlocked",
    ],
  );
});

test("a vault lock longer than its shortest expiration, or no lock on AWS, is reported (unless the pack's config waives it)", async () => {
  const stack = asStack(prodRender);
  find(stack, T.lock, "vault-backups-lock").props.rule.defaultRetention.days = 30;
  const replicaLock = find(stack, T.lock, "vault-replica-lock");
  stack.splice(stack.indexOf(replicaLock), 1);
  const v = only(await check(stack), "backup-vault-object-lock");
  assert.equal(v.length, 2, JSON.stringify(v));
  assert.match(
    v[0]!.message + v[1]!.message,
    /default retention 30 days outlasts the shortest expiration \(14 days\)/,
  );
  assert.match(v[0]!.message + v[1]!.message, /jarvis-prod-vault-replica-id: no object lock/);
  const waived = only(
    await check(stack, { "backup-vault-object-lock": { requireOnAws: false } }),
    "backup-vault-object-lock",
  );
  assert.equal(waived.length, 1, "only the too-long lock remains");
});

test("a backup writer allowed to delete, or granted the whole bucket, is reported", async () => {
  const stack = asStack(prodRender);
  const writer = stack.find((r) => r.type === T.userPolicy && r.props.user === "jarvis-prod-backup-writer")!;
  const doc = policyOf(writer);
  doc.Statement.push({
    Sid: "Oops",
    Effect: "Allow",
    Action: ["s3:DeleteObject", "s3:GetObject"],
    Resource: ["arn:aws:mock:::jarvis-prod-vault-backups/*"],
  });
  setPolicy(writer, doc);
  const pgbr = stack.find((r) => r.type === T.userPolicy && r.props.user === "jarvis-prod-pgbackrest")!;
  const pdoc = policyOf(pgbr);
  pdoc.Statement[1].Action.push("s3:DeleteObjectVersion");
  setPolicy(pgbr, pdoc);
  const v = only(await check(stack), "backup-writer-least-privilege");
  const messages = v.map((x) => x.message).sort();
  assert.deepEqual(messages, [
    "backup-writer jarvis-prod-backup-writer: statement Oops allows s3:DeleteObject; remove them",
    "backup-writer jarvis-prod-backup-writer: statement Oops covers the whole bucket (arn:aws:mock:::jarvis-prod-vault-backups/*); restrict it to the writer's prefixes",
    "pgbackrest-writer jarvis-prod-pgbackrest: statement ManageRepositoryFiles allows s3:DeleteObjectVersion; remove them",
  ]);
  assert.ok(v.every((x) => x.urn === writer.urn || x.urn === pgbr.urn));
});

test("a lifecycle transition on or after expiration, or no multipart abort on AWS, is reported", async () => {
  const stack = asStack(prodRender);
  const lc = find(stack, T.lifecycle, "vault-backups-lifecycle");
  const monthly = lc.props.rules.find((r: any) => r.filter.prefix === "postgres/logical/monthly/");
  monthly.transitions = [{ days: 400, storageClass: "GLACIER_IR" }];
  for (const r of find(stack, T.lifecycle, "vault-replica-lifecycle").props.rules)
    delete r.abortIncompleteMultipartUpload;
  const v = await check(stack);
  assert.deepEqual(
    only(v, "s3-lifecycle-transition-before-expiration").map((x) => x.message),
    [
      "rule monthly-expire-after-365d: transition to GLACIER_IR at day 400 is not before expiration at day 365",
    ],
  );
  assert.deepEqual(
    only(v, "s3-bucket-lifecycle-housekeeping").map((x) => x.message),
    ["bucket jarvis-prod-vault-replica-id: no rule aborts incomplete multipart uploads within 1 day"],
  );
});
