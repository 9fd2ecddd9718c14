/**
 * A7: a backup's integrity is checked, not assumed. Every object the manifest lists is read back
 * from the store and its size and sha256 compared; any difference fails, naming the object.
 */
import { JarvisError } from "../errors.ts";
import { noProgress, type Progress } from "../progress.ts";
import { objectProblem } from "./common.ts";
import { findBackup, readManifest, type BackupKind, type BackupSource } from "./manifest.ts";
import { mapLimit, StoreError, type BackupStore } from "./store.ts";

export interface VerifyResult {
  store: BackupSource;
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
  which: BackupSource,
  id?: string,
  opts: { kind?: BackupKind; throwOnFailure?: boolean; progress?: Progress } = {},
): Promise<VerifyResult> {
  const ref = await findBackup(store, which, id, opts.kind);
  const manifest = await readManifest(store, ref);
  const problems: VerifyResult["problems"] = [];
  const progress = opts.progress ?? noProgress;
  let done = 0;
  await mapLimit(manifest.files, 4, async (f) => {
    const key = ref.dir + f.path;
    try {
      const got = await store.hashObject(key, (n) => progress.update((done += n), manifest.totalBytes));
      const problem = objectProblem(got, f);
      if (problem) problems.push({ object: store.url(key), problem });
    } catch (e) {
      if (e instanceof StoreError && e.notFound)
        problems.push({ object: store.url(key), problem: "missing" });
      else throw e;
    }
  });
  progress.finish();
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
