/**
 * `jarvis-data status` (A20, A22): every figure read from the live servers, with the problems
 * they show. A store that is not configured is "unknown", not down; one that is configured and
 * does not answer is down.
 */
import type { JarvisConfig } from "../../config/schema.ts";
import { STORES, type StoreName } from "../backup/manifest.ts";
import { listBackups, readManifest } from "../backup/manifest.ts";
import type { BackupStore } from "../backup/store.ts";
import { redactText } from "../log.ts";
import { availabilityFromPrometheus, type AvailabilityReport } from "./availability.ts";
import {
  size,
  containerFigures,
  containerProblem,
  formatFigures,
  retentionFigures,
  storageFigures,
  type ContainerFigure,
  type RetentionFigure,
  type StorageFigures,
} from "./figures.ts";
import { chromaStatus, type ChromaStatus } from "./chroma.ts";
import { diskUsage, type DiskUsage } from "./disk.ts";
import { fetchMetrics, valueOf, type Sample } from "./metrics.ts";
import { postgresStatus, type PostgresStatus } from "./postgres.ts";
import { redisStatus, type RedisStatus } from "./redis.ts";

export interface StatusInputs {
  databaseUrl?: string;
  redisUrl?: string;
  chromaUrl?: string;
  chromaToken?: string;
  /** The ops agent's base URL (its /metrics: backups, drills, containers). */
  opsUrl?: string;
  /** The backup bucket, read when the ops agent is not configured or not reachable. */
  backupStore?: BackupStore;
  /** Prometheus (its 30-day availability recording rule, A23). */
  prometheusUrl?: string;
  /** Paths whose filesystem use to report; the database's data directory is added when local. */
  diskPaths?: string[];
  timeoutMs?: number;
  now?: Date;
}

export type Unknown = { up: null; reason: string };

export interface BackupFigure {
  store: StoreName;
  /** Where the figure comes from: the ops agent's metrics or the bucket's manifests. */
  source: "ops-agent" | "s3" | null;
  lastSuccessAt: string | null;
  ageSeconds: number | null;
  lastStatus: "ok" | "failed" | "unknown";
  sizeBytes: number | null;
}

export interface DrillFigure {
  store: StoreName;
  lastRunAt: string | null;
  lastStatus: "ok" | "failed" | "unknown";
  rtoSeconds: number | null;
  rpoSeconds: number | null;
}

export interface StatusReport {
  at: string;
  ok: boolean;
  /** Services that are configured and do not answer, and containers the ops agent reports down. */
  down: string[];
  /** Thresholds crossed (disk, connections, memory, RPO, RTO, failed backups or drills). */
  warnings: string[];
  postgres: PostgresStatus | Unknown;
  redis: RedisStatus | Unknown;
  chroma: ChromaStatus | Unknown;
  disk: (DiskUsage | { path: string; percent: null; reason: string })[];
  backups: BackupFigure[];
  drills: DrillFigure[];
  /** jarvis_container_up and _present from the ops agent; null when it is not configured or not reachable. */
  containers: ContainerFigure[] | null;
  /** A22: backup storage per prefix, Chroma on disk. */
  storage: StorageFigures;
  /** The ops agent's scheduled retention runs. */
  retention: RetentionFigure[];
  /** A23: each store's availability over 30 days, from Prometheus. */
  availability: AvailabilityReport;
  opsAgent: { up: boolean | null; error?: string };
}

const unknown = (reason: string): Unknown => ({ up: null, reason });
const iso = (ts: number | undefined) => (ts === undefined ? null : new Date(ts * 1000).toISOString());

async function backupsFromS3(store: BackupStore, now: Date): Promise<BackupFigure[]> {
  const refs = await listBackups(store);
  return Promise.all(
    STORES.map(async (s): Promise<BackupFigure> => {
      const latest = refs.filter((r) => r.store === s).at(-1);
      if (!latest)
        return {
          store: s,
          source: "s3",
          lastSuccessAt: null,
          ageSeconds: null,
          lastStatus: "unknown",
          sizeBytes: null,
        };
      const m = await readManifest(store, latest);
      const at = new Date(m.finishedAt);
      return {
        store: s,
        source: "s3",
        lastSuccessAt: at.toISOString(),
        ageSeconds: Math.round((now.getTime() - at.getTime()) / 1000),
        lastStatus: "ok",
        sizeBytes: m.totalBytes,
      };
    }),
  );
}

function backupsFromMetrics(samples: Sample[], now: Date): BackupFigure[] {
  return STORES.map((s) => {
    const ts = valueOf(samples, "jarvis_backup_last_success_timestamp_seconds", "store", s);
    const st = valueOf(samples, "jarvis_backup_last_status", "store", s);
    return {
      store: s,
      source: "ops-agent",
      lastSuccessAt: iso(ts),
      ageSeconds: ts === undefined ? null : Math.round(now.getTime() / 1000 - ts),
      lastStatus: st === undefined ? "unknown" : st === 1 ? "ok" : "failed",
      sizeBytes: valueOf(samples, "jarvis_backup_last_size_bytes", "store", s) ?? null,
    };
  });
}

function drillsFromMetrics(samples: Sample[] | null): DrillFigure[] {
  return STORES.map((s) => {
    const v = (n: string) => (samples ? valueOf(samples, n, "store", s) : undefined);
    const st = v("jarvis_drill_last_status");
    return {
      store: s,
      lastRunAt: iso(v("jarvis_drill_last_run_timestamp_seconds")),
      lastStatus: st === undefined ? "unknown" : st === 1 ? "ok" : "failed",
      rtoSeconds: v("jarvis_drill_rto_seconds") ?? null,
      rpoSeconds: v("jarvis_drill_rpo_seconds") ?? null,
    };
  });
}

/** Reads every figure, in parallel, each bounded by `timeoutMs`. Never throws for a dead server. */
export async function collectStatus(cfg: JarvisConfig, inputs: StatusInputs): Promise<StatusReport> {
  const now = inputs.now ?? new Date();
  const timeoutMs = inputs.timeoutMs ?? 5000;
  const [postgres, redis, chroma, ops] = await Promise.all([
    inputs.databaseUrl
      ? postgresStatus(inputs.databaseUrl, { timeoutMs })
      : Promise.resolve(unknown("not configured: set DATABASE_URL")),
    inputs.redisUrl
      ? redisStatus(inputs.redisUrl, { timeoutMs })
      : Promise.resolve(unknown("not configured: set REDIS_URL")),
    inputs.chromaUrl
      ? chromaStatus(inputs.chromaUrl, { token: inputs.chromaToken, timeoutMs })
      : Promise.resolve(unknown("not configured: set CHROMA_URL")),
    inputs.opsUrl
      ? fetchMetrics(inputs.opsUrl, timeoutMs).then(
          (samples) => ({ samples, error: undefined }),
          (e: Error) => ({ samples: null, error: redactText(e.message) }),
        )
      : Promise.resolve({ samples: null, error: undefined }),
  ]);

  const down: string[] = [];
  const warnings: string[] = [];
  const m = cfg.monitoring;
  if (postgres.up === false) down.push(`postgres: ${postgres.error}`);
  if (redis.up === false) down.push(`redis: ${redis.error}`);
  if (chroma.up === false) down.push(`chroma: ${chroma.error}`);
  if (inputs.opsUrl && !ops.samples) down.push(`ops agent: ${ops.error}`);

  if (postgres.up && postgres.connections.percent > m.connectionsAlertPercent) {
    warnings.push(
      `postgres connections at ${postgres.connections.percent}% of max_connections (threshold ${m.connectionsAlertPercent}%)`,
    );
  }
  if (
    redis.up &&
    redis.maxMemoryBytes > 0 &&
    (100 * redis.usedMemoryBytes) / redis.maxMemoryBytes > m.memoryAlertPercent
  ) {
    warnings.push(
      `redis uses ${((100 * redis.usedMemoryBytes) / redis.maxMemoryBytes).toFixed(1)}% of maxmemory (threshold ${m.memoryAlertPercent}%; allkeys-lru evicts beyond it)`,
    );
  }

  const paths = [...(inputs.diskPaths ?? [])];
  if (postgres.up && postgres.dataDirectory && !paths.includes(postgres.dataDirectory))
    paths.push(postgres.dataDirectory);
  const disk = await Promise.all(
    paths.map(
      async (p) =>
        (await diskUsage(p)) ?? {
          path: p,
          percent: null,
          reason: "not on this machine (or not readable): read it on the database host, or see node_exporter",
        },
    ),
  );
  for (const d of disk)
    if (d.percent !== null && d.percent > m.diskAlertPercent)
      warnings.push(`disk ${d.path} is ${d.percent}% used (threshold ${m.diskAlertPercent}%)`);

  let backups: BackupFigure[] = STORES.map((s) => ({
    store: s,
    source: null,
    lastSuccessAt: null,
    ageSeconds: null,
    lastStatus: "unknown",
    sizeBytes: null,
  }));
  if (ops.samples) backups = backupsFromMetrics(ops.samples, now);
  else if (inputs.backupStore) {
    backups = await backupsFromS3(inputs.backupStore, now).catch((e: Error) => {
      warnings.push(`backup bucket unreadable: ${redactText(e.message)}`);
      return backups;
    });
  }
  for (const b of backups) {
    if (b.lastStatus === "failed") warnings.push(`the last ${b.store} backup failed`);
    if (b.ageSeconds !== null && b.ageSeconds > cfg.backup.rpoTargetSeconds)
      warnings.push(
        `the last ${b.store} backup is ${b.ageSeconds} s old (RPO target ${cfg.backup.rpoTargetSeconds} s)`,
      );
  }
  const drills = drillsFromMetrics(ops.samples);
  for (const d of drills) {
    if (d.lastStatus === "failed") warnings.push(`the last ${d.store} recovery drill failed`);
    if (d.rtoSeconds !== null && d.rtoSeconds > cfg.backup.rtoTargetSeconds)
      warnings.push(
        `the last ${d.store} drill took ${d.rtoSeconds} s (RTO target ${cfg.backup.rtoTargetSeconds} s)`,
      );
  }

  const containers = containerFigures(ops.samples);
  for (const c of containers ?? []) {
    const problem = containerProblem(c);
    if (problem) down.push(problem);
  }
  const [storage, availability] = await Promise.all([
    storageFigures(ops.samples, inputs.backupStore),
    availabilityFromPrometheus(inputs.prometheusUrl, STORES, m.availabilityTarget, timeoutMs),
  ]);
  const retention = retentionFigures(ops.samples);
  for (const x of retention) {
    if (x.lastStatus === "failed") warnings.push(`the last ${x.retention} retention run failed`);
    if (x.skipped) warnings.push(`${x.retention} retention skipped ${x.skipped} records it cannot classify`);
  }

  return {
    at: now.toISOString(),
    ok: down.length === 0,
    down,
    warnings,
    postgres,
    redis,
    chroma,
    disk,
    backups,
    drills,
    containers,
    storage,
    retention,
    availability,
    opsAgent: inputs.opsUrl
      ? { up: Boolean(ops.samples), ...(ops.error ? { error: ops.error } : {}) }
      : { up: null },
  };
}

const age = (s: number) =>
  s >= 86400
    ? `${(s / 86400).toFixed(1)} d`
    : s >= 3600
      ? `${(s / 3600).toFixed(1)} h`
      : `${Math.round(s / 60)} min`;

/** The report for people. */
export function formatStatus(r: StatusReport): string {
  const lines: string[] = [`jarvis-data status at ${r.at}: ${r.ok ? "OK" : "DOWN"}`];
  const p = r.postgres;
  if (p.up === true) {
    lines.push(
      `postgres  up (${p.version}), database ${p.database} ${size(p.sizeBytes)}, connections ${p.connections.used}/${p.connections.max} (${p.connections.percent}%)`,
    );
    lines.push("  largest tables:");
    for (const t of p.largestTables)
      lines.push(
        `    ${t.name.padEnd(40)} ${size(t.totalBytes).padStart(10)}  ~${Math.max(0, t.estimatedRows)} rows`,
      );
  } else lines.push(`postgres  ${p.up === false ? `DOWN: ${p.error}` : `unknown (${p.reason})`}`);
  const rd = r.redis;
  if (rd.up === true) {
    lines.push(
      `redis     up (${rd.version}), memory ${size(rd.usedMemoryBytes)} (peak ${size(rd.usedMemoryPeakBytes)}${rd.maxMemoryBytes ? `, max ${size(rd.maxMemoryBytes)}` : ""}), ${rd.keys} keys`,
    );
  } else lines.push(`redis     ${rd.up === false ? `DOWN: ${rd.error}` : `unknown (${rd.reason})`}`);
  const c = r.chroma;
  if (c.up === true)
    lines.push(`chroma    up${c.collections !== null ? `, ${c.collections} collections` : ""}`);
  else lines.push(`chroma    ${c.up === false ? `DOWN: ${c.error}` : `unknown (${c.reason})`}`);
  for (const d of r.disk)
    lines.push(
      d.percent === null
        ? `disk      ${d.path}: unknown (${d.reason})`
        : `disk      ${d.path}: ${d.percent}% used, ${size(d.availableBytes)} free of ${size(d.totalBytes)}`,
    );
  if (r.disk.length === 0) lines.push("disk      unknown (no local path: pass --disk PATH)");
  for (const b of r.backups) {
    lines.push(
      `backup    ${b.store.padEnd(8)} ${b.lastSuccessAt ? `${b.lastSuccessAt} (${age(b.ageSeconds ?? 0)} ago)${b.sizeBytes !== null ? `, ${size(b.sizeBytes)}` : ""}, last ${b.lastStatus}` : "unknown"}${b.source ? ` [${b.source}]` : ""}`,
    );
  }
  for (const d of r.drills) {
    lines.push(
      `drill     ${d.store.padEnd(8)} ${d.lastRunAt ? `${d.lastRunAt}, ${d.lastStatus}${d.rtoSeconds !== null ? `, RTO ${d.rtoSeconds} s` : ""}${d.rpoSeconds !== null ? `, RPO ${d.rpoSeconds} s` : ""}` : "unknown"}`,
    );
  }
  if (r.containers)
    lines.push(
      `containers ${r.containers.map((x) => `${x.name}:${x.up ? "up" : x.present === false ? "NOT FOUND" : "STOPPED"}`).join(" ") || "(none reported)"}`,
    );
  else
    lines.push(
      `containers unknown (${r.opsAgent.up === null ? "set JARVIS_OPS_URL to the ops agent" : `ops agent unreachable: ${r.opsAgent.error}`})`,
    );
  lines.push(...formatFigures(r));
  for (const d of r.down) lines.push(`DOWN: ${d}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n");
}
