/**
 * The images' build decisions that can be checked without a Docker engine: the PostgreSQL image
 * keeps its pins resolvable after they age (the apt repository's archive suite) and fails, naming
 * the pin, when one is nowhere (docker/postgres/check-pins.sh, run here with a stand-in apt-cache);
 * the ops image runs a supported Node and carries the jobs' entry.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";

const ROOT = resolve(import.meta.dirname, "../..");
const CHECK = join(ROOT, "docker/postgres/check-pins.sh");
const bin = mkdtempSync(join(tmpdir(), "fake-apt-"));
after(() => rmSync(bin, { recursive: true, force: true }));

/** An apt-cache that knows these versions per package, as `madison` prints them. */
function fakeAptCache(versions: Record<string, string[]>) {
  const lines = Object.entries(versions).flatMap(([pkg, vs]) =>
    vs.map(
      (v, i) =>
        `${pkg} | ${v} | http://repo ${i ? "bookworm-pgdg-archive" : "bookworm-pgdg"}/main amd64 Packages`,
    ),
  );
  const script = [
    "#!/bin/sh",
    '[ "$1" = madison ] || exit 2',
    "cat <<'EOF' | awk -v p=\"$2\" -F' [|] ' '$1 == p'",
    ...lines,
    "EOF",
  ].join("\n");
  writeFileSync(join(bin, "apt-cache"), script + "\n", { mode: 0o755 });
}
const check = (...pins: string[]) =>
  spawnSync("/bin/sh", [CHECK, ...pins], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });

test("a pin only in the archive suite resolves; the newest alone is not required", () => {
  fakeAptCache({
    pgbackrest: ["2.58.0-1.pgdg120+1", "2.56.0-1.pgdg120+1"],
    "postgresql-16-cron": ["1.6.4-1.pgdg120+1"],
  });
  const r = check("pgbackrest=2.56.0-*", "postgresql-16-cron=1.6.4-*");
  assert.equal(r.status, 0, r.stderr);
});

test("a pin in no source fails the build, naming the pin and what is available", () => {
  fakeAptCache({ pgbackrest: ["2.58.0-1.pgdg120+1"], "postgresql-16-partman": [] });
  const r = check("pgbackrest=2.56.0-*", "postgresql-16-partman=5.2.4-*");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /pin pgbackrest=2\.56\.0-\*: in neither .* available: 2\.58\.0-1\.pgdg120\+1 /);
  assert.match(r.stderr, /pin postgresql-16-partman=5\.2\.4-\*: .* available: none/);
  // A prefix is not a version: 2.5 does not match 2.56.0.
  fakeAptCache({ pgbackrest: ["2.56.0-1"] });
  assert.equal(check("pgbackrest=2.5-*").status, 1);
});

test("the postgres Dockerfile adds the archive suite of its own Debian release, checks the pins, then installs them", () => {
  const df = readFileSync(join(ROOT, "docker/postgres/Dockerfile"), "utf8");
  assert.match(df, /\$\{VERSION_CODENAME\}-pgdg-archive main/);
  assert.match(df, /signed-by=\$\{keyring\}/, "the archive is verified with the repository's key");
  const order = [
    "pgdg-archive.list",
    "apt-get update",
    'sh /usr/local/bin/check-pins.sh "postgresql',
    "apt-get install",
  ].map((s) => df.indexOf(s));
  assert.ok(order.every((i) => i > 0));
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
  );
  assert.match(df, /ENTRYPOINT \["jarvis-entrypoint\.sh"\]/, "the password hook runs at every start");
});

test("the ops image runs Node 22 (an LTS line) and ships the jobs' entry; the package states the real minimum", () => {
  const df = readFileSync(join(ROOT, "docker/ops/Dockerfile"), "utf8");
  assert.match(df, /ARG NODE_IMAGE=node:(22|24)-/);
  assert.match(df, /COPY docker\/ops\/job-entry\.mjs \/usr\/local\/lib\/jarvis\/job-entry\.mjs/);
  assert.match(
    readFileSync(join(ROOT, "docker/ops/Dockerfile.dockerignore"), "utf8"),
    /^!docker\/ops\/job-entry\.mjs$/m,
  );
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  assert.equal(pkg.engines.node, ">=20.6", "--import needs 20.6");
  const [major, minor] = process.versions.node.split(".").map(Number);
  assert.ok(major! > 20 || (major === 20 && minor! >= 6), "the tests run on a Node the package supports");
});
