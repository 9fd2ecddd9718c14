import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, parseConfig } from "../../config/schema.ts";
import { cronProblem } from "../../config/cron.ts";
import { decodeConfigMap } from "../../config/pulumi.ts";
import { readStackFile } from "../../config/stackfile.ts";
import { renderRaw, stackFile } from "../support/render.ts";

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
  assert.equal(c.redis.maxmemoryMb, 256); // S13
  assert.equal(c.redis.maxmemoryPolicy, "allkeys-lru");
  assert.equal(c.redis.tempKeyTtlSeconds, 3600);
  assert.equal(c.logs.maxSizeMb, 10); // S12
  assert.deepEqual(c.logs.retentionDays, { default: 30, api: 14, memory: 30, voice: 7, performance: 14 });
  assert.deepEqual(c.retention.conversations, { days: 180, importanceThreshold: 0.5, schedule: "0 2 * * 0" }); // S14
  assert.deepEqual(c.retention.memory.categories, {
    conversations: { days: 180, importanceThreshold: 0.3 },
    commands: { days: 90, importanceThreshold: 0.2 },
    preferences: { days: 365, importanceThreshold: 0 },
    patterns: { days: 120, importanceThreshold: 0.4 },
    knowledge: { days: 365, importanceThreshold: 0.5 },
  }); // S15
  assert.equal(c.retention.vacuum.schedule, "0 4 1 * *"); // S16 monthly
  assert.equal(c.backup.schedules.postgresFull, "0 2 * * 0"); // S1 Sunday 02:00
  assert.equal(c.monitoring.diskAlertPercent, 80); // S20
  assert.equal(c.monitoring.memoryAlertPercent, 85);
  assert.ok(c.backup.retention.daily.days >= 7 && c.backup.retention.daily.days <= 30); // S2
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
