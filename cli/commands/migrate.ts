/**
 * `jarvis-data migrate plan|apply|status|down|baseline`: the schema migrations (core/migrate),
 * the same code the stack's migration job runs during `pulumi up`.
 */
import { resolve } from "node:path";
import { EXIT, JarvisError, RefusedError, UsageError } from "../../core/errors.ts";
import {
  apply,
  baseline,
  down,
  plan,
  status,
  loadMigrations,
  manifestHash,
  versionLabel,
  type EngineOptions,
} from "../../core/migrate/index.ts";
import { withClient } from "../../core/pg.ts";
import { defineCommand, type CommandContext } from "../command.ts";
import { need } from "../env.ts";

const COMMON_OPTIONS = {
  dir: { type: "string", description: "the migrations directory (default: sql/migrations)" },
  "lock-wait": {
    type: "number",
    integer: true,
    min: 0,
    description: "seconds to wait for another runner's lock (default 60)",
  },
} as const;

type CommonValues = { dir?: string; "lock-wait"?: number };

function engineOptions(ctx: Pick<CommandContext, "log"> & { options: CommonValues }): EngineOptions {
  const dir = ctx.options.dir;
  const wait = ctx.options["lock-wait"];
  return {
    ...(dir ? { dir: resolve(dir) } : {}),
    ...(wait !== undefined ? { lockWaitMs: Number(wait) * 1000 } : {}),
    log: ctx.log,
  };
}

/** A migration version given as --to N (3 or 0003; 0 means before every migration). */
function version(raw: string | undefined, option: string, required: boolean): number | undefined {
  if (raw === undefined) {
    if (required)
      throw new UsageError(
        `--${option} N is required (N a migration version, e.g. 3 or 0003; 0 means before every migration)`,
      );
    return undefined;
  }
  if (!/^\d{1,4}$/.test(raw))
    throw new UsageError(`--${option} takes a migration version such as 3 or 0003, got "${raw}"`);
  return Number(raw);
}

/**
 * The owner's connection for apply and down (core/migrate/sessions.ts): without one, a superuser
 * run is refused in prod and warned about elsewhere.
 */
function ownerOptions(ctx: CommandContext): Pick<EngineOptions, "ownerUrl" | "requireOwner"> {
  return {
    ...(ctx.env.migrateOwnerUrl ? { ownerUrl: ctx.env.migrateOwnerUrl } : {}),
    requireOwner: ctx.env.environment === "prod",
  };
}

function url(ctx: CommandContext): string {
  return need(ctx.env.databaseUrl, "DATABASE_URL", "postgresql://jarvis_owner@localhost:5432/jarvis");
}

const connectOpts = { applicationName: "jarvis-data migrate" };

export const migratePlan = defineCommand({
  name: "migrate plan",
  summary: "list the migrations apply would run (fails on drift)",
  usage: "jarvis-data migrate plan [--to N] [--dir DIR] [--json]",
  options: { ...COMMON_OPTIONS, to: { type: "string" } },
  async run(ctx) {
    const opts = engineOptions(ctx);
    const p = await withClient(
      url(ctx),
      (c) => plan(c, { ...opts, to: version(ctx.options.to, "to", false) }),
      connectOpts,
    );
    const text = p.toApply.length
      ? [
          `${p.toApply.length} migration(s) to apply (database at ${versionLabel(p.current)}):`,
          ...p.toApply.map(
            (m) =>
              `  ${m.file}${m.noTransaction ? "  (no transaction)" : ""}  sha256:${m.sha256.slice(0, 12)}`,
          ),
        ].join("\n")
      : `nothing to apply: the database is at ${versionLabel(p.current)} (head ${versionLabel(p.head)})`;
    ctx.print({ current: p.current, head: p.head, toApply: p.toApply }, text);
    return EXIT.ok;
  },
});

export const migrateApply = defineCommand({
  name: "migrate apply",
  summary: "apply the pending migrations, each in its own transaction, under the migration lock",
  usage:
    "jarvis-data migrate apply [--to N] [--restore-point] [--expect HASH] [--dir DIR] [--lock-wait S] [--json]",
  description: [
    "--restore-point records pg_create_restore_point('jarvis-pre-migrate-NNNN') before the first migration runs (prod).",
    "--expect HASH refuses to run unless the migration files hash to HASH (the stack's job passes the hash it was planned with).",
    "--lock-wait S waits up to S seconds (default 60) for another runner to finish.",
    "JARVIS_MIGRATE_OWNER_URL (or JARVIS_MIGRATE_OWNER_URL_FILE): a URL logged in as jarvis_owner; every file not marked superuser runs there (docs/migrations.md). Without it a superuser run warns, and is refused when JARVIS_ENVIRONMENT=prod.",
  ].join("\n"),
  options: {
    ...COMMON_OPTIONS,
    to: { type: "string" },
    "restore-point": { type: "boolean" },
    expect: { type: "string" },
  },
  async run(ctx) {
    const opts = engineOptions(ctx);
    const migrations = loadMigrations(opts.dir);
    const expected = ctx.options.expect;
    if (expected && expected !== manifestHash(migrations)) {
      throw new JarvisError(
        "JARVIS_MIGRATION_MANIFEST",
        `the migration files here hash to ${manifestHash(migrations)}, not the expected ${expected}: this image was built from other files than the stack planned; rebuild the ops image and run pulumi up again`,
        EXIT.usage,
      );
    }
    const r = await withClient(
      url(ctx),
      (c) =>
        apply(c, {
          ...opts,
          ...ownerOptions(ctx),
          migrations,
          to: version(ctx.options.to, "to", false),
          restorePoint: Boolean(ctx.options["restore-point"]),
        }),
      connectOpts,
    );
    const text = r.applied.length
      ? [
          ...(r.restorePoint ? [`restore point ${r.restorePoint.name} at ${r.restorePoint.lsn}`] : []),
          ...r.applied.map((m) => `applied ${m.file} (${m.durationMs} ms)`),
          `database at ${versionLabel(r.current)} (${r.durationMs} ms)`,
        ].join("\n")
      : `nothing to apply: the database is at ${versionLabel(r.current)}${r.waitedMs ? ` (another runner applied it while we waited ${r.waitedMs} ms)` : ""}`;
    ctx.print(r, text);
    return EXIT.ok;
  },
});

export const migrateStatus = defineCommand({
  name: "migrate status",
  summary: "applied and pending migrations, and any drift (exit 1 on drift)",
  usage: "jarvis-data migrate status [--dir DIR] [--json]",
  options: { ...COMMON_OPTIONS },
  async run(ctx) {
    const opts = engineOptions(ctx);
    const s = await withClient(url(ctx), (c) => status(c, opts), connectOpts);
    const text = [
      `database at ${versionLabel(s.current)}, files up to ${versionLabel(s.head)}`,
      ...s.applied.map(
        (h) =>
          `  applied  ${versionLabel(h.version)}_${h.name}  ${h.appliedAt}  ${h.durationMs} ms  by ${h.appliedBy}${h.kind === "baseline" ? "  (baseline)" : ""}`,
      ),
      ...s.pending.map((p) => `  pending  ${p.file}`),
      ...s.problems.map((p) => `  DRIFT    ${p.message}`),
    ].join("\n");
    ctx.print(s, text);
    return s.problems.length ? EXIT.failed : EXIT.ok;
  },
});

export const migrateDown = defineCommand({
  name: "migrate down",
  summary: "revert applied migrations above version N with their .down.sql files",
  usage: "jarvis-data migrate down --to N [--environment dev|prod] [--force] [--dir DIR] [--json]",
  description:
    "Destroys what the reverted migrations created, data included. Refused unless the environment is known to be dev (--environment dev or JARVIS_ENVIRONMENT=dev); in prod (or unknown) it needs --force. Prefer a restore point or a backup in prod.",
  options: {
    ...COMMON_OPTIONS,
    to: { type: "string" },
    force: { type: "boolean" },
    environment: { type: "string", choices: ["dev", "prod"] },
  },
  async run(ctx) {
    const to = version(ctx.options.to, "to", true)!;
    const environment = ctx.options.environment ?? ctx.env.environment;
    if (environment !== undefined && environment !== "dev" && environment !== "prod")
      throw new UsageError(`JARVIS_ENVIRONMENT must be dev or prod, got "${environment}"`);
    if (environment !== "dev" && !ctx.options.force) {
      throw new RefusedError(
        `migrate down to ${versionLabel(to)} refused: the environment is ${environment ?? "unknown (treated as prod)"}, and down drops tables and their data; pass --force if you mean it (after a backup), or --environment dev for a development database`,
      );
    }
    const opts = engineOptions(ctx);
    const r = await withClient(url(ctx), (c) => down(c, { ...opts, ...ownerOptions(ctx), to }), connectOpts);
    const text = r.reverted.length
      ? [
          ...r.reverted.map((m) => `reverted ${m.file} (${m.durationMs} ms)`),
          `database at ${versionLabel(r.current)}`,
        ].join("\n")
      : `nothing to revert: the database is at ${versionLabel(r.current)}`;
    ctx.print(r, text);
    return EXIT.ok;
  },
});

export const migrateBaseline = defineCommand({
  name: "migrate baseline",
  summary:
    "record migrations up to N as applied without running them, after checking the schema matches them",
  usage: "jarvis-data migrate baseline --to N [--dir DIR] [--json]",
  description:
    "Migrates a scratch database beside the target to N (needs CREATEDB) and compares tables, columns, types, constraints, indexes, functions and triggers. A database that differs is refused (exit 4) with the list of differences and nothing is recorded; bring data in another shape in with `jarvis-data adopt postgres --from <URL>`.",
  options: { ...COMMON_OPTIONS, to: { type: "string" } },
  async run(ctx) {
    const to = version(ctx.options.to, "to", true)!;
    const opts = engineOptions(ctx);
    const r = await withClient(url(ctx), (c) => baseline(c, { ...opts, version: to }), connectOpts);
    ctx.print(r, `schema checked; recorded as applied: ${r.recorded.map((m) => m.file).join(", ")}`);
    return EXIT.ok;
  },
});

export const MIGRATE_COMMANDS = [migratePlan, migrateApply, migrateStatus, migrateDown, migrateBaseline];
