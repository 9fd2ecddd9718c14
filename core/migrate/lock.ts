/**
 * The migration lock: a session-level advisory lock, taken with pg_try_advisory_lock in a loop
 * until a bounded timeout, outside any transaction.
 *
 * Why this shape (docs/migrations.md has the long form):
 * - Session-level, not pg_advisory_xact_lock inside a migration transaction: the lock covers the
 *   whole run (several transactions, and no-transaction files), and a runner that waits holds no
 *   open transaction. A waiter blocked in pg_advisory_lock() inside a transaction is itself a
 *   transaction that CREATE INDEX CONCURRENTLY (run by the holder) must wait for: the holder
 *   waits for the waiter, the waiter for the holder, and neither ever finishes.
 * - Polling with pg_try_advisory_lock: each attempt is a short statement that returns at once,
 *   so between attempts the waiter holds nothing; and we decide how long to wait.
 * - Bounded wait, not fail-fast: two `pulumi up` (or a CI job and an operator) racing is normal,
 *   and the loser should simply find nothing left to do; but a runner stuck for minutes is a
 *   problem to report, with who holds the lock.
 * Advisory locks are per database, so runners on different databases never contend.
 */
import type pg from "pg";
import { MigrationLockTimeoutError } from "./errors.ts";

/** The two int4 keys of the lock: 'JARV' 'MIGR'. */
export const LOCK_KEYS = [0x4a415256, 0x4d494752] as const;

export interface LockOptions {
  /** How long to wait for another runner, in ms (default 60 s). */
  timeoutMs?: number;
  /** Between two attempts, in ms (default 250). */
  pollMs?: number;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: (holder: string) => void;
}

/** Who holds the lock, for messages: "pid 123 (jarvis-data migrate, 10.0.0.5, since ...)". */
export async function lockHolder(client: pg.Client): Promise<string> {
  const { rows } = await client.query(
    `select a.pid, a.application_name, coalesce(host(a.client_addr), 'local socket') as client, a.backend_start
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.classid = $1 and l.objid = $2 and l.objsubid = 2
        and l.database = (select oid from pg_database where datname = current_database())`,
    [LOCK_KEYS[0], LOCK_KEYS[1]],
  );
  const r = rows[0];
  return r
    ? `pid ${r.pid} (${r.application_name || "no application_name"}, ${r.client}, connected since ${new Date(r.backend_start).toISOString()})`
    : "a session that has just released it";
}

/** Takes the lock or throws MigrationLockTimeoutError naming the holder. Returns ms waited. */
export async function acquireMigrationLock(client: pg.Client, opts: LockOptions = {}): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pollMs = opts.pollMs ?? 250;
  const started = Date.now();
  let announced = false;
  for (;;) {
    const { rows } = await client.query("select pg_try_advisory_lock($1, $2) as ok", [
      LOCK_KEYS[0],
      LOCK_KEYS[1],
    ]);
    if (rows[0].ok) return Date.now() - started;
    if (!announced) {
      announced = true;
      opts.onWait?.(await lockHolder(client));
    }
    if (Date.now() - started >= timeoutMs) {
      throw new MigrationLockTimeoutError(
        `another migration runner holds the migration lock: ${await lockHolder(client)}; waited ${Math.round((Date.now() - started) / 1000)} s. Let it finish and run again, or if that session is stuck, end it with select pg_terminate_backend(<pid>)`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export async function releaseMigrationLock(client: pg.Client): Promise<void> {
  await client.query("select pg_advisory_unlock($1, $2)", [LOCK_KEYS[0], LOCK_KEYS[1]]);
}
