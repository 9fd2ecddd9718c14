/** Disk use of the filesystem holding a path (A20: alert at 80 %). */
import { statfs } from "node:fs/promises";

export interface DiskUsage {
  path: string;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  /** Used, as df counts it: used / (used + available to unprivileged users). */
  percent: number;
}

/** statfs of `path`; null when the path is not on this machine (e.g. inside a remote container). */
export async function diskUsage(path: string): Promise<DiskUsage | null> {
  try {
    const s = await statfs(path);
    const total = s.blocks * s.bsize;
    const used = (s.blocks - s.bfree) * s.bsize;
    const avail = s.bavail * s.bsize;
    return {
      path,
      totalBytes: total,
      usedBytes: used,
      availableBytes: avail,
      percent: used + avail > 0 ? Math.round((1000 * used) / (used + avail)) / 10 : 0,
    };
  } catch {
    return null;
  }
}
