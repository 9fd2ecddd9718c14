import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { resolve } from "node:path";
import { COMMANDS } from "../cli/main.ts";
import { connectionsFromEnv } from "../cli/env.ts";
import { createLogger, redactFields, redactText } from "../core/log.ts";
import { stackFile } from "./support/render.ts";

const ROOT = resolve(import.meta.dirname, "..");
const exec = promisify(execFile);

async function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, ["bin/jarvis-data.js", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test("--help lists every command, and each command has its own --help", async () => {
  const top = await cli(["--help"]);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) {
    assert.ok(top.stdout.includes(c.name), `top help names ${c.name}`);
    const own = await cli([...c.name.split(" "), "--help"]);
    assert.equal(own.code, 0, `${c.name} --help: ${own.stderr}`);
    assert.match(own.stdout, new RegExp(`^usage: ${c.usage.replace(/[[\]|.*+?()]/g, "\\$&")}`));
  }
});

test("an unknown command or option exits 2 with a pointer to --help", async () => {
  const r = await cli(["frobnicate"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"; see jarvis-data --help/);
  const o = await cli(["config", "check", "dev", "--bogus"]);
  assert.equal(o.code, 2);
  assert.match(o.stderr, /--bogus/);
});

test("config check prints machine output with --json and exits 2 on bad config", async () => {
  const good = await cli(["config", "check", "dev", "--json"]);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(JSON.parse(good.stdout).valid, true);
  const bad = await cli(["config", "check", "--config", stackFile({ "jarvis:environment": "qa" }), "--json"]);
  assert.equal(bad.code, 2);
  assert.deepEqual(JSON.parse(bad.stdout).problems, [
    'jarvis:environment: must be one of "dev", "prod" (got "qa")',
  ]);
});

test("connections follow DATABASE_URL or PG*, REDIS_URL, CHROMA_URL, JARVIS_S3_*, AWS_*", () => {
  const c = connectionsFromEnv({
    PGHOST: "db",
    PGPORT: "6543",
    PGUSER: "jarvis_app",
    PGPASSWORD: "p@ss",
    PGDATABASE: "jarvis",
    REDIS_URL: "redis://r",
    AWS_REGION: "eu-west-3",
    JARVIS_BACKUP_BUCKET: "b",
  });
  assert.equal(c.databaseUrl, "postgresql://jarvis_app:p%40ss@db:6543/jarvis");
  assert.equal(c.redisUrl, "redis://r");
  assert.equal(c.s3.region, "eu-west-3");
  assert.equal(c.s3.bucket, "b");
  assert.equal(
    connectionsFromEnv({ DATABASE_URL: "postgresql://x/y", PGHOST: "ignored" }).databaseUrl,
    "postgresql://x/y",
  );
});

test("the logger redacts credentials in URLs and credential-named fields", () => {
  assert.equal(
    redactText("postgresql://app:hunter2hunter2@db:5432/jarvis"),
    "postgresql://app:[secret]@db:5432/jarvis",
  );
  assert.deepEqual(redactFields({ password: "x", nested: { chromaToken: "y", rows: 3 } }), {
    password: "[secret]",
    nested: { chromaToken: "[secret]", rows: 3 },
  });
  const lines: string[] = [];
  const log = createLogger({
    json: true,
    stream: { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream,
  });
  log.info("connected to redis://admin:topsecretvalue@127.0.0.1:6379", { secretKey: "abc" });
  assert.ok(!lines.join("").includes("topsecretvalue") && !lines.join("").includes('"abc"'));
});

test("a missing server binary is reported with the script that installs it", async () => {
  const r = await exec(
    process.execPath,
    ["--import", "tsx", "-e", "await import('./test/harness/servers.ts').then((m) => m.startPostgres())"],
    {
      cwd: ROOT,
      env: { ...process.env, JARVIS_PG_BIN: "/nonexistent/bin" },
    },
  ).catch((e) => e);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /PostgreSQL 15 \(\/nonexistent\/bin\/postgres\) is not installed: run scripts\/install-test-deps\.sh/,
  );
});
