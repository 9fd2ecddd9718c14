/**
 * pgBackRest for a test: its working directory (conf, conf.d, log, lock, spool) owned by the
 * cluster's user when the tests run as root (pgBackRest runs as it), and the configuration of an
 * encrypted repository on an S3-compatible server over TLS, path style, as settings/pgbackrest.ts
 * writes it for the dev store.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { osUser } from "../../core/backup/proc.ts";
import { pgbackrestConf, pgbackrestSecretsConf } from "../../settings/pgbackrest.ts";
import { testConfig, type PostgresServer } from "./servers.ts";

export interface PgBackRestDirs {
  work: string;
  confDir: string;
  /** The cluster owner's ids when running as root, else undefined (pgBackRest runs as us). */
  ids: { uid: number; gid: number } | undefined;
  /** Gives PATH to the cluster's owner when running as root. */
  own(path: string): void;
}

/** A fresh working directory under the system tmp, named PREFIX-*, with pgBackRest's folders. */
export function pgbackrestDirs(prefix: string): PgBackRestDirs {
  const ids = process.getuid?.() === 0 ? osUser("postgres") : undefined;
  const own = (p: string) => void (ids && chownSync(p, ids.uid, ids.gid));
  const work = mkdtempSync(join(tmpdir(), `${prefix}-`));
  chmodSync(work, 0o755);
  const confDir = join(work, "conf");
  for (const d of [
    work,
    confDir,
    join(confDir, "conf.d"),
    ...["log", "lock", "spool"].map((n) => join(work, n)),
  ]) {
    mkdirSync(d, { recursive: true });
    own(d);
  }
  return { work, confDir, ids, own };
}

export interface S3Repo {
  bucket: string;
  /** The S3 server: its port (reached as localhost), region and credentials. */
  server: { port: number; region: string; accessKeyId: string; secretAccessKey: string };
  /** The CA file pgBackRest verifies the server's certificate with. */
  caFile: string;
  /** The repository's path inside the bucket (pgBackRest's default when absent). */
  path?: string;
}

/** Writes pgbackrest.conf for PG and STANZA with REPO, and conf.d/secrets.conf (S3 keys, a random cipher pass). */
export function writeS3RepoConfig(
  dirs: PgBackRestDirs,
  pg: PostgresServer,
  stanza: string,
  repo: S3Repo,
): void {
  const { work, confDir, own } = dirs;
  writeFileSync(
    join(confDir, "pgbackrest.conf"),
    pgbackrestConf(testConfig(), {
      stanza,
      pgPath: pg.dataDir,
      pgPort: pg.port,
      pgSocketPath: pg.socketDir,
      repo: {
        type: "s3",
        bucket: repo.bucket,
        endpoint: `localhost:${repo.server.port}`,
        region: repo.server.region,
        uriStyle: "path",
        caFile: repo.caFile,
        ...(repo.path === undefined ? {} : { path: repo.path }),
      },
      processMax: 2,
      logPath: join(work, "log"),
      lockPath: join(work, "lock"),
      spoolPath: join(work, "spool"),
    }),
  );
  const secrets = join(confDir, "conf.d", "secrets.conf");
  writeFileSync(
    secrets,
    pgbackrestSecretsConf({
      s3Key: repo.server.accessKeyId,
      s3KeySecret: repo.server.secretAccessKey,
      cipherPass: randomBytes(24).toString("hex"),
    }),
    { mode: 0o600 },
  );
  own(secrets);
  own(join(confDir, "pgbackrest.conf"));
}
