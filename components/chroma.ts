import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import type { JarvisConfig } from "../config/schema.ts";
import { tokenSha256 } from "../core/chroma-gateway.ts";
import { keepOptions } from "../settings/keep.ts";
import {
  STORE_IGNORED_CHANGES,
  containerCommon,
  containerLimits,
  healthcheckTiming,
  publishedPorts,
} from "../settings/containers.ts";
import {
  CHROMA_CONFIG_PATH,
  CHROMA_DATA_DIR,
  CHROMA_GATEWAY_PORT,
  CHROMA_GATEWAY_TOKEN_SHA256_FILE,
  chromaConfig,
  chromaHealthcheck,
} from "../settings/chroma.ts";

/** Chroma itself on the private network (only the gateway talks to it). */
export const CHROMA_UPSTREAM_HOST = "chroma-upstream";
export const CHROMA_UPSTREAM_PORT = 8000;
/** What clients use: the token gateway. */
export const CHROMA_HOST = "chroma";

export interface ChromaArgs {
  /** The validated stack config. */
  config: JarvisConfig;
  /** The stack's name, for labels. */
  stack: string;
  /** The private network the stores and the ops containers share. */
  network: pulumi.Input<string>;
  /** The token clients must present (secret); the gateway only receives its SHA-256. */
  token: pulumi.Input<string>;
  /** The ops image (components/ops-image.ts), which ships the jarvis-data CLI and the gateway. */
  opsImage: pulumi.Input<string>;
  /** CLI entry point inside the ops image. */
  cli?: string[];
}

/**
 * Chroma 1.0 with its data on a volume at /data (where the 1.x image persists; the 0.x path
 * /chroma/chroma silently loses data), and in front of it the token gateway of
 * core/chroma-gateway.ts, because Chroma 1.0's own token auth is a no-op. Chroma publishes no
 * port and sits on the private network only; the gateway is the one published (dev, loopback).
 */
export class ChromaServer extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly gatewayContainerName: pulumi.Output<string>;
  public readonly volumeName: pulumi.Output<string>;
  /** URL on the private network (through the gateway). */
  public readonly internalUrl: string = `http://${CHROMA_HOST}:${CHROMA_GATEWAY_PORT}`;
  public readonly published: { host: string; port: number } | undefined;

  constructor(name: string, args: ChromaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:vector:ChromaServer", name, {}, opts);
    const cfg = args.config;
    const common = containerCommon(cfg, args.stack, "chroma");
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: cfg.chroma.image, keepLocally: true },
      { parent: this },
    );
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `${name}-data`, labels: common.labels },
      { parent: this, ...keepOptions(cfg.environment) },
    );
    const chroma = new docker.Container(
      name,
      {
        name,
        image: image.imageId,
        // The image's entrypoint is `dumb-init -- chroma`.
        command: ["run", CHROMA_CONFIG_PATH],
        envs: ["CHROMA_TELEMETRY=false", "ANONYMIZED_TELEMETRY=false"],
        uploads: [
          {
            file: CHROMA_CONFIG_PATH,
            content: YAML.stringify(
              chromaConfig({ port: CHROMA_UPSTREAM_PORT, persistPath: CHROMA_DATA_DIR }),
            ),
            permissions: "0444",
          },
        ],
        volumes: [{ volumeName: volume.name, containerPath: CHROMA_DATA_DIR }],
        networksAdvanced: [{ name: args.network, aliases: [CHROMA_UPSTREAM_HOST] }],
        // No ports: only the gateway reaches Chroma.
        ports: [],
        healthcheck: {
          tests: chromaHealthcheck({ port: CHROMA_UPSTREAM_PORT }),
          ...healthcheckTiming("20s"),
        },
        ...containerLimits(cfg.chroma.memoryMb, cfg.chroma.cpus),
        stopTimeout: 30,
        // restart policy, json-file log rotation (S12), labels
        ...common,
        wait: true,
        waitTimeout: 180,
      },
      { parent: this, ignoreChanges: STORE_IGNORED_CHANGES },
    );
    const gwCommon = containerCommon(cfg, args.stack, "chroma-gateway");
    const gateway = new docker.Container(
      `${name}-gateway`,
      {
        name: `${name}-gateway`,
        image: args.opsImage,
        command: [
          ...(args.cli ?? ["jarvis-data"]),
          "chroma",
          "gateway",
          "--upstream",
          `http://${CHROMA_UPSTREAM_HOST}:${CHROMA_UPSTREAM_PORT}`,
          "--listen",
          `0.0.0.0:${CHROMA_GATEWAY_PORT}`,
          "--token-sha256-file",
          CHROMA_GATEWAY_TOKEN_SHA256_FILE,
        ],
        // sha256(token): the gateway never holds the token itself.
        uploads: [
          {
            file: CHROMA_GATEWAY_TOKEN_SHA256_FILE,
            content: pulumi.secret(pulumi.output(args.token).apply(tokenSha256)),
            permissions: "0444",
          },
        ],
        networksAdvanced: [{ name: args.network, aliases: [CHROMA_HOST] }],
        ports: publishedPorts(cfg, "chroma", CHROMA_GATEWAY_PORT),
        // Through the gateway to Chroma's heartbeat (the one open path): healthy means both are.
        healthcheck: {
          tests: [
            "CMD",
            "node",
            "-e",
            `fetch('http://127.0.0.1:${CHROMA_GATEWAY_PORT}/api/v2/heartbeat').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
          ],
          ...healthcheckTiming("10s"),
        },
        ...containerLimits(128, 0.5),
        // restart policy, json-file log rotation (S12), labels
        ...gwCommon,
        wait: true,
        waitTimeout: 120,
      },
      { parent: this, dependsOn: [chroma] },
    );
    this.containerName = chroma.name;
    this.gatewayContainerName = gateway.name;
    this.volumeName = volume.name;
    const hostPort = cfg.ports.publish.chroma;
    this.published = hostPort === undefined ? undefined : { host: cfg.ports.bindAddress, port: hostPort };
    this.registerOutputs({
      containerName: this.containerName,
      gatewayContainerName: this.gatewayContainerName,
      volumeName: this.volumeName,
    });
  }
}
