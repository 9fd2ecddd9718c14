/**
 * The postgres image's start hook (docker/postgres/set-superuser-password.sh, run by
 * jarvis-entrypoint.sh at every start of an existing cluster) on a real PostgreSQL cluster: a kept
 * data directory initialised with one superuser password, started after the stack's secret
 * changed (a rotation, or a re-`up` that generated a new one after the state was lost), accepts
 * the new password and refuses the old one. Without the hook, the old one stays and the stack's
 * jobs are locked out. Its own cluster: the test is about a cluster's start, not about a database.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import pg from "pg";
import { postgresInitdbOptions } from "../settings/postgres.ts";
import { freePort, PG_BIN } from "./harness/index.ts";

const SCRIPT = resolve(import.meta.dirname, "../docker/postgres/set-superuser-password.sh");
const root = process.getuid?.() === 0;
const owner = root
  ? {
      uid: Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim()),
      gid: Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim()),
    }
  : {};
const dir = mkdtempSync(join(tmpdir(), "jarvis-pwhook-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file owned by the cluster's user, readable by it only (as the stack uploads the secret). */
function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  if (owner.uid !== undefined) chownSync(path, owner.uid, owner.gid!);
  chmodSync(path, 0o400);
  return path;
}

const env = { ...process.env, PATH: `${PG_BIN}:${process.env.PATH}`, TMPDIR: dir };
const run = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, { ...owner, env, cwd: dir, encoding: "utf8" });

async function login(port: number, password: string): Promise<string> {
  const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password, database: "postgres" });
  try {
    await c.connect();
    return (await c.query("select current_user as u")).rows[0].u;
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  } finally {
    await c.end().catch(() => {});
  }
}

test("a kept cluster started with a rotated secret takes the new superuser password, and refuses the old one", async () => {
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);
  const data = join(dir, "data");
  const oldFile = secretFile("old", "old-password-0123456789");
  // The container's initdb options; peer on the socket needs the OS user postgres (root runs it as that).
  const opts = postgresInitdbOptions().map((o) =>
    o === "--auth-local=peer" && !root ? "--auth-local=trust" : o,
  );
  const init = run(join(PG_BIN, "initdb"), [
    ...opts,
    "-D",
    data,
    "-U",
    "postgres",
    `--pwfile=${oldFile}`,
    "--no-sync",
  ]);
  assert.equal(init.status, 0, init.stderr);

  // A password with a quote, a backslash and a colon: quoting must hold.
  const rotated = "n3w'pass\\word:with-$(odd)`chars`";
  const hook = run(SCRIPT, [data, secretFile("new", rotated)]);
  assert.equal(hook.status, 0, hook.stderr);
  assert.match(hook.stderr, /the postgres role's password is the one in/);
  assert.ok(
    !hook.stderr.includes(rotated) && !hook.stdout.includes(rotated),
    "the password is never printed",
  );

  const port = await freePort();
  const server = spawn(
    join(PG_BIN, "postgres"),
    [
      "-D",
      data,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `port=${port}`,
      "-c",
      `unix_socket_directories=${dir}`,
    ],
    { ...owner, env, cwd: dir, stdio: "ignore" },
  );
  try {
    let who = "";
    for (let i = 0; i < 100 && !who.startsWith("postgres"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      who = await login(port, rotated);
      if (who.includes("password authentication failed")) break;
    }
    assert.equal(who, "postgres", "the new password logs in");
    assert.match(await login(port, "old-password-0123456789"), /^refused: .*password authentication failed/);
  } finally {
    server.kill("SIGINT");
    await new Promise((r) => server.once("exit", r));
  }
});

test("the hook refuses a missing or empty password file, naming it, and leaves the cluster alone", () => {
  const empty = secretFile("empty", "");
  const r = run(SCRIPT, [join(dir, "no-such-data"), empty]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /empty\b.* is missing, empty or not readable/);
});
