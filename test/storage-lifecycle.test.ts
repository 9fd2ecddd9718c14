/**
 * The dev store's lifecycle job against a real S3 server that keeps lifecycle rules (Ceph's
 * radosgw: test/harness/rgw.ts; s3rver answers NotImplemented to `?lifecycle`): the rules from
 * settings/lifecycle.ts are applied, read back, and a server that keeps other rules is reported.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Agent } from "node:https";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { startRgw, type RgwServer } from "./harness/rgw.ts";
import { startPostgres, testConfig } from "./harness/index.ts";
import { pgbackrestDirs, writeS3RepoConfig } from "./harness/pgbackrest.ts";
import { PgBackRest } from "../core/backup/pgbackrest.ts";
import { withClient } from "../core/pg.ts";
import {
  applyLifecycle,
  canonicalRule,
  checkLifecycle,
  lifecycleRulesHash,
  LifecycleMismatchError,
  readLifecycle,
  toS3Rules,
} from "../core/storage/lifecycle.ts";
import {
  lifecycleRules,
  repositoryLifecycleRules,
  S3_COMPATIBLE_LIFECYCLE,
  type LifecycleRule,
} from "../settings/lifecycle.ts";
import { storageLifecycleApply, storageLifecycleCheck } from "../cli/commands/storage.ts";
import { silentLogger } from "../core/log.ts";
import type { Command } from "../cli/command.ts";
import {
  awsCredentialsFile,
  LIFECYCLE_CA_FILE,
  LIFECYCLE_RULES_FILE,
  lifecycleCommand,
  lifecycleEnvs,
} from "../components/bucket-lifecycle.ts";

let rgw: RgwServer;
let s3: S3Client;
before(async () => {
  rgw = await startRgw();
  s3 = new S3Client({
    endpoint: rgw.endpoint,
    region: rgw.region,
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    requestHandler: { httpsAgent: new Agent({ ca: rgw.caPem }) },
  });
});
after(() => rgw?.stop());

const retention = testConfig().backup.retention;
const vaultRules = lifecycleRules(retention, S3_COMPATIBLE_LIFECYCLE);
const repositoryRules = repositoryLifecycleRules(retention, S3_COMPATIBLE_LIFECYCLE);

/** A versioned bucket of its own, as BackupVault creates them. */
async function newBucket(): Promise<string> {
  const bucket = `lc-${randomBytes(5).toString("hex")}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
  );
  return bucket;
}

async function runCommand(cmd: Command, opts: Record<string, string>) {
  const printed: unknown[] = [];
  const code = await cmd.run({
    args: [],
    options: { "ca-file": rgw.caFile, ...opts },
    json: true,
    log: silentLogger,
    env: {
      s3: {
        endpoint: rgw.endpoint,
        region: rgw.region,
        accessKeyId: rgw.accessKeyId,
        secretAccessKey: rgw.secretAccessKey,
      },
    },
    print: (r) => printed.push(r),
  });
  return { code, printed };
}

function rulesFile(rules: LifecycleRule[]): string {
  const file = join(mkdtempSync(join(tmpdir(), "jarvis-lc-")), "rules.json");
  writeFileSync(file, JSON.stringify(rules));
  return file;
}

test("the vault's and the repository's rules from settings/lifecycle.ts are applied and read back as sent", async () => {
  for (const rules of [vaultRules, repositoryRules]) {
    const bucket = await newBucket();
    const applied = await applyLifecycle(s3, bucket, rules);
    assert.equal(applied.rules, rules.length);
    assert.equal(applied.hash, lifecycleRulesHash(rules));
    const kept = (await readLifecycle(s3, bucket)).map(canonicalRule);
    assert.deepEqual(
      kept.sort((a, b) => a.id.localeCompare(b.id)),
      toS3Rules(rules)
        .map(canonicalRule)
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
  }
  // What the server now enforces, in the retention policy's own figures.
  const bucket = await newBucket();
  await applyLifecycle(s3, bucket, vaultRules);
  const daily = (await readLifecycle(s3, bucket)).map(canonicalRule).find((r) => r.id.startsWith("daily-"))!;
  assert.equal(daily.expirationDays, retention.daily.days);
  assert.equal(daily.prefix, "postgres/logical/daily/");
  assert.equal(daily.noncurrentDays, retention.noncurrentDays);
});

test("rules on the server that differ from the wanted ones are reported, naming the rule and the field", async () => {
  const bucket = await newBucket();
  await applyLifecycle(s3, bucket, vaultRules);
  // Someone (or a server that rewrites what it accepts) leaves other rules on the bucket.
  const drifted = toS3Rules(vaultRules)
    .filter((r) => r.ID !== "housekeeping")
    .map((r) => (r.ID!.startsWith("daily-") ? { ...r, Expiration: { Days: retention.daily.days + 30 } } : r));
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: { Rules: drifted },
    }),
  );
  await assert.rejects(checkLifecycle(s3, bucket, vaultRules), (e: unknown) => {
    assert.ok(e instanceof LifecycleMismatchError);
    assert.equal(e.code, "JARVIS_LIFECYCLE_MISMATCH");
    const dailyId = vaultRules.find((r) => r.id.startsWith("daily-"))!.id;
    assert.deepEqual(
      e.differences.map((d) => `${d.rule}.${d.field}`).sort(),
      [`${dailyId}.expirationDays`, "housekeeping.rule"].sort(),
    );
    assert.match(
      e.message,
      new RegExp(
        `${dailyId}\\.expirationDays: wanted ${retention.daily.days}, server has ${retention.daily.days + 30}`,
      ),
    );
    return true;
  });
});

test("the CLI job applies from a rules file, and its check fails (exit 1 by code) once the bucket drifts", async () => {
  const bucket = await newBucket();
  const file = rulesFile(repositoryRules);
  const applied = await runCommand(storageLifecycleApply, { bucket, "rules-file": file });
  assert.equal(applied.code, 0);
  assert.deepEqual(applied.printed[0], { bucket, rules: 1, hash: lifecycleRulesHash(repositoryRules) });
  assert.equal((await runCommand(storageLifecycleCheck, { bucket, "rules-file": file })).code, 0);
  const other = repositoryRules.map((r) => ({ ...r, noncurrentVersionExpiration: { noncurrentDays: 99 } }));
  await applyLifecycle(s3, bucket, other);
  await assert.rejects(runCommand(storageLifecycleCheck, { bucket, "rules-file": file }), {
    code: "JARVIS_LIFECYCLE_MISMATCH",
    exitCode: 1,
  });
});

test("a rules file that is not a list of lifecycle rules is a usage error naming the field", async () => {
  const file = rulesFile([{ ...vaultRules[0]!, expiration: { days: 0 } }]);
  await assert.rejects(runCommand(storageLifecycleApply, { bucket: "any", "rules-file": file }), (e: any) => {
    assert.equal(e.code, "JARVIS_USAGE");
    assert.match(e.message, /0\.expiration\.days/);
    return true;
  });
});

test("the stack's lifecycle job (components/bucket-lifecycle.ts) applies its rules file through the CLI", async () => {
  const bucket = await newBucket();
  // The job's own command line and environment; its files where the container would have them.
  const dir = mkdtempSync(join(tmpdir(), "jarvis-lifecycle-job-"));
  const at = (f: string) => join(dir, f.split("/").pop()!);
  writeFileSync(at(LIFECYCLE_RULES_FILE), JSON.stringify(vaultRules));
  writeFileSync(at(LIFECYCLE_CA_FILE), rgw.caPem);
  writeFileSync(join(dir, "credentials"), awsCredentialsFile(rgw.accessKeyId, rgw.secretAccessKey));
  const args = lifecycleCommand(bucket).map((a) =>
    a === LIFECYCLE_RULES_FILE || a === LIFECYCLE_CA_FILE ? at(a) : a,
  );
  const envs = lifecycleEnvs(rgw.region, join(dir, "credentials")).map((e) => e.split("=", 2));
  const env: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries(envs) };
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"]) delete env[k];
  const run = spawnSync("node", ["bin/jarvis-data.js", ...args], {
    cwd: resolve(import.meta.dirname, ".."),
    encoding: "utf8",
    timeout: 60_000,
    env: { ...env, JARVIS_S3_ENDPOINT: rgw.endpoint },
  });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    bucket,
    rules: vaultRules.length,
    hash: lifecycleRulesHash(vaultRules),
  });
  await checkLifecycle(s3, bucket, vaultRules);
});

test("pgBackRest's repository, WAL archiving and backups work on a versioned S3-compatible bucket over TLS, path-style, with the repository's rules", async (t) => {
  const bucket = await newBucket();
  await applyLifecycle(s3, bucket, repositoryRules);
  const dirs = pgbackrestDirs("jarvis-pgbr-rgw");
  const pgbr = new PgBackRest({ configPath: dirs.confDir, stanza: "jarvis", ...dirs.ids });
  t.after(() => rmSync(dirs.work, { recursive: true, force: true }));
  const pg = await startPostgres({ settings: { archive_command: pgbr.archiveCommand() } });
  t.after(() => pg.stop());
  // What settings/pgbackrest.ts writes for the dev store: path style, TLS verified with the CA file.
  writeS3RepoConfig(dirs, pg, "jarvis", { bucket, server: rgw, caFile: rgw.caFile });
  await pgbr.stanzaCreate();
  await pgbr.check(); // a WAL segment pushed through archive_command
  const full = await pgbr.backup("full");
  await withClient(pg.url("jarvis"), async (c) => {
    await c.query("create table on_rgw (id int primary key)");
    await c.query("insert into on_rgw select generate_series(1, 1000)");
    await c.query("select pg_switch_wal()");
  });
  await pgbr.check();
  const diff = await pgbr.backup("diff");
  const info = await pgbr.stanzaInfo();
  assert.deepEqual(
    info.backups.map((b) => b.type),
    ["full", "diff"],
  );
  assert.ok(diff.label.startsWith(`${full.label}_`), "the differential is based on the full");
  assert.ok(info.archiveMax, "WAL is in the repository");
  const keys =
    (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key!) ?? [];
  assert.ok(
    keys.some((k) => /(^|\/)archive\/jarvis\//.test(k)),
    "archived WAL on the bucket",
  );
  assert.ok(
    keys.some((k) => k.includes(`backup/jarvis/${full.label}/`)),
    "the full backup on the bucket",
  );
  await checkLifecycle(s3, bucket, repositoryRules);
});
