/**
 * What must outlive the stack and never be replaced by a config change: buckets, KMS keys, data
 * volumes (docs/first-up.md, "Destroy, re-up and replacements").
 */
import type { JarvisConfig } from "../config/schema.ts";

/** Resource options of data that must outlive the stack. */
export interface KeepOptions {
  /** `pulumi destroy` (or a replacement) forgets the resource and leaves it, and its data, in place. */
  retainOnDelete: true;
  /** prod: the engine refuses to delete or replace it until someone unprotects it by hand. */
  protect: boolean;
}

/** Buckets, their sub-resources, KMS keys and data volumes: kept everywhere, protected in prod. */
export function keepOptions(environment: JarvisConfig["environment"]): KeepOptions {
  return { retainOnDelete: true, protect: environment === "prod" };
}

/**
 * Whether the buckets are created with object lock. S3 accepts the flag only at creation, so the
 * provider replaces a bucket when it changes: it is `backup.objectLockAtCreation` when set, else
 * `backup.objectLock.enabled` as it was when the buckets were created. `config check --previous`
 * refuses a change of it (config/immutable.ts).
 */
export function objectLockAtCreation(backup: JarvisConfig["backup"]): boolean {
  return backup.objectLockAtCreation ?? backup.objectLock.enabled;
}
