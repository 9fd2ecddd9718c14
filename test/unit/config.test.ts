import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, parseConfig } from "../../config/schema.ts";
import { cronProblem } from "../../config/cron.ts";
import { decodeConfigMap } from "../../config/pulumi.ts";
import { readStackFile } from "../../config/stackfile.ts";
import { renderRaw, stackFile } from "../support/render.ts";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import YAML from "yaml";
import { replacingChanges } from "../../config/immutable.ts";
import { dockerProxyUser, nodeExporterHostMounts } from "../../settings/containers.ts";

function problems(raw: Record<string, unknown>): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.problems;
  }
  assert.fail("config was accepted");
}

test("defaults are the audit's figures", () => {
  const c = parseConfig({ environment: "dev" });
  assert.equal(c.redis.maxmemoryMb, 256); // A13
  assert.equal(c.redis.maxmemoryPolicy, "allkeys-lru");
  assert.equal(c.redis.tempKeyTtlSeconds, 3600);
  assert.equal(c.logs.maxSizeMb, 10); // A12
  assert.deepEqual(c.logs.retentionDays, { default: 30, api: 14, memory: 30, voice: 7, performance: 14 });
  assert.deepEqual(c.retention.conversations, { days: 180, importanceThreshold: 0.5, schedule: "0 2 * * 0" }); // A14
  assert.deepEqual(c.retention.memory.categories, {
    conversations: { days: 180, importanceThreshold: 0.3 },
    commands: { days: 90, importanceThreshold: 0.2 },
    preferences: { days: 365, importanceThreshold: 0 },
    patterns: { days: 120, importanceThreshold: 0.4 },
    knowledge: { days: 365, importanceThreshold: 0.5 },
  }); // A15
  assert.equal(c.retention.vacuum.schedule, "0 4 1 * *"); // A16 monthly
  assert.equal(c.backup.schedules.postgresFull, "0 2 * * 0"); // A1 Sunday 02:00
  assert.equal(c.monitoring.diskAlertPercent, 80); // A20
  assert.equal(c.monitoring.memoryAlertPercent, 85);
  assert.ok(c.backup.retention.daily.days >= 7 && c.backup.retention.daily.days <= 30); // A2
  assert.ok(c.backup.retention.weekly.days >= 28);
});

test("a negative retention is rejected, naming the key and the allowed range", () => {
  const p = problems({ environment: "dev", retention: { conversations: { days: -3 } } });
  assert.deepEqual(p, ["jarvis:retention.conversations.days: too small: must be >= 1 (got -3)"]);
});

test("a wrong type is rejected, naming the key and the expected type", () => {
  const p = problems({ environment: "dev", redis: { maxmemoryMb: "256mb" } });
  assert.deepEqual(p, ['jarvis:redis.maxmemoryMb: wrong type: expected number, got string (got "256mb")']);
});

test("an unknown environment is rejected with the allowed values", () => {
  const p = problems({ environment: "staging" });
  assert.deepEqual(p, ['jarvis:environment: must be one of "dev", "prod" (got "staging")']);
});

test("a missing required key is reported as missing", () => {
  const p = problems({});
  assert.deepEqual(p, ['jarvis:environment: required, missing; allowed: "dev", "prod"']);
});

test("an importance threshold above 1 is rejected", () => {
  const p = problems({
    environment: "dev",
    retention: { memory: { categories: { knowledge: { importanceThreshold: 1.5 } } } },
  });
  assert.deepEqual(p, [
    "jarvis:retention.memory.categories.knowledge.importanceThreshold: too big: must be <= 1 (got 1.5)",
  ]);
});

test("every problem is listed at once, unknown keys included", () => {
  const p = problems({
    environment: "dev",
    retention: { conversations: { days: 0, dayz: 3 } },
    redis: { maxmemoryMb: "x" },
    colour: "blue",
  });
  assert.equal(p.length, 4, p.join("\n"));
  assert.ok(p.some((x) => x.startsWith("jarvis:retention.conversations.days:")));
  assert.ok(p.some((x) => x.startsWith('jarvis:retention.conversations: unknown key "dayz"')));
  assert.ok(p.some((x) => x.startsWith("jarvis:redis.maxmemoryMb:")));
  assert.ok(p.some((x) => x.startsWith("jarvis:colour: unknown key")));
});

test("cross-field rules name the key: transition after expiration, lock longer than expiration", () => {
  const p = problems({
    environment: "prod",
    docker: { host: "ssh://deploy@db" },
    backup: {
      storage: { provider: "aws" },
      retention: { monthly: { days: 60, infrequentAccessAfterDays: 90 } },
      objectLock: { enabled: true, days: 30 },
    },
  });
  assert.ok(
    p.some((x) =>
      x.startsWith(
        "jarvis:backup.retention.monthly.infrequentAccessAfterDays: transition at day 90 is not before expiration at day 60",
      ),
    ),
    p.join("\n"),
  );
  assert.ok(
    p.some((x) =>
      x.startsWith("jarvis:backup.objectLock.days: a lock of 30 days outlasts the shortest expiration"),
    ),
    p.join("\n"),
  );
});

test("prod must use a remote Docker host and AWS S3", () => {
  const p = problems({ environment: "prod", backup: { storage: { provider: "minio" } } });
  assert.ok(
    p.includes("jarvis:docker.host: prod runs on a remote Docker host: must be ssh://user@host"),
    p.join("\n"),
  );
  assert.ok(
    p.includes("jarvis:backup.storage.provider: prod stores backups on AWS S3: must be aws"),
    p.join("\n"),
  );
});

test("a non-loopback bind address needs an explicit opt-in", () => {
  const p = problems({ environment: "dev", ports: { bindAddress: "0.0.0.0" } });
  assert.equal(p.length, 1);
  assert.match(p[0]!, /^jarvis:ports\.bindAddress: 0\.0\.0\.0 is not loopback/);
  assert.equal(
    parseConfig({ environment: "dev", ports: { bindAddress: "0.0.0.0", exposeBeyondLoopback: true } }).ports
      .bindAddress,
    "0.0.0.0",
  );
});

test("secret values are never echoed in config errors", () => {
  const p = problems({ environment: "dev", secrets: { postgresApp: "short-pw" } });
  assert.deepEqual(p, ["jarvis:secrets.postgresApp: too small: must be >= 16"]);
  assert.ok(!p.join().includes("short-pw"));
});

test("cron schedules must be portable across pg_cron 1.4 and 1.6", () => {
  assert.equal(cronProblem("0 2 * * 0"), null);
  assert.equal(cronProblem("*/15 1-5 1,15 * 1-6"), null);
  assert.match(cronProblem("30 seconds")!, /fields/);
  assert.match(cronProblem("0 0 2 * * 0")!, /6 fields/);
  assert.match(cronProblem("0 25 * * *")!, /hour 25 is outside 0\.\.23/);
  assert.match(cronProblem("0 2 * * sun")!, /day-of-week "sun"/);
  const p = problems({ environment: "dev", backup: { schedules: { redis: "@daily" } } });
  assert.match(p[0]!, /^jarvis:backup\.schedules\.redis: "@daily" has 1 fields/);
});

test("stack files decode as Pulumi hands them over, secure values as placeholders", () => {
  const path = stackFile({
    "jarvis:environment": "dev",
    "jarvis:redis": { maxmemoryMb: 128, memoryMb: 256 },
    "jarvis:secrets": { postgresApp: { secure: "v1:AAAA" } },
    "other:key": "ignored",
  });
  const { config, secretKeys } = readStackFile(path);
  assert.deepEqual(secretKeys, ["jarvis:secrets"]);
  const c = parseConfig(decodeConfigMap(config));
  assert.equal(c.redis.maxmemoryMb, 128);
  assert.ok(c.secrets.postgresApp && !c.secrets.postgresApp.includes("v1:AAAA"));
});

test("the committed dev and prod stack files are valid", () => {
  for (const stack of ["dev", "prod"]) {
    const c = parseConfig(decodeConfigMap(readStackFile(`Pulumi.${stack}.yaml`).config));
    assert.equal(c.environment, stack);
  }
});

test("render exits 2 and lists the config problems before registering anything", async () => {
  const r = await renderRaw([
    "dev",
    "--config",
    stackFile({ "jarvis:environment": "dev", "jarvis:retention": { conversations: { days: -1 } } }),
  ]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /jarvis:retention\.conversations\.days: too small: must be >= 1 \(got -1\)/);
});

test("dev leaves the Docker host unset (DOCKER_HOST or the CLI context decide); prod still needs ssh://", () => {
  const dev = parseConfig({ environment: "dev" });
  assert.equal(dev.docker.host, undefined);
  assert.equal(dev.docker.platform, "linux/amd64");
  const devFile = parseConfig(decodeConfigMap(readStackFile("Pulumi.dev.yaml").config));
  assert.equal(devFile.docker.host, undefined, "Pulumi.dev.yaml fixes no Docker host");
  assert.ok(
    problems({ environment: "prod", backup: { storage: { provider: "aws" } } }).includes(
      "jarvis:docker.host: prod runs on a remote Docker host: must be ssh://user@host",
    ),
  );
  assert.deepEqual(problems({ environment: "dev", docker: { platform: "linux/s390x" } }), [
    'jarvis:docker.platform: must be linux/amd64 or linux/arm64 (got "linux/s390x")',
  ]);
});

test("node-exporter's host mounts are off in dev and on in prod unless config says otherwise", () => {
  const prod = {
    environment: "prod",
    docker: { host: "ssh://d@h" },
    backup: { storage: { provider: "aws" } },
  };
  assert.equal(nodeExporterHostMounts(parseConfig({ environment: "dev" })), false);
  assert.equal(nodeExporterHostMounts(parseConfig(prod)), true);
  assert.equal(
    nodeExporterHostMounts(parseConfig({ environment: "dev", monitoring: { nodeExporterHostMounts: true } })),
    true,
  );
  assert.equal(
    nodeExporterHostMounts(parseConfig({ ...prod, monitoring: { nodeExporterHostMounts: false } })),
    false,
  );
});

const prodWith = (backup: Record<string, unknown>) =>
  parseConfig({
    environment: "prod",
    docker: { host: "ssh://deploy@h" },
    backup: { storage: { provider: "aws", region: "eu-west-3" }, ...backup },
  });

test("a change that would replace a bucket is refused, with the migration: object lock on an existing bucket", () => {
  const before = prodWith({});
  const [p, ...rest] = replacingChanges(before, prodWith({ objectLock: { enabled: true } }));
  assert.deepEqual(rest, []);
  assert.match(p!, /^jarvis:backup\.objectLockAtCreation: the buckets were created without object lock/);
  assert.match(
    p!,
    /set jarvis:backup\.objectLockAtCreation: false .* and jarvis:backup\.objectLock\.enabled: true/,
  );
  // The migration it names is accepted: the lock is enabled in place, the buckets stay.
  assert.deepEqual(
    replacingChanges(before, prodWith({ objectLockAtCreation: false, objectLock: { enabled: true } })),
    [],
  );
  // Switching it off on locked buckets is refused too.
  assert.match(
    replacingChanges(prodWith({ objectLock: { enabled: true } }), prodWith({}))[0]!,
    /created with object lock.*cannot be switched off/,
  );
  assert.deepEqual(replacingChanges(before, prodWith({ retention: { daily: { days: 20 } } })), []);
});

test("a region change is refused: it would replace every bucket and key", () => {
  const moved = parseConfig({
    environment: "prod",
    docker: { host: "ssh://deploy@h" },
    backup: { storage: { provider: "aws", region: "eu-central-1" } },
  });
  assert.match(
    replacingChanges(prodWith({}), moved)[0]!,
    /^jarvis:backup\.storage\.region: eu-west-3 -> eu-central-1 would replace/,
  );
});

test("object lock at creation needs AWS S3", () => {
  assert.ok(
    problems({ environment: "dev", backup: { objectLockAtCreation: true } }).includes(
      "jarvis:backup.objectLockAtCreation: object lock needs AWS S3 (provider aws); the dev S3 container cannot enforce it",
    ),
  );
});

test("config check --previous refuses a bucket-replacing change of the stack file, exit 2", async () => {
  const prod = readStackFile("Pulumi.prod.yaml");
  const doc = YAML.parse(readFileSync("Pulumi.prod.yaml", "utf8")).config;
  const unlocked = stackFile({
    ...doc,
    "jarvis:backup": { ...doc["jarvis:backup"], objectLock: { enabled: false } },
  });
  assert.ok(prod.config["jarvis:backup"]!.includes('"enabled":true'));
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", "cli/main.ts", ...args]).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
  const [refused, same] = await Promise.all([
    run(["config", "check", "prod", "--config", unlocked, "--previous", "Pulumi.prod.yaml"]),
    run(["config", "check", "prod", "--previous", "Pulumi.prod.yaml"]),
  ]);
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(
    refused.stdout,
    /jarvis:backup\.objectLockAtCreation: the buckets were created with object lock/,
  );
  assert.equal(same.code, 0, same.stdout);
});

test("jarvis:docker.socketGid runs the Docker API proxies as 65534:<gid>, as the proxy's README does; unset, as root without capabilities", () => {
  assert.equal(dockerProxyUser(parseConfig({ environment: "dev" }).docker), "0:0");
  assert.equal(
    dockerProxyUser(parseConfig({ environment: "dev", docker: { socketGid: 999 } }).docker),
    "65534:999",
  );
  assert.ok(
    problems({ environment: "dev", docker: { socketGid: -1 } }).some((p) =>
      p.startsWith("jarvis:docker.socketGid"),
    ),
  );
});
