/**
 * A22 storage figures: bytes and objects per prefix of the backup buckets (from listing: current
 * objects, what the S3 API lists), and a directory's size on disk (Chroma's persist directory, the
 * log files). The ops agent refreshes them on a schedule for /metrics; `status` reads them from
 * the agent, or lists the bucket itself when no agent answers.
 */
import { readdirSync, lstatSync } from "node:fs";
import { join } from "node:path";
import type { BackupStore } from "../backup/store.ts";

export interface PrefixUsage {
  bucket: string;
  /** The first segment of the keys (`postgres/`, `redis/`, `chroma/`, `logs/`), or `(root)`. */
  prefix: string;
  bytes: number;
  objects: number;
}

/** Sums the objects of a bucket by their first key segment (under the store's own prefix). */
export async function bucketUsage(store: BackupStore): Promise<PrefixUsage[]> {
  const byPrefix = new Map<string, PrefixUsage>();
  for (const o of await store.list("")) {
    const slash = o.key.indexOf("/");
    const prefix = slash < 0 ? "(root)" : o.key.slice(0, slash + 1);
    const u = byPrefix.get(prefix) ?? { bucket: store.bucket, prefix, bytes: 0, objects: 0 };
    u.bytes += o.size;
    u.objects += 1;
    byPrefix.set(prefix, u);
  }
  return [...byPrefix.values()].sort((a, b) => a.prefix.localeCompare(b.prefix));
}

/** Bytes of the regular files under a directory (symbolic links not followed); null when unreadable. */
export function directorySize(dir: string): number | null {
  try {
    let total = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) total += lstatSync(p).size;
      }
    };
    walk(dir);
    return total;
  } catch {
    return null;
  }
}
