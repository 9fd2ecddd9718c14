/**
 * Lint: squawk over sql/migrations with the checked-in .squawk.toml. A finding fails, unless the
 * file ignores that rule with a justified comment: `-- squawk-ignore <rule> -- <reason>`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(import.meta.dirname, "../..");
const SQUAWK = join(ROOT, "node_modules/.bin/squawk");
const DIR = join(ROOT, "sql/migrations");
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".sql"))
  .sort();

function squawk(paths: string[]) {
  const r = spawnSync(SQUAWK, ["--config", join(ROOT, ".squawk.toml"), "--reporter", "gcc", ...paths], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return {
    status: r.status,
    findings: r.stdout.split("\n").filter((l) => /: (warning|error):? /.test(l)),
    out: r.stdout + r.stderr,
  };
}

test("squawk finds nothing in sql/migrations", () => {
  assert.ok(files.length > 0);
  const r = squawk(files.map((f) => join(DIR, f)));
  assert.deepEqual(r.findings, [], r.out);
  assert.equal(r.status, 0, r.out);
});

test("every squawk-ignore in a migration names its rules and says why", () => {
  const unjustified: string[] = [];
  for (const f of files) {
    readFileSync(join(DIR, f), "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (!/squawk-ignore/.test(line)) return;
        const m = /^\s*--\s*squawk-ignore(-file)?\s+([a-z-]+(\s*,\s*[a-z-]+)*)\s+--\s+(.{15,})$/.exec(line);
        if (!m) unjustified.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(
    unjustified,
    [],
    "write `-- squawk-ignore <rule> -- <reason>` (a reason of at least 15 characters)",
  );
});

test("the lint is live: a risky migration is reported with the checked-in config", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-squawk-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "0999_risky.sql");
  writeFileSync(
    file,
    "ALTER TABLE users ADD COLUMN nickname varchar(40);\nCREATE INDEX users_nickname_idx ON users (nickname);\nALTER TABLE users DROP COLUMN full_name;\n",
  );
  const r = squawk([file]);
  assert.notEqual(r.status, 0);
  const rules = r.findings.map((l) => /(warning|error):? ([a-z-]+)/.exec(l)?.[2]);
  for (const rule of ["prefer-text-field", "require-concurrent-index-creation", "ban-drop-column"])
    assert.ok(rules.includes(rule), `${rule} reported: ${r.out}`);
});
