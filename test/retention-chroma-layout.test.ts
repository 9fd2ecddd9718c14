/**
 * Chroma retention on the audit's layout (A15): one collection per category, created_at as the
 * application writes it (ISO strings from Python, with and without an offset, epoch seconds and
 * milliseconds), the audit's table (conversations 180/0.3, commands 90/0.2, preferences 365/0.0,
 * patterns 120/0.4, knowledge 365/0.5), and records it cannot classify skipped and reported.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { chromaClient, precomputedEmbeddings } from "../core/chroma.ts";
import {
  parseCreatedAt,
  retentionPolicy,
  runRetention,
  formatRetentionReport,
} from "../core/retention/index.ts";
import { testConfig, useServices } from "./harness/index.ts";

const { chroma } = await useServices("chroma");
const DAY = 86400;
const NOW = new Date("2026-11-28T12:00:00Z");
const nowS = NOW.getTime() / 1000;

/** created_at `age` days before NOW, in one of the formats the application writes. */
const formats = {
  isoNaive: (age: number) =>
    new Date((nowS - age * DAY) * 1000)
      .toISOString()
      .replace("Z", "")
      .replace(/\.(\d{3})$/, ".$1456"),
  isoOffset: (age: number) =>
    new Date((nowS - age * DAY) * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00"),
  epochSeconds: (age: number) => nowS - age * DAY + 0.25,
  epochMillis: (age: number) => (nowS - age * DAY) * 1000,
};

test("created_at is read in every format the application writes", () => {
  const t = Date.UTC(2025, 7, 1, 12, 0, 0) / 1000;
  assert.equal(parseCreatedAt("2025-08-01T12:00:00.123456"), t + 0.123);
  assert.equal(parseCreatedAt("2025-08-01 14:00:00+02:00"), t);
  assert.equal(parseCreatedAt("2025-08-01T12:00:00Z"), t);
  assert.equal(parseCreatedAt(t), t);
  assert.equal(parseCreatedAt(t * 1000), t);
  assert.equal(parseCreatedAt(String(t)), t);
  assert.equal(parseCreatedAt("2025-08-01"), Date.UTC(2025, 7, 1) / 1000);
  for (const bad of ["yesterday", "", "2025-13-45T99:00", -5, null, {}])
    assert.equal(parseCreatedAt(bad), null, String(bad));
});

test("the audit's layout: one collection per category, its table applied, unclassifiable records skipped and reported", async () => {
  const policy = retentionPolicy(testConfig());
  assert.deepEqual(policy.categories, {
    conversations: { days: 180, importanceThreshold: 0.3 },
    commands: { days: 90, importanceThreshold: 0.2 },
    preferences: { days: 365, importanceThreshold: 0 },
    patterns: { days: 120, importanceThreshold: 0.4 },
    knowledge: { days: 365, importanceThreshold: 0.5 },
  });
  const client = chromaClient(chroma.url, chroma.token);
  const tag = `t${randomBytes(4).toString("hex")}`;
  const fates = new Map<string, "gone" | "kept" | "skipped">();
  const names: string[] = [];
  const fmts = Object.values(formats);
  for (const [category, rule] of Object.entries(policy.categories)) {
    const name = `${tag}_${category}`;
    names.push(name);
    const col = await client.createCollection({ name, embeddingFunction: precomputedEmbeddings });
    const rows: [string, Record<string, string | number>, "gone" | "kept" | "skipped"][] = [];
    fmts.forEach((fmt, i) => {
      // No category in the metadata: the collection says which one.
      const below = rule.importanceThreshold - 0.01;
      rows.push([
        `old-low-${i}`,
        { created_at: fmt(rule.days + 2), importance: Math.max(0, below) },
        below >= 0 ? "gone" : "kept",
      ]);
      rows.push([
        `old-at-${i}`,
        { created_at: fmt(rule.days + 2), importance: rule.importanceThreshold },
        "kept",
      ]);
      rows.push([`fresh-${i}`, { created_at: fmt(rule.days - 2), importance: 0 }, "kept"]);
    });
    rows.push([`no-date`, { importance: 0 }, "skipped"]);
    rows.push([`bad-date`, { created_at: "last tuesday", importance: 0 }, "skipped"]);
    rows.push([`old-no-importance`, { created_at: formats.isoNaive(rule.days + 30) }, "skipped"]);
    await col.add({
      ids: rows.map((r) => r[0]),
      embeddings: rows.map((_, i) => [i, 1, 0]),
      metadatas: rows.map((r) => r[1]),
    });
    for (const [id, , fate] of rows) fates.set(`${name}/${id}`, fate);
  }
  // A collection that is not a category's, whose records carry none: nothing to go on.
  const misc = `${tag}_scratch`;
  names.push(misc);
  await (
    await client.createCollection({ name: misc, embeddingFunction: precomputedEmbeddings })
  ).add({
    ids: ["loose"],
    embeddings: [[1, 1, 1]],
    metadatas: [{ created_at: formats.epochSeconds(5000), importance: 0 }],
  });
  fates.set(`${misc}/loose`, "skipped");

  const run = (dryRun: boolean) =>
    runRetention({
      policy,
      stores: ["chroma"],
      chroma: { url: chroma.url, token: chroma.token, collections: names },
      dryRun,
      now: NOW,
    });
  const dry = await run(true);
  const gone = [...fates].filter(([, f]) => f === "gone").map(([k]) => k);
  assert.deepEqual(dry.chroma!.wouldDelete.map((d) => `${d.collection}/${d.id}`).sort(), gone.sort());
  assert.equal(dry.chroma!.recordsAfter, dry.chroma!.recordsBefore, "a dry run deletes nothing");

  const report = await run(false);
  assert.equal(report.ok, true, JSON.stringify(report.errors));
  for (const name of names) {
    const left = new Set(
      (
        await (
          await client.getCollection({ name, embeddingFunction: precomputedEmbeddings })
        ).get({ include: [] })
      ).ids,
    );
    for (const [key, fate] of fates)
      if (key.startsWith(`${name}/`))
        assert.equal(left.has(key.slice(name.length + 1)), fate !== "gone", `${key} should be ${fate}`);
  }
  assert.equal(report.chroma!.layout[`${tag}_commands`], "commands");
  assert.equal(report.chroma!.layout[misc], null);
  // 4 formats: low-and-old goes (except preferences, threshold 0.0), at-threshold and fresh stay.
  const byCat = Object.fromEntries(
    report.chroma!.categories.map((c) => [c.category, [c.examined, c.processed, c.deleted, c.kept]]),
  );
  assert.deepEqual(byCat, {
    conversations: [12, 8, 4, 4],
    commands: [12, 8, 4, 4],
    preferences: [12, 8, 0, 8],
    patterns: [12, 8, 4, 4],
    knowledge: [12, 8, 4, 4],
  });
  assert.deepEqual(report.chroma!.skipped.byReason, {
    "no-created_at": 5,
    "bad-created_at": 5,
    "no-importance": 5,
    "no-category": 1,
  });
  assert.equal(report.chroma!.totals.skipped, 16);
  assert.equal(report.chroma!.totals.examined, 5 * 15 + 1);
  assert.match(formatRetentionReport(report), /skipped 16 record\(s\) that cannot be classified/);
  for (const name of names) await client.deleteCollection({ name });
});
