import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { connectionsFromEnv, envValue, storeFromEnv } from "../../cli/env.ts";
import { UsageError } from "../../core/errors.ts";
import { silentLogger } from "../../core/log.ts";

const dir = mkdtempSync(join(tmpdir(), "jarvis-env-"));
const keyFile = join(dir, "manifest_key");
writeFileSync(keyFile, "stack-secret\n");

test("NAME_FILE wins over NAME and is read trimmed; the store made from the environment gets the manifest key", () => {
  assert.equal(
    envValue("JARVIS_MANIFEST_KEY", { JARVIS_MANIFEST_KEY_FILE: keyFile, JARVIS_MANIFEST_KEY: "x" }),
    "stack-secret",
  );
  assert.equal(envValue("JARVIS_MANIFEST_KEY", { JARVIS_MANIFEST_KEY: "plain" }), "plain");
  assert.equal(envValue("JARVIS_MANIFEST_KEY", {}), undefined);
  const env = { JARVIS_BACKUP_BUCKET: "b", JARVIS_MANIFEST_KEY_FILE: keyFile };
  assert.equal(storeFromEnv(connectionsFromEnv(env), silentLogger, env).manifestKey, "stack-secret");
});

test("a *_FILE naming a missing file is a usage error, never a silent fallback (a lost key file would turn signature checks off)", () => {
  const missing = join(dir, "nope");
  for (const [name, env] of [
    [
      "JARVIS_MANIFEST_KEY_FILE",
      { JARVIS_BACKUP_BUCKET: "b", JARVIS_MANIFEST_KEY_FILE: missing, JARVIS_MANIFEST_KEY: "x" },
    ],
    [
      "JARVIS_DATABASE_URL_FILE",
      { JARVIS_DATABASE_URL_FILE: missing, DATABASE_URL: "postgresql://elsewhere/db" },
    ],
    [
      "JARVIS_REDIS_RETENTION_URL_FILE",
      { JARVIS_REDIS_RETENTION_URL_FILE: missing, REDIS_URL: "redis://elsewhere" },
    ],
  ] as const) {
    assert.throws(
      () => storeFromEnv(connectionsFromEnv(env), silentLogger, env),
      (e: Error) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(
          e.message,
          new RegExp(`^${name} names .*nope, which does not exist; mount the file there or unset ${name}`),
        );
        return true;
      },
      name,
    );
  }
});
