/**
 * Log retention (A12): the shipper writes <dir>/<container>/<family>-<date>.log; each file older
 * than its family's days (api 14, memory 30, voice 7, performance 14, others 30) is deleted. The
 * family is the file name's prefix, or else the container folder's name (settings/monitoring/logs.ts
 * logFamily), so files written by other tools are judged too. Age is the file's modification time.
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { logFamily, type LogFamily } from "../../settings/monitoring/logs.ts";

export interface LogRetentionReport {
  dryRun: boolean;
  examined: number;
  deleted: number;
  freedBytes: number;
  /** Per family: files looked at and deleted. */
  families: Partial<Record<LogFamily, { examined: number; deleted: number; days: number }>>;
  /** Files deleted (or, on a dry run, that would be), relative to the directory. */
  files: string[];
}

export interface LogRetentionOptions {
  dir: string;
  days: Record<LogFamily, number>;
  now?: Date;
  dryRun?: boolean;
}

/** Every regular file under dir, with its path relative to it. */
function* walk(dir: string, rel = ""): Generator<{ rel: string; path: string }> {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* walk(dir, r);
    else if (e.isFile()) yield { rel: r, path: join(dir, r) };
  }
}

/** A file's family: its name's prefix when it is one, else its container folder's. */
export function fileFamily(rel: string): LogFamily {
  const parts = rel.split("/");
  const fromName = logFamily(parts.at(-1)!.split("-")[0]!);
  return fromName !== "default" ? fromName : logFamily(parts[0] ?? "");
}

export function logRetention(o: LogRetentionOptions): LogRetentionReport {
  const now = (o.now ?? new Date()).getTime();
  const r: LogRetentionReport = {
    dryRun: Boolean(o.dryRun),
    examined: 0,
    deleted: 0,
    freedBytes: 0,
    families: {},
    files: [],
  };
  for (const f of walk(o.dir)) {
    const family = fileFamily(f.rel);
    const fam = (r.families[family] ??= { examined: 0, deleted: 0, days: o.days[family] });
    const st = statSync(f.path);
    r.examined++;
    fam.examined++;
    if (now - st.mtimeMs <= o.days[family] * 86400_000) continue;
    if (!o.dryRun) rmSync(f.path);
    r.deleted++;
    fam.deleted++;
    r.freedBytes += st.size;
    r.files.push(f.rel);
  }
  return r;
}
