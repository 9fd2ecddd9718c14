/**
 * The error catalogue (core/errors.ts) is complete: every `"JARVIS_*"` string used in core/, cli/
 * or config/ is either a listed code or an environment variable's name; a code added without
 * its catalogue line fails here, at merge.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { ERROR_CODES, EXIT, JarvisError, exitFor } from "../../core/errors.ts";

const ROOT = resolve(import.meta.dirname, "../..");

function sources(dir: string): { path: string; text: string }[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => ({ path: `${dir}/${f}`, text: readFileSync(join(ROOT, dir, f), "utf8") }));
}

const all = ["core", "cli", "config", "settings", "components"].flatMap(sources);
const text = all.map((f) => f.text).join("\n");

/** A name the code reads from the environment (env.NAME, envValue("NAME"), need(x, "NAME", ...)). */
function isEnvironmentVariable(name: string): boolean {
  return (
    new RegExp(`env\\.${name}\\b|env\\["${name}"\\]|envValue\\("${name}"`).test(text) ||
    new RegExp(`need\\([^,]+, "${name}"`).test(text)
  );
}

test('every "JARVIS_*" literal in core/, cli/, config/ is a catalogued code (or an environment variable)', () => {
  const missing: string[] = [];
  for (const f of all.filter((x) => /^(core|cli|config)\//.test(x.path))) {
    for (const m of f.text.matchAll(/"(JARVIS_[A-Z_]+)"/g)) {
      const name = m[1]!;
      if (!(name in ERROR_CODES) && !isEnvironmentVariable(name)) missing.push(`${f.path}: ${name}`);
    }
  }
  assert.deepEqual(missing, [], "add each to ERROR_CODES in core/errors.ts with its exit status");
});

test("an error's exit status comes from the catalogue, and a refusal exits 4", () => {
  assert.equal(new JarvisError("JARVIS_BACKUP_ID_INVALID", "x").exitCode, EXIT.usage);
  assert.equal(new JarvisError("JARVIS_REFUSED", "x").exitCode, EXIT.refused);
  assert.equal(exitFor("JARVIS_NOT_A_CODE"), EXIT.failed);
  for (const [code, e] of Object.entries(ERROR_CODES))
    assert.ok(Object.values(EXIT).includes(e.exit) && e.meaning.length > 5, code);
});

test("store code has no bare exit numbers and matches no error by its message text", () => {
  const offenders = sources("core/backup").flatMap((f) =>
    [
      // An exit status passed as a number: alone on its line (as prettier puts a last argument), or after a message.
      /^\s*[1-4],?\s*$/m.test(f.text) || /[`"],\s*[1-4]\s*\)/.test(f.text)
        ? `${f.path}: a bare exit number`
        : "",
      /\? 3 : 1/.test(f.text) ? `${f.path}: 3 : 1` : "",
      /NotFound\|404|NoSuchKey\|NotFound|409\|already exists/.test(f.text)
        ? `${f.path}: matches message text`
        : "",
    ].filter(Boolean),
  );
  assert.deepEqual(offenders, []);
});
