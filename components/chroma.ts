import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { tokenSha256 } from "../core/chroma-gateway.ts";
import {
  STORE_IGNORED_CHANGES,
  containerLimits,
  healthcheckTiming,
  nodeHttpCheck,
  stopTimeouts,
  type ContainerCommon,
} from "../settings/containers.ts";
import type { KeepOptions } from "../settings/keep.ts";
import {
  CHROMA_CONFIG_PATH,
  CHROMA_DATA_DIR,
  CHROMA_GATEWAY_PORT,
  CHROMA_GATEWAY_TOKEN_SHA256_FILE,
  chromaConfig,
  chromaGatewayCommand,
  chromaGatewayMemoryMb,
  chromaHealthcheck,
  CHROMA_ENV,
  CHROMA_HEARTBEAT_PATH,
} from "../settings/chroma.ts";

/** Chroma itself, on its internal network (only the gateway talks to it). */
export const CHROMA_UPSTREAM_HOST = "chroma-upstream";
export const CHROMA_UPSTREAM_PORT = 8000;
/** What clients use: the token gateway. */
export const CHROMA_HOST = "chroma";

type Published = { internal: number; external: number; ip: string; protocol: string };

export interface ChromaArgs {
  /** The Chroma image (jarvis:chroma.image, a chromadb/chroma:1.0.x). */
  image: string;
  /** Chroma's memory limit (MB) and CPUs (jarvis:chroma.memoryMb, cpus). */
  memoryMb: number;
  cpus: number;
  /** Host bindings of the gateway: publishedPorts(cfg, "chroma", CHROMA_GATEWAY_PORT); none in prod. */
  ports: Published[];
  /** Restart policy, log rotation (A12), labels: containerCommon(cfg, stack, "chroma"). */
  common: ContainerCommon;
  /** The same for the gateway: containerCommon(cfg, stack, "chroma-gateway"). */
  gatewayCommon: ContainerCommon;
  /** retainOnDelete / protect of the data volume: keepOptions(environment). */
  keep: KeepOptions;
  /** The stack's private network, where clients reach the gateway. */
  network: pulumi.Input<string>;
  /** The token clients must present (secret); the gateway only receives its SHA-256. */
  token: pulumi.Input<string>;
  /** The ops image (components/ops-image.ts), which ships the jarvis-data CLI and the gateway. */
  opsImage: pulumi.Input<string>;
}

/**
 * Chroma 1.0 with its data on a volume at /data (where the 1.x image persists; the 0.x path
 * /chroma/chroma silently loses data), and in front of it the token gateway of
 * core/chroma-gateway.ts, because Chroma 1.0's own token auth is a no-op.
 *
 * Chroma and the gateway share an internal network of their own; only the gateway also joins the
 * stack's network, so no other container can skip the token. Chroma publishes no port; the
 * gateway is published in dev only, on loopback.
 */
export class ChromaServer extends pulumi.ComponentResource {
  public readonly containerName: pulumi.Output<string>;
  public readonly gatewayContainerName: pulumi.Output<string>;
  public readonly volumeName: pulumi.Output<string>;
  /** The internal network of Chroma and its gateway. */
  public readonly innerNetworkName: pulumi.Output<string>;
  /** URL on the private network (through the gateway). */
  public readonly internalUrl: string = `http://${CHROMA_HOST}:${CHROMA_GATEWAY_PORT}`;
  /** Where the gateway is published on the host, if it is. */
  public readonly published: { host: string; port: number } | undefined;

  constructor(name: string, args: ChromaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:vector:ChromaServer", name, {}, opts);
    const inner = new docker.Network(
      `${name}-net`,
      { name: `${name}-net`, driver: "bridge", internal: true, labels: args.common.labels },
      { parent: this },
    );
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `${name}-data`, labels: args.common.labels },
      { parent: this, ...args.keep },
    );
    const chroma = this.chroma(name, args, inner.name, volume.name);
    const gateway = new docker.Container(
      `${name}-gateway`,
      {
        name: `${name}-gateway`,
        image: args.opsImage,
        // Its own small entry (node:http and the gateway), not the whole CLI: settings/chroma.ts.
        command: chromaGatewayCommand({
          upstream: `http://${CHROMA_UPSTREAM_HOST}:${CHROMA_UPSTREAM_PORT}`,
          listen: `0.0.0.0:${CHROMA_GATEWAY_PORT}`,
          tokenSha256File: CHROMA_GATEWAY_TOKEN_SHA256_FILE,
        }),
        // sha256(token): the gateway never holds the token itself.
        uploads: [
          {
            file: CHROMA_GATEWAY_TOKEN_SHA256_FILE,
            content: pulumi.secret(pulumi.output(args.token).apply(tokenSha256)),
            permissions: "0444",
          },
        ],
        // Clients on the stack's network; Chroma on the inner one.
        networksAdvanced: [
          { name: args.network, aliases: [CHROMA_HOST] },
          { name: inner.name, aliases: [CHROMA_HOST] },
        ],
        ports: args.ports,
        // Through the gateway to Chroma's heartbeat (the one open path): healthy means both are.
        healthcheck: {
          tests: nodeHttpCheck(CHROMA_GATEWAY_PORT, CHROMA_HEARTBEAT_PATH),
          ...healthcheckTiming("10s"),
        },
        // Sized from the load test (test/gateway-load.test.ts): settings/chroma.ts.
        ...containerLimits(chromaGatewayMemoryMb(), 0.5),
        ...args.gatewayCommon,
        wait: true,
        waitTimeout: 120,
      },
      { parent: this, dependsOn: [chroma] },
    );
    this.containerName = chroma.name;
    this.gatewayContainerName = gateway.name;
    this.volumeName = volume.name;
    this.innerNetworkName = inner.name;
    const published = args.ports[0];
    this.published = published ? { host: published.ip, port: published.external } : undefined;
    this.registerOutputs({
      containerName: this.containerName,
      gatewayContainerName: this.gatewayContainerName,
      volumeName: this.volumeName,
      innerNetworkName: this.innerNetworkName,
    });
  }

  /** Chroma itself: its config as a file, data on the volume, the inner network only, no port. */
  private chroma(
    name: string,
    args: ChromaArgs,
    inner: pulumi.Output<string>,
    volume: pulumi.Output<string>,
  ): docker.Container {
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: args.image, keepLocally: true },
      { parent: this },
    );
    return new docker.Container(
      name,
      {
        name,
        image: image.imageId,
        // The image's entrypoint is `dumb-init -- chroma`.
        command: ["run", CHROMA_CONFIG_PATH],
        envs: Object.entries(CHROMA_ENV).map(([k, v]) => `${k}=${v}`),
        uploads: [
          {
            file: CHROMA_CONFIG_PATH,
            content: YAML.stringify(
              chromaConfig({ port: CHROMA_UPSTREAM_PORT, persistPath: CHROMA_DATA_DIR }),
            ),
            permissions: "0444",
          },
        ],
        volumes: [{ volumeName: volume, containerPath: CHROMA_DATA_DIR }],
        networksAdvanced: [{ name: inner, aliases: [CHROMA_UPSTREAM_HOST] }],
        // No ports: only the gateway reaches Chroma.
        ports: [],
        healthcheck: {
          tests: chromaHealthcheck({ port: CHROMA_UPSTREAM_PORT }),
          ...healthcheckTiming("20s"),
        },
        ...containerLimits(args.memoryMb, args.cpus),
        stopTimeout: stopTimeouts("chroma").stopTimeout,
        ...args.common,
        wait: true,
        waitTimeout: 180,
      },
      // A logs.* change waits for the next replacement instead of restarting every store at once.
      { parent: this, ignoreChanges: STORE_IGNORED_CHANGES },
    );
  }
}
