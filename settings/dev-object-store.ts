/**
 * The dev stack's own S3-compatible server: which one, how it is started, where it reads its
 * secrets and certificates. Pure; components/dev-object-store.ts turns it into a container.
 *
 * RustFS is the default (maintained, Apache-2.0, versioning, lifecycle, bucket policy, TLS, SSE
 * with a static key); MinIO stays an opt-in for those who still have an image. The comparison and
 * the sources are in docs/backup-storage.md.
 */
import type { JarvisConfig } from "../config/schema.ts";

export type DevStoreServer = "rustfs" | "minio";

/** The S3 port inside the container and on the private network (`s3:9000`). */
export const DEV_S3_PORT = 9000;
/** The user name of the dev S3 server's root account (not a secret). */
export const DEV_S3_ROOT_USER = "jarvis-admin";
/** The name of the static SSE key the server encrypts buckets' objects with. */
export const DEV_S3_KMS_KEY_NAME = "jarvis-dev-key";

/** Where the server reads each file the stack uploads; the key and secrets are 0400, owned by `owner`. */
export interface DevStoreFiles {
  rootPassword: string;
  /** `name:base64(32 bytes)`, the format both servers read. */
  kmsKey: string;
  tlsKey: string;
  tlsCert: string;
  /** Where the server (and its healthcheck) finds the CA that signed tlsCert. */
  caCerts: string[];
}

export interface DevStoreSpec {
  server: DevStoreServer;
  command: string[];
  envs: string[];
  files: DevStoreFiles;
  /** The image's user (uid) that must read the uploaded files; absent: root. */
  owner?: string;
  dataDir: string;
  healthcheck: string[];
}

const RUSTFS_CERTS = "/certs";
const MINIO_CERTS = "/certs";

function rustfsSpec(): DevStoreSpec {
  const files: DevStoreFiles = {
    rootPassword: "/run/secrets/rustfs_secret_key",
    kmsKey: "/run/secrets/rustfs_kms_key",
    // RUSTFS_TLS_PATH layout: rustfs_cert.pem, rustfs_key.pem, ca.crt (rustfs docs/tls.md).
    tlsKey: `${RUSTFS_CERTS}/rustfs_key.pem`,
    tlsCert: `${RUSTFS_CERTS}/rustfs_cert.pem`,
    caCerts: [`${RUSTFS_CERTS}/ca.crt`],
  };
  return {
    server: "rustfs",
    // The image's entrypoint reads RUSTFS_*_FILE, creates the data dir and execs /usr/bin/rustfs.
    command: ["rustfs"],
    envs: [
      `RUSTFS_ADDRESS=:${DEV_S3_PORT}`,
      "RUSTFS_VOLUMES=/data",
      "RUSTFS_CONSOLE_ENABLE=false",
      `RUSTFS_ACCESS_KEY=${DEV_S3_ROOT_USER}`,
      `RUSTFS_SECRET_KEY_FILE=${files.rootPassword}`,
      `RUSTFS_TLS_PATH=${RUSTFS_CERTS}`,
      // SSE-S3 (the buckets' AES256 default) with one static key, read from a file (rustfs #5222).
      "RUSTFS_KMS_ENABLE=true",
      "RUSTFS_KMS_BACKEND=static",
      `RUSTFS_KMS_STATIC_SECRET_KEY_FILE=${files.kmsKey}`,
      `RUSTFS_KMS_DEFAULT_KEY_ID=${DEV_S3_KMS_KEY_NAME}`,
      // Logs to stdout, so Docker's json-file rotation (A12) applies.
      "RUSTFS_OBS_LOG_DIRECTORY=",
      "RUSTFS_OBS_LOGGER_LEVEL=warn",
    ],
    files,
    owner: "10001",
    dataDir: "/data",
    healthcheck: [
      "CMD",
      "curl",
      "-fsS",
      "--cacert",
      files.caCerts[0]!,
      `https://localhost:${DEV_S3_PORT}/health`,
    ],
  };
}

function minioSpec(): DevStoreSpec {
  const files: DevStoreFiles = {
    rootPassword: "/run/secrets/minio_root_password",
    kmsKey: "/run/secrets/minio_kms_secret_key",
    // --certs-dir layout: public.crt, private.key, CAs/; `mc` trusts ~/.mc/certs/CAs/.
    tlsKey: `${MINIO_CERTS}/private.key`,
    tlsCert: `${MINIO_CERTS}/public.crt`,
    caCerts: [`${MINIO_CERTS}/CAs/jarvis-dev-ca.crt`, "/root/.mc/certs/CAs/jarvis-dev-ca.crt"],
  };
  return {
    server: "minio",
    command: [
      "server",
      "/data",
      "--address",
      `:${DEV_S3_PORT}`,
      "--console-address",
      "127.0.0.1:9001",
      "--certs-dir",
      MINIO_CERTS,
    ],
    envs: [
      `MINIO_ROOT_USER=${DEV_S3_ROOT_USER}`,
      `MINIO_ROOT_PASSWORD_FILE=${files.rootPassword}`,
      `MINIO_KMS_SECRET_KEY_FILE=${files.kmsKey}`,
      "MINIO_BROWSER=off",
      `MC_HOST_local=https://localhost:${DEV_S3_PORT}`,
    ],
    files,
    dataDir: "/data",
    healthcheck: ["CMD", "mc", "ready", "local"],
  };
}

/** How the chosen server runs. */
export function devStoreSpec(server: DevStoreServer): DevStoreSpec {
  return server === "rustfs" ? rustfsSpec() : minioSpec();
}

export interface DevStoreSettings {
  server: DevStoreServer;
  image: string;
  /** Where the workstation reaches it: the loopback address and the published port. */
  publish: { bindAddress: string; port: number };
}

/** The dev store of a config, or null when backups go to AWS. Throws when dev has no published S3 port. */
export function devStoreSettings(cfg: JarvisConfig): DevStoreSettings | null {
  const storage = cfg.backup.storage;
  if (storage.provider === "aws") return null;
  const port = cfg.ports.publish.s3;
  if (port === undefined)
    throw new Error(
      "jarvis:ports.publish.s3: required in dev, so that `pulumi up` on this workstation can reach the S3 container (e.g. 9000)",
    );
  return {
    server: storage.provider,
    image: storage.provider === "rustfs" ? storage.rustfsImage : storage.minioImage,
    publish: { bindAddress: cfg.ports.bindAddress, port },
  };
}
