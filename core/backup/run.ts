/**
 * The two sequences every store follows, written once (CloudNativePG's Restore, pgBackRest's
 * cmdBackup): one comment and one call per step. The drivers (driver.ts) do the store-specific
 * parts; the rules live here, so no store can disagree on them:
 *  - a failed backup's objects are removed (without a manifest they are never used anyway);
 *  - a restore shows its plan, refuses a non-empty target unless --confirm names it (and, in
 *    prod, --force is given too), loads beside the target, checks, then swaps.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RefusedError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { noProgress, type Progress } from "../progress.ts";
import {
  checkObject,
  insideDir,
  RestoreMismatchError,
  type BackupResult,
  type RestoreResult,
} from "./common.ts";
import type { BackupDriver, Captured, LoadContext, RestoreDriver, TargetState } from "./driver.ts";
import {
  beginBackup,
  completeBackup,
  findBackup,
  readManifest,
  type BackupParts,
  type BackupRef,
  type Manifest,
} from "./manifest.ts";
import { mapLimit, type BackupStore } from "./store.ts";

export interface RunBackupOptions {
  store: BackupStore;
  log?: Logger;
  now?: Date;
  progress?: Progress;
  /** Called after every data object is stored, just before the manifest (tests use it to kill -9). */
  beforeManifest?: (id: string) => Promise<void>;
}

export async function runBackup(driver: BackupDriver, o: RunBackupOptions): Promise<BackupResult> {
  const log = o.log ?? silentLogger;
  // Name it: id, retention tier, the prefix its objects go under.
  const b = beginBackup(driver.store, driver.kind, o.now);
  try {
    // Capture the data into the store, under that prefix.
    const captured = await driver.capture({ ...b, store: o.store, log, progress: o.progress ?? noProgress });
    // The last moment before the backup exists.
    await o.beforeManifest?.(b.id);
    // Write the manifest (signed when the stack has a key): from now on the backup exists.
    const manifest = await completeBackup(o.store, manifestParts(driver, b, captured));
    o.progress?.finish();
    log.info(`${driver.store} backup complete`, { id: b.id, bytes: manifest.totalBytes });
    return backupResult(manifest);
  } catch (e) {
    // One rule for every store: without a manifest the objects are never used; remove them.
    await o.store.deletePrefix(b.dir).catch(() => {});
    throw e;
  }
}

function manifestParts(
  driver: BackupDriver,
  b: ReturnType<typeof beginBackup>,
  captured: Captured,
): BackupParts {
  const { dir: _dir, ...identity } = b;
  return { ...identity, store: driver.store, kind: driver.kind, schemaVersion: null, ...captured };
}

function backupResult(m: Manifest): BackupResult {
  const { id, tier, store, kind, totalBytes: bytes, durationSeconds } = m;
  return { id, tier, store, kind, files: m.files.length, bytes, durationSeconds, manifest: m };
}

export interface RunRestoreOptions {
  store: BackupStore;
  /** Backup id; absent means the newest valid one. */
  id?: string;
  /** Must equal the target's name when the target is not empty. */
  confirm?: string;
  /** Needed as well as --confirm to replace a live target in prod. */
  force?: boolean;
  /** JARVIS_ENVIRONMENT: "prod" asks for --force. */
  environment?: string;
  log?: Logger;
  progress?: Progress;
  /** Shown the plan before anything is touched. */
  onPlan?: (plan: RestorePlan) => void;
}

/** The options of a store's restore: the run's, with the store's own plan. */
export type StoreRestoreOptions<P extends RestorePlan> = Omit<RunRestoreOptions, "onPlan"> & {
  onPlan?: (plan: P) => void;
};

export interface RestorePlan {
  store: string;
  backup: string;
  target: string;
  overwrites: unknown;
  [extra: string]: unknown;
}

export async function runRestore(driver: RestoreDriver, o: RunRestoreOptions): Promise<RestoreResult> {
  const t0 = performance.now();
  const log = o.log ?? silentLogger;
  // Find the backup: the one named, or the newest whose manifest is valid.
  const ref = await findBackup(o.store, driver.store, o.id, driver.kind);
  // Read its manifest: schema, safe paths, the files its kind needs, the signature.
  const manifest = await readManifest(o.store, ref);
  // Look at the target: what it holds is what the restore replaces.
  const target = await driver.inspectTarget();
  // Show the plan, then refuse what is not confirmed.
  o.onPlan?.({
    store: driver.store,
    backup: ref.id,
    target: target.name,
    overwrites: target.overwrites,
    ...target.plan,
  });
  refuseUnconfirmed(target, o);
  const localDir = driver.download ? await mkdtemp(join(tmpdir(), `jarvis-restore-${driver.store}-`)) : null;
  const ctx: LoadContext = {
    ref,
    manifest,
    store: o.store,
    localDir,
    log,
    progress: o.progress ?? noProgress,
  };
  try {
    // Download every file and check it against the manifest.
    if (localDir) await downloadBackup(o.store, ref, manifest, localDir, ctx.progress);
    // Load it beside the target: the target is untouched so far.
    await driver.load(ctx);
    // Check the side target against the manifest.
    const problems = await driver.check(ctx);
    if (problems.length)
      throw new RestoreMismatchError(`${driver.store} ${target.name} restored from ${ref.id}`, problems);
    // Swap it in; the old target goes only once the swap has succeeded.
    await driver.swap(ctx);
  } catch (e) {
    await driver
      .discard()
      .catch((d) => log.warn("could not remove the side target", { error: (d as Error).message }));
    throw e;
  } finally {
    if (localDir) await rm(localDir, { recursive: true, force: true });
  }
  o.progress?.finish();
  const durationSeconds = (performance.now() - t0) / 1000;
  log.info(`${driver.store} restore complete`, {
    id: ref.id,
    target: target.name,
    seconds: durationSeconds.toFixed(1),
  });
  return { id: ref.id, target: target.name, durationSeconds, ...driver.result?.() };
}

/** A non-empty target needs --confirm <name>, and in prod --force too. */
export function refuseUnconfirmed(
  target: TargetState,
  o: Pick<RunRestoreOptions, "confirm" | "force" | "environment">,
): void {
  if (!target.overwrites) return;
  const what = target.summary ? ` (${target.summary})` : "";
  if (o.confirm !== target.name)
    throw new RefusedError(
      `refusing to restore into ${target.name}: it is not empty${what}; everything in it would be replaced. To do it anyway, pass --confirm ${target.name}`,
    );
  if (o.environment === "prod" && !o.force)
    throw new RefusedError(
      `refusing to restore over ${target.name} in prod with --confirm alone${what}: this replaces a live store. Pass --force as well`,
    );
}

/** Downloads a backup's files into `dest`, each checked against its manifest entry. */
export async function downloadBackup(
  store: BackupStore,
  ref: BackupRef,
  manifest: Manifest,
  dest: string,
  progress: Progress = noProgress,
): Promise<void> {
  let done = 0;
  await mapLimit(manifest.files, 4, async (f) => {
    const got = await store.getFile(ref.dir + f.path, insideDir(dest, f.path), (n) =>
      progress.update((done += n), manifest.totalBytes),
    );
    checkObject(got, f, store.url(ref.dir + f.path));
  });
}
