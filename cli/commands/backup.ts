/**
 * `jarvis-data backup <postgres|redis|chroma|all> [--kind logical|physical] [--type full|diff]`
 * and `jarvis-data backups list`. The environment the backup commands share (opsFromEnv) is in cli/env.ts.
 */
import {
  BACKUP_SOURCES,
  listCheckedBackups,
  STORES,
  type BackupSource,
  type StoreName,
} from "../../core/backup/manifest.ts";
import { EXIT, UsageError } from "../../core/errors.ts";
import { runBackup, type BackupSummary } from "../../core/ops/jobs.ts";
import { defineCommand } from "../command.ts";
import { opsFromEnv } from "../env.ts";

/** A store named on the command line; "all" is the three stores (logs go with the weekly backup, by name). */
export function parseStore(word: string | undefined, allowAll: boolean): StoreName[] {
  if (allowAll && word === "all") return [...STORES];
  const store = STORES.find((s) => s === word);
  if (store) return [store];
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

export const backup = defineCommand({
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
  options: {
    kind: {
      type: "string",
      choices: ["logical", "physical"],
      description: "postgres only: pg_dump (default) or pgBackRest",
    },
    type: {
      type: "string",
      choices: ["full", "diff", "incr"],
      default: "full",
      description: "a physical backup's type",
    },
  },
  async run(ctx) {
    const stores = parseSource(ctx.args[0], true);
    const { kind, type } = ctx.options;
    if (kind === "physical" && stores.some((s) => s !== "postgres"))
      throw new UsageError("--kind physical applies to postgres only");
    const deps = opsFromEnv(ctx);
    const done: BackupSummary[] = [];
    const failed: { store: string; error: string }[] = [];
    try {
      for (const s of stores) {
        try {
          done.push(await runBackup(deps, s, { kind, physicalType: type }));
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
});

export const backupsList = defineCommand({
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
});
