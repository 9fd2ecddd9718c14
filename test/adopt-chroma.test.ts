/**
 * `adopt chroma`: the application's old ./memory directory (one collection per category, as the
 * audit's memory_system keeps it) is read from a copy by a throwaway Chroma, imported into the
 * stack's Chroma, verified, with the metadata the stack's retention needs derived.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { ChromaClient } from "chromadb";
import { adoptChroma, toEpochSeconds } from "../core/adopt/chroma.ts";
import { ChromaApi } from "../core/backup/chroma.ts";
import { chromaRetention } from "../core/retention/chroma.ts";
import { freePort, useServices } from "./harness/index.ts";

const { chroma } = await useServices("chroma");
const emb = (seed: number) => Array.from({ length: 384 }, (_, k) => Math.sin(seed * 1000 + k) / 20);
const DAY = 86400;
const now = Math.floor(Date.now() / 1000);

/** The legacy ./memory directory, written by a Chroma of its own and then stopped. */
async function legacyMemoryDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-legacy-memory-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const bin = resolve(import.meta.dirname, "../node_modules/.bin/chroma");
  const child = spawn(
    process.execPath,
    [bin, "run", "--path", dir, "--host", "127.0.0.1", "--port", String(port)],
    { stdio: "ignore" },
  );
  const url = `http://127.0.0.1:${port}`;
  for (
    let i = 0;
    !(await fetch(`${url}/api/v2/heartbeat`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    assert.ok(i < 600, "the legacy Chroma did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = new ChromaApi({ url });
  const conv = await api.create("conversations", null, null);
  await api.add(conv, {
    ids: ["c-old-low", "c-old-high", "c-bare"],
    embeddings: [emb(1), emb(2), emb(3)],
    documents: ["Réunion du lundi", "is 3 < 5 ?", "let one = 1"],
    metadatas: [
      { timestamp: "2025-03-30T03:30:00", importance: 0.2 }, // naive, Paris, after the DST change
      { created_at: now - 400 * DAY, importance: "0.8" },
      null,
    ],
  });
  const prefs = await api.create("preferences", null, null);
  await api.add(prefs, {
    ids: ["p1"],
    embeddings: [emb(4)],
    documents: ["préfère le thé"],
    metadatas: [{ category: "preferences", timestamp: "2024-11-04T09:00:00Z" }],
  });
  const misc = await api.create("scratch", null, null);
  await api.add(misc, {
    ids: ["s1"],
    embeddings: [emb(5)],
    documents: ["note"],
    metadatas: [{ source: "voice" }],
  });
  await new Promise<void>((ok) => (child.once("exit", () => ok()), child.kill("SIGTERM")));
  return dir;
}

function treeHash(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p.slice(dir.length)).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}

test("adopts the old ./memory directory from a copy: counts and fingerprints verified, category, created_at and importance derived for retention", async () => {
  const dir = await legacyMemoryDir();
  const before = treeHash(dir);
  const database = `adopt_${randomBytes(4).toString("hex")}`;
  const target = new ChromaApi({ url: chroma.url, token: chroma.token, database });
  await target.createDatabase();
  const r = await adoptChroma({
    from: dir,
    target: { url: chroma.url, token: chroma.token, database },
    sourceTimeZone: "Europe/Paris",
  });
  assert.deepEqual(r.mismatches, []);
  assert.deepEqual(Object.keys(r.collections).sort(), ["conversations", "preferences", "scratch"]);
  assert.equal(r.collections.conversations!.source, 3);
  assert.equal(r.collections.conversations!.checksumMatch, true);
  assert.equal(r.collections.conversations!.withoutCreatedAt, 1);
  assert.equal(treeHash(dir), before, "the source directory was not touched");

  const cols = await target.collections();
  const conv = cols.find((c) => c.name === "conversations")!;
  const got = await target.get(conv, 0, 10);
  const meta = Object.fromEntries(got.ids.map((id, i) => [id, got.metadatas[i]]));
  assert.deepEqual(meta["c-old-low"], {
    timestamp: "2025-03-30T03:30:00",
    importance: 0.2,
    category: "conversations",
    created_at: Date.UTC(2025, 2, 30, 1, 30) / 1000,
  });
  assert.deepEqual(meta["c-old-high"], {
    created_at: now - 400 * DAY,
    importance: 0.8,
    category: "conversations",
  });
  assert.deepEqual(meta["c-bare"], { category: "conversations", importance: 0.5 });
  const scratch = await target.get(
    cols.find((c) => c.name === "scratch")!,
    0,
    10,
  );
  assert.equal(scratch.metadatas[0]!.category, undefined, "no category for a collection that is not one");

  // The stack's retention then works on the adopted records: A15 conversations 180 days / 0.3.
  const u = new URL(chroma.url);
  const client = new ChromaClient({
    host: u.hostname,
    port: Number(u.port),
    database,
    headers: { "x-chroma-token": chroma.token },
  });
  const report = await chromaRetention({
    client,
    categories: { conversations: { days: 180, importanceThreshold: 0.3 } },
    collections: ["conversations"],
  });
  assert.equal(report.totals.deleted, 1);
  assert.deepEqual((await target.get(conv, 0, 10)).ids.sort(), ["c-bare", "c-old-high"]);
});

test("reads time metadata as the audit's layout writes it", () => {
  assert.equal(toEpochSeconds("2025-10-26T02:30:00+01:00", "UTC"), Date.UTC(2025, 9, 26, 1, 30) / 1000);
  assert.equal(toEpochSeconds("2025-01-15 12:00:00", "Europe/Paris"), Date.UTC(2025, 0, 15, 11) / 1000);
  assert.equal(toEpochSeconds(1_700_000_000_123, "UTC"), 1_700_000_000);
  assert.equal(toEpochSeconds("hier", "UTC"), null);
});

test("refuses a directory that is not Chroma's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-not-chroma-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(adoptChroma({ from: dir, target: { url: chroma.url, token: chroma.token } }), {
    code: "JARVIS_ADOPT_BAD_SOURCE",
  });
});

test("refuses a stack collection holding records the source lacks unless --force, and verifies only the source's records", async () => {
  const dir = await legacyMemoryDir();
  const database = `adopt_${randomBytes(4).toString("hex")}`;
  const target = new ChromaApi({ url: chroma.url, token: chroma.token, database });
  await target.createDatabase();
  const mine = await target.create("preferences", null, null);
  await target.add(mine, {
    ids: ["already-here"],
    embeddings: [emb(9)],
    documents: ["x"],
    metadatas: [{ category: "preferences" }],
  });
  const opts = { from: dir, target: { url: chroma.url, token: chroma.token, database } };
  await assert.rejects(adoptChroma(opts), (e: Error & { code?: string }) => {
    assert.equal(e.code, "JARVIS_ADOPT_TARGET_NOT_EMPTY");
    assert.match(e.message, /preferences holds 1 records/);
    return true;
  });
  const r = await adoptChroma({ ...opts, force: true });
  assert.deepEqual(r.mismatches, []);
  assert.equal(await target.count(mine), 2);
});
