/**
 * The ops agent's state (last backup and drill per store) in one JSON file, and its rendering in
 * Prometheus' text format. The CLI and the agent record into the same file, so a backup run by
 * hand shows up in /metrics too.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { StoreName } from "../backup/manifest.ts";

export interface BackupState {
  lastRunTimestamp: number;
  lastStatus: 0 | 1;
  lastSuccessTimestamp?: number;
  lastDurationSeconds?: number;
  lastSizeBytes?: number;
  lastId?: string;
  lastError?: string;
}

export interface DrillState {
  lastRunTimestamp: number;
  lastStatus: 0 | 1;
  rtoSeconds?: number;
  rpoSeconds?: number;
  lastId?: string;
  lastError?: string;
}

export interface OpsState {
  backup: Partial<Record<StoreName, BackupState>>;
  drill: Partial<Record<StoreName, DrillState>>;
}

export function loadState(file: string): OpsState {
  if (!existsSync(file)) return { backup: {}, drill: {} };
  try {
    const s = JSON.parse(readFileSync(file, "utf8")) as OpsState;
    return { backup: s.backup ?? {}, drill: s.drill ?? {} };
  } catch {
    return { backup: {}, drill: {} };
  }
}

function save(file: string, s: OpsState) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2));
  renameSync(tmp, file);
}

export function recordBackup(
  file: string,
  store: StoreName,
  r: { ok: boolean; at: Date; durationSeconds: number; sizeBytes?: number; id?: string; error?: string },
): OpsState {
  const s = loadState(file);
  const prev = s.backup[store];
  const ts = r.at.getTime() / 1000;
  s.backup[store] = r.ok
    ? {
        lastRunTimestamp: ts,
        lastStatus: 1,
        lastSuccessTimestamp: ts,
        lastDurationSeconds: r.durationSeconds,
        lastSizeBytes: r.sizeBytes,
        lastId: r.id,
      }
    : {
        ...prev,
        lastRunTimestamp: ts,
        lastStatus: 0,
        lastDurationSeconds: r.durationSeconds,
        lastError: r.error,
      };
  save(file, s);
  return s;
}

export function recordDrill(
  file: string,
  store: StoreName,
  r: { ok: boolean; at: Date; rtoSeconds?: number; rpoSeconds?: number; id?: string; error?: string },
): OpsState {
  const s = loadState(file);
  s.drill[store] = {
    lastRunTimestamp: r.at.getTime() / 1000,
    lastStatus: r.ok ? 1 : 0,
    rtoSeconds: r.rtoSeconds,
    rpoSeconds: r.rpoSeconds,
    lastId: r.id,
    lastError: r.error,
  };
  save(file, s);
  return s;
}

const HELP: Record<string, [string, string]> = {
  jarvis_backup_last_success_timestamp_seconds: ["gauge", "Unix time of the last successful backup."],
  jarvis_backup_last_duration_seconds: ["gauge", "Duration of the last backup attempt."],
  jarvis_backup_last_size_bytes: ["gauge", "Size of the last successful backup."],
  jarvis_backup_last_status: ["gauge", "1 if the last backup succeeded, 0 if it failed."],
  jarvis_drill_last_run_timestamp_seconds: ["gauge", "Unix time of the last recovery drill."],
  jarvis_drill_last_status: ["gauge", "1 if the last recovery drill passed, 0 if it failed."],
  jarvis_drill_rto_seconds: ["gauge", "Restore time measured by the last drill (RTO)."],
  jarvis_drill_rpo_seconds: ["gauge", "Age of the backup the last drill restored (RPO)."],
};

/** Prometheus text exposition (version 0.0.4). */
export function renderMetrics(s: OpsState): string {
  const series: Record<string, string[]> = Object.fromEntries(Object.keys(HELP).map((k) => [k, []]));
  const add = (name: string, store: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) series[name]!.push(`${name}{store="${store}"} ${v}`);
  };
  for (const [store, b] of Object.entries(s.backup)) {
    add("jarvis_backup_last_success_timestamp_seconds", store, b.lastSuccessTimestamp);
    add("jarvis_backup_last_duration_seconds", store, b.lastDurationSeconds);
    add("jarvis_backup_last_size_bytes", store, b.lastSizeBytes);
    add("jarvis_backup_last_status", store, b.lastStatus);
  }
  for (const [store, d] of Object.entries(s.drill)) {
    add("jarvis_drill_last_run_timestamp_seconds", store, d.lastRunTimestamp);
    add("jarvis_drill_last_status", store, d.lastStatus);
    add("jarvis_drill_rto_seconds", store, d.rtoSeconds);
    add("jarvis_drill_rpo_seconds", store, d.rpoSeconds);
  }
  return (
    Object.entries(HELP)
      .map(([name, [type, help]]) =>
        [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...series[name]!].join("\n"),
      )
      .join("\n") + "\n"
  );
}
