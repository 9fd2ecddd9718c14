/**
 * PostgreSQL physical backups with pgBackRest: stanza creation, full/differential backups, WAL
 * archiving (archive_command = archive-push, see settings/postgres.ts), and restores to the
 * latest WAL, to a time, or to a named restore point. pgBackRest runs as the OS user that owns
 * the cluster (it refuses otherwise), with the config settings/pgbackrest.ts generates.
 *
 * Backup ids of this kind are pgBackRest's labels (20261101-020000F, ..._20261102-020000D).
 */
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdir } from "node:fs/promises";
import { JarvisError, RefusedError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { run } from "./proc.ts";

export interface PgBackRestRunner {
  /** Directory holding pgbackrest.conf and conf.d/ (the secrets file): pgBackRest's --config-path. */
  configPath: string;
  stanza: string;
  /** Run as this OS user (the cluster's owner) when the caller is root. */
  uid?: number;
  gid?: number;
  bin?: string;
  log?: Logger;
}

export interface PgBackRestBackupInfo {
  label: string;
  type: "full" | "diff" | "incr";
  start: Date;
  stop: Date;
  /** Bytes in the repository (compressed). */
  repoSize: number;
  /** Bytes of the cluster it restores. */
  size: number;
  walStart: string;
  walStop: string;
}

export class PgBackRest {
  readonly log: Logger;
  constructor(readonly r: PgBackRestRunner) {
    this.log = r.log ?? silentLogger;
  }

  /** The archive_command that pushes WAL with this config. */
  archiveCommand(): string {
    return `${this.r.bin ?? "pgbackrest"} --config-path=${this.r.configPath} --stanza=${this.r.stanza} archive-push %p`;
  }

  async exec(
    command: string,
    args: string[] = [],
    fix = "see pgBackRest's log (log-path) for details",
  ): Promise<string> {
    const argv = [`--config-path=${this.r.configPath}`, `--stanza=${this.r.stanza}`, ...args, command];
    const { stdout } = await run(this.r.bin ?? "pgbackrest", argv, {
      uid: this.r.uid,
      gid: this.r.gid,
      fix,
      cwd: "/",
      label: `pgbackrest ${command}`,
    });
    return stdout;
  }

  stanzaCreate(): Promise<string> {
    return this.exec(
      "stanza-create",
      [],
      "check that the server runs, pg1-path/pg1-port/pg1-socket-path match it and the repository is reachable",
    );
  }

  check(): Promise<string> {
    return this.exec(
      "check",
      [],
      "WAL archiving is not working: check archive_command (settings/postgres.ts) and the repository",
    );
  }

  async backup(type: "full" | "diff" | "incr"): Promise<PgBackRestBackupInfo> {
    const t0 = performance.now();
    await this.exec(
      "backup",
      [`--type=${type}`],
      "check the repository and that archiving works (jarvis-data verify postgres --kind physical)",
    );
    const all = await this.info();
    const last = all.at(-1);
    if (!last)
      throw new JarvisError(
        "JARVIS_PGBACKREST",
        "pgBackRest reported success but lists no backup; check its log",
      );
    this.log.info("pgBackRest backup complete", {
      label: last.label,
      type,
      seconds: ((performance.now() - t0) / 1000).toFixed(1),
      repoBytes: last.repoSize,
    });
    return last;
  }

  async info(): Promise<PgBackRestBackupInfo[]> {
    return (await this.stanzaInfo()).backups;
  }

  /** The stanza's backups, oldest first, and the newest WAL segment in its archive. */
  async stanzaInfo(): Promise<{ backups: PgBackRestBackupInfo[]; archiveMax?: string }> {
    const out = await this.exec("info", ["--output=json"]);
    const parsed = JSON.parse(out) as {
      name: string;
      status: { code: number; message: string };
      backup?: any[];
      archive?: { max?: string }[];
    }[];
    const st = parsed.find((s) => s.name === this.r.stanza);
    const archiveMax = (st?.archive ?? [])
      .map((a) => a.max ?? "")
      .filter(Boolean)
      .sort()
      .at(-1);
    const backups = (st?.backup ?? []).map((b) => ({
      label: b.label,
      type: b.type,
      start: new Date(b.timestamp.start * 1000),
      stop: new Date(b.timestamp.stop * 1000),
      repoSize: b.info?.repository?.delta ?? b.info?.repository?.size ?? 0,
      size: b.info?.size ?? 0,
      walStart: b.archive?.start ?? "",
      walStop: b.archive?.stop ?? "",
    }));
    return { backups, archiveMax };
  }

  /**
   * The restore_command a restore writes, with archive-get synchronous: each segment fetched when
   * PostgreSQL asks for it. The default (asynchronous, archive-async in the config) prefetches a
   * queue of segments in parallel, which pays on a long replay but costs about half a second
   * to start and again to find the end of the archive.
   */
  syncRestoreCommand(pgPath: string): string | undefined {
    return this.restoreCommand(pgPath, { async: false });
  }

  /**
   * The restore_command a restored cluster fetches WAL with. Asynchronous archive-get queues
   * segments in the spool path, so it gets the restore's own (`spoolPath`), never the live
   * server's: a restore beside the live server must not touch the live server's queue.
   */
  restoreCommand(pgPath: string, o: { async: boolean; spoolPath?: string }): string | undefined {
    const words = [
      this.r.bin ?? "pgbackrest",
      `--config-path=${this.r.configPath}`,
      `--pg1-path=${pgPath}`,
      `--stanza=${this.r.stanza}`,
      // pgBackRest refuses a spool path without archive-async: the synchronous fetch has no queue.
      ...(o.async && o.spoolPath ? [`--spool-path=${o.spoolPath}`] : []),
      ...(o.async ? [] : ["--no-archive-async"]),
      "archive-get",
    ];
    // Written into postgresql.auto.conf and run by a shell: anything needing quotes keeps the default.
    if (words.some((w) => !/^[\w./=:@+-]+$/.test(w))) return undefined;
    return `${words.join(" ")} %f "%p"`;
  }

  /** pgBackRest's own verification of the repository (checksums of backups and WAL). */
  verify(): Promise<string> {
    return this.exec("verify", [], "the repository has damaged or missing files: take a new full backup");
  }
}

export interface PhysicalRestoreOptions {
  /** Data directory to restore into. The server on it must be stopped. */
  pgPath: string;
  /** A backup label; absent: pgBackRest picks the newest one that reaches the target. */
  set?: string;
  /** Recovery target: the latest WAL (default), a time, or a restore point made with pg_create_restore_point. */
  target?: { type: "latest" } | { type: "time"; time: string } | { type: "name"; name: string };
  /** Must equal pgPath when the directory is not empty (the restore then uses --delta). */
  confirm?: string;
  /**
   * pgBackRest's spool path for this restore and the restored cluster's WAL fetching; default
   * `<pgPath>.spool`. Never the live server's: the restore cleans its spool.
   */
  spoolPath?: string;
  onPlan?: (plan: {
    store: "postgres";
    kind: "physical";
    target: string;
    overwrites: string[] | null;
    recovery: string;
  }) => void;
}

/** Up to this many WAL segments to replay (256 MB), a restore fetches them one by one (see syncRestoreCommand). */
export const SYNC_ARCHIVE_GET_MAX_SEGMENTS = 16;

/** WAL segments from `from` to `to` (file names, 16 MB segments), whatever their timelines. */
export function walSegmentsBetween(from: string, to: string): number {
  const segno = (name: string) => {
    if (!/^[0-9A-F]{24}/.test(name))
      throw new JarvisError("JARVIS_PGBACKREST", `not a WAL segment name: ${name}`);
    return parseInt(name.slice(8, 16), 16) * 256 + parseInt(name.slice(16, 24), 16);
  };
  return segno(to) - segno(from);
}

/** Restores a cluster's data directory. Start the server afterwards: it replays WAL up to the target and promotes. */
export async function restorePhysical(
  pgbr: PgBackRest,
  o: PhysicalRestoreOptions,
): Promise<{ durationSeconds: number }> {
  const t0 = performance.now();
  if (existsSync(`${o.pgPath}/postmaster.pid`)) {
    throw new RefusedError(
      `refusing to restore into ${o.pgPath}: a server is running on it (postmaster.pid); stop it first`,
    );
  }
  const entries = existsSync(o.pgPath) ? readdirSync(o.pgPath) : [];
  const target = o.target ?? { type: "latest" };
  const recovery =
    target.type === "latest"
      ? "latest WAL"
      : target.type === "time"
        ? `time ${target.time}`
        : `restore point ${target.name}`;
  o.onPlan?.({
    store: "postgres",
    kind: "physical",
    target: o.pgPath,
    overwrites: entries.length ? entries.slice(0, 20) : null,
    recovery,
  });
  if (entries.length && o.confirm !== o.pgPath) {
    throw new RefusedError(
      `refusing to restore into ${o.pgPath}: it is not empty (${entries.length} entries); its files would be replaced. To do it anyway, pass --confirm ${o.pgPath}`,
    );
  }
  const spoolPath = o.spoolPath ?? `${o.pgPath.replace(/\/+$/, "")}.spool`;
  await mkdir(spoolPath, { recursive: true, mode: 0o700 });
  if (pgbr.r.uid !== undefined) await chown(spoolPath, pgbr.r.uid, pgbr.r.gid ?? pgbr.r.uid);
  const args = [`--pg1-path=${o.pgPath}`, `--spool-path=${spoolPath}`];
  let restoreCommand = pgbr.restoreCommand(o.pgPath, { async: true, spoolPath });
  if (entries.length) args.push("--delta");
  if (o.set) args.push(`--set=${o.set}`);
  if (target.type === "time") args.push("--type=time", `--target=${target.time}`, "--target-action=promote");
  if (target.type === "name") args.push("--type=name", `--target=${target.name}`, "--target-action=promote");
  // Little WAL to replay (the usual drill, or a restore soon after a backup): fetch it segment by
  // segment rather than start the prefetching queue. Only where the replay's length is known:
  // to latest, from the newest backup or a given one.
  if (target.type === "latest" || o.set) {
    const { backups, archiveMax } = await pgbr.stanzaInfo();
    const from = o.set ? backups.find((b) => b.label === o.set) : backups.at(-1);
    if (
      from?.walStop &&
      archiveMax &&
      walSegmentsBetween(from.walStop, archiveMax) <= SYNC_ARCHIVE_GET_MAX_SEGMENTS
    ) {
      restoreCommand = pgbr.restoreCommand(o.pgPath, { async: false, spoolPath });
    }
  }
  if (restoreCommand) args.push(`--recovery-option=restore_command=${restoreCommand}`);
  await pgbr.exec(
    "restore",
    args,
    "check the label (jarvis-data backups list) and the target; the data directory must be owned by the cluster's OS user",
  );
  return { durationSeconds: (performance.now() - t0) / 1000 };
}
