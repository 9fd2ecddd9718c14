/**
 * `migrate baseline`: records migrations 1..N as applied without running them, for a JARVIS
 * database whose schema was made before this engine existed, and only after checking that it IS
 * that schema. The check migrates a scratch database on the same server to N and compares the
 * two catalogues (core/migrate/catalog.ts): tables, columns, types, constraints, indexes,
 * functions and triggers. A database that differs (the audit's legacy shape, a hand-edited
 * schema) is refused with the list of differences: recording it would make the next migrations
 * and the retention jobs fail on what is not there. Such data comes in with `jarvis-data adopt`.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { silentLogger } from "../log.ts";
import { ident } from "../pg.ts";
import { catalogSnapshot, describeDifference, diffCatalogs, type CatalogDifference } from "./catalog.ts";
import {
  apply,
  appliedBy,
  load,
  planned,
  withLock,
  type EngineOptions,
  type PlannedMigration,
} from "./engine.ts";
import { BaselineMismatchError, MigrationRequestError } from "./errors.ts";
import { versionLabel } from "./files.ts";
import { ensureHistory, HISTORY_TABLE, readHistory } from "./history.ts";

export interface BaselineOptions extends EngineOptions {
  /** The last migration the database already matches. */
  version: number;
}

/** A client on another database of the same server, with the same credentials. */
async function sibling(client: pg.Client, database: string): Promise<pg.Client> {
  const c = new pg.Client({
    host: client.host,
    port: client.port,
    user: client.user,
    password: client.password,
    database,
    ssl: client.ssl,
    application_name: "jarvis-data migrate baseline",
  });
  c.on("error", () => {});
  await c.connect();
  return c;
}

/**
 * The differences between the connected database and migrations 1..`version` applied to a
 * scratch database (created beside it, dropped after; needs CREATEDB, as the stack's superuser has).
 */
export async function baselineDifferences(
  client: pg.Client,
  opts: BaselineOptions,
): Promise<CatalogDifference[]> {
  const { rows } = await client.query("select current_database() as db");
  const scratch = `${String(rows[0].db).slice(0, 30)}_baseline_${randomBytes(4).toString("hex")}`;
  await client.query(`create database ${ident(scratch)}`);
  try {
    const s = await sibling(client, scratch);
    try {
      await apply(s, { ...opts, log: silentLogger, to: opts.version });
      return diffCatalogs(await catalogSnapshot(s), await catalogSnapshot(client));
    } finally {
      await s.end().catch(() => {});
    }
  } finally {
    await client.query(`drop database if exists ${ident(scratch)} with (force)`);
  }
}

/**
 * Checks the database against migrations 1..version, then records them as applied. Refused when
 * any history exists (use migrate apply) or when the schema differs (BaselineMismatchError).
 */
export async function baseline(
  client: pg.Client,
  opts: BaselineOptions,
): Promise<{ recorded: PlannedMigration[] }> {
  const migrations = load(opts);
  if (!migrations.some((m) => m.version === opts.version)) {
    throw new MigrationRequestError(
      `no migration ${versionLabel(opts.version)} in the directory; baseline names the last migration the database already matches (one of ${migrations.map((m) => versionLabel(m.version)).join(", ")})`,
    );
  }
  const log = opts.log ?? silentLogger;
  return withLock(client, opts, async () => {
    await ensureHistory(client);
    const history = await readHistory(client);
    if (history.length) {
      throw new MigrationRequestError(
        `the database already has migration history (up to ${versionLabel(Math.max(...history.map((h) => h.version)))}); baseline is only for a database that never ran migrations: use migrate apply`,
      );
    }
    const differences = await baselineDifferences(client, { ...opts, migrations });
    if (differences.length) {
      throw new BaselineMismatchError(
        `the database does not match migrations 1..${versionLabel(opts.version)} (${differences.length} difference(s)); nothing was recorded:\n  ${differences.map(describeDifference).join("\n  ")}\nA database in another shape (the audit's legacy schema) is not baselined: migrate an empty database with \`jarvis-data migrate apply\` and bring the data in with \`jarvis-data adopt postgres --from <URL>\``,
        differences,
      );
    }
    const by = await appliedBy(client, opts);
    const recorded = migrations.filter((m) => m.version <= opts.version);
    await client.query("begin");
    try {
      for (const m of recorded) {
        await client.query(
          `insert into ${HISTORY_TABLE} (version, name, sha256, duration_ms, applied_by, kind) values ($1, $2, $3, 0, $4, 'baseline')`,
          [m.version, m.name, m.up.sha256, by],
        );
      }
      await client.query("commit");
    } catch (e) {
      await client.query("rollback").catch(() => {});
      throw e;
    }
    log.info(`baselined ${recorded.length} migration(s) up to ${versionLabel(opts.version)}, schema checked`);
    return { recorded: recorded.map(planned) };
  });
}
