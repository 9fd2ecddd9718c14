/**
 * `jarvis-data backup <postgres|redis|chroma|all> [--kind logical|physical] [--type full|diff]`
 * and `jarvis-data backups list`. Also the environment the backup commands share (opsFromEnv).
 */
import { existsSync, readFileSync } from "node:fs";
import {
  BACKUP_SOURCES,
  listCheckedBackups,
  STORES,
  type BackupSource,
  type StoreName,
} from "../../core/backup/manifest.ts";
import { PgBackRest } from "../../core/backup/pgbackrest.ts";
import { osUser } from "../../core/backup/proc.ts";
import { BackupStore } from "../../core/backup/store.ts";
import { EXIT, UsageError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { createProgress, type Progress, type ProgressUnit } from "../../core/progress.ts";
import { runBackup, type BackupSummary, type OpsDeps } from "../../core/ops/jobs.ts";
import type { Command, CommandContext } from "../command.ts";
import { need, type Connections } from "../env.ts";

/** NAME, or the content of the file NAME_FILE names (how containers receive secrets). */
export function envValue(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env[`${name}_FILE`];
  if (file && existsSync(file)) return readFileSync(file, "utf8").trim();
  return env[name] || undefined;
}

export function storeFromEnv(c: Connections, log: Logger, env: NodeJS.ProcessEnv = process.env): BackupStore {
  return new BackupStore({
    endpoint: c.s3.endpoint,
    bucket: need(c.s3.bucket, "JARVIS_BACKUP_BUCKET", "jarvis-dev-backups"),
    region: c.s3.region,
    accessKeyId: c.s3.accessKeyId ?? envValue("AWS_ACCESS_KEY_ID", env),
    secretAccessKey: c.s3.secretAccessKey ?? envValue("AWS_SECRET_ACCESS_KEY", env),
    prefix: env.JARVIS_BACKUP_PREFIX ?? "",
    attempts: env.JARVIS_S3_ATTEMPTS ? Number(env.JARVIS_S3_ATTEMPTS) : undefined,
    manifestKey: envValue("JARVIS_MANIFEST_KEY", env),
    log,
  });
}

/** Everything the backup, restore, verify, drill and agent commands read from the environment. */
/**
 * A progress line per long step, on stderr: drawn on a TTY (or when JARVIS_PROGRESS=1 forces
 * it), never under --json or JARVIS_PROGRESS=0, so machine output never changes.
 */
export function progressFromEnv(
  json: boolean,
  env: NodeJS.ProcessEnv = process.env,
): (label: string, unit?: ProgressUnit) => Progress {
  const forced = env.JARVIS_PROGRESS === "1" ? true : env.JARVIS_PROGRESS === "0" ? false : undefined;
  return (label, unit = "bytes") => createProgress({ label, unit, enabled: json ? false : forced });
}

export function opsFromEnv(
  ctx: Pick<CommandContext, "env" | "log"> & { json?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): OpsDeps {
  const c = ctx.env;
  const pgbrPath = env.JARVIS_PGBACKREST_CONFIG_PATH;
  const runAs = process.getuid?.() === 0 ? osUser(env.JARVIS_PGBACKREST_USER ?? "postgres") : undefined;
  return {
    store: storeFromEnv(c, ctx.log, env),
    postgresUrl: c.databaseUrl,
    redisBackupUrl: envValue("JARVIS_REDIS_BACKUP_URL", env) ?? envValue("REDIS_URL", env) ?? c.redisUrl,
    chroma: c.chromaUrl
      ? {
          url: c.chromaUrl,
          token: c.chromaToken ?? envValue("CHROMA_TOKEN", env),
          database: env.JARVIS_CHROMA_DATABASE,
        }
      : undefined,
    pgbackrest: pgbrPath
      ? new PgBackRest({
          configPath: pgbrPath,
          stanza: env.JARVIS_PGBACKREST_STANZA ?? "jarvis",
          ...runAs,
          log: ctx.log,
        })
      : undefined,
    stateFile: env.JARVIS_OPS_STATE,
    jobs: env.JARVIS_BACKUP_JOBS ? Number(env.JARVIS_BACKUP_JOBS) : undefined,
    logsDir: env.JARVIS_LOGS_DIR || undefined,
    environment: c.environment,
    progress: progressFromEnv(Boolean(ctx.json), env),
    log: ctx.log,
  };
}

/** A store named on the command line; "all" is the three stores (logs go with the weekly backup, by name). */
export function parseStore(word: string | undefined, allowAll: boolean): StoreName[] {
  if (allowAll && word === "all") return [...STORES];
  if (word && (STORES as readonly string[]).includes(word)) return [word as StoreName];
  throw new UsageError(`name a store: ${STORES.join(", ")}${allowAll ? " or all" : ""}`);
}

/** Like parseStore, and "logs" too (backup, verify, restore, backups list). */
export function parseSource(word: string | undefined, allowAll: boolean): BackupSource[] {
  if (word === "logs") return ["logs"];
  if (word && !allowAll && !(BACKUP_SOURCES as readonly string[]).includes(word))
    throw new UsageError(`name a store: ${BACKUP_SOURCES.join(", ")}`);
  return parseStore(word, allowAll);
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

export const backup: Command = {
  name: "backup",
  summary: "back up a store (or all) to the backup bucket; prints the id and the figures",
  usage:
    "jarvis-data backup <postgres|redis|chroma|logs|all> [--kind logical|physical] [--type full|diff|incr] [--json]",
  description: [
    "postgres logical: pg_dump -Fd in parallel, compressed, uploaded with a manifest (written last).",
    "postgres physical: a pgBackRest backup (--type full, diff or incr; JARVIS_PGBACKREST_CONFIG_PATH).",
    "redis: an RDB snapshot over the replication protocol (JARVIS_REDIS_BACKUP_URL: the backup user).",
    "chroma: an export of every collection through the API (CHROMA_URL, CHROMA_TOKEN).",
    "logs: the files under JARVIS_LOGS_DIR (/var/log/jarvis: <dir>/<container>/<files>) modified in the last 7 days.",
    "Manifests are signed with JARVIS_MANIFEST_KEY when it is set. Progress on stderr on a TTY (JARVIS_PROGRESS=1 forces it).",
    "Exit status 1 when any store's backup failed (the others still run with `all`).",
  ].join("\n"),
  options: { kind: { type: "string" }, type: { type: "string" } },
  async run(ctx) {
    const stores = parseSource(ctx.args[0], true);
    const kind = ctx.options.kind as string | undefined;
    if (kind !== undefined && kind !== "logical" && kind !== "physical")
      throw new UsageError("--kind must be logical or physical");
    if (kind === "physical" && stores.some((s) => s !== "postgres"))
      throw new UsageError("--kind physical applies to postgres only");
    const type = (ctx.options.type as "full" | "diff" | "incr" | undefined) ?? "full";
    if (!["full", "diff", "incr"].includes(type)) throw new UsageError("--type must be full, diff or incr");
    const deps = opsFromEnv(ctx);
    const done: BackupSummary[] = [];
    const failed: { store: string; error: string }[] = [];
    try {
      for (const s of stores) {
        try {
          done.push(
            await runBackup(deps, s, {
              kind: kind as "logical" | "physical" | undefined,
              physicalType: type,
            }),
          );
        } catch (e) {
          if (stores.length === 1) throw e;
          failed.push({ store: s, error: (e as Error).message });
          ctx.log.error(`backup ${s} failed`, { error: (e as Error).message });
        }
      }
    } finally {
      deps.store.destroy();
    }
    const text = done
      .map((d) => `${d.store} ${d.kind}: ${d.id} (${mb(d.bytes)}, ${d.durationSeconds.toFixed(1)} s)`)
      .concat(failed.map((f) => `${f.store}: FAILED: ${f.error}`))
      .join("\n");
    ctx.print(stores.length === 1 ? done[0] : { backups: done, failed }, text);
    return failed.length ? EXIT.failed : EXIT.ok;
  },
};

export const backupsList: Command = {
  name: "backups list",
  summary: "list complete backups (those with a manifest), and pgBackRest's when configured",
  usage: "jarvis-data backups list [<store>] [--json]",
  async run(ctx) {
    const which = ctx.args[0] ? parseSource(ctx.args[0], false)[0] : undefined;
    const deps = opsFromEnv(ctx);
    try {
      const rows = [];
      // A manifest that does not validate is listed, flagged, with why; it is never "latest".
      for (const r of await listCheckedBackups(deps.store, which)) {
        rows.push({
          store: r.store,
          kind: r.kind,
          tier: r.tier,
          id: r.id,
          valid: !r.problem,
          ...(r.problem ? { problem: r.problem } : {}),
          finishedAt: r.manifest?.finishedAt ?? "",
          bytes: r.manifest?.totalBytes ?? 0,
          files: r.manifest?.files.length ?? 0,
          schemaVersion: r.manifest?.schemaVersion ?? null,
        });
      }
      if (deps.pgbackrest && (!which || which === "postgres")) {
        for (const b of await deps.pgbackrest.info()) {
          rows.push({
            store: "postgres",
            kind: `physical-${b.type}`,
            tier: "pgbackrest",
            id: b.label,
            finishedAt: b.stop.toISOString(),
            bytes: b.repoSize,
            valid: true,
            files: 0,
            schemaVersion: null,
          });
        }
      }
      ctx.print(
        { backups: rows },
        rows.length
          ? rows
              .map(
                (r) =>
                  `${r.store.padEnd(8)} ${r.kind.padEnd(13)} ${r.tier.padEnd(9)} ${r.id}  ` +
                  (r.valid
                    ? `${r.finishedAt}  ${mb(r.bytes)}`
                    : `INVALID, skipped: ${(r as { problem?: string }).problem}`),
              )
              .join("\n")
          : "no complete backups",
      );
      return EXIT.ok;
    } finally {
      deps.store.destroy();
    }
  },
};
