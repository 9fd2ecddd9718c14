/**
 * `adopt redis`: the old server's keys (from its URL or its dump.rdb) land in the stack's Redis
 * with their absolute expiries; counts are verified; a second run writes nothing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { createClient } from "redis";
import { adoptRedis } from "../core/adopt/redis.ts";
import { startRedis, startRedisOnDir } from "./harness/index.ts";

/** The legacy Redis: no ACL, the audit's plain `redis-server` with a few kinds of keys. */
async function legacyRedis() {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-legacy-redis-"));
  const server = await startRedisOnDir(dir, ["--save", "", "--appendonly", "no"]);
  const c = createClient({ url: server.url });
  await c.connect();
  await c.set("session:alice", "Réunion du lundi");
  await c.hSet("user:1", { name: "Alice", lang: "fr" });
  await c.rPush("history:1", ["is 3 < 5?", "let one = 1"]);
  await c.set("temp:weather", "18°C", { EX: 3600 });
  await c.set(Buffer.from([0xff, 0x00, 0x41]), Buffer.from([1, 2, 3]));
  await c.select(2);
  await c.set("cache:db2", "x", { PX: 7_200_000 });
  await c.select(0);
  const expiry = Number(await c.sendCommand(["PEXPIRETIME", "temp:weather"]));
  await c.quit();
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { ...server, dir, expiry };
}

async function keys(url: string, db: number): Promise<Record<string, number>> {
  const c = createClient({ url, database: db });
  await c.connect();
  const out: Record<string, number> = {};
  for await (const batch of c.scanIterator())
    for (const k of batch) out[k] = Number(await c.sendCommand(["PEXPIRETIME", k]));
  await c.quit();
  return out;
}

test("adopts a Redis by URL: every key in the stack's Redis with its expiry, counts verified, a second run writes nothing", async () => {
  const legacy = await legacyRedis();
  const stack = await startRedis();
  after(() => stack.stop());
  const r = await adoptRedis({ from: legacy.url, target: stack.url("admin") });
  assert.deepEqual(r.mismatches, []);
  assert.deepEqual(r.databases.db0, {
    source: 5,
    imported: 5,
    unchanged: 0,
    expired: 0,
    withTtl: 1,
    countsMatch: true,
  });
  assert.equal(r.databases.db2?.imported, 1);
  const got = await keys(stack.url("admin"), 0);
  assert.equal(got["temp:weather"], legacy.expiry);
  assert.equal(got["session:alice"], -1);
  assert.equal(Object.keys(got).length, 5);
  assert.ok((await keys(stack.url("admin"), 2))["cache:db2"]! > Date.now());

  const again = await adoptRedis({ from: legacy.url, target: stack.url("admin") });
  assert.equal(again.databases.db0?.imported, 0);
  assert.equal(again.databases.db0?.unchanged, 5);
  assert.deepEqual(again.mismatches, []);
});

test("adopts a dump.rdb through a throwaway server on a copy, leaving the file as it was", async () => {
  const legacy = await legacyRedis();
  const c = createClient({ url: legacy.url });
  await c.connect();
  await c.sendCommand(["SAVE"]);
  await c.quit();
  const stack = await startRedis();
  after(() => stack.stop());
  const rdb = join(legacy.dir, "dump.rdb");
  const { readFileSync } = await import("node:fs");
  const before = readFileSync(rdb);
  const r = await adoptRedis({ from: rdb, target: stack.url("admin") });
  assert.deepEqual(r.mismatches, []);
  assert.equal(r.databases.db0?.imported, 5);
  assert.equal((await keys(stack.url("admin"), 0))["temp:weather"], legacy.expiry);
  assert.ok(readFileSync(rdb).equals(before));
});

test("refuses a stack Redis holding keys the source lacks unless --force, and a source that is neither URL nor file", async () => {
  const legacy = await legacyRedis();
  const stack = await startRedis();
  after(() => stack.stop());
  const c = createClient({ url: stack.url("admin") });
  await c.connect();
  await c.set("already:here", "1");
  await c.quit();
  await assert.rejects(
    adoptRedis({ from: legacy.url, target: stack.url("admin") }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "JARVIS_ADOPT_TARGET_NOT_EMPTY");
      assert.match(e.message, /db0 \(1 keys\)/);
      return true;
    },
  );
  const forced = await adoptRedis({ from: legacy.url, target: stack.url("admin"), force: true });
  assert.equal(forced.databases.db0?.imported, 5);
  await assert.rejects(adoptRedis({ from: "/nonexistent/dump.rdb", target: stack.url("admin") }), {
    code: "JARVIS_ADOPT_BAD_SOURCE",
  });
});
