import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerCommon } from "../settings/containers.ts";

/**
 * The Docker API proxy: wollomatic/socket-proxy, which passes a request only when a per-method
 * regex matches the whole path (anchored ^…$) and the client is on its source allowlist
 * (docs/security.md). tecnativa/docker-socket-proxy, used before, opens every GET under /containers
 * (archive, export, inspect) once CONTAINERS=1.
 */
export const DOCKER_PROXY_IMAGE = "wollomatic/socket-proxy:1.12.2";
/** The proxy's name on its internal network; each client has its own proxy and network. */
export const DOCKER_PROXY_HOST = "docker-proxy";
export const DOCKER_PROXY_PORT = 2375;
export const DOCKER_PROXY_URL = `http://${DOCKER_PROXY_HOST}:${DOCKER_PROXY_PORT}`;

export interface DockerApiProxyArgs {
  /** The one client allowed to connect: its alias on the internal network (-allowfrom). */
  client: string;
  /** The GET paths passed on (a regex the proxy anchors); every other path and method is refused. */
  allowGet: string;
  /** The user it runs as: settings/containers.ts dockerProxyUser. */
  user: string;
  /** restart policy, log rotation and labels: containerCommon(cfg, stack, "<client>-docker-proxy"). */
  common: ContainerCommon;
  /** Docker names: `<dockerName>-docker-net` and `<dockerName>-docker-proxy` (default: the resource name). */
  dockerName?: string;
}

/**
 * A read-only Docker API for one client: an internal network (no route out) that only the client
 * and the proxy join, and the proxy on it, hardened (read-only root, no capabilities, no new
 * privileges, 64 MB), the socket mounted read-only. Returns the network's name, which the client
 * joins with `client` as its alias, and reaches the proxy at DOCKER_PROXY_URL.
 */
export function dockerApiProxy(
  name: string,
  a: DockerApiProxyArgs,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const dockerName = a.dockerName ?? name;
  const net = new docker.Network(
    `${name}-docker-net`,
    { name: `${dockerName}-docker-net`, driver: "bridge", internal: true, labels: a.common.labels },
    { parent },
  );
  const image = new docker.RemoteImage(
    `${name}-docker-proxy-image`,
    { name: DOCKER_PROXY_IMAGE, keepLocally: true },
    { parent },
  );
  new docker.Container(
    `${name}-docker-proxy`,
    {
      name: `${dockerName}-docker-proxy`,
      image: image.imageId,
      user: a.user,
      command: [
        "-loglevel=info",
        "-listenip=0.0.0.0",
        `-proxyport=${DOCKER_PROXY_PORT}`,
        // Only the client may connect (resolved by name on the internal network).
        `-allowfrom=${a.client}`,
        // No other method is set, so every other method is refused.
        `-allowGET=${a.allowGet}`,
        "-allowhealthcheck",
        "-shutdowngracetime=5",
      ],
      volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true }],
      networksAdvanced: [{ name: net.name, aliases: [DOCKER_PROXY_HOST] }],
      healthcheck: {
        tests: ["CMD", "./healthcheck"],
        interval: "30s",
        timeout: "5s",
        retries: 3,
        startPeriod: "10s",
      },
      readOnly: true,
      capabilities: { drops: ["ALL"] },
      securityOpts: ["no-new-privileges"],
      memory: 64,
      memorySwap: 64,
      cpus: "0.2",
      ...a.common,
    },
    { parent },
  );
  return net.name;
}
