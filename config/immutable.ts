/**
 * Config changes that would replace a bucket (or a KMS key), so that the new one starts empty while
 * the backups stay in the old one. `jarvis-data config check <stack> --previous FILE` compares a
 * stack file with its deployed version (in CI: the base branch's) and refuses these, explaining
 * the migration. prod's buckets are also `protect`ed, so the engine refuses to replace them anyway.
 */
import { objectLockAtCreation } from "../settings/keep.ts";
import type { JarvisConfig } from "./schema.ts";

/** One problem per replacing change, as `jarvis:<key>: <what would happen, what to do>`. */
export function replacingChanges(previous: JarvisConfig, next: JarvisConfig): string[] {
  const problems: string[] = [];
  const was = previous.backup;
  const now = next.backup;
  if (was.storage.provider !== now.storage.provider) return problems; // a new store: new buckets by design
  const lockBefore = objectLockAtCreation(was);
  if (lockBefore !== objectLockAtCreation(now)) {
    problems.push(
      `jarvis:backup.objectLockAtCreation: the buckets were created ${lockBefore ? "with" : "without"} object lock, which S3 sets only at creation; this change would replace them with new, empty buckets. ` +
        (lockBefore
          ? "Object lock cannot be switched off on an existing bucket: set jarvis:backup.objectLockAtCreation: true and leave jarvis:backup.objectLock.enabled as it was."
          : "To lock the existing buckets, set jarvis:backup.objectLockAtCreation: false (how they were created) and jarvis:backup.objectLock.enabled: true: the stack then enables the lock in place (S3 allows it on a versioned bucket). To move to new buckets instead, see docs/first-up.md."),
    );
  }
  if (was.storage.region !== now.storage.region) {
    problems.push(
      `jarvis:backup.storage.region: ${was.storage.region} -> ${now.storage.region} would replace every bucket and KMS key with new, empty ones in the new region; keep ${was.storage.region}, or move the backups first (docs/first-up.md).`,
    );
  }
  if (was.storage.replicaRegion && was.storage.replicaRegion !== now.storage.replicaRegion) {
    problems.push(
      `jarvis:backup.storage.replicaRegion: ${was.storage.replicaRegion} -> ${now.storage.replicaRegion ?? "none"} would replace (or drop) the replica bucket and its key; keep ${was.storage.replicaRegion} (docs/first-up.md).`,
    );
  }
  return problems;
}
