/** The one-shot jobs' pure parts (settings/jobs.ts) and the image's job entry (docker/ops/job-entry.mjs). */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  jobFileDirs,
  jobRunArgs,
  jobRunScript,
  jobStdin,
  jobTrigger,
  shellQuote,
  type JobRunSpec,
} from "../../settings/jobs.ts";
import { shellSplit } from "../support/render.ts";

const ENTRY = resolve(import.meta.dirname, "../../docker/ops/job-entry.mjs");
const spec: JobRunSpec = {
  containerName: "jarvis-dev-migrations-abc",
  network: "jarvis-dev-net",
  image: "jarvis-data/ops:local",
  command: ["jarvis-data", "migrate", "apply", "--json"],
  envs: ["JARVIS_ENVIRONMENT=dev", "JARVIS_MIGRATIONS=0001_a.sql@x,0002_it's.sql@y"],
  labels: [{ label: "jarvis.service", value: "migrations" }],
  fileDirs: ["/run/secrets"],
  memoryMb: 256,
  cpus: 0.5,
  what: "the migration job",
};

test("shellQuote leaves plain words alone and quotes everything else so sh reads it back", () => {
  assert.equal(shellQuote("jarvis-data/ops:local"), "jarvis-data/ops:local");
  for (const word of ["it's", "a b", "$(rm -rf /)", "`x`", "a;b", ""]) {
    const r = spawnSync("/bin/sh", ["-c", `printf %s ${shellQuote(word)}`], { encoding: "utf8" });
    assert.equal(r.stdout, word);
  }
});

test("a job is `docker run --rm` on the private network, its files on tmpfs, its command after the job entry", () => {
  const args = jobRunArgs(spec);
  assert.deepEqual(args.slice(0, 3), ["run", "--rm", "--interactive"]);
  assert.equal(args[args.indexOf("--network") + 1], "jarvis-dev-net");
  assert.equal(args[args.indexOf("--tmpfs") + 1], "/run/secrets:rw,noexec,nosuid,size=1m");
  assert.deepEqual(args.slice(args.indexOf("jarvis-data/ops:local")), [
    "jarvis-data/ops:local",
    "node",
    "/usr/local/lib/jarvis/job-entry.mjs",
    ...spec.command,
  ]);
});

test("the job script removes a leftover container, keeps the job's exit code and names the failed job", async () => {
  const script = jobRunScript(spec);
  const lines = script.split("\n");
  assert.equal(lines[0], "docker rm --force jarvis-dev-migrations-abc >/dev/null 2>&1 || true");
  assert.deepEqual(
    shellSplit(lines[1]!),
    ["docker", ...jobRunArgs(spec)],
    "the quoted line reads back as the argv",
  );
  // Run it with a fake `docker` that fails the run: the script exits with the job's code and says what failed.
  const bin = mkdtempSync(join(tmpdir(), "fake-docker-"));
  try {
    const fake = join(bin, "docker");
    writeFileSync(fake, '#!/bin/sh\n[ "$1" = run ] && exit 7\nexit 0\n', { mode: 0o755 });
    const r = await promisify(execFile)("/bin/sh", ["-c", script], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 7);
    assert.match(r.stderr, /jarvis: the migration job \(container jarvis-dev-migrations-abc\) exited with 7/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test("job files: one tmpfs per top directory; relative or shallow paths are refused", () => {
  assert.deepEqual(
    jobFileDirs([
      { file: "/run/secrets/roles/jarvis_app" },
      { file: "/run/secrets/x" },
      { file: "/run/jarvis/c.json" },
    ]),
    ["/run/jarvis", "/run/secrets"],
  );
  assert.throws(() => jobFileDirs([{ file: "run/secrets/x" }]), /must be an absolute path/);
  assert.throws(() => jobFileDirs([{ file: "/x" }]), /at least two directories deep/);
});

test("the trigger changes with what the job runs, not with a secret file (that is stdin, a secret input)", () => {
  const a = jobTrigger(spec, []);
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(jobTrigger(spec, []), a);
  assert.notEqual(jobTrigger({ ...spec, command: [...spec.command, "--restore-point"] }, []), a);
  assert.notEqual(jobTrigger(spec, [{ file: "/run/jarvis/c.json", content: "{}", public: true }]), a);
});

test("job-entry writes each file (secrets 0400, public 0444) before running the command, and exits with its status", () => {
  const dir = mkdtempSync(join(tmpdir(), "job-entry-"));
  try {
    const stdin = jobStdin([
      { file: join(dir, "secrets/roles/jarvis_app"), content: "pw-1" },
      { file: join(dir, "jarvis/jobs.json"), content: "[]", public: true },
    ]);
    const r = spawnSync(
      process.execPath,
      [ENTRY, "/bin/sh", "-c", `cat ${join(dir, "secrets/roles/jarvis_app")}; exit 5`],
      { input: stdin, encoding: "utf8" },
    );
    assert.equal(r.status, 5, r.stderr);
    assert.equal(r.stdout, "pw-1");
    assert.equal(statSync(join(dir, "secrets/roles/jarvis_app")).mode & 0o777, 0o400);
    assert.equal(statSync(join(dir, "jarvis/jobs.json")).mode & 0o777, 0o444);
    assert.equal(readFileSync(join(dir, "jarvis/jobs.json"), "utf8"), "[]");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("job-entry refuses stdin that is not its files, with exit 64 and the reason", () => {
  const r = spawnSync(process.execPath, [ENTRY, "true"], { input: "not json", encoding: "utf8" });
  assert.equal(r.status, 64);
  assert.match(r.stderr, /stdin is not the job's files as JSON/);
  const bad = spawnSync(process.execPath, [ENTRY, "true"], {
    input: JSON.stringify([{ file: "relative/x", content: "" }]),
    encoding: "utf8",
  });
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /needs an absolute file/);
});
