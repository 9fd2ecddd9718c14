/** Pure pieces of core/backup: pg_dump's progress lines, counts, side names, the refusal rule, the throwaway Redis config. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareCounts, HashingStream, objectProblem } from "../../core/backup/common.ts";
import { finishedDumpItems } from "../../core/backup/pg-dump.ts";
import { isPgCronEntry, sideName } from "../../core/backup/pg-restore.ts";
import { missingKeys } from "../../core/backup/redis.ts";
import { throwawayConfig } from "../../core/backup/redis-server.ts";
import { refuseUnconfirmed } from "../../core/backup/run.ts";
import { RefusedError } from "../../core/errors.ts";

test("pg_dump's 'finished item' lines give the dump ids, even when processes interleave on stderr", () => {
  assert.deepEqual(finishedDumpItems("pg_dump: finished item 4268 TABLE DATA users"), ["4268"]);
  assert.deepEqual(
    finishedDumpItems("pg_dump: pg_dump: finished item 1 TABLE DATA a finished item 22 TABLE DATA b"),
    ["1", "22"],
  );
  assert.deepEqual(finishedDumpItems('pg_dump: dumping contents of table "public.users"'), []);
});

test("row counts compare table by table, naming a missing table and a wrong count", () => {
  assert.deepEqual(compareCounts({ "public.a": 2, "public.b": 1 }, { "public.a": 2, "public.b": 1 }), []);
  assert.deepEqual(compareCounts({ "public.a": 2, "public.b": 1 }, { "public.a": 3 }), [
    "table public.a has 3 rows, expected 2",
    "table public.b is missing",
  ]);
});

test("one hashing stream gives sha256 and size, and objects are checked against their entry", () => {
  const h = new HashingStream();
  h.update(Buffer.from("hello "));
  h.update(Buffer.from("world"));
  const d = h.digest();
  assert.equal(d.size, 11);
  assert.equal(d.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  assert.equal(objectProblem(d, { path: "x", ...d }), null);
  assert.match(objectProblem(d, { path: "x", size: 12, sha256: d.sha256 })!, /size 11 B, manifest says 12 B/);
});

test("side and replaced database names stay within 63 bytes and keep their suffix", () => {
  assert.equal(sideName("jarvis", "restoring", "ab12cd34"), "jarvis_restoring_ab12cd34");
  const long = sideName("x".repeat(70), "replaced", "ab12cd34");
  assert.equal(long.length, 63);
  assert.ok(long.endsWith("_replaced_ab12cd34"));
});

test("pg_cron's entries in a pg_restore list are recognised", () => {
  assert.ok(isPgCronEntry("3; 3079 16385 EXTENSION - pg_cron "));
  assert.ok(isPgCronEntry("4567; 0 16390 TABLE DATA cron job postgres"));
  assert.ok(!isPgCronEntry("4568; 0 16400 TABLE DATA public users jarvis_owner"));
});

test("a non-empty target needs --confirm with its name, and in prod --force too", () => {
  const target = { name: "jarvis", overwrites: { tables: 26 }, summary: "26 tables" };
  assert.throws(
    () => refuseUnconfirmed(target, {}),
    (e: unknown) => e instanceof RefusedError && /--confirm jarvis/.test(e.message),
  );
  assert.throws(() => refuseUnconfirmed(target, { confirm: "other" }), RefusedError);
  refuseUnconfirmed(target, { confirm: "jarvis" });
  assert.throws(
    () => refuseUnconfirmed(target, { confirm: "jarvis", environment: "prod" }),
    (e: unknown) => e instanceof RefusedError && e.exitCode === 4 && /--force/.test(e.message),
  );
  refuseUnconfirmed(target, { confirm: "jarvis", force: true, environment: "prod" });
  refuseUnconfirmed({ name: "empty", overwrites: null }, { environment: "prod" });
});

test("Redis key counts may fall short only by what TTLs can expire", () => {
  assert.deepEqual(missingKeys({ db0: 1000 }, { db0: 999 }), []);
  assert.deepEqual(missingKeys({ db0: 1000, db1: 5 }, { db0: 500 }), [
    "db0 has 500 keys, expected 1000",
    "db1 has 0 keys, expected 5",
  ]);
});

test("the throwaway Redis gets its password from a config file, not its command line", () => {
  const conf = throwawayConfig({ port: 1234, host: "127.0.0.1", dir: "/tmp/x", password: "s3cr3t" });
  assert.match(conf, /^requirepass s3cr3t$/m);
  assert.match(conf, /^appendonly no$/m);
});
