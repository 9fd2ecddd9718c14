import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { test } from "node:test";
import { promisify } from "node:util";
import { join, resolve } from "node:path";
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

// ---------------------------------------------------------------- issue 16 item 12, issue 17 item 4

test("invalid YAML in a stack file exits 2 naming the file and line, not 1 with 'please report'", async () => {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-cli-yaml-"));
  const path = join(dir, "Pulumi.dev.yaml");
  writeFileSync(path, "config:\n  jarvis:environment: dev\n   jarvis:ports: [\n");
  const r = await cli(["config", "check", "--config", path]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /is not valid YAML at line \d+/);
  assert.doesNotMatch(r.stderr, /please report/);
});

test("config check rejects a dev config that `pulumi up` would reject (no ports.publish.s3)", async () => {
  const r = await cli(["config", "check", "--config", stackFile({ "jarvis:environment": "dev" }), "--json"]);
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).problems, [
    "jarvis:ports.publish.s3: required with an S3-compatible dev store (backup.storage.provider rustfs or minio), so that `pulumi up` on this workstation can reach the S3 container; set it, e.g. 9000",
  ]);
});

test("config check warns about secrets in clear in the stack file, says how to encrypt them, and never prints them", async () => {
  const clear = "clear-text-password-0123456789";
  const path = stackFile({
    "jarvis:environment": "dev",
    "jarvis:ports": { publish: { s3: 9000 } },
    "jarvis:secrets": { postgresApp: clear },
  });
  const r = await cli(["config", "check", "--config", path, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /jarvis:secrets\.postgresApp is in clear text/);
  assert.match(r.stderr, /pulumi config set --secret --path 'jarvis:secrets\.postgresApp'/);
  assert.equal(JSON.parse(r.stdout).warnings.length, 1);
  assert.ok(!r.stdout.includes(clear) && !r.stderr.includes(clear));
});

test("a bad option is a usage error naming the option: missing required, missing value, unknown", async () => {
  const gw = await cli(["chroma", "gateway", "--listen", "127.0.0.1:1"]);
  assert.equal(gw.code, 2);
  assert.match(gw.stderr, /chroma gateway: --upstream VALUE is required/);
  const noValue = await cli(["config", "check", "dev", "--config"]);
  assert.equal(noValue.code, 2);
  assert.match(noValue.stderr, /--config VALUE: a value is required/);
  const unknown = await cli(["config", "check", "dev", "--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option --bogus; this command takes: --config VALUE/);
});

test("the agent listens on 127.0.0.1 when --host is not given, as its usage says", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-cli-agent-"));
  const port = 20000 + (process.pid % 20000);
  // the dev stack's schedules; no --host
  const child = spawn(process.execPath, ["bin/jarvis-data.js", "agent", "dev", "--port", String(port)], {
    cwd: ROOT,
    stdio: "ignore",
    env: {
      ...process.env,
      JARVIS_BACKUP_BUCKET: "jarvis-test",
      JARVIS_S3_ENDPOINT: "http://127.0.0.1:1",
      JARVIS_OPS_STATE: join(dir, "state.json"),
    },
  });
  t.after(() => child.kill("SIGTERM"));
  // /proc/net/tcp lists listening sockets (state 0A) as hex address:port
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let local: string | undefined;
  for (let i = 0; i < 600 && !local && child.exitCode === null; i++) {
    local = readFileSync("/proc/net/tcp", "utf8")
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A")?.[1];
    if (!local) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(local, `0100007F:${hexPort}`, "listening on 127.0.0.1 only, not 0.0.0.0 (00000000)");
});
