/**
 * The newcomer's path: what a new user types from the README and the runbooks must work. Every
 * `jarvis-data` command the docs name must exist (its --help answers), every npm script and file
 * they name must exist, and commands that need a real Docker host, the Pulumi CLI or AWS are
 * marked as such.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { COMMANDS } from "../cli/main.ts";
import { ALERT_NAMES } from "../settings/monitoring.ts";

const ROOT = resolve(import.meta.dirname, "..");
const exec = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
};

function docs(dir = join(ROOT, "docs")): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? docs(p) : p.endsWith(".md") ? [p] : [];
  });
}
const DOC_FILES = [join(ROOT, "README.md"), ...docs()];

interface Block {
  file: string;
  lead: string; // the paragraph right before the block
  lines: string[];
}

function codeBlocks(file: string): Block[] {
  const text = readFileSync(file, "utf8");
  const blocks: Block[] = [];
  const re = /((?:[^\n]*\n){0,3})[ \t]*```(?:sh|bash|console)?\n([\s\S]*?)```/g;
  for (const m of text.matchAll(re)) {
    const lines = m[2]!
      .split("\n")
      .map((l) => l.replace(/#.*$/, "").trim())
      .filter(Boolean);
    blocks.push({ file, lead: m[1]!, lines });
  }
  return blocks;
}
const BLOCKS = DOC_FILES.flatMap(codeBlocks);

/** The jarvis-data command a doc line names, as the CLI resolves it (longest known prefix). */
function cliCommandOf(line: string): string | null {
  const m = /(?:^|\s|\$ )(?:npx |docker exec \S+ (?:-\S+ )*)?jarvis-data ((?:[a-z][\w-]* ?)+)/.exec(line);
  if (!m) return null;
  const words = m[1]!.trim().split(/\s+/);
  for (let n = Math.min(3, words.length); n > 0; n--) {
    const name = words.slice(0, n).join(" ");
    if (COMMANDS.some((c) => c.name === name)) return name;
  }
  return words.join(" ");
}

test("every jarvis-data command the README and docs name exists and answers --help", async () => {
  const named = new Set<string>();
  for (const file of DOC_FILES) {
    const text = readFileSync(file, "utf8");
    // commands in code blocks and in inline code, not prose
    const code = [
      ...codeBlocks(file).flatMap((b) => b.lines),
      ...[...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!),
    ];
    for (const line of code) {
      if (!/jarvis-data [a-z]/.test(line) || /jarvis-data <command>/.test(line)) continue;
      const c = cliCommandOf(line);
      if (c) named.add(c);
    }
  }
  assert.ok(named.size >= 10, `the docs name the CLI's commands (${[...named].join(", ")})`);
  const known = new Set(COMMANDS.map((c) => c.name));
  const unknown = [...named].filter((c) => !known.has(c));
  assert.deepEqual(unknown, [], `docs name commands that do not exist: ${unknown.join(", ")}`);
  for (const name of named) {
    const r = await exec(process.execPath, ["bin/jarvis-data.js", ...name.split(" "), "--help"], {
      cwd: ROOT,
    });
    assert.match(r.stdout, /^usage: jarvis-data /, `${name} --help`);
  }
});

test("every npm script and repository file the docs' commands name exists", () => {
  for (const b of BLOCKS) {
    for (const line of b.lines) {
      for (const m of line.matchAll(/npm run (?:--silent )?([\w:-]+)/g))
        assert.ok(pkg.scripts[m[1]!], `${b.file}: npm run ${m[1]} is not a script`);
      for (const m of line.matchAll(/(?:^|\s)((?:scripts|bench|\.ci)\/[\w./-]+)/g))
        assert.ok(existsSync(join(ROOT, m[1]!)), `${b.file}: ${m[1]} does not exist`);
      if (/\bnpm test\b/.test(line)) assert.ok(pkg.scripts.test);
    }
  }
});

test("commands that need a Docker host, the Pulumi CLI or AWS are marked as such in the runbooks", () => {
  for (const b of BLOCKS.filter((x) => x.file.includes(`${join("docs", "runbooks")}`))) {
    const needsReal = b.lines.some((l) => /^(docker|pulumi|aws) /.test(l));
    if (needsReal)
      assert.match(
        b.lead,
        /\(needs (Docker host|the Pulumi CLI|AWS)\)/,
        `${b.file}: a block with docker/pulumi/aws commands is not marked:\n${b.lines.join("\n")}`,
      );
  }
});

test("the quick start works: test servers installed, lockfile in step, README's test command, render dev", async () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  assert.match(readme, /npm ci && npm test/);
  assert.match(readme, /npm ci && .*npm run deploy -- dev/);
  // install deps: the script the README names verifies, without installing, that all is there
  const deps = await exec("bash", [join(ROOT, "scripts/install-test-deps.sh"), "--check"], { cwd: ROOT });
  assert.match(deps.stdout, /ok: everything the tests need is installed/);
  // npm ci: the lockfile records exactly package.json's dependencies
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const pkgFull = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  assert.deepEqual(lock.packages[""].dependencies, pkgFull.dependencies);
  assert.deepEqual(lock.packages[""].devDependencies, pkgFull.devDependencies);
  // npm ci refuses a lockfile where a package's dependency (optional ones included) has no entry
  const entries = lock.packages as Record<
    string,
    { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peer?: boolean }
  >;
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(entries)) {
    if (path === "") continue;
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      let dir = path;
      let found = false;
      for (;;) {
        if (entries[`${dir}/node_modules/${dep}`] || entries[`node_modules/${dep}`]) {
          found = true;
          break;
        }
        const up = dir.lastIndexOf("/node_modules/");
        if (up < 0) break;
        dir = dir.slice(0, up);
      }
      if (!found) missing.push(`${dep} (needed by ${path})`);
    }
  }
  assert.deepEqual(missing, [], "package-lock.json lacks entries npm ci requires");
  // npm test is what CI runs; render dev prints the desired state
  const r = await exec(process.execPath, ["--import", "tsx", "scripts/render.ts", "dev"], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  const resources = JSON.parse(r.stdout) as { type: string }[];
  assert.ok(resources.some((x) => x.type === "docker:index/container:Container"));
});

test("every alert has a runbook entry", () => {
  const text = readFileSync(join(ROOT, "docs/runbooks/alerts.md"), "utf8");
  const missing = ALERT_NAMES.filter((a) => !text.includes(a));
  assert.deepEqual(missing, [], `alerts without a runbook entry: ${missing.join(", ")}`);
});
