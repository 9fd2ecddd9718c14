import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { ContainerCommon } from "../settings/containers.ts";
import {
  DEV_S3_KMS_KEY_NAME,
  DEV_S3_PORT,
  DEV_S3_ROOT_USER,
  devStoreSpec,
  type DevStoreServer,
  type DevStoreSpec,
} from "../settings/dev-object-store.ts";

export { DEV_S3_ROOT_USER } from "../settings/dev-object-store.ts";

export interface DevObjectStoreArgs {
  /** The S3-compatible server: rustfs (default) or minio (jarvis:backup.storage.provider). */
  server: DevStoreServer;
  /** Its image (jarvis:backup.storage.rustfsImage or minioImage). */
  image: string;
  /** The loopback address and host port the S3 API is published on (jarvis:ports). */
  publish: { bindAddress: string; port: number };
  /** Restart policy, log rotation (A12) and labels: settings/containers.ts containerCommon(cfg, stack, "s3"). */
  common: ContainerCommon;
  /** The private network the stores and the ops containers share. */
  network: pulumi.Input<string>;
  /** The root account's password (secret); the user name, DEV_S3_ROOT_USER, is not a secret. */
  rootPassword: pulumi.Input<string>;
}

interface StoreTls {
  caCertPem: pulumi.Output<string>;
  keyPem: pulumi.Output<string>;
  certPem: pulumi.Output<string>;
}

/**
 * dev only: an S3-compatible server run as a container of the stack, so a workstation with Docker
 * needs no cloud account. RustFS by default, MinIO on request (settings/dev-object-store.ts).
 *
 * It serves HTTPS only, with a CA and a server certificate the stack generates (@pulumi/tls), so the
 * buckets' TLS-only policy holds in dev too and pgBackRest (which needs TLS to S3 before 2.58) can
 * use it. Private keys and the root password reach the container as secret files, never in its
 * environment. A static key (a secret file) serves the buckets' default SSE-S3. See
 * docs/backup-storage.md.
 */
export class DevObjectStore extends pulumi.ComponentResource {
  /** S3 endpoint as seen from the workstation (the published loopback port). */
  public readonly endpoint: pulumi.Output<string>;
  /** S3 endpoint as seen from containers on the private network. */
  public readonly internalEndpoint: pulumi.Output<string>;
  public readonly rootUser: string = DEV_S3_ROOT_USER;
  /** PEM of the CA that signed the server's certificate: what clients trust (not a secret). */
  public readonly caCertPem: pulumi.Output<string>;
  /** The container's name. */
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: DevObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:storage:DevObjectStore", name, {}, opts);
    const spec = devStoreSpec(args.server);
    // A private CA for this stack, and a server certificate for every name clients use.
    const certs = this.certificates(name, args.publish.bindAddress);
    // One static 256-bit key, `name:base64`, enough for SSE-S3 in dev.
    const kmsKey = new random.RandomId(`${name}-kms-key`, { byteLength: 32 }, { parent: this });
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: args.image, keepLocally: true },
      { parent: this },
    );
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `${name}-data`, labels: args.common.labels },
      { parent: this, retainOnDelete: true },
    );
    const container = new docker.Container(
      name,
      {
        name,
        image: image.imageId,
        command: spec.command,
        envs: spec.envs,
        uploads: this.uploads(spec, args.rootPassword, kmsKey.b64Std, certs),
        volumes: [{ volumeName: volume.name, containerPath: spec.dataDir }],
        networksAdvanced: [{ name: args.network, aliases: ["s3"] }],
        ports: [
          {
            internal: DEV_S3_PORT,
            external: args.publish.port,
            ip: args.publish.bindAddress,
            protocol: "tcp",
          },
        ],
        healthcheck: {
          tests: spec.healthcheck,
          interval: "10s",
          timeout: "5s",
          retries: 5,
          startPeriod: "10s",
        },
        memory: 512,
        cpus: "1",
        ...args.common,
        wait: true,
        waitTimeout: 120,
      },
      { parent: this },
    );
    const bind = args.publish.bindAddress;
    const host = bind.includes(":") ? `[${bind}]` : bind;
    this.endpoint = container.name.apply(() => `https://${host}:${args.publish.port}`);
    this.internalEndpoint = pulumi.output(`https://s3:${DEV_S3_PORT}`);
    this.caCertPem = certs.caCertPem;
    this.containerName = container.name;
    this.registerOutputs({
      endpoint: this.endpoint,
      internalEndpoint: this.internalEndpoint,
      caCertPem: this.caCertPem,
      containerName: this.containerName,
    });
  }

  /** The CA and the server certificate (names s3, localhost, the container, loopback and the bind address). */
  private certificates(name: string, bindAddress: string): StoreTls {
    const key = (id: string) =>
      pulumi.secret(
        new tls.PrivateKey(id, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this }).privateKeyPem,
      );
    const caKeyPem = key(`${name}-ca-key`);
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
    const keyPem = key(`${name}-tls-key`);
    const csr = new tls.CertRequest(
      `${name}-tls-csr`,
      {
        privateKeyPem: keyPem,
        subject: { commonName: "s3" },
        dnsNames: ["s3", "localhost", name],
        ipAddresses: [...new Set(["127.0.0.1", bindAddress])],
      },
      { parent: this },
    );
    const cert = new tls.LocallySignedCert(
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
    return { caCertPem: ca.certPem, keyPem, certPem: cert.certPem };
  }

  /** Secrets and certificates as files, owned by the image's user; secret ones stay secret in the state. */
  private uploads(
    spec: DevStoreSpec,
    rootPassword: pulumi.Input<string>,
    kmsKeyB64: pulumi.Output<string>,
    certs: StoreTls,
  ): docker.types.input.ContainerUpload[] {
    const owned = spec.owner ? { owner: spec.owner, group: spec.owner } : {};
    const f = spec.files;
    return [
      { file: f.rootPassword, content: pulumi.secret(rootPassword), permissions: "0400", ...owned },
      {
        file: f.kmsKey,
        content: pulumi.secret(pulumi.interpolate`${DEV_S3_KMS_KEY_NAME}:${kmsKeyB64}`),
        permissions: "0400",
        ...owned,
      },
      { file: f.tlsKey, content: certs.keyPem, permissions: "0400", ...owned },
      { file: f.tlsCert, content: certs.certPem, permissions: "0444" },
      ...f.caCerts.map((file) => ({ file, content: certs.caCertPem, permissions: "0444" })),
    ];
  }
}
