/**
 * Backup identity, object layout and manifests.
 *
 * A backup is complete only when its manifest exists: the manifest is uploaded after every data
 * object, so a backup interrupted at any point (kill -9, S3 down) has none and is never listed,
 * verified, restored or counted as "latest". A manifest that does not validate (manifest-schema.ts)
 * is listed flagged and skipped: "latest" is the newest backup whose manifest is valid.
 */
import { randomBytes } from "node:crypto";
import type { TierName } from "../../settings/lifecycle.ts";
import { BACKUP_SOURCES, STORES, type BackupSource, type StoreName } from "../../settings/store-names.ts";
import { JarvisError } from "../errors.ts";
import {
  MANIFEST_FORMAT,
  parseManifest,
  signManifest,
  type BACKUP_KINDS,
  type ParsedManifest,
} from "./manifest-schema.ts";
import type { BackupStore } from "./store.ts";

export { STORES, BACKUP_SOURCES, MANIFEST_FORMAT, type StoreName, type BackupSource };
/** postgres: logical (pg_dump) or physical (pgBackRest); redis: rdb; chroma: export; logs: files. */
export type BackupKind = (typeof BACKUP_KINDS)[number];
/** Retention tiers (settings/lifecycle.ts); the bucket's lifecycle rules expire each after its days (A2). */
export type Tier = TierName;

export const MANIFEST_FILE = "manifest.json";

export type ManifestFile = ParsedManifest["files"][number];
export type Manifest = Omit<ParsedManifest, "store" | "kind" | "tier"> & {
  store: BackupSource;
  kind: BackupKind;
  tier: Tier;
};

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
    );
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!));
}

/** postgres dailies, Sunday weeklies, first-of-month monthlies; redis, chroma and logs have their own tier. */
export function tierFor(store: BackupSource, at: Date): Tier {
  if (store !== "postgres") return store;
  if (at.getUTCDate() === 1) return "monthly";
  if (at.getUTCDay() === 0) return "weekly";
  return "daily";
}

export function backupDir(store: BackupSource, kind: BackupKind, tier: Tier, id: string): string {
  return `${store}/${kind}/${tier}/${id}/`;
}

export class BackupNotFoundError extends JarvisError {
  constructor(store: string, id?: string) {
    super(
      "JARVIS_BACKUP_NOT_FOUND",
      id
        ? `no complete ${store} backup with id ${id} (a backup without a manifest is incomplete and never used); list them with: jarvis-data backups list`
        : `no complete, valid ${store} backup in the store yet; take one with: jarvis-data backup ${store}`,
    );
  }
}

export interface BackupRef {
  store: BackupSource;
  kind: BackupKind;
  tier: Tier;
  id: string;
  /** Directory key, ending with "/". */
  dir: string;
}

/** Backups that have a manifest, oldest first (their manifests not yet read). */
export async function listBackups(store: BackupStore, which?: BackupSource): Promise<BackupRef[]> {
  const refs: BackupRef[] = [];
  for (const s of which ? [which] : BACKUP_SOURCES) {
    for (const o of await store.list(`${s}/`)) {
      const parts = o.key.split("/");
      if (parts.length !== 5 || parts[4] !== MANIFEST_FILE || parts[0] !== s) continue;
      const [, kind, tier, id] = parts as [string, BackupKind, Tier, string];
      refs.push({ store: s, kind, tier, id, dir: `${s}/${kind}/${tier}/${id}/` });
    }
  }
  return refs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A listed backup with its manifest, or the reason it cannot be used. */
export type CheckedRef = BackupRef &
  ({ manifest: Manifest; problem?: never } | { manifest?: never; problem: string });

/** Every backup with its manifest read and checked; a bad one carries `problem` instead of failing the list. */
export async function listCheckedBackups(store: BackupStore, which?: BackupSource): Promise<CheckedRef[]> {
  const out: CheckedRef[] = [];
  for (const ref of await listBackups(store, which)) {
    try {
      out.push({ ...ref, manifest: await readManifest(store, ref) });
    } catch (e) {
      if (!(e instanceof JarvisError) || !/^JARVIS_MANIFEST_/.test(e.code)) throw e;
      out.push({ ...ref, problem: e.message });
    }
  }
  return out;
}

/** The backup `id` of `which`, or the newest one with a valid manifest when `id` is absent. */
export async function findBackup(
  store: BackupStore,
  which: BackupSource,
  id?: string,
  kind?: BackupKind,
): Promise<BackupRef> {
  const all = (await listBackups(store, which)).filter((r) => !kind || r.kind === kind);
  if (id) {
    const ref = all.find((r) => r.id === id);
    if (!ref) throw new BackupNotFoundError(which, id);
    return ref;
  }
  for (const ref of all.reverse()) {
    const ok = await readManifest(store, ref).then(
      () => true,
      (e: unknown) =>
        e instanceof JarvisError && /^JARVIS_MANIFEST_/.test(e.code) ? false : Promise.reject(e),
    );
    if (ok) return ref;
  }
  throw new BackupNotFoundError(which);
}

/** Reads a backup's manifest and checks it (schema, paths, needed files, signature, identity). */
export async function readManifest(store: BackupStore, ref: BackupRef): Promise<Manifest> {
  const raw = await store.getBuffer(ref.dir + MANIFEST_FILE);
  const what = `${ref.store} backup ${ref.id}`;
  const m = parseManifest(raw.toString("utf8"), what, store.manifestKey) as Manifest;
  if (m.id !== ref.id || m.store !== ref.store || m.kind !== ref.kind || m.tier !== ref.tier)
    throw new JarvisError(
      "JARVIS_MANIFEST_INVALID",
      `the manifest of ${what} describes another backup (${m.store}/${m.kind}/${m.tier}/${m.id}); the backup cannot be trusted: restore another one`,
    );
  return m;
}

/** A backup's identity from its start: id, tier, the prefix its objects go under. */
export function beginBackup(
  store: BackupSource,
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
  "format" | "startedAt" | "finishedAt" | "durationSeconds" | "totalBytes" | "signature"
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

/** Writes the manifest, signed with the store's manifest key when it has one. */
export async function writeManifest(store: BackupStore, m: Manifest): Promise<void> {
  if (store.manifestKey) m.signature = signManifest(m, store.manifestKey);
  await store.putBuffer(
    backupDir(m.store, m.kind, m.tier, m.id) + MANIFEST_FILE,
    JSON.stringify(m, null, 2) + "\n",
    "application/json",
  );
}
