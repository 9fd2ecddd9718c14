/**
 * Backup identity, object layout and manifests.
 *
 * A backup is complete only when its manifest exists: the manifest is uploaded after every data
 * object, so a backup interrupted at any point (kill -9, S3 down) has none and is never listed,
 * verified, restored or counted as "latest". "latest" is the newest id that has a manifest.
 */
import { randomBytes } from "node:crypto";
import { JarvisError } from "../errors.ts";
import type { BackupStore } from "./store.ts";

export const STORES = ["postgres", "redis", "chroma"] as const;
export type StoreName = (typeof STORES)[number];
/** postgres: logical (pg_dump) or physical (pgBackRest); redis: rdb; chroma: export. */
export type BackupKind = "logical" | "physical" | "rdb" | "export";
/** Retention tiers; the bucket's lifecycle rules expire each tier after its configured days (S2). */
export type Tier = "daily" | "weekly" | "monthly" | "redis" | "chroma";

export const MANIFEST_FORMAT = 1;
export const MANIFEST_FILE = "manifest.json";

export interface ManifestFile {
  /** Path relative to the backup's directory. */
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  id: string;
  store: StoreName;
  kind: BackupKind;
  tier: Tier;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  files: ManifestFile[];
  totalBytes: number;
  /** Latest applied migration of the source database (postgres), else null. */
  schemaVersion: string | null;
  /** postgres: exact row count per table (schema.table), taken in the dump's snapshot. */
  rowCounts?: Record<string, number>;
  /** chroma: per collection, the record count and a checksum of its canonical content. */
  collections?: {
    name: string;
    count: number;
    checksum: string;
    embeddingSum: number;
    embeddingWeightedSum: number;
    embeddingScale: number;
  }[];
  /** redis: keys per database at backup time. */
  keys?: Record<string, number>;
  /** Where it came from (no credentials). */
  source: Record<string, string | number | null>;
  /** Tool versions that wrote it. */
  tools: Record<string, string>;
}

export function newBackupId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/** When the id was taken (ids start with their UTC timestamp). */
export function idTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(id);
  if (!m)
    throw new JarvisError(
      "JARVIS_BACKUP_ID_INVALID",
      `"${id}" is not a backup id (expected e.g. 20261101T020000000Z-a1b2c3); list them with: jarvis-data backups list`,
      2,
    );
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!));
}

/** postgres dailies, Sunday weeklies, first-of-month monthlies; redis and chroma have their own tier. */
export function tierFor(store: StoreName, at: Date): Tier {
  if (store !== "postgres") return store;
  if (at.getUTCDate() === 1) return "monthly";
  if (at.getUTCDay() === 0) return "weekly";
  return "daily";
}

export function backupDir(store: StoreName, kind: BackupKind, tier: Tier, id: string): string {
  return `${store}/${kind}/${tier}/${id}/`;
}

export class BackupNotFoundError extends JarvisError {
  constructor(store: string, id?: string) {
    super(
      "JARVIS_BACKUP_NOT_FOUND",
      id
        ? `no complete ${store} backup with id ${id} (a backup without a manifest is incomplete and never used); list them with: jarvis-data backups list`
        : `no complete ${store} backup in the store yet; take one with: jarvis-data backup ${store}`,
    );
  }
}

export interface BackupRef {
  store: StoreName;
  kind: BackupKind;
  tier: Tier;
  id: string;
  /** Directory key, ending with "/". */
  dir: string;
}

/** Complete backups (those with a manifest), oldest first. */
export async function listBackups(store: BackupStore, which?: StoreName): Promise<BackupRef[]> {
  const refs: BackupRef[] = [];
  for (const s of which ? [which] : STORES) {
    for (const o of await store.list(`${s}/`)) {
      const parts = o.key.split("/");
      if (parts.length !== 5 || parts[4] !== MANIFEST_FILE) continue;
      const [st, kind, tier, id] = parts as [StoreName, BackupKind, Tier, string];
      refs.push({ store: st, kind, tier, id, dir: `${st}/${kind}/${tier}/${id}/` });
    }
  }
  return refs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The backup `id` of `which`, or the newest complete one when `id` is absent. */
export async function findBackup(
  store: BackupStore,
  which: StoreName,
  id?: string,
  kind?: BackupKind,
): Promise<BackupRef> {
  const all = (await listBackups(store, which)).filter((r) => !kind || r.kind === kind);
  const ref = id ? all.find((r) => r.id === id) : all.at(-1);
  if (!ref) throw new BackupNotFoundError(which, id);
  return ref;
}

export async function readManifest(store: BackupStore, ref: BackupRef): Promise<Manifest> {
  const raw = await store.getBuffer(ref.dir + MANIFEST_FILE);
  let m: Manifest;
  try {
    m = JSON.parse(raw.toString("utf8")) as Manifest;
  } catch (e) {
    throw new JarvisError(
      "JARVIS_MANIFEST_INVALID",
      `the manifest of ${ref.store} backup ${ref.id} is not valid JSON (${(e as Error).message}); the backup cannot be trusted: take a new one`,
    );
  }
  if (m.format !== MANIFEST_FORMAT || m.id !== ref.id || !Array.isArray(m.files)) {
    throw new JarvisError(
      "JARVIS_MANIFEST_INVALID",
      `the manifest of ${ref.store} backup ${ref.id} does not describe it (format ${m.format}, id ${m.id}); the backup cannot be trusted: take a new one`,
    );
  }
  return m;
}

/** A backup's identity from its start: id, tier, the prefix its objects go under; the first step of every backup. */
export function beginBackup(
  store: StoreName,
  kind: BackupKind,
  now?: Date,
): { started: Date; t0: number; id: string; tier: Tier; dir: string } {
  const started = now ?? new Date();
  const t0 = performance.now();
  const id = newBackupId(started);
  const tier = tierFor(store, started);
  return { started, t0, id, tier, dir: backupDir(store, kind, tier, id) };
}

/** What a backup knows when its data is stored; `completeBackup` turns it into the manifest. */
export type BackupParts = Omit<
  Manifest,
  "format" | "startedAt" | "finishedAt" | "durationSeconds" | "totalBytes"
> & {
  started: Date;
  /** performance.now() when the backup started. */
  t0: number;
};

/** Builds the manifest (duration, total size) and writes it: the last step of every backup. */
export async function completeBackup(store: BackupStore, parts: BackupParts): Promise<Manifest> {
  const { started, t0, ...rest } = parts;
  const durationSeconds = (performance.now() - t0) / 1000;
  const manifest: Manifest = {
    ...rest,
    format: MANIFEST_FORMAT,
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + durationSeconds * 1000).toISOString(),
    durationSeconds,
    totalBytes: parts.files.reduce((a, f) => a + f.size, 0),
  };
  await writeManifest(store, manifest);
  return manifest;
}

/** Writes the manifest: the last step of every backup. */
export async function writeManifest(store: BackupStore, m: Manifest): Promise<void> {
  await store.putBuffer(
    backupDir(m.store, m.kind, m.tier, m.id) + MANIFEST_FILE,
    JSON.stringify(m, null, 2) + "\n",
    "application/json",
  );
}
