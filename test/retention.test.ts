/**
 * Chroma and Redis retention (core/retention) against real servers, through runRetention: the
 * function the CLI and the ops runtime call. Each test uses its own collection or key pattern.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { createClient } from "redis";
import { chromaClient, precomputedEmbeddings } from "../core/chroma.ts";
import { formatRetentionReport, retentionPolicy, runRetention } from "../core/retention/index.ts";
import { testConfig, useServices } from "./harness/index.ts";

const { chroma, redis } = await useServices("chroma", "redis");
const DAY = 86400;

test("Chroma retention deletes exactly the expired records below each category's threshold, and reports them", async () => {
  const cfg = testConfig();
  const policy = retentionPolicy(cfg);
  const client = chromaClient(chroma.url, chroma.token);
  const name = `ret_${randomBytes(4).toString("hex")}`;
  const col = await client.createCollection({ name, embeddingFunction: precomputedEmbeddings });
  const now = Math.floor(Date.now() / 1000);
  const ids: string[] = [];
  const metadatas: Record<string, string | number>[] = [];
  const expect: Record<string, "gone" | "kept"> = {};
  for (const [category, rule] of Object.entries(policy.categories)) {
    const add = (id: string, ageDays: number, importance: number, fate: "gone" | "kept") => {
      ids.push(`${category}-${id}`);
      metadatas.push({ category, created_at: now - ageDays * DAY, importance });
      expect[`${category}-${id}`] = fate;
    };
    const below = rule.importanceThreshold > 0;
    add("old-low-1", rule.days + 1, Math.max(0, rule.importanceThreshold - 0.05), below ? "gone" : "kept");
    add("old-low-2", rule.days + 400, 0, below ? "gone" : "kept");
    add("old-at-threshold", rule.days + 30, rule.importanceThreshold, "kept");
    add("fresh-low", rule.days - 1, 0, "kept");
  }
  // Records the policy does not describe are never touched, and are reported as skipped.
  ids.push("no-category", "other-category");
  metadatas.push(
    { created_at: now - 5000 * DAY, importance: 0 },
    { category: "scratch", created_at: now - 5000 * DAY, importance: 0 },
  );
  expect["no-category"] = "kept";
  expect["other-category"] = "kept";
  await col.add({ ids, embeddings: ids.map((_, i) => [i, 1, 0]), metadatas });

  const dry = await runRetention({
    policy,
    stores: ["chroma"],
    chroma: { url: chroma.url, token: chroma.token, collections: [name] },
    dryRun: true,
  });
  assert.equal(dry.ok, true);
  assert.equal(await col.count(), ids.length, "a dry run deletes nothing");
  assert.equal(dry.chroma!.totals.deleted, 8);
  assert.equal(dry.chroma!.wouldDelete.length, 8, "a dry run lists what would go");
  assert.deepEqual(
    new Set(dry.chroma!.wouldDelete.map((d) => d.id)),
    new Set(Object.entries(expect).flatMap(([id, fate]) => (fate === "gone" ? [id] : []))),
  );

  const report = await runRetention({
    policy,
    stores: ["chroma"],
    chroma: { url: chroma.url, token: chroma.token, collections: [name] },
  });
  assert.equal(report.ok, true, JSON.stringify(report.errors));
  const left = new Set((await col.get({ include: [] })).ids);
  for (const [id, fate] of Object.entries(expect))
    assert.equal(left.has(id), fate === "kept", `${id} should be ${fate}`);
  const byCat = Object.fromEntries(
    report.chroma!.categories.map((c) => [c.category, [c.processed, c.deleted, c.kept]]),
  );
  assert.deepEqual(byCat, {
    conversations: [3, 2, 1],
    commands: [3, 2, 1],
    preferences: [3, 0, 3],
    patterns: [3, 2, 1],
    knowledge: [3, 2, 1],
  });
  assert.deepEqual(
    { before: report.chroma!.recordsBefore, after: report.chroma!.recordsAfter },
    { before: 22, after: 14 },
  );
  assert.match(formatRetentionReport(report), new RegExp(`${name}/commands: processed 3, deleted 2, kept 1`));
  // Records the policy cannot place are kept, counted and named, never passed over in silence.
  assert.deepEqual(report.chroma!.skipped.byReason, { "no-category": 1, "unknown-category": 1 });
  assert.match(formatRetentionReport(report), /skipped 2 record\(s\) that cannot be classified/);

  const again = await runRetention({
    policy,
    stores: ["chroma"],
    chroma: { url: chroma.url, token: chroma.token, collections: [name] },
  });
  assert.equal(again.chroma!.totals.deleted, 0);
  await client.deleteCollection({ name });
});

test("Redis retention gives temp keys without a TTL the configured one, leaves other TTLs and keys alone, and reports it", async () => {
  const tag = randomBytes(4).toString("hex");
  const cfg = testConfig({ redis: { tempKeyPattern: `temp:${tag}:*`, tempKeyTtlSeconds: 3600 } });
  const c = createClient({ url: redis.url() });
  await c.connect();
  try {
    for (let i = 0; i < 25; i++) await c.set(`temp:${tag}:k${i}`, "x");
    await c.set(`temp:${tag}:short`, "x", { EX: 50 });
    await c.set(`keep:${tag}`, "x");
    const policy = retentionPolicy(cfg);

    const dry = await runRetention({ policy, stores: ["redis"], redis: { url: redis.url() }, dryRun: true });
    assert.deepEqual(
      { s: dry.redis!.scanned, w: dry.redis!.withoutTtl, e: dry.redis!.expireSet },
      { s: 26, w: 25, e: 0 },
    );
    assert.equal(await c.ttl(`temp:${tag}:k0`), -1, "a dry run sets nothing");

    const report = await runRetention({ policy, stores: ["redis"], redis: { url: redis.url() } });
    assert.equal(report.ok, true);
    assert.deepEqual(
      { s: report.redis!.scanned, w: report.redis!.withoutTtl, e: report.redis!.expireSet },
      { s: 26, w: 25, e: 25 },
    );
    const ttl = await c.ttl(`temp:${tag}:k7`);
    assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
    assert.ok((await c.ttl(`temp:${tag}:short`)) <= 50, "an existing TTL is kept");
    assert.equal(await c.ttl(`keep:${tag}`), -1, "keys outside the pattern are untouched");
    assert.equal(report.redis!.maxmemoryPolicy, "allkeys-lru");
    assert.equal(report.redis!.maxmemory, 256 * 1024 * 1024);
    assert.match(formatRetentionReport(report), /EXPIRE 3600s set on 25/);
  } finally {
    await c.quit();
  }
});

test("a store that fails is reported with its error while the other stores still run", async () => {
  const tag = randomBytes(4).toString("hex");
  const policy = retentionPolicy(testConfig({ redis: { tempKeyPattern: `temp:${tag}:*` } }));
  const c = createClient({ url: redis.url() });
  await c.connect();
  await c.set(`temp:${tag}:a`, "x");
  try {
    const report = await runRetention({
      policy,
      stores: ["chroma", "redis"],
      chroma: { url: "http://127.0.0.1:9", token: "nope" },
      redis: { url: redis.url() },
    });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.errors.map((e) => e.store),
      ["chroma"],
    );
    assert.equal(report.redis!.expireSet, 1);
    assert.ok((await c.ttl(`temp:${tag}:a`)) > 0);
    await assert.rejects(
      runRetention({ policy, stores: ["postgres"] }),
      (e: Error & { code?: string }) => e.code === "JARVIS_RETENTION_INPUT",
    );
  } finally {
    await c.quit();
  }
});
