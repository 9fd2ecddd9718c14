/**
 * The day-2 figures of `status`: storage (A22: bytes and objects per backup prefix, Chroma on
 * disk), the last scheduled retention runs (deleted, skipped, space freed), each store's 30-day
 * availability (A23) and the containers (not found versus stopped). Read from the ops agent's
 * /metrics when it answers, else from the bucket itself; formatted for people here too.
 */
import type { BackupStore } from "../backup/store.ts";
import { redactText } from "../log.ts";
import type { AvailabilityReport } from "./availability.ts";
import type { Sample } from "./metrics.ts";
import { bucketUsage, type PrefixUsage } from "./storage.ts";

export interface StorageFigures {
  source: "ops-agent" | "s3" | null;
  prefixes: PrefixUsage[];
  totalBytes: number | null;
  chromaDiskBytes: number | null;
  reason?: string;
}

export interface RetentionFigure {
  retention: string;
  lastRunAt: string | null;
  lastStatus: "ok" | "failed";
  examined: number | null;
  deleted: number | null;
  skipped: number | null;
  freedBytes: number | null;
}

export interface ContainerFigure {
  name: string;
  up: boolean;
  /** false: Docker has no container of this name (null: the agent does not say). */
  present: boolean | null;
}

const pick = (samples: Sample[], name: string) => samples.filter((s) => s.name === name);

export async function storageFigures(
  samples: Sample[] | null,
  store: BackupStore | undefined,
): Promise<StorageFigures> {
  const total = (p: PrefixUsage[]) => p.reduce((n, x) => n + x.bytes, 0);
  const fromAgent = samples ? pick(samples, "jarvis_backup_storage_bytes") : [];
  if (samples && fromAgent.length) {
    const objects = pick(samples, "jarvis_backup_storage_objects");
    const prefixes = fromAgent.map((s) => ({
      bucket: s.labels.bucket ?? "",
      prefix: s.labels.prefix ?? "",
      bytes: s.value,
      objects:
        objects.find((o) => o.labels.bucket === s.labels.bucket && o.labels.prefix === s.labels.prefix)
          ?.value ?? 0,
    }));
    const chroma = pick(samples, "jarvis_chroma_disk_bytes")[0]?.value ?? null;
    return { source: "ops-agent", prefixes, totalBytes: total(prefixes), chromaDiskBytes: chroma };
  }
  if (!store)
    return {
      source: null,
      prefixes: [],
      totalBytes: null,
      chromaDiskBytes: null,
      reason: "no ops agent figures and no JARVIS_BACKUP_BUCKET",
    };
  try {
    const prefixes = await bucketUsage(store);
    return { source: "s3", prefixes, totalBytes: total(prefixes), chromaDiskBytes: null };
  } catch (e) {
    return {
      source: null,
      prefixes: [],
      totalBytes: null,
      chromaDiskBytes: null,
      reason: `backup bucket unreadable: ${redactText((e as Error).message)}`,
    };
  }
}

export function retentionFigures(samples: Sample[] | null): RetentionFigure[] {
  if (!samples) return [];
  const v = (name: string, job: string) =>
    samples.find((s) => s.name === name && s.labels.retention === job)?.value ?? null;
  return pick(samples, "jarvis_retention_last_status").map((s) => {
    const job = s.labels.retention!;
    const ts = v("jarvis_retention_last_run_timestamp_seconds", job);
    return {
      retention: job,
      lastRunAt: ts === null ? null : new Date(ts * 1000).toISOString(),
      lastStatus: s.value === 1 ? "ok" : "failed",
      examined: v("jarvis_retention_last_examined", job),
      deleted: v("jarvis_retention_last_deleted", job),
      skipped: v("jarvis_retention_last_skipped", job),
      freedBytes: v("jarvis_retention_last_freed_bytes", job),
    };
  });
}

export function containerFigures(samples: Sample[] | null): ContainerFigure[] | null {
  if (!samples) return null;
  const present = pick(samples, "jarvis_container_present");
  return pick(samples, "jarvis_container_up")
    .filter((s) => s.labels.container)
    .map((s) => {
      const p = present.find((x) => x.labels.container === s.labels.container);
      return { name: s.labels.container!, up: s.value === 1, present: p ? p.value === 1 : null };
    });
}

/** What is wrong with a container, for the `down` list: not found and stopped read differently. */
export function containerProblem(c: ContainerFigure): string | null {
  if (c.up) return null;
  if (c.present === false)
    return `container ${c.name} not found (removed, renamed, or misnamed in jarvis:monitoring.appContainers)`;
  return c.present ? `container ${c.name} is stopped or unhealthy` : `container ${c.name} is not running`;
}

const MB = 1024 * 1024;
export const size = (b: number) =>
  b >= 1024 * MB
    ? `${(b / 1024 / MB).toFixed(2)} GB`
    : b >= MB
      ? `${(b / MB).toFixed(1)} MB`
      : `${(b / 1024).toFixed(1)} kB`;
const pct = (x: number) => `${(100 * x).toFixed(3)}%`;

export function formatFigures(r: {
  storage: StorageFigures;
  retention: RetentionFigure[];
  availability: AvailabilityReport;
}): string[] {
  const lines: string[] = [];
  const s = r.storage;
  if (s.source === null) lines.push(`storage   unknown (${s.reason})`);
  else {
    lines.push(
      `storage   backups ${size(s.totalBytes ?? 0)} in ${s.prefixes.reduce((n, p) => n + p.objects, 0)} objects [${s.source}]`,
    );
    for (const p of s.prefixes)
      lines.push(
        `  ${p.bucket}/${p.prefix}`.padEnd(44) + ` ${size(p.bytes).padStart(10)}  ${p.objects} objects`,
      );
  }
  lines.push(
    `storage   chroma on disk ${s.chromaDiskBytes === null ? "unknown (the ops agent measures it: JARVIS_CHROMA_DATA_DIR)" : size(s.chromaDiskBytes)}`,
  );
  for (const x of r.retention)
    lines.push(
      `retention ${x.retention.padEnd(16)} ${x.lastRunAt ?? "never"}, ${x.lastStatus}, examined ${x.examined ?? "?"}, deleted ${x.deleted ?? "?"}, skipped ${x.skipped ?? "?"}, freed ${x.freedBytes === null ? "unknown" : size(x.freedBytes)}`,
    );
  const a = r.availability;
  if (a.source === null) lines.push(`availability unknown (${a.reason}); objective ${pct(a.target)}`);
  else
    for (const x of a.stores)
      lines.push(
        `availability ${x.store.padEnd(8)} ${x.ratio30d === null ? "unknown (no data in Prometheus)" : `${pct(x.ratio30d)} over 30 days`} (objective ${pct(a.target)})${x.budgetRemaining === null ? "" : `, error budget left ${(100 * x.budgetRemaining).toFixed(1)}%`}`,
      );
  return lines;
}
