/**
 * What every backup store shares (pgBackRest's common.h): the results, the mismatch error, one
 * hashing stream (sha256 and size while streaming), one check of an object against its manifest
 * entry, one rule for keeping a manifest's paths inside their directory, sleep and poll.
 */
import { createHash } from "node:crypto";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { Transform } from "node:stream";
import { JarvisError } from "../errors.ts";
import type { Manifest, ManifestFile } from "./manifest.ts";

export interface BackupResult {
  id: string;
  store: string;
  kind: string;
  tier: string;
  files: number;
  bytes: number;
  durationSeconds: number;
  manifest: Manifest;
}

export interface RestoreResult {
  id: string;
  target: string;
  durationSeconds: number;
  rowCounts?: Record<string, number>;
}

/** Thrown when a restored target does not hold what the manifest says it should. */
export class RestoreMismatchError extends JarvisError {
  constructor(what: string, problems: string[]) {
    const more = problems.length > 10 ? ` (+${problems.length - 10} more)` : "";
    super(
      "JARVIS_RESTORE_MISMATCH",
      `${what} does not match its backup's manifest: ${problems.slice(0, 10).join("; ")}${more}; ` +
        "the backup or the restore is broken: verify the backup (jarvis-data verify) and restore an older one",
    );
  }
}

/** Tables whose row count differs from the manifest's, as sentences. */
export function compareCounts(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [t, n] of Object.entries(expected)) {
    if (actual[t] === undefined) problems.push(`table ${t} is missing`);
    else if (actual[t] !== n) problems.push(`table ${t} has ${actual[t]} rows, expected ${n}`);
  }
  return problems;
}

/** sha256 and size of what went through. */
export interface Digest {
  sha256: string;
  size: number;
}

/**
 * A pass-through stream that hashes what flows through it: the one place sha256 and size are
 * computed while streaming (downloads, uploads, snapshots, hashing a stored object).
 */
export class HashingStream extends Transform {
  private readonly hash = createHash("sha256");
  size = 0;
  constructor(private readonly onChunk?: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void) {
    this.update(chunk);
    cb(null, chunk);
  }
  /** Hashes a chunk handed over outside a pipeline. */
  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.onChunk?.(chunk.length);
  }
  digest(): Digest {
    return { sha256: this.hash.digest("hex"), size: this.size };
  }
}

export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** How an object differs from its manifest entry, or null when it matches. */
export function objectProblem(got: Digest, want: ManifestFile): string | null {
  if (got.size !== want.size) return `size ${got.size} B, manifest says ${want.size} B`;
  if (got.sha256 !== want.sha256)
    return `sha256 ${got.sha256.slice(0, 16)}… ≠ manifest ${want.sha256.slice(0, 16)}…`;
  return null;
}

/** Throws JARVIS_BACKUP_CORRUPT naming the object when it differs from its manifest entry. */
export function checkObject(got: Digest, want: ManifestFile, url: string): void {
  const problem = objectProblem(got, want);
  if (problem)
    throw new JarvisError(
      "JARVIS_BACKUP_CORRUPT",
      `${url} is corrupt: ${problem}; restore another backup (jarvis-data backups list)`,
    );
}

/**
 * `dir`/`rel`, refusing any path that would land outside `dir` (an absolute path, `..`, a
 * symlink-free escape). Manifests are validated on read too; this is the second lock.
 */
export function insideDir(dir: string, rel: string): string {
  const root = resolve(dir);
  const full = resolve(root, rel);
  const back = relative(root, full);
  if (!back || back.startsWith(`..${sep}`) || back === ".." || isAbsolute(back) || isAbsolute(rel))
    throw new JarvisError(
      "JARVIS_MANIFEST_INVALID",
      `the manifest path "${rel}" leaves its directory ${root}; the manifest was tampered with: do not use this backup`,
    );
  return full;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Calls `probe` every `intervalMs` until it returns a value other than undefined, or throws
 * `onTimeout()` after `timeoutMs`.
 */
export async function poll<T>(
  probe: () => Promise<T | undefined>,
  o: { timeoutMs: number; intervalMs?: number; onTimeout: () => Error },
): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw o.onTimeout();
    await sleep(o.intervalMs ?? 100);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}
