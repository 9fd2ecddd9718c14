import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { JarvisConfig } from "../config/schema.ts";
import { containerCommon, publishedPorts } from "../settings/containers.ts";

export interface DevObjectStoreArgs {
  /** The validated stack config (dev). */
  config: JarvisConfig;
  /** The stack's name, for labels. */
  stack: string;
  /** The private network the stores and the ops agent share. */
  network: pulumi.Input<string>;
  /** MinIO's root password (secret); the root user name is not a secret. */
  rootPassword: pulumi.Input<string>;
}

/** The user name of the dev S3 server's root account. */
export const DEV_S3_ROOT_USER = "jarvis-admin";

/** Where MinIO reads its certificate (`--certs-dir`): public.crt, private.key, CAs/. */
export const DEV_S3_CERTS_DIR = "/certs";

/**
 * dev only: an S3-compatible server (MinIO) run as a container of the stack, so a workstation
 * with Docker needs no cloud account. The aws provider of the dev stack points at it.
 *
 * It serves HTTPS only, with a certificate authority and a server certificate the stack
 * generates (@pulumi/tls), so the buckets' TLS-only policy holds in dev too and pgBackRest
 * (which needs TLS to S3 before 2.58) can use it. The private key reaches the container as a
 * secret file, never in the clear. A static KMS key (also a secret file) lets MinIO apply the
 * buckets' default SSE-S3 (AES256) encryption. See docs/backup-storage.md.
 */
export class DevObjectStore extends pulumi.ComponentResource {
  /** S3 endpoint as seen from the workstation (the published loopback port). */
  public readonly endpoint: pulumi.Output<string>;
  /** S3 endpoint as seen from containers on the private network. */
  public readonly internalEndpoint: pulumi.Output<string>;
  public readonly rootUser: string = DEV_S3_ROOT_USER;
  /** PEM of the CA that signed the server's certificate: what clients trust (not a secret). */
  public readonly caCertPem: pulumi.Output<string>;

  constructor(name: string, args: DevObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:storage:DevObjectStore", name, {}, opts);
    const cfg = args.config;
    const hostPort = cfg.ports.publish.s3;
    if (hostPort === undefined) {
      throw new Error(
        "jarvis:ports.publish.s3: required in dev, so that `pulumi up` on this workstation can reach the S3 container (e.g. 9000)",
      );
    }
    const common = containerCommon(cfg, args.stack, "s3");

    // A private CA for this stack, and a server certificate for every name clients use.
    // The tls provider marks private keys secret; pulumi.secret says so here too, wherever they flow.
    const caKeyPem = pulumi.secret(
      new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this })
        .privateKeyPem,
    );
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKeyPem,
        isCaCertificate: true,
        subject: { commonName: `${name} dev CA`, organization: "jarvis-data" },
        validityPeriodHours: 24 * 365 * 5,
        allowedUses: ["cert_signing", "crl_signing"],
      },
      { parent: this },
    );
    const serverKeyPem = pulumi.secret(
      new tls.PrivateKey(`${name}-tls-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this })
        .privateKeyPem,
    );
    const csr = new tls.CertRequest(
      `${name}-tls-csr`,
      {
        privateKeyPem: serverKeyPem,
        subject: { commonName: "s3" },
        dnsNames: ["s3", "localhost", name],
        ipAddresses: [...new Set(["127.0.0.1", cfg.ports.bindAddress])],
      },
      { parent: this },
    );
    const serverCert = new tls.LocallySignedCert(
      `${name}-tls`,
      {
        certRequestPem: csr.certRequestPem,
        caPrivateKeyPem: caKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: 24 * 365,
        // Replaced on the first `pulumi up` within 30 days of expiry.
        earlyRenewalHours: 24 * 30,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      { parent: this },
    );
    // MinIO's built-in KMS: one static 256-bit key, `name:base64`, enough for SSE-S3 in dev.
    const kmsKey = new random.RandomId(`${name}-kms-key`, { byteLength: 32 }, { parent: this });
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: cfg.backup.storage.minioImage, keepLocally: true },
      { parent: this },
    );
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `${name}-data`, labels: common.labels },
      { parent: this, retainOnDelete: true },
    );
    const container = new docker.Container(
      `${name}`,
      {
        name: `${name}`,
        image: image.imageId,
        command: [
          "server",
          "/data",
          "--address",
          ":9000",
          "--console-address",
          "127.0.0.1:9001",
          "--certs-dir",
          DEV_S3_CERTS_DIR,
        ],
        envs: [
          `MINIO_ROOT_USER=${DEV_S3_ROOT_USER}`,
          "MINIO_ROOT_PASSWORD_FILE=/run/secrets/minio_root_password",
          "MINIO_KMS_SECRET_KEY_FILE=/run/secrets/minio_kms_secret_key",
          "MINIO_BROWSER=off",
          // The healthcheck's `mc` talks HTTPS to the server and trusts the CA below.
          "MC_HOST_local=https://localhost:9000",
        ],
        // Secrets (password, KMS key, TLS private key) reach the server as files, never as
        // environment variables, and stay secret in the state.
        uploads: [
          {
            file: "/run/secrets/minio_root_password",
            content: pulumi.secret(args.rootPassword),
            permissions: "0400",
          },
          {
            file: "/run/secrets/minio_kms_secret_key",
            content: pulumi.secret(pulumi.interpolate`jarvis-dev-key:${kmsKey.b64Std}`),
            permissions: "0400",
          },
          { file: `${DEV_S3_CERTS_DIR}/private.key`, content: serverKeyPem, permissions: "0400" },
          { file: `${DEV_S3_CERTS_DIR}/public.crt`, content: serverCert.certPem, permissions: "0444" },
          { file: `${DEV_S3_CERTS_DIR}/CAs/jarvis-dev-ca.crt`, content: ca.certPem, permissions: "0444" },
          { file: "/root/.mc/certs/CAs/jarvis-dev-ca.crt", content: ca.certPem, permissions: "0444" },
        ],
        volumes: [{ volumeName: volume.name, containerPath: "/data" }],
        networksAdvanced: [{ name: args.network, aliases: ["s3"] }],
        ports: publishedPorts(cfg, "s3", 9000),
        healthcheck: {
          tests: ["CMD", "mc", "ready", "local"],
          interval: "10s",
          timeout: "5s",
          retries: 5,
          startPeriod: "10s",
        },
        memory: 512,
        cpus: "1",
        // restart policy, json-file log rotation (S12), labels
        ...common,
        wait: true,
        waitTimeout: 120,
      },
      { parent: this },
    );
    const host = cfg.ports.bindAddress.includes(":") ? `[${cfg.ports.bindAddress}]` : cfg.ports.bindAddress;
    this.endpoint = container.name.apply(() => `https://${host}:${hostPort}`);
    this.internalEndpoint = pulumi.output("https://s3:9000");
    this.caCertPem = ca.certPem;
    this.registerOutputs({ endpoint: this.endpoint, caCertPem: this.caCertPem });
  }
}
