/**
 * The ops agent's state (last backup and drill per store, last retention runs, storage figures) in one JSON file, and its rendering in
 * Prometheus' text format. The CLI and the agent record into the same file, so a backup run by
 * hand shows up in /metrics too.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { BackupSource, StoreName } from "../backup/manifest.ts";

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

/** One scheduled retention (chroma, redis-temp-keys, logs): its last run and a running total. */
export interface RetentionState {
  lastRunTimestamp: number;
  lastStatus: 0 | 1;
  durationSeconds: number;
  examined?: number;
  deleted?: number;
  skipped?: number;
  /** Bytes freed, where the store tells (Redis memory, log files); absent where it cannot (Chroma). */
  freedBytes?: number;
  /** Deleted by every run this state file has seen. */
  deletedTotal: number;
  lastError?: string;
}

/** A22 storage figures, refreshed by the agent's storage job. */
export interface StorageState {
  at: number;
  prefixes: { bucket: string; prefix: string; bytes: number; objects: number }[];
  chromaDiskBytes?: number;
}

export interface OpsState {
  backup: Partial<Record<BackupSource, BackupState>>;
  drill: Partial<Record<StoreName, DrillState>>;
  retention: Record<string, RetentionState>;
  storage?: StorageState;
}

const EMPTY = (): OpsState => ({ backup: {}, drill: {}, retention: {} });

export function loadState(file: string): OpsState {
  if (!existsSync(file)) return EMPTY();
  try {
    const s = JSON.parse(readFileSync(file, "utf8")) as OpsState;
    return { backup: s.backup ?? {}, drill: s.drill ?? {}, retention: s.retention ?? {}, storage: s.storage };
  } catch {
    return EMPTY();
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
  store: BackupSource,
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

export function recordRetention(
  file: string,
  job: string,
  r: {
    ok: boolean;
    at: Date;
    durationSeconds: number;
    examined?: number;
    deleted?: number;
    skipped?: number;
    freedBytes?: number;
    error?: string;
  },
): OpsState {
  const s = loadState(file);
  const prev = s.retention[job];
  s.retention[job] = {
    lastRunTimestamp: r.at.getTime() / 1000,
    lastStatus: r.ok ? 1 : 0,
    durationSeconds: r.durationSeconds,
    examined: r.examined,
    deleted: r.deleted,
    skipped: r.skipped,
    freedBytes: r.freedBytes,
    deletedTotal: (prev?.deletedTotal ?? 0) + (r.deleted ?? 0),
    lastError: r.error,
  };
  save(file, s);
  return s;
}

export function recordStorage(file: string, storage: StorageState): OpsState {
  const s = loadState(file);
  s.storage = storage;
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
  jarvis_retention_last_run_timestamp_seconds: ["gauge", "Unix time of the last scheduled retention run."],
  jarvis_retention_last_status: ["gauge", "1 if the last retention run succeeded, 0 if it failed."],
  jarvis_retention_last_duration_seconds: ["gauge", "Duration of the last retention run."],
  jarvis_retention_last_examined: ["gauge", "Records, keys or files the last retention run looked at."],
  jarvis_retention_last_deleted: [
    "gauge",
    "Records or files the last run deleted (Redis: keys given their TTL, gone within it).",
  ],
  jarvis_retention_last_skipped: ["gauge", "Records the last run could not classify, kept and reported."],
  jarvis_retention_last_freed_bytes: ["gauge", "Bytes freed by the last run, where the store tells."],
  jarvis_retention_deleted_total: ["counter", "Deleted by every retention run recorded in the state."],
  jarvis_backup_storage_bytes: ["gauge", "Bytes of current objects under each prefix of the backup buckets."],
  jarvis_backup_storage_objects: ["gauge", "Current objects under each prefix of the backup buckets."],
  jarvis_chroma_disk_bytes: ["gauge", "Bytes of Chroma's persist directory on disk."],
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
  const put = (name: string, labels: Record<string, string>, v: number | undefined) => {
    const l = Object.entries(labels)
      .map(([k, x]) => `${k}="${x.replace(/["\\\n]/g, "_")}"`)
      .join(",");
    if (v !== undefined && Number.isFinite(v)) series[name]!.push(`${name}${l ? `{${l}}` : ""} ${v}`);
  };
  for (const [retention, r] of Object.entries(s.retention)) {
    const l = { retention };
    put("jarvis_retention_last_run_timestamp_seconds", l, r.lastRunTimestamp);
    put("jarvis_retention_last_status", l, r.lastStatus);
    put("jarvis_retention_last_duration_seconds", l, r.durationSeconds);
    put("jarvis_retention_last_examined", l, r.examined);
    put("jarvis_retention_last_deleted", l, r.deleted);
    put("jarvis_retention_last_skipped", l, r.skipped);
    put("jarvis_retention_last_freed_bytes", l, r.freedBytes);
    put("jarvis_retention_deleted_total", l, r.deletedTotal);
  }
  for (const p of s.storage?.prefixes ?? []) {
    put("jarvis_backup_storage_bytes", { bucket: p.bucket, prefix: p.prefix }, p.bytes);
    put("jarvis_backup_storage_objects", { bucket: p.bucket, prefix: p.prefix }, p.objects);
  }
  put("jarvis_chroma_disk_bytes", {}, s.storage?.chromaDiskBytes);
  return (
    Object.entries(HELP)
      .map(([name, [type, help]]) =>
        [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...series[name]!].join("\n"),
      )
      .join("\n") + "\n"
  );
}
