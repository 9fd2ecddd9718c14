/** Manifests from the bucket are checked before anything trusts them (issue: hostile review, item 2). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { insideDir } from "../../core/backup/common.ts";
import {
  completenessProblems,
  isSafeRelativePath,
  parseManifest,
  requiredFiles,
  signManifest,
} from "../../core/backup/manifest-schema.ts";
import { JarvisError } from "../../core/errors.ts";

const SHA = "a".repeat(64);

function manifest(over: Record<string, unknown> = {}) {
  return {
    format: 1,
    id: "20261101T020000000Z-a1b2c3",
    store: "redis",
    kind: "rdb",
    tier: "redis",
    startedAt: "2026-11-01T02:00:00.000Z",
    finishedAt: "2026-11-01T02:00:01.000Z",
    durationSeconds: 1,
    files: [{ path: "dump.rdb", size: 10, sha256: SHA }],
    totalBytes: 10,
    schemaVersion: null,
    keys: { db0: 3 },
    source: { host: "127.0.0.1", port: 6379 },
    tools: { fetch: "x" },
    ...over,
  };
}

const rejects = (m: unknown, code: string, pattern: RegExp, key?: string) =>
  assert.throws(
    () => parseManifest(JSON.stringify(m), "redis backup x", key),
    (e: unknown) => e instanceof JarvisError && e.code === code && pattern.test(e.message),
  );

test("a well-formed manifest parses", () => {
  assert.equal(parseManifest(JSON.stringify(manifest()), "x").files[0]!.path, "dump.rdb");
});

test("paths that climb out, are absolute or carry odd bytes are refused", () => {
  for (const p of [
    "../../../../tmp/x/pwned.txt",
    "/etc/passwd",
    "a/../../b",
    "a/./b",
    "a\\b",
    "a\0b",
    "",
    "a//b",
  ])
    assert.equal(isSafeRelativePath(p), false, p);
  for (const p of [
    "dump.rdb",
    "dump/toc.dat",
    "collections/memories/batch-000001.json",
    "files/jarvis_brain/x.log",
  ])
    assert.equal(isSafeRelativePath(p), true, p);
  rejects(
    manifest({ files: [{ path: "../../../../tmp/x/pwned.txt", size: 10, sha256: SHA }] }),
    "JARVIS_MANIFEST_INVALID",
    /files\.0\.path/,
  );
});

test("unknown stores and kinds, malformed hashes and sizes are refused", () => {
  rejects(manifest({ store: "mysql" }), "JARVIS_MANIFEST_INVALID", /store/);
  rejects(manifest({ kind: "tarball" }), "JARVIS_MANIFEST_INVALID", /kind/);
  rejects(
    manifest({ files: [{ path: "dump.rdb", size: -1, sha256: SHA }] }),
    "JARVIS_MANIFEST_INVALID",
    /size/,
  );
  rejects(
    manifest({ files: [{ path: "dump.rdb", size: 1, sha256: "XYZ" }] }),
    "JARVIS_MANIFEST_INVALID",
    /sha256/,
  );
  rejects("not json", "JARVIS_MANIFEST_INVALID", /malformed|not valid JSON/);
});

test("a manifest with no files, or without the files its kind needs, is refused", () => {
  rejects(manifest({ files: [], totalBytes: 0 }), "JARVIS_MANIFEST_INVALID", /lists no files/);
  rejects(
    manifest({ files: [{ path: "other.rdb", size: 10, sha256: SHA }] }),
    "JARVIS_MANIFEST_INVALID",
    /lacks dump\.rdb/,
  );
  assert.deepEqual(requiredFiles({ store: "postgres", kind: "logical" }), ["dump/toc.dat"]);
  assert.deepEqual(
    requiredFiles({ store: "chroma", kind: "export", collections: [{ name: "memories" } as never] }),
    ["collections/memories/collection.json"],
  );
  assert.deepEqual(completenessProblems(manifest({ totalBytes: 11 }) as never), [
    "totalBytes is not the sum of the file sizes",
  ]);
});

test("with a manifest key, an unsigned or forged manifest is refused and a signed one accepted", () => {
  const key = "stack-secret";
  const m = manifest();
  rejects(m, "JARVIS_MANIFEST_SIGNATURE", /unsigned/, key);
  rejects(
    { ...m, signature: signManifest(m as { signature?: string }, "another key") },
    "JARVIS_MANIFEST_SIGNATURE",
    /badly signed/,
    key,
  );
  const signed = { ...m, signature: signManifest(m as { signature?: string }, key) };
  assert.equal(parseManifest(JSON.stringify(signed), "x", key).id, m.id);
  // Any change after signing (a path, a hash) breaks the signature.
  const tampered = { ...signed, files: [{ path: "dump.rdb", size: 10, sha256: "b".repeat(64) }] };
  rejects(tampered, "JARVIS_MANIFEST_SIGNATURE", /badly signed/, key);
});

test("every resolved path stays inside its directory", () => {
  assert.equal(insideDir("/restore", "dump/toc.dat"), "/restore/dump/toc.dat");
  for (const p of ["../x", "../../../../tmp/x/pwned.txt", "/etc/passwd", "a/../../x", "."])
    assert.throws(
      () => insideDir("/restore", p),
      (e: unknown) => (e as JarvisError).code === "JARVIS_MANIFEST_INVALID",
      p,
    );
});
