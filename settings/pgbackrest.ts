/**
 * pgBackRest configuration, generated from config (pure). The same function writes the
 * container's /etc/pgbackrest/pgbackrest.conf and the config the tests run pgBackRest with.
 *
 * Secrets (the S3 key pair, the repository cipher passphrase) never go into the main file: they
 * go into a second file (`pgbackrestSecretsConf`) that the container receives as an uploaded
 * secret under the include path (/etc/pgbackrest/conf.d), and that tests write with mode 0600.
 */
import type { JarvisConfig } from "../config/schema.ts";
import { pgbackrestRetention } from "./lifecycle.ts";

export type PgBackRestRepo =
  | {
      type: "s3";
      bucket: string;
      /** Host[:port] of the S3 endpoint, without scheme (pgBackRest always speaks TLS to S3 before 2.58). */
      endpoint: string;
      region: string;
      /** Path inside the bucket. Default "/". */
      path?: string;
      /** "path" for MinIO and test servers, "host" for AWS. */
      uriStyle?: "path" | "host";
      /** false only for a dev server with a self-signed certificate and no CA file. */
      verifyTls?: boolean;
      /** CA bundle that signed the endpoint's certificate. */
      caFile?: string;
    }
  | { type: "posix"; path: string };

export interface PgBackRestOptions {
  stanza?: string;
  /** The cluster's data directory. */
  pgPath: string;
  pgPort?: number;
  /** Directory of the server's Unix socket. */
  pgSocketPath?: string;
  pgUser?: string;
  repo: PgBackRestRepo;
  /** Parallel processes for backup and restore. Default: the container's CPUs. */
  processMax?: number;
  logPath?: string;
  lockPath?: string;
  spoolPath?: string;
  /** Asynchronous archive-push (spooled, batched): the default in the container. */
  archiveAsync?: boolean;
  /** Encrypt the repository (aes-256-cbc); the passphrase is in the secrets file. Default: true for s3. */
  cipher?: boolean;
  logLevelFile?: "off" | "error" | "warn" | "info" | "detail" | "debug";
}

export const PGBACKREST_CONF = "/etc/pgbackrest/pgbackrest.conf";
export const PGBACKREST_INCLUDE_DIR = "/etc/pgbackrest/conf.d";
export const PGBACKREST_SECRETS_CONF = `${PGBACKREST_INCLUDE_DIR}/secrets.conf`;

function ini(sections: Record<string, Record<string, string | number | boolean | undefined>>): string {
  return (
    Object.entries(sections)
      .map(([name, kv]) =>
        [
          `[${name}]`,
          ...Object.entries(kv)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}=${typeof v === "boolean" ? (v ? "y" : "n") : v}`),
        ].join("\n"),
      )
      .join("\n\n") + "\n"
  );
}

/** The stanza name the stack uses (archive_command in settings/postgres.ts names it too). */
export const DEFAULT_STANZA = "jarvis";

/** pgbackrest.conf (no secrets). */
export function pgbackrestConf(cfg: JarvisConfig, o: PgBackRestOptions): string {
  const repo = o.repo;
  const cipher = o.cipher ?? repo.type === "s3";
  const global: Record<string, string | number | boolean | undefined> = {
    "repo1-type": repo.type,
    "repo1-path": repo.type === "posix" ? repo.path : (repo.path ?? "/"),
    ...(repo.type === "s3"
      ? {
          "repo1-s3-bucket": repo.bucket,
          "repo1-s3-endpoint": repo.endpoint.split(":")[0],
          ...(repo.endpoint.includes(":")
            ? { "repo1-storage-port": Number(repo.endpoint.split(":")[1]) }
            : {}),
          "repo1-s3-region": repo.region,
          "repo1-s3-uri-style": repo.uriStyle ?? "host",
          "repo1-storage-verify-tls": repo.verifyTls ?? true,
          ...(repo.caFile ? { "repo1-storage-ca-file": repo.caFile } : {}),
        }
      : {}),
    ...(cipher ? { "repo1-cipher-type": "aes-256-cbc" } : {}),
    // A2: the same policy as the bucket's lifecycle rules (settings/lifecycle.ts).
    ...pgbackrestRetention(cfg.backup),
    // Small files (most of a cluster's 1,700+) are bundled into a few repository objects: fewer
    // S3 requests, fewer files to create and sync, about a third off a full backup here.
    "repo1-bundle": true,
    "compress-type": "zst",
    "compress-level": 1,
    "process-max": o.processMax ?? Math.max(1, Math.floor(cfg.postgres.cpus)),
    "start-fast": true,
    "archive-async": o.archiveAsync ?? true,
    "archive-push-queue-max": "4GiB",
    "spool-path": o.spoolPath ?? "/var/spool/pgbackrest",
    "log-path": o.logPath ?? "/var/log/pgbackrest",
    "lock-path": o.lockPath ?? "/tmp/pgbackrest",
    "log-level-console": "warn",
    "log-level-file": o.logLevelFile ?? "info",
    "log-level-stderr": "off",
  };
  return ini({
    global,
    [o.stanza ?? DEFAULT_STANZA]: {
      "pg1-path": o.pgPath,
      "pg1-port": o.pgPort ?? 5432,
      ...(o.pgSocketPath ? { "pg1-socket-path": o.pgSocketPath } : {}),
      "pg1-user": o.pgUser ?? "postgres",
    },
  });
}

/** The secrets file, included from PGBACKREST_INCLUDE_DIR. Upload it as a secret, mode 0400. */
export function pgbackrestSecretsConf(s: {
  s3Key?: string;
  s3KeySecret?: string;
  cipherPass?: string;
}): string {
  return ini({
    global: {
      ...(s.s3Key ? { "repo1-s3-key": s.s3Key } : {}),
      ...(s.s3KeySecret ? { "repo1-s3-key-secret": s.s3KeySecret } : {}),
      ...(s.cipherPass ? { "repo1-cipher-pass": s.cipherPass } : {}),
    },
  });
}
