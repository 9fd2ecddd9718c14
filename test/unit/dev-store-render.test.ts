/**
 * The dev object store and its lifecycle rules, read from the render (issue 15, item 2):
 * - no `minio/minio` image on either stack; RustFS, pinned, serves HTTPS with the stack's CA and
 *   reads its secrets from files; MinIO remains an opt-in;
 * - no aws-provider lifecycle resource on the dev store (the bundled provider never converges
 *   there: the finding is encoded below), but one job per bucket, keyed on the hash of the rules
 *   that settings/lifecycle.ts gives, which prod's aws resources also use.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import YAML from "yaml";
import { parseConfig } from "../../config/schema.ts";
import { diffLifecycle, lifecycleRulesHash, toS3Rules } from "../../core/storage/lifecycle.ts";
import {
  AWS_LIFECYCLE_ON_S3_COMPATIBLE,
  lifecycleRules,
  repositoryLifecycleRules,
  S3_COMPATIBLE_LIFECYCLE,
} from "../../settings/lifecycle.ts";
import { ofType, renderRaw, renderStack, stackFile, type Rendered } from "../support/render.ts";

const stackConfig = (stack: string): Record<string, any> =>
  YAML.parse(readFileSync(`Pulumi.${stack}.yaml`, "utf8")).config;
const withStorage = (storage: Record<string, unknown>) => {
  const c = stackConfig("dev");
  return {
    ...c,
    "jarvis:backup": { ...c["jarvis:backup"], storage: { ...c["jarvis:backup"].storage, ...storage } },
  };
};

const [dev, prod, devMinio, devOnAws] = await Promise.all([
  renderStack("dev"),
  renderStack("prod"),
  renderStack("dev", withStorage({ provider: "minio" })),
  renderRaw(["dev", "--config", stackFile(withStorage({ provider: "aws" }))]),
]);

const IMAGE = "docker:index/remoteImage:RemoteImage";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const JOB = "command:local:Command";
const store = (rs: Rendered[]) => {
  const c = rs.find((r) => r.type === "docker:index/container:Container" && r.name === "jarvis-dev-s3");
  assert.ok(c, "the dev S3 container");
  return c;
};
const images = (rs: Rendered[]) => ofType(rs, IMAGE).map((r) => String(r.inputs.name));
const devBackup = parseConfig(
  Object.fromEntries(Object.entries(stackConfig("dev")).map(([k, v]) => [k.replace(/^jarvis:/, ""), v])),
).backup;

for (const [stack, rs] of Object.entries({ dev, prod })) {
  test(`${stack}: no minio/minio image is pulled by default`, () => {
    assert.ok(images(rs).length > 0);
    assert.deepEqual(
      images(rs).filter((i) => /(^|\/)minio\/minio(:|@|$)/.test(i)),
      [],
    );
  });
}

test("dev: the store is RustFS at a pinned version, over HTTPS with the stack's CA, secrets only in files", () => {
  const image = images(dev).find((i) => i.startsWith("rustfs/rustfs:"));
  assert.match(image ?? "", /^rustfs\/rustfs:\d+\.\d+\.\d+$/, "a pinned release, not latest");
  const c = store(dev);
  const envs: string[] = c.inputs.envs;
  assert.ok(envs.includes("RUSTFS_TLS_PATH=/certs"));
  assert.ok(envs.includes("RUSTFS_SECRET_KEY_FILE=/run/secrets/rustfs_secret_key"));
  assert.ok(envs.includes("RUSTFS_KMS_STATIC_SECRET_KEY_FILE=/run/secrets/rustfs_kms_key"));
  assert.ok(envs.includes("RUSTFS_CONSOLE_ENABLE=false"), "no web console");
  for (const e of envs)
    assert.doesNotMatch(
      e,
      /^RUSTFS_(SECRET_KEY|KMS_STATIC_SECRET_KEY|KMS_LOCAL_MASTER_KEY)=/,
      "no secret in env",
    );
  assert.equal(c.inputs.uploads, "[secret]", "uploads carry the private key and are secret");
  assert.deepEqual(c.inputs.healthcheck.tests.slice(-3), [
    "--cacert",
    "/certs/ca.crt",
    "https://localhost:9000/health",
  ]);
  assert.deepEqual(c.inputs.ports, [{ internal: 9000, external: 9000, ip: "127.0.0.1", protocol: "tcp" }]);
  const csr = dev.find((r) => r.type === "tls:index/certRequest:CertRequest")!;
  assert.ok(csr.inputs.dnsNames.includes("s3") && csr.inputs.dnsNames.includes("localhost"));
  assert.ok(csr.inputs.ipAddresses.includes("127.0.0.1"));
  assert.equal(csr.inputs.privateKeyPem, "[secret]");
  const signed = dev.find((r) => r.type === "tls:index/locallySignedCert:LocallySignedCert")!;
  assert.ok(signed.inputs.allowedUses.includes("server_auth"));
  assert.equal(signed.inputs.caPrivateKeyPem, "[secret]");
  assert.ok(!JSON.stringify(dev).includes("mock-private-key"), "no private key in the clear anywhere");
  const provider = dev.find((r) => r.type === "pulumi:providers:aws")!;
  assert.deepEqual(JSON.parse(provider.inputs.endpoints), [{ s3: "https://127.0.0.1:9000" }]);
});

test("dev: MinIO stays an opt-in (provider: minio), with its own image and HTTPS; dev refuses aws", () => {
  assert.deepEqual(
    images(devMinio).filter((i) => i.startsWith("minio/") || i.startsWith("rustfs/")),
    [devBackup.storage.minioImage],
  );
  const c = store(devMinio);
  assert.deepEqual(c.inputs.command.slice(-2), ["--certs-dir", "/certs"]);
  assert.ok(c.inputs.envs.includes("MINIO_KMS_SECRET_KEY_FILE=/run/secrets/minio_kms_secret_key"));
  assert.ok(!c.inputs.envs.some((e: string) => /PASSWORD=|SECRET_KEY=/.test(e)), "no secret in env");
  assert.equal(devOnAws.code, 2, devOnAws.stderr);
  assert.match(
    devOnAws.stderr,
    /jarvis:backup\.storage\.provider: dev stores backups .* must be rustfs \(default\) or minio/,
  );
});

test("the bundled aws provider's lifecycle resource does not converge on S3-compatible servers: the decision holds for the installed @pulumi/aws", () => {
  const installed = JSON.parse(readFileSync("node_modules/@pulumi/aws/package.json", "utf8")).version;
  assert.equal(
    installed,
    AWS_LIFECYCLE_ON_S3_COMPATIBLE.pulumiAws,
    `@pulumi/aws is now ${installed}: check whether the terraform-provider-aws it bundles fixes #49019/#46021 ` +
      "(docs/backup-storage.md), then update AWS_LIFECYCLE_ON_S3_COMPATIBLE in settings/lifecycle.ts and the docs",
  );
  assert.equal(AWS_LIFECYCLE_ON_S3_COMPATIBLE.converges, false);
  const docs = readFileSync("docs/backup-storage.md", "utf8");
  for (const cited of ["#49019", "#46021", "#49021", AWS_LIFECYCLE_ON_S3_COMPATIBLE.pulumiAws])
    assert.ok(docs.includes(cited), `docs/backup-storage.md cites ${cited}`);
});

/** The lifecycle jobs: ops jobs (components/ops-job.ts) that run `storage lifecycle apply`. */
const lifecycleJobs = (rs: Rendered[]) =>
  ofType(rs, JOB).filter((j) => / storage lifecycle apply /.test(String(j.inputs.create)));

test("dev: no aws lifecycle resource; one job per bucket applies settings/lifecycle.ts's rules, keyed on their hash", () => {
  assert.deepEqual(ofType(dev, LIFECYCLE), [], "no BucketLifecycleConfiguration on the dev store");
  const jobs = lifecycleJobs(dev);
  const wanted = {
    "jarvis-dev-vault-backups": lifecycleRules(devBackup.retention, S3_COMPATIBLE_LIFECYCLE),
    "jarvis-dev-vault-pgbackrest": repositoryLifecycleRules(devBackup.retention, S3_COMPATIBLE_LIFECYCLE),
  };
  assert.deepEqual(jobs.map((j) => j.inputs.triggers[1]).sort(), Object.keys(wanted).sort());
  assert.deepEqual(
    ofType(dev, JOB)
      .filter((j) => j.parent === "jarvis-dev-lifecycle")
      .map((j) => j.name)
      .sort(),
    jobs.map((j) => j.name).sort(),
  );
  for (const [bucket, rules] of Object.entries(wanted)) {
    const job = jobs.find((j) => j.inputs.triggers[1] === bucket)!;
    assert.deepEqual(JSON.parse(job.inputs.triggers[3]), rules, `${bucket}: the rules are the settings'`);
    assert.equal(
      job.inputs.triggers[0],
      lifecycleRulesHash(rules),
      `${bucket}: re-runs when the rules change`,
    );
    assert.equal(job.inputs.triggers[2], "https://s3:9000", "the store as the private network reaches it");
    // The same mechanism as the other jobs: docker run --rm of the ops image, on the private network.
    assert.match(job.inputs.create, /^docker rm --force \S+ >\/dev\/null 2>&1 \|\| true\ndocker run --rm /);
    assert.match(job.inputs.create, / --network jarvis-dev-net /);
    assert.match(
      job.inputs.create,
      new RegExp(
        `jarvis-data storage lifecycle apply --json --bucket ${bucket} ` +
          "--rules-file /run/jarvis/lifecycle-rules.json --ca-file /run/jarvis/s3-ca.pem",
      ),
    );
    assert.match(job.inputs.create, /AWS_SHARED_CREDENTIALS_FILE=\/run\/secrets\/aws_credentials/);
    assert.doesNotMatch(job.inputs.create, /AWS_SECRET_ACCESS_KEY|aws_secret_access_key/);
    assert.equal(job.inputs.stdin, "[secret]", "the keys reach the job as a secret file on stdin");
    assert.equal(job.inputs.delete, undefined, "on destroy the rules stay with the retained bucket");
    for (const after of [
      "jarvis-dev-vault-backups-versioning",
      "jarvis-dev-vault-pgbackrest-versioning",
      "jarvis-dev-s3",
    ])
      assert.ok(job.options.dependsOn?.includes(after), `after ${after}`);
    assert.ok(!job.options.dependsOn?.includes("jarvis-dev-postgres-roles"), "not after the roles job");
  }
});

test("prod: lifecycle stays with the aws provider (AWS returns what it waits for), and no job", () => {
  assert.ok(ofType(prod, JOB).length > 0, "prod has its other jobs");
  assert.deepEqual(lifecycleJobs(prod), []);
  assert.equal(ofType(prod, LIFECYCLE).length, 3, "vault, repository and replica");
});

test("the read-back comparison: a server's legacy Prefix equals Filter.Prefix; missing, extra and changed rules are named", () => {
  const rules = repositoryLifecycleRules(devBackup.retention, S3_COMPATIBLE_LIFECYCLE);
  const sent = toS3Rules(rules);
  // Ceph answers with the legacy top-level Prefix and no Filter: the same rule.
  const legacy = sent.map(({ Filter, ...r }) => ({ ...r, Prefix: Filter?.Prefix }));
  assert.deepEqual(diffLifecycle(rules, legacy), []);
  assert.deepEqual(diffLifecycle(rules, []), [
    { rule: "noncurrent-versions-only", field: "rule", wanted: "present", got: "absent" },
  ]);
  const other = devBackup.retention.noncurrentDays + 5;
  const changed = sent.map((r) => ({ ...r, NoncurrentVersionExpiration: { NoncurrentDays: other } }));
  assert.deepEqual(diffLifecycle(rules, [...changed, { ID: "stray", Status: "Enabled" }]), [
    {
      rule: "noncurrent-versions-only",
      field: "noncurrentDays",
      wanted: devBackup.retention.noncurrentDays,
      got: other,
    },
    { rule: "stray", field: "rule", wanted: "absent", got: "present" },
  ]);
  assert.notEqual(
    lifecycleRulesHash(rules),
    lifecycleRulesHash(
      repositoryLifecycleRules({ ...devBackup.retention, noncurrentDays: 99 }, S3_COMPATIBLE_LIFECYCLE),
    ),
    "another retention, another hash: the job runs again",
  );
});
