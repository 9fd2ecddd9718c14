/**
 * The logical restore driver: inspect the target, load a side database, check it, swap it in by
 * rename (see postgres-logical.ts for the naming). Server-level steps run on `adminUrl`; the data
 * is loaded as the target URL's role, so a drill loads a bucket's dump as an unprivileged role.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ident, withClient } from "../pg.ts";
import { compareCounts } from "./common.ts";
import type { LoadContext, RestoreDriver } from "./driver.ts";
import { describeDatabase, invalidConstraints, rowCounts, schemaVersion, userTables } from "./pg-inspect.ts";
import { databaseOf, pgBinary, pgEnv, run, withDatabase } from "./proc.ts";
import type { RestorePlan, StoreRestoreOptions } from "./run.ts";

export interface PgRestorePlan extends RestorePlan {
  store: "postgres";
  /** Filled when the target holds data: what the restore replaces. */
  overwrites: { tables: { table: string; rows: number }[]; sizeBytes: number } | null;
  pgCron: "kept" | "left out";
}

/** --confirm is the target database's name when the target is not empty. */
export interface PgLogicalRestoreOptions extends StoreRestoreOptions<PgRestorePlan> {
  /** Target database; created when missing. */
  targetUrl: string;
  jobs?: number;
  /** maintenance_work_mem for the index builds (HNSW is most of a restore's time). Default 512MB. */
  maintenanceWorkMem?: string;
  /** Skip ownership and grants (a cluster without the stack's roles, or a drill role). */
  noOwner?: boolean;
  /**
   * Server-level steps (create, rename and drop databases; create the dump's extensions) run
   * here; default: the target's server as the target's role. The drill passes a superuser here
   * and an unprivileged role as the target, so nothing from the bucket runs as a superuser.
   */
  adminUrl?: string;
}

/** Does the list line (from `pg_restore -l`) belong to pg_cron? */
export function isPgCronEntry(line: string): boolean {
  return (
    / EXTENSION - pg_cron\b/.test(line) ||
    / COMMENT - EXTENSION pg_cron\b/.test(line) ||
    /^\d+; \d+ \d+ [A-Z ]+ cron /.test(line) ||
    / SCHEMA - cron\b/.test(line)
  );
}

/** A database name with a suffix, within PostgreSQL's 63 bytes. */
export function sideName(db: string, what: "restoring" | "replaced", hex: string): string {
  const suffix = `_${what}_${hex}`;
  return db.slice(0, 63 - suffix.length) + suffix;
}

export function pgLogicalRestoreDriver(o: PgLogicalRestoreOptions): RestoreDriver {
  const target = databaseOf(o.targetUrl);
  const admin = withDatabase(o.adminUrl ?? o.targetUrl, "postgres");
  const hex = randomBytes(4).toString("hex");
  const side = sideName(target, "restoring", hex);
  const old = sideName(target, "replaced", hex);
  const onAdmin = <T>(fn: (c: import("pg").Client) => Promise<T>) => withClient(admin, fn);
  const state = { exists: false, cronDb: null as string | null, counts: {} as Record<string, number> };
  let created = false;

  const restoreList = async (dumpDir: string, dir: string, keep: (line: string) => boolean) => {
    const list = (await run(pgBinary("pg_restore"), ["-l", dumpDir])).stdout.split("\n");
    const file = join(dir, `restore-${randomBytes(3).toString("hex")}.list`);
    await writeFile(file, list.filter(keep).join("\n"));
    return { file, left: list.filter((l) => l.trim() && !l.startsWith(";") && !keep(l)) };
  };

  return {
    store: "postgres",
    kind: "logical",
    download: true,

    async inspectTarget() {
      Object.assign(
        state,
        await onAdmin(async (c) => ({
          exists: (await c.query("select 1 from pg_database where datname = $1", [target])).rowCount === 1,
          cronDb: ((await c.query("select current_setting('cron.database_name', true) as d")).rows[0].d ??
            null) as string | null,
        })),
      );
      const overwrites = state.exists
        ? await withClient(withDatabase(o.adminUrl ?? o.targetUrl, target), async (c) =>
            (await userTables(c)).length ? describeDatabase(c) : null,
          )
        : null;
      return {
        name: target,
        overwrites,
        summary: overwrites
          ? `${overwrites.tables.length} tables, ${(overwrites.sizeBytes / 1e6).toFixed(1)} MB`
          : undefined,
        plan: { pgCron: state.cronDb === target ? "kept" : "left out", sideDatabase: side },
      };
    },

    async load(ctx: LoadContext) {
      const dumpDir = join(ctx.localDir!, "dump");
      const owner = state.exists
        ? await onAdmin(
            async (c) =>
              (
                await c.query("select pg_get_userbyid(datdba) as o from pg_database where datname = $1", [
                  target,
                ])
              ).rows[0].o as string,
          )
        : decodeURIComponent(new URL(o.targetUrl).username) || "postgres";
      await onAdmin((c) => c.query(`create database ${ident(side)} owner ${ident(owner)}`));
      created = true;
      // The side database is never cron.database_name: pg_cron is left out (and put back after the swap).
      let skip = (l: string) => isPgCronEntry(l);
      if (o.adminUrl)
        skip = await createExtensions(dumpDir, ctx.localDir!, withDatabase(o.adminUrl, side), owner, skip);
      const { file } = await restoreList(dumpDir, ctx.localDir!, (l) => !skip(l));
      const args = ["-d", side, "-j", String(o.jobs ?? 2), "--exit-on-error", "-L", file];
      if (o.noOwner) args.push("--no-owner", "--no-privileges");
      ctx.log.info("pg_restore started", { id: ctx.ref.id, target, side, jobs: o.jobs ?? 2 });
      await run(pgBinary("pg_restore"), [...args, dumpDir], {
        env: {
          ...pgEnv(withDatabase(o.targetUrl, side)),
          PGOPTIONS: `-c maintenance_work_mem=${o.maintenanceWorkMem ?? "512MB"}`,
        },
        fix: `the target ${target} is untouched; fix the cause (a missing role: pass --no-owner; a missing extension: install it) and restore again`,
      });
    },

    async check(ctx: LoadContext) {
      return withClient(withDatabase(o.targetUrl, side), async (c) => {
        await c.query("analyze");
        state.counts = await rowCounts(c);
        const problems = compareCounts(ctx.manifest.rowCounts ?? {}, state.counts);
        for (const con of await invalidConstraints(c)) problems.push(`constraint ${con} is not validated`);
        const version = await schemaVersion(c);
        if (version !== ctx.manifest.schemaVersion)
          problems.push(
            `migration version ${version ?? "none"}, the backup says ${ctx.manifest.schemaVersion ?? "none"}`,
          );
        return problems;
      });
    },

    async swap(ctx: LoadContext) {
      if (state.exists) await swapIn(admin, { target, side, old });
      else await onAdmin((c) => c.query(`alter database ${ident(side)} rename to ${ident(target)}`));
      created = false;
      if (state.exists) await onAdmin((c) => c.query(`drop database if exists ${ident(old)} with (force)`));
      if (state.cronDb === target) {
        const dumpDir = join(ctx.localDir!, "dump");
        const { file } = await restoreList(dumpDir, ctx.localDir!, isPgCronEntry);
        await run(pgBinary("pg_restore"), ["-d", target, "--exit-on-error", "-L", file, dumpDir], {
          env: pgEnv(withDatabase(o.adminUrl ?? o.targetUrl, target)),
          fix: "the data is restored but pg_cron's jobs are not: run `jarvis-data cron apply`",
        });
      }
    },

    async discard() {
      if (created) await onAdmin((c) => c.query(`drop database if exists ${ident(side)} with (force)`));
    },

    result: () => ({ rowCounts: state.counts }),
  };
}

/**
 * target → old, side → target; the old one is renamed back when the second rename fails. No
 * session may stay on the target: new ones are refused, current ones ended.
 */
async function swapIn(admin: string, n: { target: string; side: string; old: string }): Promise<void> {
  await withClient(admin, async (c) => {
    await c.query(`alter database ${ident(n.target)} with allow_connections false`);
    await c.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [n.target],
    );
    await c.query(`alter database ${ident(n.target)} rename to ${ident(n.old)}`);
    try {
      await c.query(`alter database ${ident(n.side)} rename to ${ident(n.target)}`);
    } catch (e) {
      await c.query(`alter database ${ident(n.old)} rename to ${ident(n.target)}`);
      await c.query(`alter database ${ident(n.target)} with allow_connections true`);
      throw e;
    }
  });
}

/**
 * Creates, as the admin, the extensions (and their schemas) the dump asks for, so the
 * unprivileged role loads everything else. Only names from the dump's list that the server has
 * installed are used, quoted; no SQL from the dump runs as the admin. Returns the entries to skip.
 */
async function createExtensions(
  dumpDir: string,
  tmp: string,
  sideAdminUrl: string,
  owner: string,
  skip: (l: string) => boolean,
): Promise<(l: string) => boolean> {
  const list = (await run(pgBinary("pg_restore"), ["-l", dumpDir])).stdout.split("\n");
  const ext = list.filter((l) => !skip(l) && / EXTENSION - /.test(l) && !/ COMMENT - /.test(l));
  if (!ext.length) return skip;
  const file = join(tmp, "extensions.list");
  await writeFile(file, ext.join("\n"));
  const sql = (await run(pgBinary("pg_restore"), ["-f", "-", "-L", file, dumpDir])).stdout;
  const wanted = [
    ...sql.matchAll(/^CREATE EXTENSION IF NOT EXISTS ([a-z_][a-z0-9_]*) WITH SCHEMA ([a-z_][a-z0-9_]*);$/gm),
  ];
  const schemas = new Set<string>();
  await withClient(sideAdminUrl, async (c) => {
    for (const [, name, schema] of wanted) {
      const available = (await c.query("select 1 from pg_available_extensions where name = $1", [name]))
        .rowCount;
      if (!available) continue;
      if (schema !== "public") {
        await c.query(`create schema if not exists ${ident(schema!)} authorization ${ident(owner)}`);
        schemas.add(schema!);
      }
      await c.query(`create extension if not exists ${ident(name!)} schema ${ident(schema!)}`);
      // The extension's own tables (pg_partman's config) are loaded by the restoring role.
      await c.query(`grant all on all tables in schema ${ident(schema!)} to ${ident(owner)}`);
      await c.query(`grant all on all sequences in schema ${ident(schema!)} to ${ident(owner)}`);
    }
  });
  const names = new Set(wanted.map((w) => w[1]));
  return (l: string) =>
    skip(l) ||
    [...names].some((n) => new RegExp(` (EXTENSION - |COMMENT - EXTENSION )${n}\\b`).test(l)) ||
    [...schemas].some((s) => new RegExp(` SCHEMA - ${s} `).test(`${l} `));
}
