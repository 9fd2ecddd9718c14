/**
 * The stack's logs, backed up with the weekly full backup (audit A6): every file under the logs
 * directory modified in the last `days` (7), with a manifest like every backup. The log shipper
 * writes one directory per container:
 *
 *   <dir>/<container>/<file>        e.g. /var/log/jarvis/jarvis_brain/2026-11-28.log
 *
 * Each file is copied aside first (a live log keeps growing) and that copy is hashed and stored,
 * under `files/<container>/<file>`. Names outside [A-Za-z0-9._@+=-] are skipped and logged.
 * A restore writes them into a directory: beside it first, then swapped in by rename.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, cp, mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { JarvisError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Progress } from "../progress.ts";
import { insideDir, type BackupResult, type RestoreResult } from "./common.ts";
import type { BackupDriver, RestoreDriver } from "./driver.ts";
import { isSafeRelativePath } from "./manifest-schema.ts";
import type { ManifestFile } from "./manifest.ts";
import { runBackup, runRestore } from "./run.ts";
import { hashFile, type BackupStore } from "./store.ts";

/** Where the log shipper writes, when JARVIS_LOGS_DIR does not say otherwise. */
export const DEFAULT_LOGS_DIR = "/var/log/jarvis";
export const LOGS_WINDOW_DAYS = 7;

/** Files under `dir` (relative paths) modified since `since`, and the ones skipped for their names. */
export async function recentLogFiles(
  dir: string,
  since: Date,
): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT")
        throw new JarvisError(
          "JARVIS_LOGS_EMPTY",
          `the logs directory ${dir} does not exist; set JARVIS_LOGS_DIR to where the log shipper writes`,
        );
      throw e;
    },
  );
  for (const e of entries) {
    if (!e.isFile()) continue;
    const rel = relative(dir, join(e.parentPath, e.name));
    if (!isSafeRelativePath(rel)) skipped.push(rel);
    else if ((await stat(join(dir, rel))).mtime >= since) files.push(rel);
  }
  return { files: files.sort(), skipped };
}

export function logsBackupDriver(dir: string, o: { days?: number; now?: Date } = {}): BackupDriver {
  return {
    store: "logs",
    kind: "files",
    async capture(ctx) {
      const days = o.days ?? LOGS_WINDOW_DAYS;
      const since = new Date((o.now ?? new Date()).getTime() - days * 86_400_000);
      const { files, skipped } = await recentLogFiles(dir, since);
      if (skipped.length)
        ctx.log.warn("log files skipped for their names", { skipped: skipped.slice(0, 20) });
      if (!files.length)
        throw new JarvisError(
          "JARVIS_LOGS_EMPTY",
          `no file under ${dir} was modified in the last ${days} days; check that the log shipper writes there (<dir>/<container>/<files>)`,
        );
      const tmp = await mkdtemp(join(tmpdir(), "jarvis-logs-"));
      const out: ManifestFile[] = [];
      let bytes = 0;
      try {
        for (const rel of files) {
          const copy = join(tmp, "copy");
          await copyFile(join(dir, rel), copy);
          const got = await hashFile(copy);
          await ctx.store.putFile(`${ctx.dir}files/${rel}`, copy);
          out.push({ path: `files/${rel}`, ...got });
          ctx.progress.update((bytes += got.size));
        }
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      return { files: out, source: { dir, days }, tools: { export: "jarvis-data (files)" } };
    },
  };
}

export async function backupLogs(o: {
  dir: string;
  store: BackupStore;
  days?: number;
  log?: Logger;
  now?: Date;
  progress?: Progress;
}): Promise<BackupResult> {
  return runBackup(logsBackupDriver(o.dir, o), o);
}

/** Restores a logs backup into a directory: written beside it, then swapped in by rename. */
export function logsRestoreDriver(targetDir: string): RestoreDriver {
  const hex = randomBytes(4).toString("hex");
  const side = `${targetDir}.restoring-${hex}`;
  const old = `${targetDir}.replaced-${hex}`;
  let moved = false;
  return {
    store: "logs",
    download: true,
    async inspectTarget() {
      const entries = existsSync(targetDir) ? await readdir(targetDir) : [];
      return {
        name: targetDir,
        overwrites: entries.length ? entries.slice(0, 20) : null,
        summary: `${entries.length} entries`,
      };
    },
    async load(ctx) {
      await mkdir(side, { recursive: true });
      for (const f of ctx.manifest.files) {
        const rel = f.path.replace(/^files\//, "");
        await mkdir(join(insideDir(side, rel), ".."), { recursive: true });
        await cp(insideDir(ctx.localDir!, f.path), insideDir(side, rel));
      }
    },
    async check() {
      return [];
    },
    async swap() {
      if (existsSync(targetDir)) {
        await rename(targetDir, old);
        moved = true;
      }
      await rename(side, targetDir);
      if (moved) await rm(old, { recursive: true, force: true });
    },
    async discard() {
      if (moved && !existsSync(targetDir)) await rename(old, targetDir);
      await rm(side, { recursive: true, force: true });
    },
  };
}

export async function restoreLogs(o: {
  store: BackupStore;
  id?: string;
  targetDir: string;
  confirm?: string;
  force?: boolean;
  environment?: string;
  log?: Logger;
}): Promise<RestoreResult> {
  return runRestore(logsRestoreDriver(o.targetDir), o);
}
