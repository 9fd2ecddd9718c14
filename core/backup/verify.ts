/**
 * S7: a backup's integrity is checked, not assumed. Every object the manifest lists is read back
 * from the store and its size and sha256 compared; any difference fails, naming the object.
 */
import { JarvisError } from "../errors.ts";
import { findBackup, readManifest, type BackupKind, type StoreName } from "./manifest.ts";
import { mapLimit, StoreError, type BackupStore } from "./store.ts";

export interface VerifyResult {
  store: StoreName;
  id: string;
  kind: BackupKind;
  files: number;
  bytes: number;
  ok: boolean;
  problems: { object: string; problem: string }[];
}

export class VerifyError extends JarvisError {
  constructor(readonly result: VerifyResult) {
    const list = result.problems
      .slice(0, 5)
      .map((p) => `${p.object}: ${p.problem}`)
      .join("; ");
    super(
      "JARVIS_VERIFY_FAILED",
      `${result.store} backup ${result.id} failed verification: ${list}${result.problems.length > 5 ? ` (+${result.problems.length - 5} more)` : ""}; do not restore it: restore an older backup (jarvis-data backups list) and take a new one`,
    );
  }
}

/** Checks every object of a backup (the latest complete one when `id` is absent). */
export async function verifyBackup(
  store: BackupStore,
  which: StoreName,
  id?: string,
  opts: { kind?: BackupKind; throwOnFailure?: boolean } = {},
): Promise<VerifyResult> {
  const ref = await findBackup(store, which, id, opts.kind);
  const manifest = await readManifest(store, ref);
  const problems: VerifyResult["problems"] = [];
  await mapLimit(manifest.files, 4, async (f) => {
    const key = ref.dir + f.path;
    try {
      const got = await store.hashObject(key);
      if (got.size !== f.size)
        problems.push({ object: store.url(key), problem: `size ${got.size} B, manifest says ${f.size} B` });
      else if (got.sha256 !== f.sha256)
        problems.push({
          object: store.url(key),
          problem: `sha256 ${got.sha256.slice(0, 16)}… ≠ manifest ${f.sha256.slice(0, 16)}…`,
        });
    } catch (e) {
      if (e instanceof StoreError && /NoSuchKey|NotFound|404/.test(e.message))
        problems.push({ object: store.url(key), problem: "missing" });
      else throw e;
    }
  });
  problems.sort((a, b) => a.object.localeCompare(b.object));
  const result: VerifyResult = {
    store: which,
    id: ref.id,
    kind: ref.kind,
    files: manifest.files.length,
    bytes: manifest.totalBytes,
    ok: problems.length === 0,
    problems,
  };
  if (!result.ok && opts.throwOnFailure !== false) throw new VerifyError(result);
  return result;
}
