/**
 * What differs between stores, and nothing else: each store (postgres logical, redis, chroma,
 * logs) gives a driver; run.ts holds the sequence every backup and every restore follows.
 */
import type { Logger } from "../log.ts";
import type { Progress } from "../progress.ts";
import type { BackupKind, BackupRef, BackupSource, Manifest, ManifestFile } from "./manifest.ts";
import type { BackupStore } from "./store.ts";

/** What a driver's capture hands back: the stored files and what the manifest says about them. */
export interface Captured {
  files: ManifestFile[];
  schemaVersion?: string | null;
  rowCounts?: Manifest["rowCounts"];
  collections?: Manifest["collections"];
  keys?: Manifest["keys"];
  /** Where it came from (no credentials). */
  source: Manifest["source"];
  /** Tool versions that wrote it. */
  tools: Manifest["tools"];
}

export interface CaptureContext {
  id: string;
  /** Key prefix the backup's objects go under (ends with "/"). */
  dir: string;
  store: BackupStore;
  log: Logger;
  /** Bytes (or records) captured so far. */
  progress: Progress;
}

export interface BackupDriver {
  store: BackupSource;
  kind: BackupKind;
  /** Stores the backup's data objects under `ctx.dir`; the manifest is the orchestrator's. */
  capture(ctx: CaptureContext): Promise<Captured>;
}

/** The target as it is before the restore. */
export interface TargetState {
  /** What --confirm must say, and what messages call the target. */
  name: string;
  /** What the restore would replace; null when the target is empty or missing. */
  overwrites: unknown;
  /** A one-line description of `overwrites` for the refusal message. */
  summary?: string;
  /** Store-specific lines of the plan (pg_cron kept or left out). */
  plan?: Record<string, unknown>;
}

export interface LoadContext {
  ref: BackupRef;
  manifest: Manifest;
  store: BackupStore;
  /** The checked files, downloaded; null for drivers that read the store themselves. */
  localDir: string | null;
  log: Logger;
  progress: Progress;
}

export interface RestoreDriver {
  store: BackupSource;
  /** Restrict "latest" to this kind. */
  kind?: BackupKind;
  /** Download and check every file before loading (false: the driver reads and checks them itself). */
  download: boolean;
  /** What the target holds now. */
  inspectTarget(): Promise<TargetState>;
  /** Loads the backup into a side target beside the real one; the real one is untouched. */
  load(ctx: LoadContext): Promise<void>;
  /** Problems of the side target against the manifest ([] when it matches). */
  check(ctx: LoadContext): Promise<string[]>;
  /** Puts the side target in the real one's place; the old one is kept until this succeeds. */
  swap(ctx: LoadContext): Promise<void>;
  /** Removes what `load` made, after a failure before or during the swap. */
  discard(): Promise<void>;
  /** Extra fields of the result (row counts). */
  result?(): Record<string, unknown>;
}
