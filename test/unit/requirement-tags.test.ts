/**
 * The audit's requirements are tagged A1–A23 (docs/audit-requirements.md), so that "S3" always
 * means the storage API. Applied migrations keep the S form they were written with (checksummed).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";

/** A requirement tag in the old form: S1..S23 as a word, but not S3, which is the storage API. */
const OLD_TAG = /(^|[^A-Za-z0-9_-])S(1[0-9]|2[0-3]|[124-9])(?![A-Za-z0-9_])/;

function trackedFiles(): string[] {
  return execFileSync(
    "git",
    ["ls-files", "--", "*.ts", "*.md", "*.yaml", "*.yml", "*.json", "*.sh", "*.sql"],
    {
      encoding: "utf8",
    },
  )
    .split("\n")
    .filter(
      (f) =>
        f &&
        !f.startsWith("sql/migrations/") &&
        f !== "package-lock.json" &&
        f !== "test/unit/requirement-tags.test.ts", // this file names the old form to find it
    );
}

test("no requirement is tagged S1..S23 outside the applied migrations (A1..A23 instead)", () => {
  const found: string[] = [];
  for (const file of trackedFiles()) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        // docs/audit-requirements.md explains the renumbering with the old form on purpose.
        if (file === "docs/audit-requirements.md" && /S\*n\*|S1–S23/.test(line)) return;
        if (OLD_TAG.test(line)) found.push(`${file}:${i + 1}: ${line.trim().slice(0, 100)}`);
      });
  }
  assert.deepEqual(found, [], "write the requirement as A<n> (docs/audit-requirements.md)");
});

test("the tag pattern finds the old form and leaves S3, SSE-S3 and longer words alone", () => {
  assert.ok(OLD_TAG.test("retention (S15)"));
  assert.ok(OLD_TAG.test("S1: daily backups"));
  assert.ok(!OLD_TAG.test("backups to S3 buckets"));
  assert.ok(!OLD_TAG.test("SSE-S3 (AES256)"));
  assert.ok(!OLD_TAG.test("S16x, XS15, S150"));
});
