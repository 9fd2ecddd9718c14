/**
 * The migration engine: status, plan, apply, down and baseline over a `pg` client. The CLI
 * (`jarvis-data migrate ...`), the Pulumi job container and the tests all run this code.
 *
 * - Every up file runs in its own transaction with lock_timeout and statement_timeout set, and
 *   its history row is written in that same transaction: a migration is applied whole or not at all.
 * - `-- jarvis:no-transaction` files (one statement, enforced in files.ts) run on their own.
 * - A session-level advisory lock (lock.ts) makes concurrent runners apply the set exactly once.
 * - Files run on a connection logged in as the owner role (opts.ownerUrl), except the few that
 *   need a superuser (sessions.ts, superuser.ts): no superuser session runs owner-planted code.
 * - Drift (an applied file edited, an applied file missing, a new file older than the newest
 *   applied one) stops everything before anything runs.
 */
import type pg from "pg";
import { silentLogger, type Logger } from "../log.ts";
import {
  type DriftProblem,
  MigrationDriftError,
  MigrationFailedError,
  MigrationRequestError,
} from "./errors.ts";
import { loadMigrations, versionLabel, type Migration, type SqlFile } from "./files.ts";
import { ensureHistory, HISTORY_TABLE, readHistory, type HistoryRow } from "./history.ts";
import { acquireMigrationLock, releaseMigrationLock } from "./lock.ts";
import { type SessionOptions, withSessions } from "./sessions.ts";

/** Defaults for every migration, overridable per file with a `-- jarvis:` header. */
export const DEFAULT_TIMEOUTS = {
  // A DDL statement that waits for a lock makes every later query on that table queue behind
  // it: better to fail after 5 s and retry than to stall the application.
  lockTimeout: "5s",
  // A runaway statement is stopped; long builds (an index on a big table) say so in a header.
  statementTimeout: "15min",
};

export interface EngineOptions extends SessionOptions {
  /** Directory of NNNN_name.sql files (default: this repository's sql/migrations). */
  dir?: string;
  /** Or the migrations themselves, already loaded. */
  migrations?: Migration[];
  log?: Logger;
  /** How long to wait for another runner's lock, ms (default 60 s). */
  lockWaitMs?: number;
  lockPollMs?: number;
  /** Recorded in the history's applied_by (default: the database session user). */
  appliedBy?: string;
  timeouts?: Partial<typeof DEFAULT_TIMEOUTS>;
}

export interface PlannedMigration {
  version: number;
  name: string;
  file: string;
  sha256: string;
  noTransaction: boolean;
  /** Runs on the superuser connection; every other file runs logged in as the owner. */
  superuser: boolean;
}

export interface Status {
  /** Highest applied version, 0 when none. */
  current: number;
  /** Highest version on disk. */
  head: number;
  applied: HistoryRow[];
  pending: PlannedMigration[];
  problems: DriftProblem[];
}

export interface AppliedMigration extends PlannedMigration {
  durationMs: number;
}

export interface ApplyResult {
  from: number;
  current: number;
  applied: AppliedMigration[];
  /** ms spent waiting for another runner's lock (0 when free or not needed). */
  waitedMs: number;
  /** The restore point recorded before the first migration ran (apply --restore-point). */
  restorePoint?: { name: string; lsn: string };
  durationMs: number;
}

export interface DownResult {
  from: number;
  current: number;
  reverted: AppliedMigration[];
  waitedMs: number;
}

export const planned = (m: Migration): PlannedMigration => ({
  version: m.version,
  name: m.name,
  file: m.up.file,
  sha256: m.up.sha256,
  noTransaction: m.up.noTransaction,
  superuser: m.up.superuser,
});

/** Compares files and history. Pure: no database access. */
export function compare(migrations: Migration[], history: HistoryRow[]): Status {
  const files = new Map(migrations.map((m) => [m.version, m]));
  const applied = new Map(history.map((h) => [h.version, h]));
  const current = history.reduce((max, h) => Math.max(max, h.version), 0);
  const problems: DriftProblem[] = [];
  for (const h of history) {
    const m = files.get(h.version);
    const file = `${versionLabel(h.version)}_${h.name}.sql`;
    if (!m) {
      problems.push({
        kind: "missing",
        version: h.version,
        file,
        message: `${file} was applied (${h.appliedAt}) but is missing from the migrations directory; restore the file from version control (applied migrations are never deleted)`,
      });
    } else if (m.up.sha256 !== h.sha256) {
      problems.push({
        kind: "checksum",
        version: h.version,
        file: m.up.file,
        appliedSha256: h.sha256,
        fileSha256: m.up.sha256,
        message: `${m.up.file} was edited after it was applied: checksum at apply ${h.sha256} ≠ file now ${m.up.sha256}; restore the file as applied and put the change in a new migration`,
      });
    }
  }
  const pending: PlannedMigration[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    if (m.version < current) {
      problems.push({
        kind: "out-of-order",
        version: m.version,
        file: m.up.file,
        message: `${m.up.file} is not applied but is older than the newest applied migration ${versionLabel(current)}; renumber it after ${versionLabel(current)} (migrations apply in order, and every environment must get the same order)`,
      });
    } else pending.push(planned(m));
  }
  const head = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  return { current, head, applied: history, pending, problems };
}

export function load(opts: EngineOptions): Migration[] {
  return opts.migrations ?? loadMigrations(opts.dir);
}

/** What is applied, what would run, and any drift. Never throws on drift: it reports it. */
export async function status(client: pg.Client, opts: EngineOptions = {}): Promise<Status> {
  return compare(load(opts), await readHistory(client));
}

function targetOf(pending: PlannedMigration[], to: number | undefined): PlannedMigration[] {
  return to === undefined ? pending : pending.filter((p) => p.version <= to);
}

/** The migrations `apply` would run, in order. Throws MigrationDriftError on drift. */
export async function plan(
  client: pg.Client,
  opts: EngineOptions & { to?: number } = {},
): Promise<Status & { toApply: PlannedMigration[] }> {
  const s = await status(client, opts);
  if (s.problems.length) throw new MigrationDriftError(s.problems);
  return { ...s, toApply: targetOf(s.pending, opts.to) };
}

/** line:column of a 1-based character position in `sql`. */
function lineOf(sql: string, position: number): number {
  return sql.slice(0, Math.max(0, position - 1)).split("\n").length;
}

function failure(
  file: SqlFile,
  e: unknown,
  transactional: boolean,
  done: AppliedMigration[],
  verb: "apply" | "revert",
): MigrationFailedError {
  const err = e as pg.DatabaseError;
  const where = err.position ? ` at line ${lineOf(file.sql, Number(err.position))}` : "";
  const parts = [
    `${file.file} failed${where}: ${err.message}${err.code ? ` (SQLSTATE ${err.code}${err.constraint ? `, constraint ${err.constraint}` : ""})` : ""}`,
  ];
  if (err.detail) parts.push(`detail: ${err.detail}`);
  if (err.code === "55P03")
    parts.push(
      `another session held a lock this migration needs; retry when it is done, or raise -- jarvis:lock-timeout in the file`,
    );
  if (err.code === "57014")
    parts.push(
      `the statement ran past its statement_timeout; raise -- jarvis:statement-timeout in the file if it is expected to be slow`,
    );
  parts.push(
    transactional
      ? `its transaction was rolled back: nothing of ${file.file} remains and it is not recorded as applied; fix it and ${verb === "apply" ? "run migrate apply" : "run migrate down"} again`
      : `it ran without a transaction (-- jarvis:no-transaction): check for a partial effect (an INVALID index from CREATE INDEX CONCURRENTLY must be dropped) before running again`,
  );
  if (done.length)
    parts.push(
      `already ${verb === "apply" ? "applied" : "reverted"} in this run, and kept: ${done.map((d) => d.file).join(", ")}`,
    );
  return new MigrationFailedError(file.file, parts.join("; "), err.code, err.constraint);
}

async function runFile(
  client: pg.Client,
  file: SqlFile,
  timeouts: typeof DEFAULT_TIMEOUTS,
  record: (durationMs: number) => Promise<void>,
): Promise<number> {
  const lockTimeout = file.lockTimeout ?? timeouts.lockTimeout;
  const statementTimeout = file.statementTimeout ?? timeouts.statementTimeout;
  const started = Date.now();
  if (file.noTransaction) {
    await client.query(`set lock_timeout = '${lockTimeout}'; set statement_timeout = '${statementTimeout}'`);
    try {
      await client.query(file.sql);
    } finally {
      await client.query("reset lock_timeout; reset statement_timeout").catch(() => {});
    }
    const durationMs = Date.now() - started;
    await record(durationMs);
    return durationMs;
  }
  await client.query("begin");
  try {
    await client.query(
      `set local lock_timeout = '${lockTimeout}'; set local statement_timeout = '${statementTimeout}'`,
    );
    await client.query(file.sql);
    // A file may SET LOCAL ROLE (objects owned by jarvis_owner): the history row is ours.
    await client.query("reset role");
    const durationMs = Date.now() - started;
    await record(durationMs);
    await client.query("commit");
    return durationMs;
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  }
}

/** Runs `fn` holding the migration lock (waits for another runner up to opts.lockWaitMs). */
export async function withLock<T>(
  client: pg.Client,
  opts: EngineOptions,
  fn: (waitedMs: number) => Promise<T>,
): Promise<T> {
  const log = opts.log ?? silentLogger;
  const waitedMs = await acquireMigrationLock(client, {
    timeoutMs: opts.lockWaitMs,
    pollMs: opts.lockPollMs,
    onWait: (holder) =>
      log.info(
        `another migration runner holds the lock (${holder}); waiting up to ${Math.round((opts.lockWaitMs ?? 60_000) / 1000)} s`,
      ),
  });
  try {
    return await fn(waitedMs);
  } finally {
    await releaseMigrationLock(client).catch(() => {});
  }
}

export async function appliedBy(client: pg.Client, opts: EngineOptions): Promise<string> {
  if (opts.appliedBy) return opts.appliedBy;
  const { rows } = await client.query("select session_user as u");
  return rows[0].u;
}

/**
 * Applies the pending migrations (up to `to`), in order, each in its own transaction.
 * With `restorePoint`, records pg_create_restore_point('jarvis-pre-migrate-<NNNN>') first, NNNN
 * being the version the run migrates to, so point-in-time recovery can return to before it.
 */
export async function apply(
  client: pg.Client,
  opts: EngineOptions & { to?: number; restorePoint?: boolean } = {},
): Promise<ApplyResult> {
  const started = Date.now();
  const log = opts.log ?? silentLogger;
  const migrations = load(opts);
  const before = await plan(client, { ...opts, migrations });
  if (before.toApply.length === 0) {
    return {
      from: before.current,
      current: before.current,
      applied: [],
      waitedMs: 0,
      durationMs: Date.now() - started,
    };
  }
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  return withLock(client, opts, async (waitedMs) => {
    await ensureHistory(client);
    // Another runner may have applied some or all of it while we waited: plan again.
    const s = await plan(client, { ...opts, migrations });
    const result: ApplyResult = { from: s.current, current: s.current, applied: [], waitedMs, durationMs: 0 };
    if (s.toApply.length === 0) {
      if (waitedMs > 0)
        log.info(`another runner applied everything while we waited ${waitedMs} ms; nothing to do`);
      result.durationMs = Date.now() - started;
      return result;
    }
    if (opts.restorePoint) {
      const name = `jarvis-pre-migrate-${versionLabel(s.toApply[s.toApply.length - 1]!.version)}`;
      const { rows } = await client.query("select pg_create_restore_point($1)::text as lsn", [name]);
      result.restorePoint = { name, lsn: rows[0].lsn };
      log.info(`restore point ${name} recorded at ${rows[0].lsn}`);
    }
    const byVersion = new Map(migrations.map((m) => [m.version, m]));
    await withSessions(
      client,
      opts,
      s.toApply.map((p) => byVersion.get(p.version)!.up),
      async (sessions) => {
        for (const p of s.toApply) {
          const m = byVersion.get(p.version)!;
          const c = await sessions.clientFor(m.up);
          const by = await appliedBy(c, opts);
          try {
            const durationMs = await runFile(c, m.up, timeouts, (d) =>
              c
                .query(
                  `insert into ${HISTORY_TABLE} (version, name, sha256, duration_ms, applied_by, kind) values ($1, $2, $3, $4, $5, 'applied')`,
                  [m.version, m.name, m.up.sha256, d, by],
                )
                .then(() => {}),
            );
            result.applied.push({ ...p, durationMs });
            result.current = m.version;
            log.info(`applied ${m.up.file}`, { durationMs, as: by });
          } catch (e) {
            throw failure(m.up, e, !m.up.noTransaction, result.applied, "apply");
          }
        }
      },
    );
    result.durationMs = Date.now() - started;
    return result;
  });
}

/** Reverts applied migrations above `to`, newest first, with their .down.sql files. */
export async function down(client: pg.Client, opts: EngineOptions & { to: number }): Promise<DownResult> {
  const log = opts.log ?? silentLogger;
  const migrations = load(opts);
  if (!Number.isInteger(opts.to) || opts.to < 0)
    throw new MigrationRequestError(
      `--to must be a version number >= 0 (0 reverts everything), got ${opts.to}`,
    );
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  return withLock(client, opts, async (waitedMs) => {
    const s = compare(migrations, await readHistory(client));
    if (s.problems.length) throw new MigrationDriftError(s.problems);
    const byVersion = new Map(migrations.map((m) => [m.version, m]));
    const targets = s.applied.filter((h) => h.version > opts.to).sort((a, b) => b.version - a.version);
    const noDown = targets.filter((h) => !byVersion.get(h.version)?.down);
    if (noDown.length) {
      throw new MigrationRequestError(
        `cannot go down to ${versionLabel(opts.to)}: no down file for ${noDown.map((h) => `${versionLabel(h.version)}_${h.name}`).join(", ")}; write NNNN_name.down.sql, or restore from a backup / restore point instead`,
      );
    }
    const result: DownResult = { from: s.current, current: s.current, reverted: [], waitedMs };
    const files = targets.map((h) => byVersion.get(h.version)!.down!);
    await withSessions(client, opts, files, async (sessions) => {
      for (const h of targets) {
        const m = byVersion.get(h.version)!;
        const file = m.down!;
        const c = await sessions.clientFor(file);
        try {
          const durationMs = await runFile(c, file, timeouts, (_d) =>
            c.query(`delete from ${HISTORY_TABLE} where version = $1`, [m.version]).then(() => {}),
          );
          result.reverted.push({ ...planned(m), durationMs });
          result.current = s.applied
            .filter((x) => x.version < m.version)
            .reduce((max, x) => Math.max(max, x.version), 0);
          log.info(`reverted ${m.up.file} with ${file.file}`, { durationMs });
        } catch (e) {
          throw failure(file, e, !file.noTransaction, result.reverted, "revert");
        }
      }
    });
    return result;
  });
}
