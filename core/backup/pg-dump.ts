/**
 * pg_dump -Fd streamed to the store while it writes (the capture step of a logical backup):
 * every table file is uploaded part by part as it grows and completed when pg_dump reports it
 * closed; toc.dat and the rest once pg_dump has exited.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Progress } from "../progress.ts";
import type { ManifestFile } from "./manifest.ts";
import { pgBinary, pgEnv, run } from "./proc.ts";
import { sleep } from "./common.ts";
import { mapLimit, type BackupStore } from "./store.ts";

export interface DumpOptions {
  url: string;
  store: BackupStore;
  jobs?: number;
  compressLevel?: number;
  progress: Progress;
}

/**
 * The dump ids of the items a `pg_dump --verbose -j N` stderr line says are finished (their
 * files, `<id>.dat[.gz]`, are closed). Tested against pg_dump's own output.
 */
export function finishedDumpItems(line: string): string[] {
  // Not anchored, and every match: pg_dump's processes share stderr and its "pg_dump: " prefix is
  // a write of its own, so another process's output can land between a prefix and its message.
  return [...line.matchAll(/finished item (\d+) /g)].map((m) => m[1]!);
}

/**
 * pg_dump -Fd, streamed to the store: pg_dump writes one file per table (`<dumpId>.dat.gz`) and,
 * in parallel mode with --verbose, reports each one ("finished item <dumpId> ...") once it has
 * closed it. Every data file is uploaded while it grows, part by part, beside the dump instead
 * of after it; toc.dat (written last) and anything unreported once pg_dump has exited. When
 * pg_dump fails, the uploads in flight are aborted; when an upload fails, pg_dump is stopped.
 */
export async function dumpToStore(
  opts: DumpOptions,
  snapshot: string,
  dumpDir: string,
  keyPrefix: string,
): Promise<ManifestFile[]> {
  const reported = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const reportedItem = (dumpId: string) => {
    let entry = reported.get(dumpId);
    if (!entry) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      reported.set(dumpId, (entry = { promise, resolve }));
    }
    return entry;
  };
  const stop = new AbortController();
  let exited = false;
  const dump = run(
    pgBinary("pg_dump"),
    [
      "-Fd",
      "-j",
      String(opts.jobs ?? 2),
      "-Z",
      String(opts.compressLevel ?? 1),
      "--verbose",
      `--snapshot=${snapshot}`,
      "-f",
      dumpDir,
    ],
    {
      env: pgEnv(opts.url),
      fix: "check that the role may read every table (jarvis_backup) and that pg_dump is at least the server's version",
      onStderrLine: (line) => {
        for (const dumpId of finishedDumpItems(line)) reportedItem(dumpId).resolve();
      },
      signal: stop.signal,
    },
  ).finally(() => (exited = true));
  dump.catch(() => {}); // observed below; the uploads see it through `closed`
  const uploads = new Map<string, Promise<ManifestFile>>();
  let bytes = 0;
  const onBytes = (n: number) => opts.progress.update((bytes += n));
  const upload = (name: string, closed: Promise<unknown>) => {
    const path = join(dumpDir, name);
    const p = opts.store
      .putGrowingFile(
        `${keyPrefix}${name}`,
        path,
        closed.then(() => {}),
        { onBytes },
      )
      .then(async ({ sha256, size }) => {
        await rm(path, { force: true }); // stored: the dump never holds more than what is still on its way
        return { path: `dump/${name}`, size, sha256 };
      });
    p.catch((e) => stop.abort(e));
    uploads.set(name, p);
    return p;
  };
  const listing = async () =>
    (await readdir(dumpDir).catch(() => [] as string[])).filter((n) => !uploads.has(n));
  while (!exited) {
    for (const name of await listing()) {
      const m = /^(\d+)\.dat(\.gz)?$/.exec(name);
      if (m) upload(name, Promise.race([reportedItem(m[1]!).promise, dump]));
    }
    await sleep(50);
  }
  const settled = await Promise.allSettled([dump, ...uploads.values()]);
  const failed = settled.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (stop.signal.aborted) throw stop.signal.reason; // an upload failed first: its error, not pg_dump's
  if (failed) throw failed.reason;
  // pg_dump has exited: the rest (toc.dat, large objects) is complete on disk.
  const rest = await listing();
  await mapLimit(rest, 4, (name) => upload(name, Promise.resolve()));
  const files = await Promise.all(uploads.values());
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}
