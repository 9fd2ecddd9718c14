/**
 * The stack file and the checks `pulumi up` and `jarvis-data config check` share (issue 16 item
 * 12): invalid YAML is a usage error, secrets in clear are flagged with the command that encrypts
 * them, a dev config that `up` would reject fails the check too, and a Redis temp-key pattern
 * that matches every key is refused.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { clearSecretWarnings, decodeConfigMap, validateStack } from "../../config/pulumi.ts";
import { ConfigError, parseConfig } from "../../config/schema.ts";
import { readStackFile, StackFileError } from "../../config/stackfile.ts";
import { EXIT } from "../../core/errors.ts";

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "jarvis-stackfile-")), "Pulumi.dev.yaml");
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.problems;
  }
  return assert.fail("accepted");
}

test("invalid YAML is a usage error (exit 2) naming the file and the line, not an internal error", () => {
  const path = file("config:\n  jarvis:environment: dev\n   jarvis:ports: [\n");
  assert.throws(
    () => readStackFile(path),
    (e: unknown) =>
      e instanceof StackFileError &&
      e.code === "JARVIS_CONFIG_YAML" &&
      e.exitCode === EXIT.usage &&
      e.message.includes(path) &&
      /line \d+/.test(e.message),
  );
  assert.throws(() => readStackFile(file("- a\n- b\n")), StackFileError);
});

test("secrets written in clear in the stack file are listed, and the warning says how to set them encrypted", () => {
  const path = file(
    [
      "config:",
      "  jarvis:environment: dev",
      "  jarvis:secrets:",
      "    postgresApp: app-password-in-clear-0123",
      "    redisApp:",
      "      secure: v1:AAAABBBBCCCC",
    ].join("\n"),
  );
  const { clearSecrets, secretKeys } = readStackFile(path);
  assert.deepEqual(clearSecrets, ["jarvis:secrets.postgresApp"]);
  assert.deepEqual(secretKeys, ["jarvis:secrets"]);
  const [w] = clearSecretWarnings(clearSecrets);
  assert.match(w!, /jarvis:secrets\.postgresApp is in clear text/);
  assert.match(w!, /pulumi config set --secret --path 'jarvis:secrets\.postgresApp'/);
  assert.ok(!w!.includes("app-password-in-clear"), "the warning does not repeat the secret");
});

test("a dev config without ports.publish.s3 fails the same validation `pulumi up` runs", () => {
  const raw = decodeConfigMap(readStackFile(file("config:\n  jarvis:environment: dev\n")).config);
  parseConfig(raw); // the schema alone accepts it: that was the gap
  assert.deepEqual(
    problemsOf(() => validateStack(raw, "dev")),
    [
      "jarvis:ports.publish.s3: required with an S3-compatible dev store (backup.storage.provider rustfs or minio), so that `pulumi up` on this workstation can reach the S3 container; set it, e.g. 9000",
    ],
  );
  const ok = validateStack({ ...raw, ports: { publish: { s3: 9000 } } }, "dev");
  assert.equal(ok.ports.publish.s3, 9000);
});

test("a stack name that cannot make bucket names is refused before deploy", () => {
  const raw = { environment: "dev", ports: { publish: { s3: 9000 } } };
  assert.match(problemsOf(() => validateStack(raw, "Dev_Stack"))[0]!, /^stack "Dev_Stack": bucket names/);
  assert.match(problemsOf(() => validateStack(raw, "x".repeat(30)))[0]!, /at most 18 characters/);
});

test("redis.tempKeyPattern must be a fixed prefix: '*' would put a TTL on every key", () => {
  for (const bad of ["*", "temp*", ":*", "t?mp:*", "[a-z]*:*"]) {
    const [p] = problemsOf(() => parseConfig({ environment: "dev", redis: { tempKeyPattern: bad } }));
    assert.match(p!, /^jarvis:redis\.tempKeyPattern: must be a fixed key prefix/, bad);
  }
  for (const good of ["temp:*", "cache:tmp:*", "jarvis.temp.*"])
    assert.equal(
      parseConfig({ environment: "dev", redis: { tempKeyPattern: good } }).redis.tempKeyPattern,
      good,
    );
});
