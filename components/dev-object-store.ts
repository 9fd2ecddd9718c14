import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
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

/**
 * dev only: an S3-compatible server (MinIO) run as a container of the stack, so a workstation
 * with Docker needs no cloud account. The aws provider of the dev stack points at it.
 */
export class DevObjectStore extends pulumi.ComponentResource {
  /** S3 endpoint as seen from the workstation (the published loopback port). */
  public readonly endpoint: pulumi.Output<string>;
  /** S3 endpoint as seen from containers on the private network. */
  public readonly internalEndpoint: pulumi.Output<string>;
  public readonly rootUser: string = DEV_S3_ROOT_USER;

  constructor(name: string, args: DevObjectStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:storage:DevObjectStore", name, {}, opts);
    const cfg = args.config;
    const hostPort = cfg.ports.publish.s3;
    if (hostPort === undefined) {
      throw new Error("jarvis:ports.publish.s3: required in dev, so that `pulumi up` on this workstation can reach the S3 container (e.g. 9000)");
    }
    const common = containerCommon(cfg, args.stack, "s3");
    const image = new docker.RemoteImage(`${name}-image`, { name: cfg.backup.storage.minioImage, keepLocally: true }, { parent: this });
    const volume = new docker.Volume(`${name}-data`, { name: `${name}-data`, labels: common.labels }, { parent: this, retainOnDelete: true });
    const container = new docker.Container(
      `${name}`,
      {
        name: `${name}`,
        image: image.imageId,
        command: ["server", "/data", "--address", ":9000", "--console-address", "127.0.0.1:9001"],
        envs: [`MINIO_ROOT_USER=${DEV_S3_ROOT_USER}`, "MINIO_ROOT_PASSWORD_FILE=/run/secrets/minio_root_password", "MINIO_BROWSER=off"],
        // The password reaches the server as a file, never as an environment variable.
        uploads: [{ file: "/run/secrets/minio_root_password", content: args.rootPassword, permissions: "0400" }],
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
        restart: common.restart,
        logDriver: common.logDriver,
        logOpts: common.logOpts,
        labels: common.labels,
        wait: true,
        waitTimeout: 120,
      },
      { parent: this },
    );
    this.endpoint = container.name.apply(() => `http://${cfg.ports.bindAddress}:${hostPort}`);
    this.internalEndpoint = pulumi.output("http://s3:9000");
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
